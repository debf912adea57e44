// Command load drives a running mcpserver with MCP tool calls from many users at once and
// reports throughput and latency per tool, for the performance figures in the README. It
// only ever targets loopback: load against any other address is not allowed here.
//
//	go run ./scripts/load -secret "$BETTER_AUTH_SECRET" -duration 20s -concurrency 32
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

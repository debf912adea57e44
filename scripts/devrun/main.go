// Command devrun is `make run`: it starts everything a newcomer needs on one machine — a
// private PostgreSQL under .data/ (unless DATABASE_URL is set), a persistent dev secret,
// mcpserver and chatproxy built from this checkout — and prints how to connect the chat page,
// Claude Desktop, the MCP Inspector and an OpenAI agent. Ctrl-C stops it all; the next run
// finds the same data. The browser test runs it with -ephemeral -fake-llm.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Command chaos is the fault, flood and hostile-input suite: on loopback only, it starts a
// private PostgreSQL, two replicas each of mcpserver and chatproxy at the same moment on the
// empty database, a fake model and a real haproxy (round-robin, health-checked on /ready), then
//
//	a. runs MCP and ChatKit flows whose consecutive requests land on different replicas;
//	b. restarts PostgreSQL under a steady add_task load;
//	c. sends SIGTERM to an mcpserver replica under load, and to a chatproxy mid-stream;
//	d. floods as one user while timing a second user;
//	e. holds slowloris connections against both services while timing normal requests;
//	f. sends hostile inputs to every endpoint.
//
// Every count and wait is bounded; the whole run stops at -timeout. It prints one PASS/FAIL
// line per check and a table of figures, and exits 1 if any check failed.
//
//	chaos -mcpserver BIN -chatproxy BIN [-dir DIR] [-timeout 170s]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"
)

func main() {
	mcpBin := flag.String("mcpserver", "", "mcpserver binary")
	chatBin := flag.String("chatproxy", "", "chatproxy binary")
	dir := flag.String("dir", "", "work directory for the database and logs (default: a temporary one, removed after a pass)")
	timeout := flag.Duration("timeout", 170*time.Second, "bound on the whole run")
	flag.Parse()
	if *mcpBin == "" || *chatBin == "" {
		fmt.Fprintln(os.Stderr, "usage: chaos -mcpserver BIN -chatproxy BIN [-dir DIR]")
		os.Exit(2)
	}
	os.Exit(run(*mcpBin, *chatBin, *dir, *timeout))
}

func run(mcpBin, chatBin, dir string, timeout time.Duration) int {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	// Each run gets a fresh directory (inside -dir when given, kept there for its logs), so a
	// database left by an earlier run is never reused.
	keep := dir != ""
	if keep {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "chaos:", err)
			return 1
		}
	}
	dir, err := os.MkdirTemp(dir, "taskwire-chaos-")
	if err == nil {
		// PostgreSQL runs as the postgres user when we are root: it must reach its directory.
		err = os.Chmod(dir, 0o755)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		return 1
	}
	start := time.Now()
	s, err := startStack(ctx, dir, mcpBin, chatBin)
	if s != nil {
		defer s.close()
		// The whole run is bounded: past the timeout everything is killed and the run fails.
		watchdog := time.AfterFunc(timeout+10*time.Second, func() {
			fmt.Fprintln(os.Stderr, "chaos: the run exceeded its bound; logs in", dir)
			s.close()
			os.Exit(1)
		})
		defer watchdog.Stop()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos: start:", err, "(logs in "+dir+")")
		return 1
	}
	fmt.Printf("stack up in %.1f s: PostgreSQL, mcpserver ×2, chatproxy ×2, haproxy (MCP %s, ChatKit %s)\n",
		time.Since(start).Seconds(), s.mcpLB, s.chatLB)
	u := &suite{s: s}
	u.replicas(ctx)
	u.hostile(ctx)
	u.pgRestart(ctx)
	u.sigterm(ctx)
	u.flood(ctx)
	u.chatFlood(ctx)
	u.slowloris(ctx)

	failed := 0
	for _, c := range u.checks {
		if !c.ok {
			failed++
		}
	}
	fmt.Printf("\n| Chaos figure | Value |\n|---|---|\n")
	for _, f := range u.figures {
		fmt.Printf("| %s | %s |\n", f[0], f[1])
	}
	fmt.Printf("\nchaos: %d passed, %d failed in %.0f s\n", len(u.checks)-failed, failed, time.Since(start).Seconds())
	if failed > 0 {
		fmt.Println("logs in", dir)
		return 1
	}
	if !keep {
		s.close()
		_ = os.RemoveAll(dir)
	}
	return 0
}

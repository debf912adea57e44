// Command floor is the reference server of `make bench-db`: the floor under mcpserver. It
// answers each POST /mcp by running the measured tool's SQL through the same pgx pool
// settings as mcpserver (db.Open) and writing a fixed JSON-RPC result — net/http and pgx,
// and nothing of MCP: no token check, no JSON-RPC decoding, no arguments, no encoding of
// the rows. Measured in mcpserver's place, it shows how much of the gap to pgbench is the
// Go HTTP stack and the driver on the machine, and how much is mcpserver's own work:
//
//	go build -o /tmp/floor ./scripts/benchdb/floor
//	make bench-db ARGS="-mcpserver /tmp/floor"
//
// It takes mcpserver's two subcommands (migrate, serve) and its environment (DATABASE_URL,
// MCP_HOST, MCP_PORT), plus BENCHDB_USERS, the size of the user pools benchdb seeded: like
// pgbench, it picks a random user of the pool for each call. Loopback only.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/taskwire/taskwire/db"
	"github.com/taskwire/taskwire/mcpserver/taskstore"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) != 1 || (args[0] != "migrate" && args[0] != "serve") {
		return errors.New("usage: floor migrate|serve")
	}
	pool, err := db.Open(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		return err
	}
	defer pool.Close()
	if args[0] == "migrate" {
		return db.Migrate(ctx, pool, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}
	users, err := strconv.Atoi(os.Getenv("BENCHDB_USERS"))
	if err != nil || users < 1 {
		return errors.New("BENCHDB_USERS must be the number of seeded users")
	}
	host := os.Getenv("MCP_HOST")
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("MCP_HOST %q: the reference server listens on loopback only", host)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, `{"status":"ok"}`) })
	mux.Handle("POST /mcp", handler{q: db.New(pool), users: users})
	srv := &http.Server{Addr: net.JoinHostPort(host, os.Getenv("MCP_PORT")), Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

type handler struct {
	q     *db.Queries
	users int
}

// ServeHTTP runs add_task's INSERT, or list_tasks' first page as the store asks for it
// (taskstore.DefaultLimit tasks and one more, by task number), for a random user.
func (h handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	n := strconv.Itoa(rand.IntN(h.users))
	if bytes.Contains(body, []byte(`"name":"list_tasks"`)) {
		now := time.Now()
		_, err = h.q.ListTasksByCreated(r.Context(), db.ListTasksByCreatedParams{
			UserID: "list-" + n, Now: now, TodayStart: now, RowLimit: taskstore.DefaultLimit + 1,
		})
	} else {
		_, err = h.q.InsertTask(r.Context(), db.InsertTaskParams{
			UserID: "add-" + n, Title: "Buy groceries", Priority: "high", Tags: []string{"home"},
		})
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":{}}`)
}

package db_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/taskwire/taskwire/db"
	"github.com/taskwire/taskwire/internal/pgtest"
)

func TestIsUnavailable(t *testing.T) {
	type test struct {
		name string
		err  error
		want bool
	}
	tests := []test{
		{"nil", nil, false},
		{"no rows", pgx.ErrNoRows, false},
		{"unique violation", &pgconn.PgError{Code: "23505"}, false},
		{"bad input", &pgconn.PgError{Code: "22P02"}, false},
		{"client went away", fmt.Errorf("query: %w", context.Canceled), false},
		{"connection refused", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, true},
		{"connection cut mid-statement", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), true},
		{"closed connection", fmt.Errorf("exec: %w", pgconn.ErrConnClosed), true},
		{"admin shutdown", &pgconn.PgError{Code: "57P01"}, true},
		{"cannot connect now", &pgconn.PgError{Code: "57P03"}, true},
		{"too many connections", &pgconn.PgError{Code: "53300"}, true},
		{"connection exception class", &pgconn.PgError{Code: "08006"}, true},
	}
	// The same question asked of real failures: a pool with nothing listening, and a closed
	// pool (our own mistake, not an outage).
	down, err := pgxpool.New(context.Background(), "postgres://nobody@127.0.0.1:1/none?connect_timeout=2&sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(down.Close)
	closed := pgtest.Pool(t)
	closed.Close()
	tests = append(tests,
		test{"nothing listening", down.Ping(context.Background()), true},
		test{"closed pool", closed.Ping(context.Background()), false},
	)
	for _, tt := range tests {
		if got := db.IsUnavailable(tt.err); got != tt.want {
			t.Errorf("%s: IsUnavailable(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}

// ReportUnavailable hears of a dead connection from the pool itself, and not of ordinary
// statement errors.
func TestReportUnavailable(t *testing.T) {
	var reports atomic.Int32
	pool, err := db.Open(t.Context(), pgtest.URL(t), db.ReportUnavailable(func(context.Context, error) { reports.Add(1) }))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(t.Context(), "SELECT 1/0"); err == nil || reports.Load() != 0 {
		t.Fatalf("a statement error counted as an outage: %v, %d reports", err, reports.Load())
	}
	conn, err := pool.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	_, _ = conn.Exec(t.Context(), "SELECT pg_terminate_backend(pg_backend_pid())")
	if _, err := conn.Exec(t.Context(), "SELECT 1"); err == nil {
		t.Fatal("a statement on a terminated connection succeeded")
	}
	if reports.Load() == 0 {
		t.Fatal("the dead connection was not reported")
	}
}

// TestOpenPoolSize: without pool_max_conns the pool allows 4 connections per CPU (at least
// 8); with it, the URL decides.
func TestOpenPoolSize(t *testing.T) {
	url := pgtest.URL(t)
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	for _, tc := range []struct {
		name, url string
		want      int32
	}{
		{"default", url, int32(max(8, 4*runtime.NumCPU()))},
		{"from the URL", url + sep + "pool_max_conns=3", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pool, err := db.Open(context.Background(), tc.url)
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Close()
			if got := pool.Config().MaxConns; got != tc.want {
				t.Errorf("MaxConns = %d, want %d", got, tc.want)
			}
		})
	}
}

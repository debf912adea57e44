package db

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ConnectTimeout bounds one attempt to open a connection (unless the URL sets
// connect_timeout): while the database is away, requests fail within it rather than hang.
const ConnectTimeout = 3 * time.Second

// Option adjusts the pool configuration before Open connects.
type Option func(*pgxpool.Config)

// ReportUnavailable calls report with every error that means the database cannot be
// reached (IsUnavailable), from acquiring a connection or running a statement, and the
// context of that call, so the HTTP edge can answer 503 at once instead of waiting for its
// next health ping, and can tell which request met the outage. report must be quick and
// safe for concurrent use.
func ReportUnavailable(report func(context.Context, error)) Option {
	return func(c *pgxpool.Config) { c.ConnConfig.Tracer = unavailableTracer{report} }
}

// Open connects a pool to url and pings it, so a wrong DATABASE_URL fails at start with a
// clear message instead of at the first request. The timeouts keep a request from waiting
// forever on a database that has gone away; the pool reconnects by itself when it returns.
func Open(ctx context.Context, url string, opts ...Option) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database URL: %w", err)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = ConnectTimeout
	}
	if !strings.Contains(url, "pool_max_conns") {
		// pgxpool's default, max(4, NumCPU), starves an I/O-bound server: at 32 concurrent
		// add_task calls on 2 CPUs it kept a third of PostgreSQL's speed, 8 connections nearly
		// half (make bench-db). pool_max_conns in the URL still decides.
		cfg.MaxConns = int32(max(8, 4*runtime.NumCPU()))
	}
	if cfg.MaxConnLifetime == time.Hour {
		cfg.MaxConnLifetime = 30 * time.Minute
		cfg.MaxConnLifetimeJitter = 5 * time.Minute
	}
	for _, o := range opts {
		o(cfg)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("create database pool: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to database %s@%s/%s: %w", cfg.ConnConfig.User, cfg.ConnConfig.Host, cfg.ConnConfig.Database, err)
	}
	return pool, nil
}

// IsNotFound reports whether err means a row was not there, which callers answer the same way
// whether the row is missing or belongs to another user.
func IsNotFound(err error) bool {
	return errors.Is(err, pgx.ErrNoRows)
}

// IsUnavailable reports whether err means the database could not be reached or is going
// away — a failure the client should retry later (HTTP 503, a JSON-RPC error), never one to
// blame on its input: refused or timed-out connections, connections cut mid-statement, and
// the server's own "shutting down", "cannot connect now" and "too many connections".
func IsUnavailable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case len(pgErr.Code) == 5 && pgErr.Code[:2] == "08": // connection exception
			return true
		case pgErr.Code == "57P01", pgErr.Code == "57P02", pgErr.Code == "57P03", pgErr.Code == "53300":
			return true
		}
		return false
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connectErr) || errors.As(err, &netErr) ||
		errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, net.ErrClosed)
}

// unavailableTracer hands the errors of acquires and statements that IsUnavailable to report.
type unavailableTracer struct{ report func(context.Context, error) }

func (t unavailableTracer) TraceAcquireStart(ctx context.Context, _ *pgxpool.Pool, _ pgxpool.TraceAcquireStartData) context.Context {
	return ctx
}

func (t unavailableTracer) TraceAcquireEnd(ctx context.Context, _ *pgxpool.Pool, d pgxpool.TraceAcquireEndData) {
	if IsUnavailable(d.Err) {
		t.report(ctx, d.Err)
	}
}

func (t unavailableTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}

func (t unavailableTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryEndData) {
	if IsUnavailable(d.Err) {
		t.report(ctx, d.Err)
	}
}

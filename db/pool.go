package db

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Open connects a pool to url and pings it, so a wrong DATABASE_URL fails at start with a
// clear message instead of at the first request. The timeouts keep a request from waiting
// forever on a database that has gone away; the pool reconnects by itself when it returns.
func Open(ctx context.Context, url string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database URL: %w", err)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
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

// Command pgserver gives the end-to-end scripts a throwaway PostgreSQL database: it prints the
// database's URL as the first line of stdout, keeps it until SIGTERM or SIGINT, then removes
// it. With TEST_DATABASE_URL set it creates (and later drops) a database on that server;
// otherwise it runs a private cluster in a temporary directory, like the Go tests do.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/taskwire/taskwire/internal/pgcluster"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "pgserver:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	admin := os.Getenv("TEST_DATABASE_URL")
	if admin == "" {
		dir, err := os.MkdirTemp("/tmp", "pgserver-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		c, err := pgcluster.Start(ctx, pgcluster.Options{Dir: dir, Ephemeral: true, Log: os.Stderr})
		if err != nil {
			return err
		}
		defer func() { _ = c.Stop(context.Background(), true) }()
		admin = c.URL("postgres")
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "e2e_" + hex.EncodeToString(b)
	if err := exec(admin, "CREATE DATABASE "+name); err != nil {
		return err
	}
	defer func() { _ = exec(admin, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") }()
	u, err := url.Parse(admin)
	if err != nil {
		return fmt.Errorf("TEST_DATABASE_URL: %w", err)
	}
	u.Path = "/" + name
	fmt.Println(u.String())
	<-ctx.Done()
	return nil
}

func exec(dbURL, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("%s: %w", sql, err)
	}
	return nil
}

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/taskwire/taskwire/internal/pgcluster"
)

// dbName is the database devrun creates in its private cluster.
const dbName = "taskwire"

// devDB is the private PostgreSQL devrun started.
type devDB struct {
	url  string
	note string
	stop func()
}

// startPostgres starts (creating on first use) a private cluster in dir and the taskwire
// database in it. When we are root, PostgreSQL runs as the postgres user, which must be able
// to enter dir; a checkout under a private home directory is not, so the data then moves to
// /var/tmp/taskwire-<uid> and the note says so.
func startPostgres(ctx context.Context, dir string, port int, ephemeral bool, log io.Writer) (devDB, error) {
	if os.Geteuid() == 0 {
		// Installs Debian's postgresql (and so the postgres user) when missing.
		if _, err := pgcluster.EnsureBinaries(ctx, log); err != nil {
			return devDB{}, err
		}
	}
	// The cluster's parent must be enterable by postgres; MkdirAll in pgcluster would make
	// missing parents private to root.
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return devDB{}, fmt.Errorf("create %s: %w", filepath.Dir(dir), err)
	}
	dir, note := chooseClusterDir(dir, os.Geteuid(), postgresCanEnter)
	if note != "" {
		fmt.Fprintln(log, note)
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return devDB{}, fmt.Errorf("create %s: %w", filepath.Dir(dir), err)
		}
	}
	fmt.Fprintln(log, "starting PostgreSQL in", dir)
	c, err := pgcluster.Start(ctx, pgcluster.Options{Dir: dir, Port: port, Ephemeral: ephemeral, Log: log})
	if err != nil {
		return devDB{}, fmt.Errorf("start PostgreSQL in %s: %w", dir, err)
	}
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.Stop(ctx, ephemeral); err != nil {
			fmt.Fprintln(log, err)
		}
	}
	if err := ensureDatabase(ctx, c.URL("postgres"), dbName); err != nil {
		stop()
		return devDB{}, err
	}
	return devDB{url: c.URL(dbName), note: note, stop: stop}, nil
}

// chooseClusterDir keeps want unless we are root and the postgres user cannot reach its parent.
func chooseClusterDir(want string, euid int, canEnter func(dir string) bool) (dir, note string) {
	if euid != 0 || canEnter(filepath.Dir(want)) {
		return want, ""
	}
	alt := filepath.Join("/var/tmp", fmt.Sprintf("taskwire-%d", euid), "postgres")
	return alt, fmt.Sprintf("note: PostgreSQL runs as the postgres user, which cannot enter %s; keeping its data in %s instead", filepath.Dir(want), alt)
}

// postgresCanEnter reports whether the postgres user can traverse to dir (every parent
// searchable), which is what starting a cluster below it needs.
func postgresCanEnter(dir string) bool {
	return exec.Command("runuser", "-u", "postgres", "--", "test", "-x", dir).Run() == nil
}

func ensureDatabase(ctx context.Context, adminURL, name string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connect to the private PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("look for database %s: %w", name, err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil && !strings.Contains(err.Error(), "already exists") {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

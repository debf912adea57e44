// Package pgtest gives tests a real PostgreSQL: the server at TEST_DATABASE_URL when it is set,
// otherwise a throwaway cluster started from the machine's own binaries. Each test gets its own
// database cloned from a migrated template, so tests run in parallel and never see each
// other's rows. Tests never skip for lack of a database: without one, TestMain fails.
//
// Use it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
package pgtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/taskwire/taskwire/db"
	"github.com/taskwire/taskwire/internal/pgcluster"
)

// server is set by Main: the admin URL of the server and the name of the migrated template.
var server struct {
	adminURL string
	template string
}

// Main prepares the server and template, runs the tests and cleans up, returning the exit code.
func Main(m *testing.M) int {
	ctx := context.Background()
	cleanup, err := setUp(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
		return 1
	}
	code := m.Run()
	cleanup()
	return code
}

func setUp(ctx context.Context) (func(), error) {
	var stops []func()
	cleanup := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	server.adminURL = os.Getenv("TEST_DATABASE_URL")
	if server.adminURL == "" {
		dir, err := os.MkdirTemp("/tmp", "pgtest-")
		if err != nil {
			return nil, fmt.Errorf("make cluster dir: %w", err)
		}
		var log bytes.Buffer
		c, err := pgcluster.Start(ctx, pgcluster.Options{Dir: dir, Ephemeral: true, Log: &log})
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("start throwaway PostgreSQL: %w\n%s", err, log.String())
		}
		stops = append(stops, func() {
			_ = c.Stop(context.Background(), true)
			os.RemoveAll(dir)
		})
		server.adminURL = c.URL("postgres")
	}
	server.template = "taskwire_tmpl_" + randomHex(6)
	if err := makeTemplate(ctx); err != nil {
		cleanup()
		return nil, err
	}
	stops = append(stops, func() {
		_ = exec(context.Background(), server.adminURL, "DROP DATABASE IF EXISTS "+ident(server.template)+" WITH (FORCE)")
	})
	return cleanup, nil
}

// makeTemplate creates the template database and migrates it with the production code path,
// then closes every connection to it: PostgreSQL cannot clone a database someone is using.
func makeTemplate(ctx context.Context) error {
	if err := exec(ctx, server.adminURL, "CREATE DATABASE "+ident(server.template)); err != nil {
		return fmt.Errorf("create template database: %w", err)
	}
	pool, err := db.Open(ctx, withDatabase(server.adminURL, server.template))
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := db.Migrate(ctx, pool, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		return fmt.Errorf("migrate template database: %w", err)
	}
	return nil
}

// URL creates a fresh, migrated database for this test, dropped when the test ends, and
// returns its URL (for code that opens its own pool, such as a server under test).
func URL(t testing.TB) string {
	t.Helper()
	return newDatabase(t, server.template)
}

// EmptyURL creates a fresh database with no schema at all, dropped when the test ends.
func EmptyURL(t testing.TB) string {
	t.Helper()
	return newDatabase(t, "template0")
}

// Pool returns a pool on a fresh, migrated database, closed and dropped when the test ends.
func Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, err := db.Open(context.Background(), URL(t))
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func newDatabase(t testing.TB, template string) string {
	t.Helper()
	if server.adminURL == "" {
		t.Fatal("pgtest: no server; call pgtest.Main from TestMain")
	}
	name := "t_" + randomHex(8)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := exec(ctx, server.adminURL, "CREATE DATABASE "+ident(name)+" TEMPLATE "+ident(template)); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		if err := exec(context.Background(), server.adminURL, "DROP DATABASE IF EXISTS "+ident(name)+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	return withDatabase(server.adminURL, name)
}

func exec(ctx context.Context, dbURL, sql string) error {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", redact(dbURL), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("%s: %w", sql, err)
	}
	return nil
}

func withDatabase(dbURL, name string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		panic(fmt.Sprintf("pgtest: bad database URL: %v", err))
	}
	u.Path = "/" + name
	return u.String()
}

func redact(dbURL string) string {
	if u, err := url.Parse(dbURL); err == nil {
		return u.Redacted()
	}
	return "database"
}

func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return strings.ToLower(hex.EncodeToString(b))
}

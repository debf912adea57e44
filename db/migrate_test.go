package db_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/taskwire/taskwire/db"
	"github.com/taskwire/taskwire/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// describe lists the shape of every table of ours: columns, constraints and indexes, as text.
func describe(t *testing.T, pool *pgxpool.Pool) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `
		SELECT format('column %s.%s %s null=%s default=%s identity=%s', c.relname, a.attname,
		              format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
		              coalesce(pg_get_expr(d.adbin, d.adrelid), ''), a.attidentity)
		FROM pg_attribute a
		JOIN pg_class c ON c.oid = a.attrelid AND c.relkind = 'r'
		JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
		LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
		WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relname NOT LIKE 'goose%'
		UNION ALL
		SELECT format('constraint %s %s %s', c.relname, con.conname, pg_get_constraintdef(con.oid))
		FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
		WHERE c.relname NOT LIKE 'goose%'
		UNION ALL
		SELECT 'index ' || indexdef FROM pg_indexes
		WHERE schemaname = 'public' AND tablename NOT LIKE 'goose%'
		ORDER BY 1`)
	if err != nil {
		t.Fatalf("describe schema: %v", err)
	}
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func openPool(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := db.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// schema.sql is what sqlc generates code from; the migrations are what production runs. They
// must describe the same database.
func TestSchemaMatchesMigrations(t *testing.T) {
	t.Parallel()
	migrated := describe(t, pgtest.Pool(t))

	fromFile := openPool(t, pgtest.EmptyURL(t))
	schema, err := os.ReadFile("../schema.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fromFile.Exec(context.Background(), string(schema)); err != nil {
		t.Fatalf("apply schema.sql: %v", err)
	}
	if diff := cmp.Diff(describe(t, fromFile), migrated); diff != "" {
		t.Errorf("schema.sql (-) differs from the migrations (+):\n%s", diff)
	}
	if len(migrated) == 0 || !strings.Contains(strings.Join(migrated, "\n"), "tasks") {
		t.Fatalf("described schema looks empty: %v", migrated)
	}
}

// Several replicas start at once: each runs Migrate; all must succeed and the schema must be
// applied exactly once. A second run afterwards must be a no-op that keeps the data.
func TestMigrateConcurrentAndIdempotent(t *testing.T) {
	t.Parallel()
	url := pgtest.EmptyURL(t)
	const replicas = 4
	var wg sync.WaitGroup
	errs := make(chan error, replicas)
	for range replicas {
		wg.Go(func() {
			pool, err := db.Open(context.Background(), url)
			if err != nil {
				errs <- err
				return
			}
			defer pool.Close()
			errs <- db.Migrate(context.Background(), pool, quiet)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent migrate: %v", err)
		}
	}

	pool := openPool(t, url)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `INSERT INTO tasks (user_id, task_id, title) VALUES ('u1', 1, 'keep me')`); err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx, pool, quiet); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	var title string
	if err := pool.QueryRow(ctx, `SELECT title FROM tasks WHERE user_id = 'u1' AND task_id = 1`).Scan(&title); err != nil || title != "keep me" {
		t.Fatalf("data after re-migrate: %q, %v", title, err)
	}
	var applied int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM goose_db_version WHERE version_id > 0`).Scan(&applied); err != nil {
		t.Fatal(err)
	}
	if applied != 2 {
		t.Fatalf("migrations recorded %d times, want each once (2)", applied)
	}
}

package db_test

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

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
	if applied != 3 {
		t.Fatalf("migrations recorded %d times, want each once (3)", applied)
	}
}

// TestUpgradeKeepsTasks upgrades a database that holds tasks from the schema before the task
// model (version 2) to the newest one: every row keeps every value it had, and the new
// columns start as "no repeat, not deleted", with a date-only due written down as its date.
func TestUpgradeKeepsTasks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := openPool(t, pgtest.EmptyURL(t))
	sqlDB := stdlib.OpenDBFromPool(pool)
	t.Cleanup(func() { _ = sqlDB.Close() })
	provider, err := goose.NewProvider(goose.DialectPostgres, sqlDB, os.DirFS("migrations"), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := provider.UpTo(ctx, 2); err != nil {
		t.Fatalf("migrate to version 2: %v", err)
	}
	if _, err := pool.Exec(ctx, `
INSERT INTO task_counters VALUES ('u1', 4), ('u2', 1);
INSERT INTO tasks (user_id, task_id, title, description, completed, completed_at, due_at, due_has_time, priority, tags, created_at, updated_at) VALUES
  ('u1', 1, 'date due', 'notes', false, NULL, '2026-12-01 00:00:00+00', false, 'high', '{work}', '2026-01-01 10:00:00+00', '2026-01-02 10:00:00+00'),
  ('u1', 2, 'time due', '', true, '2026-02-03 04:05:06.789+00', '2026-12-01 15:30:00+00', true, 'low', '{}', '2026-01-03 10:00:00+00', '2026-02-03 04:05:06.789+00'),
  ('u1', 4, 'no due', '', false, NULL, NULL, false, 'none', '{a,b}', '2026-01-04 10:00:00+00', '2026-01-04 10:00:00+00'),
  ('u2', 1, 'other user', 'x', false, NULL, '0001-01-01 00:00:00+00', false, 'medium', '{}', '2026-01-05 10:00:00+00', '2026-01-05 10:00:00+00')`); err != nil {
		t.Fatalf("seed version 2 tasks: %v", err)
	}
	const oldColumns = `SELECT user_id, task_id, title, description, completed, completed_at, due_at, due_has_time, priority, tags, created_at, updated_at FROM tasks ORDER BY user_id, task_id`
	before := rowsAsText(t, pool, oldColumns)

	if err := db.Migrate(ctx, pool, quiet); err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	if diff := cmp.Diff(before, rowsAsText(t, pool, oldColumns)); diff != "" {
		t.Errorf("existing values changed by the upgrade (-before +after):\n%s", diff)
	}
	want := []string{
		"(u1,1,2026-12-01,,0,,1)",
		"(u1,2,,,0,,3)",
		"(u1,4,,,0,,4)",
		"(u2,1,0001-01-01,,0,,2)",
	}
	got := rowsAsText(t, pool, `SELECT user_id, task_id, due_date, repeat, repeat_done, deleted_at, priority_rank FROM tasks ORDER BY user_id, task_id`)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("new columns after the upgrade (-want +got):\n%s", diff)
	}
	var counters string
	if err := pool.QueryRow(ctx, `SELECT string_agg(user_id || '=' || last_task_id, ',' ORDER BY user_id) FROM task_counters`).Scan(&counters); err != nil || counters != "u1=4,u2=1" {
		t.Errorf("task counters after the upgrade: %q, %v", counters, err)
	}
}

// rowsAsText returns each row of query as its PostgreSQL text form.
func rowsAsText(t *testing.T, pool *pgxpool.Pool, query string) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), "SELECT q::text FROM ("+query+") AS q")
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	var out []string
	for rows.Next() {
		var s sql.NullString
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s.String)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

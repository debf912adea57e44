package taskstore

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/taskwire/taskwire/internal/pgtest"
)

// seedTasks gives users bench-0 … bench-(users-1) perUser tasks each, in one statement, with
// a spread of due times, priorities, tags, completion and a few tasks in the trash (some past
// the purge age) like real lists, then ANALYZEs so the planner sees the real distribution.
func seedTasks(tb testing.TB, pool *pgxpool.Pool, users, perUser int) {
	tb.Helper()
	ctx := context.Background()
	_, err := pool.Exec(ctx, `
INSERT INTO tasks (user_id, task_id, title, description, completed, due_at, due_has_time, priority, tags, deleted_at)
SELECT 'bench-' || u, t, 'task ' || t || ' of bench-' || u, CASE WHEN t % 4 = 0 THEN 'notes for ' || t ELSE '' END,
       t % 5 = 0,
       CASE WHEN t % 3 = 0 THEN now() + (t % 60 - 30) * interval '1 day' END, true,
       (ARRAY['none','low','medium','high'])[1 + t % 4],
       CASE WHEN t % 2 = 0 THEN ARRAY['home'] ELSE ARRAY['work','urgent'] END,
       CASE WHEN t % 50 = 7 THEN now() - (t % 40) * interval '1 day' END
FROM generate_series(0, $1::int - 1) AS u, generate_series(1, $2::int) AS t`, users, perUser)
	if err != nil {
		tb.Fatalf("seed tasks: %v", err)
	}
	if _, err := pool.Exec(ctx, `
INSERT INTO task_counters (user_id, last_task_id)
SELECT 'bench-' || u, $2::bigint FROM generate_series(0, $1::int - 1) AS u`, users, perUser); err != nil {
		tb.Fatalf("seed counters: %v", err)
	}
	if _, err := pool.Exec(ctx, "ANALYZE tasks, task_counters"); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkAdd is add_task's store path: validation plus the one INSERT … RETURNING that
// also takes the next task number. Parallel runs spread over users, as production load does;
// the same-user run serializes on that user's counter row.
func BenchmarkAdd(b *testing.B) {
	s := New(pgtest.Pool(b))
	in := NewTask{Title: "  Buy groceries ", Description: "milk, eggs", Priority: "high", Tags: []string{"Home", "errands"}, Due: &Due{}}
	b.Run("one-user", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Add(context.Background(), "bench-one", in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel-users", func(b *testing.B) {
		b.ReportAllocs()
		var next atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			user := fmt.Sprintf("bench-par-%d", next.Add(1))
			for pb.Next() {
				if _, err := s.Add(context.Background(), user, in); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkComplete toggles one task: the UPDATE by primary key.
func BenchmarkComplete(b *testing.B) {
	pool := pgtest.Pool(b)
	seedTasks(b, pool, 1, 100)
	s := New(pool)
	b.ReportAllocs()
	done := false
	for b.Loop() {
		done = !done
		if _, err := s.SetCompleted(context.Background(), "bench-0", 42, done); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkList is list_tasks' store path for a user with perUser tasks among 20 users: the
// first page of each filter and sort, and a later keyset page.
func BenchmarkList(b *testing.B) {
	for _, perUser := range []int{200, 2000} {
		pool := pgtest.Pool(b)
		seedTasks(b, pool, 20, perUser)
		s := New(pool)
		limit20 := 20
		yes := true
		cases := []struct {
			name string
			opts ListOptions
		}{
			{"default", ListOptions{}},
			{"pending", ListOptions{Status: "pending", Limit: &limit20}},
			{"completed", ListOptions{Status: "completed", Limit: &limit20}},
			{"sort-due", ListOptions{Sort: "due", Limit: &limit20}},
			{"sort-priority-tag", ListOptions{Sort: "priority", Tag: "home", Limit: &limit20}},
			{"search", ListOptions{Query: "task 1", Limit: &limit20}},
			{"overdue", ListOptions{Overdue: &yes, Limit: &limit20}},
		}
		// A cursor from the middle of the list: paging must not cost more the deeper it goes.
		var middle string
		for seen := 0; seen < perUser/2; {
			page, err := s.List(context.Background(), "bench-3", ListOptions{Limit: new(min(MaxLimit, perUser/2-seen)), Cursor: middle})
			if err != nil || page.NextCursor == "" {
				b.Fatalf("page to the middle: %v (cursor %q)", err, page.NextCursor)
			}
			seen, middle = seen+len(page.Tasks), page.NextCursor
		}
		cases = append(cases, struct {
			name string
			opts ListOptions
		}{"keyset-middle", ListOptions{Limit: &limit20, Cursor: middle}})
		for _, c := range cases {
			b.Run(fmt.Sprintf("tasks=%d/%s", perUser, c.name), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := s.List(context.Background(), "bench-3", c.opts); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkListParams is the Go work of a list call before any SQL: validation, the
// filter fingerprint and the cursor.
func BenchmarkListParams(b *testing.B) {
	s := New(nil)
	c := cursor{Sort: "due", Key: "2026-12-01T09:30:00Z", TaskID: 1234}
	limit := 20
	opts := ListOptions{Status: "pending", Query: "groceries", Tag: "home", Sort: "due", Limit: &limit}
	b.ReportAllocs()
	for b.Loop() {
		p, sort, err := s.listParams("bench-user", opts)
		if err != nil {
			b.Fatal(err)
		}
		c.Filter = filterFingerprint(sort, p)
		if _, err := decodeCursor(c.encode()); err != nil {
			b.Fatal(err)
		}
	}
}

// recorder passes queries through to the pool and keeps the last one, so a test can
// EXPLAIN exactly what the store sent.
type recorder struct {
	*pgxpool.Pool
	sql  string
	args []any
}

func (r *recorder) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	r.sql, r.args = sql, args
	return r.Pool.Query(ctx, sql, args...)
}

func (r *recorder) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return r.Pool.Exec(ctx, sql, args...)
}

// TestListPlansAreIndexOrdered checks with EXPLAIN, on a table of many users whose
// statistics are current, that every list_tasks variant — each sort, each status including
// the trash, first page and a later page — reads the user's rows through an index on
// (user_id, …) in the list's order: no sequential scan, and no Sort node, which would mean
// sorting all of the user's matching tasks to return one page. Both the plan of the first
// executions (parameters known) and the generic plan a long-lived prepared statement may
// switch to are checked, with the planner left free to choose.
func TestListPlansAreIndexOrdered(t *testing.T) {
	pool := pgtest.Pool(t)
	seedTasks(t, pool, 40, 500)
	rec := &recorder{Pool: pool}
	s := New(rec)
	ctx := context.Background()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	// The index each sort must be read in order by; pending/completed lists by number may also
	// use the (user_id, completed, task_id) index, which is in number order for one status.
	indexes := map[string][]string{
		"created":  {"tasks_pkey", "tasks_user_completed_idx"},
		"due":      {"tasks_user_due_idx"},
		"priority": {"tasks_user_priority_idx"},
	}
	two, yes := 2, true
	for _, sort := range Sorts {
		for _, status := range Statuses {
			variants := []struct {
				name string
				o    ListOptions
			}{
				{"plain", ListOptions{}},
				{"filtered", ListOptions{Tag: "home", Query: "task"}},
			}
			if status == "all" || status == "pending" {
				variants = append(variants, struct {
					name string
					o    ListOptions
				}{"overdue", ListOptions{Overdue: &yes, DueBefore: &Due{At: time.Now().AddDate(1, 0, 0), HasTime: true}}})
			}
			for _, extra := range variants {
				o := extra.o
				o.Sort, o.Status, o.Limit = sort, status, &two
				first, err := s.List(ctx, "bench-7", o)
				if err != nil {
					t.Fatal(err)
				}
				pages := map[string]ListOptions{"first page": o}
				if first.NextCursor != "" {
					next := o
					next.Cursor = first.NextCursor
					pages["next page"] = next
				} else if extra.name == "plain" {
					t.Errorf("%s/%s: no second page: the seed must give every plain list more than %d tasks", sort, status, two)
				}
				for page, po := range pages {
					t.Run(fmt.Sprintf("%s/%s/%s/%s", sort, status, extra.name, page), func(t *testing.T) {
						if _, err := s.List(ctx, "bench-7", po); err != nil {
							t.Fatal(err)
						}
						ordered := func(plan string) bool { return indexOrdered(plan, indexes[sort]) }
						if status == "deleted" {
							ordered = trashOnly
						}
						custom := customPlan(t, conn, rec.sql, rec.args)
						if !ordered(custom) {
							t.Errorf("custom plan is not an ordered scan of the user's index %v:\n%s", indexes[sort], custom)
						}
						// The plan cache only switches to the generic plan when it is estimated
						// cheaper than the custom plans (plus their planning); one that is not
						// ordered must be dearer, so that it is never used.
						generic := genericPlan(t, conn, rec.sql, len(rec.args))
						if !byUserIndex(generic) || !ordered(generic) && planCost(t, generic) <= planCost(t, custom)+planningCost {
							t.Errorf("generic plan is neither ordered by the user's index nor dearer than the custom plan:\n%s\ncustom:\n%s", generic, custom)
						}
					})
				}
			}
		}
	}
}

// planningCost is what PostgreSQL adds to a custom plan's cost for planning it again, when
// it weighs custom plans against the generic one: 1000 × cpu_operator_cost × (relations + 1).
const planningCost = 1000 * 0.0025 * 2

// byUserIndex reports whether plan finds tasks through an index by user, not by reading the
// whole table.
func byUserIndex(plan string) bool {
	return !strings.Contains(plan, "Seq Scan") && strings.Contains(plan, "user_id = ")
}

// trashOnly reports whether plan reads the user's trash through the trash index. Sorting
// that is fine: it is at most 30 days of the user's deletions, never the live tasks.
func trashOnly(plan string) bool {
	return byUserIndex(plan) && strings.Contains(plan, "on tasks_trash_idx")
}

var costRE = regexp.MustCompile(`cost=[0-9.]+\.\.([0-9.]+)`)

// planCost is the estimated total cost of a plan: that of its top node.
func planCost(t *testing.T, plan string) float64 {
	t.Helper()
	m := costRE.FindStringSubmatch(plan)
	if m == nil {
		t.Fatalf("no cost in plan:\n%s", plan)
	}
	c, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// indexOrdered reports whether plan reads tasks through one of indexes by user, in the
// index's order: no sort, no bitmap scan (which loses the order), no sequential scan.
func indexOrdered(plan string, indexes []string) bool {
	if !byUserIndex(plan) || strings.Contains(plan, "Sort") || strings.Contains(plan, "Bitmap") {
		return false
	}
	for _, idx := range indexes {
		if strings.Contains(plan, "Index Scan using "+idx+" on tasks") || strings.Contains(plan, "Index Only Scan using "+idx+" on tasks") {
			return true
		}
	}
	return false
}

// customPlan is the plan for sql with these argument values, as the first executions of a
// prepared statement get it.
func customPlan(t *testing.T, conn *pgxpool.Conn, sql string, args []any) string {
	t.Helper()
	return explain(t, conn, "EXPLAIN "+sql, args...)
}

// genericPlan is the plan for sql whatever its arguments, which a long-lived prepared
// statement may switch to. Planning does not look at the values, so they are NULL here.
func genericPlan(t *testing.T, conn *pgxpool.Conn, sql string, nargs int) string {
	t.Helper()
	ctx := context.Background()
	name := fmt.Sprintf("explain_%d", explained.Add(1))
	if _, err := conn.Conn().Prepare(ctx, name, sql); err != nil {
		t.Fatalf("prepare: %v", err)
	}
	defer func() { _ = conn.Conn().Deallocate(ctx, name) }()
	if _, err := conn.Exec(ctx, "SET plan_cache_mode = force_generic_plan"); err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = conn.Exec(ctx, "RESET plan_cache_mode") }()
	return explain(t, conn, "EXPLAIN EXECUTE "+name+"("+strings.TrimSuffix(strings.Repeat("NULL, ", nargs), ", ")+")")
}

var explained atomic.Int64

func explain(t *testing.T, conn *pgxpool.Conn, sql string, args ...any) string {
	t.Helper()
	rows, err := conn.Query(context.Background(), sql, args...)
	if err != nil {
		t.Fatalf("explain: %v", err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("explain: %v", err)
	}
	return strings.Join(lines, "\n")
}

package taskstore

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/taskwire/taskwire/internal/pgtest"
)

// scaleRows is how many tasks of other users BenchmarkListAmongOthers puts around the
// measured user: TASKWIRE_BENCH_SCALE_ROWS, by default ten million.
func scaleRows(b *testing.B) int {
	s := os.Getenv("TASKWIRE_BENCH_SCALE_ROWS")
	if s == "" {
		return 10_000_000
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		b.Fatalf("TASKWIRE_BENCH_SCALE_ROWS=%q is not a positive whole number", s)
	}
	return n
}

// BenchmarkListAmongOthers is list_tasks' store path for a user with 50 tasks, first alone
// in the table and then among millions of other users' tasks: with every list index-ordered
// on the user's own rows, the latency must not change (p50-ns is the median of the calls).
// Building the table takes minutes, so it runs only with TASKWIRE_BENCH_SCALE set, as
// `make bench` does; it uses a database of its own, dropped afterwards.
func BenchmarkListAmongOthers(b *testing.B) {
	if os.Getenv("TASKWIRE_BENCH_SCALE") == "" {
		b.Skip("set TASKWIRE_BENCH_SCALE=1 (make bench does) to build the table of other users' tasks; it takes minutes")
	}
	rows := scaleRows(b)
	pool := pgtest.Pool(b)
	seedTasks(b, pool, 1, 50) // bench-0: the measured user
	s := New(pool)
	limit20 := 20
	cases := []struct {
		name string
		opts ListOptions
	}{
		{"default", ListOptions{}},
		{"pending", ListOptions{Status: "pending", Limit: &limit20}},
		{"sort-due", ListOptions{Sort: "due", Limit: &limit20}},
		{"sort-priority", ListOptions{Sort: "priority", Limit: &limit20}},
	}
	measure := func(others string) {
		for _, c := range cases {
			b.Run(fmt.Sprintf("others=%s/%s", others, c.name), func(b *testing.B) {
				b.ReportAllocs()
				lat := make([]time.Duration, 0, 1<<12)
				for b.Loop() {
					t0 := time.Now()
					if _, err := s.List(context.Background(), "bench-0", c.opts); err != nil {
						b.Fatal(err)
					}
					lat = append(lat, time.Since(t0))
				}
				slices.Sort(lat)
				b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
			})
		}
	}
	measure("0")

	// Other users' tasks, 50 each, in one statement, with the same spread of columns as
	// seedTasks.
	start := time.Now()
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `
INSERT INTO tasks (user_id, task_id, title, description, completed, due_at, priority, tags)
SELECT 'other-' || (g / 50), g % 50 + 1, 'task ' || g, CASE WHEN g % 4 = 0 THEN 'notes for ' || g ELSE '' END,
       g % 5 = 0,
       CASE WHEN g % 3 = 0 THEN now() + (g % 60 - 30) * interval '1 day' END,
       (ARRAY['none','low','medium','high'])[1 + g % 4],
       CASE WHEN g % 2 = 0 THEN ARRAY['home'] ELSE ARRAY['work','urgent'] END
FROM generate_series(0, $1::int - 1) AS g`, rows); err != nil {
		b.Fatalf("insert %d tasks of other users: %v", rows, err)
	}
	if _, err := pool.Exec(ctx, "VACUUM ANALYZE tasks"); err != nil {
		b.Fatal(err)
	}
	b.Logf("built %d rows of other users in %s", rows, time.Since(start).Round(time.Second))
	measure(strconv.Itoa(rows))
}

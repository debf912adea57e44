package taskstore

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/taskwire/taskwire/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func newStore(t *testing.T) *Store {
	t.Helper()
	return New(pgtest.Pool(t))
}

func mustAdd(t *testing.T, s *Store, user string, in NewTask) Task {
	t.Helper()
	task, err := s.Add(context.Background(), user, in)
	if err != nil {
		t.Fatalf("add %+v: %v", in, err)
	}
	return task
}

func due(t *testing.T, s string) *Due {
	t.Helper()
	d, err := ParseDue("due", s)
	if err != nil {
		t.Fatal(err)
	}
	return &d
}

func ids(tasks []Task) []int64 {
	out := []int64{}
	for _, t := range tasks {
		out = append(out, t.TaskID)
	}
	return out
}

func TestAddNumbersTasksPerUserAndNormalizes(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	a1 := mustAdd(t, s, "alice", NewTask{Title: "  Buy milk  ", Description: " 2 litres ", Priority: "HIGH",
		Tags: []string{"Errands", "errands ", "home"}, Due: due(t, "2026-12-01")})
	a2 := mustAdd(t, s, "alice", NewTask{Title: "Call mum"})
	b1 := mustAdd(t, s, "bob", NewTask{Title: "Bob's first"})
	if a1.TaskID != 1 || a2.TaskID != 2 || b1.TaskID != 1 {
		t.Fatalf("task numbers = %d, %d (alice), %d (bob); want 1, 2, 1", a1.TaskID, a2.TaskID, b1.TaskID)
	}
	if a1.Title != "Buy milk" || a1.Description != "2 litres" || a1.Priority != "high" {
		t.Errorf("not normalized: %+v", a1)
	}
	if diff := cmp.Diff([]string{"errands", "home"}, a1.Tags); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
	if a1.Due.String() != "2026-12-01" || a2.Due != nil || a2.Priority != "none" || len(a2.Tags) != 0 || a2.Tags == nil {
		t.Errorf("defaults/due wrong: a1.due=%v a2=%+v", a1.Due, a2)
	}
	// A deleted number is never reused.
	if _, err := s.Delete(ctx, "alice", 2); err != nil {
		t.Fatal(err)
	}
	if a3 := mustAdd(t, s, "alice", NewTask{Title: "third"}); a3.TaskID != 3 {
		t.Errorf("after deleting task 2 the next number is %d, want 3", a3.TaskID)
	}
}

func TestConcurrentAddsGetDistinctNumbers(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	const n = 20
	var wg sync.WaitGroup
	got := make(chan int64, n)
	for i := range n {
		wg.Go(func() {
			task, err := s.Add(context.Background(), "alice", NewTask{Title: fmt.Sprint("t", i)})
			if err != nil {
				t.Error(err)
				return
			}
			got <- task.TaskID
		})
	}
	wg.Wait()
	close(got)
	seen := map[int64]bool{}
	for id := range got {
		if seen[id] || id < 1 || id > n {
			t.Errorf("task number %d repeated or out of 1..%d", id, n)
		}
		seen[id] = true
	}
	if len(seen) != n {
		t.Errorf("%d distinct numbers, want %d", len(seen), n)
	}
}

func TestValidation(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	mustAdd(t, s, "alice", NewTask{Title: "exists"})
	long := func(n int) string { return strings.Repeat("é", n) }
	tags := func(n int) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprint("tag", i))
		}
		return out
	}
	str := func(s string) *string { return &s }
	for _, tc := range []struct {
		name string
		do   func() error
		want string
	}{
		{"empty title", func() error { _, err := s.Add(ctx, "alice", NewTask{Title: "   "}); return err }, "title must be 1–200 characters after trimming spaces, got 0"},
		{"long title", func() error { _, err := s.Add(ctx, "alice", NewTask{Title: long(201)}); return err }, "title must be 1–200 characters after trimming spaces, got 201"},
		{"NUL in title", func() error { _, err := s.Add(ctx, "alice", NewTask{Title: "a\x00b"}); return err }, "title must not contain NUL characters"},
		{"long description", func() error {
			_, err := s.Add(ctx, "alice", NewTask{Title: "x", Description: long(4001)})
			return err
		}, "description must be at most 4000 characters, got 4001"},
		{"bad priority", func() error { _, err := s.Add(ctx, "alice", NewTask{Title: "x", Priority: "urgent"}); return err }, `priority must be one of none, low, medium, high, got "urgent"`},
		{"too many tags", func() error { _, err := s.Add(ctx, "alice", NewTask{Title: "x", Tags: tags(11)}); return err }, "at most 10 tags are allowed, got 11"},
		{"long tag", func() error {
			_, err := s.Add(ctx, "alice", NewTask{Title: "x", Tags: []string{strings.Repeat("t", 33)}})
			return err
		}, "each tag must be 1–32 characters"},
		{"empty tag", func() error { _, err := s.Add(ctx, "alice", NewTask{Title: "x", Tags: []string{" "}}); return err }, `each tag must be 1–32 characters, got " "`},
		{"zero task id", func() error { _, err := s.SetCompleted(ctx, "alice", 0, true); return err }, "task_id must be a positive task number, got 0"},
		{"update nothing", func() error { _, err := s.Update(ctx, "alice", 1, Changes{}); return err }, "nothing to change"},
		{"update empty title", func() error { _, err := s.Update(ctx, "alice", 1, Changes{Title: str("")}); return err }, "title must be 1–200 characters"},
		{"bad status", func() error { _, err := s.List(ctx, "alice", ListOptions{Status: "done"}); return err }, `status must be one of all, pending, completed, deleted, got "done"`},
		{"bad sort", func() error { _, err := s.List(ctx, "alice", ListOptions{Sort: "name"}); return err }, `sort must be one of created, due, priority, got "name"`},
		{"limit 0", func() error { n := 0; _, err := s.List(ctx, "alice", ListOptions{Limit: &n}); return err }, "limit must be between 1 and 200, got 0"},
		{"limit 201", func() error { n := 201; _, err := s.List(ctx, "alice", ListOptions{Limit: &n}); return err }, "limit must be between 1 and 200, got 201"},
		{"garbage cursor", func() error { _, err := s.List(ctx, "alice", ListOptions{Cursor: "%%%"}); return err }, "cursor is not valid for this query"},
		{"long query", func() error { _, err := s.List(ctx, "alice", ListOptions{Query: long(201)}); return err }, "query must be at most 200 characters, got 201"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.do()
			if !IsKind(err, Invalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want an Invalid error containing %q", err, tc.want)
			}
		})
	}
}

func TestParseDue(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"2026-12-01", "2026-12-01"},
		{"2026-12-01T15:00:00Z", "2026-12-01T15:00:00Z"},
		{"2026-12-01T15:00:00+02:00", "2026-12-01T13:00:00Z"},
		{" 2026-02-28 ", "2026-02-28"},
	} {
		d, err := ParseDue("due", tc.in)
		if err != nil || d.String() != tc.want {
			t.Errorf("ParseDue(%q) = %v, %v; want %s", tc.in, d, err, tc.want)
		}
	}
	for _, in := range []string{"", "tomorrow", "2026-13-01", "2026-02-30", "2026-12-01 15:00", "01/12/2026", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+01:00"} {
		if _, err := ParseDue("due", in); !IsKind(err, Invalid) || !strings.Contains(err.Error(), "due must be a date YYYY-MM-DD or an RFC 3339 time") {
			t.Errorf("ParseDue(%q) error = %v, want Invalid", in, err)
		}
	}
}

func TestNotFoundAndIsolation(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	mine := mustAdd(t, s, "alice", NewTask{Title: "alice's secret"})
	title := "hacked"
	// Bob asks for alice's task 1 and for a task 99 that nobody has: same answer both times.
	for _, id := range []int64{mine.TaskID, 99} {
		want := fmt.Sprintf("task %d not found", id)
		_, err1 := s.SetCompleted(ctx, "bob", id, true)
		_, err2 := s.Update(ctx, "bob", id, Changes{Title: &title})
		_, err3 := s.Delete(ctx, "bob", id)
		for _, err := range []error{err1, err2, err3} {
			if !IsKind(err, NotFound) || err.Error() != want {
				t.Errorf("bob on task %d: %v, want %q", id, err, want)
			}
		}
	}
	page, err := s.List(ctx, "bob", ListOptions{})
	if err != nil || len(page.Tasks) != 0 {
		t.Errorf("bob lists %v, %v; want nothing", page.Tasks, err)
	}
	page, err = s.List(ctx, "alice", ListOptions{})
	if err != nil || len(page.Tasks) != 1 || page.Tasks[0].Title != "alice's secret" || page.Tasks[0].Completed {
		t.Errorf("alice's task changed by bob: %+v, %v", page.Tasks, err)
	}
}

func TestCompleteIsIdempotentAndReopens(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	mustAdd(t, s, "alice", NewTask{Title: "x"})
	first, err := s.SetCompleted(ctx, "alice", 1, true)
	if err != nil || !first.Completed || first.CompletedAt == nil {
		t.Fatalf("complete: %+v, %v", first, err)
	}
	again, err := s.SetCompleted(ctx, "alice", 1, true)
	if err != nil || !again.CompletedAt.Equal(*first.CompletedAt) || !again.UpdatedAt.Equal(first.UpdatedAt) {
		t.Errorf("completing twice changed the task: %+v then %+v (%v)", first, again, err)
	}
	open, err := s.SetCompleted(ctx, "alice", 1, false)
	if err != nil || open.Completed || open.CompletedAt != nil {
		t.Errorf("reopen: %+v, %v", open, err)
	}
}

func TestUpdateKeepsAndClears(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	orig := mustAdd(t, s, "alice", NewTask{Title: "x", Description: "notes", Priority: "high", Tags: []string{"a"}, Due: due(t, "2026-12-01T09:30:00Z")})
	title := "new title"
	got, err := s.Update(ctx, "alice", 1, Changes{Title: &title})
	if err != nil {
		t.Fatal(err)
	}
	if got.Title != "new title" || got.Description != "notes" || got.Priority != "high" || got.Due.String() != "2026-12-01T09:30:00Z" || len(got.Tags) != 1 {
		t.Errorf("title-only update touched other fields: %+v", got)
	}
	if !got.UpdatedAt.After(orig.UpdatedAt) && !got.UpdatedAt.Equal(orig.UpdatedAt) {
		t.Errorf("updated_at went backwards")
	}
	empty, none, noTags := "", "none", []string{}
	got, err = s.Update(ctx, "alice", 1, Changes{Description: &empty, Priority: &none, Tags: &noTags, SetDue: true})
	if err != nil {
		t.Fatal(err)
	}
	if got.Description != "" || got.Priority != "none" || len(got.Tags) != 0 || got.Due != nil || got.Title != "new title" {
		t.Errorf("clearing failed: %+v", got)
	}
	got, err = s.Update(ctx, "alice", 1, Changes{SetDue: true, Due: due(t, "2027-01-02")})
	if err != nil || got.Due.String() != "2027-01-02" {
		t.Errorf("set due: %+v, %v", got.Due, err)
	}
}

func TestListFiltersSearchAndSort(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	mustAdd(t, s, "alice", NewTask{Title: "Buy MILK", Tags: []string{"errands"}, Priority: "low", Due: due(t, "2026-11-20")})               // 1 overdue (date)
	mustAdd(t, s, "alice", NewTask{Title: "Write report", Description: "100% done_ish", Priority: "high", Due: due(t, "2026-11-23")})       // 2 due today: not overdue
	mustAdd(t, s, "alice", NewTask{Title: "Call plumber", Tags: []string{"home"}, Priority: "medium", Due: due(t, "2026-11-23T11:00:00Z")}) // 3 overdue (time)
	mustAdd(t, s, "alice", NewTask{Title: "Read book", Tags: []string{"home", "errands"}})                                                  // 4 no due
	mustAdd(t, s, "alice", NewTask{Title: "Pay rent", Priority: "high", Due: due(t, "2026-12-01")})                                         // 5
	mustAdd(t, s, "bob", NewTask{Title: "Buy milk too"})
	if _, err := s.SetCompleted(ctx, "alice", 1, true); err != nil { // completed, so not overdue
		t.Fatal(err)
	}
	mustAdd(t, s, "alice", NewTask{Title: "Old bill", Due: due(t, "2026-10-01")}) // 6 overdue

	yes, no := true, false
	for _, tc := range []struct {
		name string
		o    ListOptions
		want []int64
	}{
		{"all by number", ListOptions{}, []int64{1, 2, 3, 4, 5, 6}},
		{"pending", ListOptions{Status: "pending"}, []int64{2, 3, 4, 5, 6}},
		{"completed", ListOptions{Status: "completed"}, []int64{1}},
		{"search is case-insensitive over title", ListOptions{Query: "milk"}, []int64{1}},
		{"search covers description", ListOptions{Query: "DONE"}, []int64{2}},
		{"percent is literal", ListOptions{Query: "100%"}, []int64{2}},
		{"percent alone matches only a literal percent", ListOptions{Query: "%"}, []int64{2}},
		{"underscore is literal", ListOptions{Query: "e_i"}, []int64{2}},
		{"underscore alone matches only a literal underscore", ListOptions{Query: "_"}, []int64{2}},
		{"backslash is literal", ListOptions{Query: `\`}, []int64{}},
		{"tag", ListOptions{Tag: "Home"}, []int64{3, 4}},
		{"priority", ListOptions{Priority: "high"}, []int64{2, 5}},
		{"due before a date excludes that day", ListOptions{DueBefore: due(t, "2026-11-23")}, []int64{1, 6}},
		{"due before a time", ListOptions{DueBefore: due(t, "2026-11-23T11:00:01Z")}, []int64{1, 2, 3, 6}},
		{"due after a date excludes that day", ListOptions{DueAfter: due(t, "2026-11-23")}, []int64{5}},
		{"due after a time", ListOptions{DueAfter: due(t, "2026-11-23T10:00:00Z")}, []int64{3, 5}},
		{"overdue", ListOptions{Overdue: &yes}, []int64{3, 6}},
		{"not overdue", ListOptions{Overdue: &no}, []int64{1, 2, 4, 5}},
		{"combined", ListOptions{Status: "pending", Tag: "errands", Query: "book"}, []int64{4}},
		{"sort due: soonest first, no due last", ListOptions{Sort: "due"}, []int64{6, 1, 2, 3, 5, 4}},
		{"sort priority: high first, then number", ListOptions{Sort: "priority"}, []int64{2, 5, 3, 1, 4, 6}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page, err := s.List(ctx, "alice", tc.o)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, ids(page.Tasks)); diff != "" {
				t.Errorf("task numbers (-want +got):\n%s", diff)
			}
			if page.NextCursor != "" {
				t.Errorf("next_cursor on a complete list: %q", page.NextCursor)
			}
		})
	}
}

// TestPagingWhileOthersInsert pages through every sort order while tasks keep being added
// between pages, with sort keys before and after the page boundary: no task may show up
// twice, and every task that existed before paging started must show up exactly once.
func TestPagingWhileOthersInsert(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	priorities := []string{"none", "low", "medium", "high"}
	for _, sort := range Sorts {
		t.Run(sort, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			const before = 57
			for i := range before {
				mustAdd(t, s, "alice", NewTask{Title: fmt.Sprint("task ", i), Priority: priorities[i%4],
					Due: due(t, fmt.Sprintf("2026-12-%02d", 1+i%28))})
			}
			// A second writer adds tasks while the pages are read, from another connection.
			var wg sync.WaitGroup
			stop := make(chan struct{})
			var inserted atomic.Int64
			wg.Go(func() {
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					in := NewTask{Title: "concurrent", Priority: priorities[i%4]}
					if i%3 != 0 { // some without a due date, the others early and late in the month
						in.Due = due(t, fmt.Sprintf("2026-12-%02d", 1+(i*11)%28))
					}
					if _, err := s.Add(ctx, "alice", in); err != nil {
						t.Error(err)
						return
					}
					inserted.Add(1)
				}
			})
			seen := map[int64]int{}
			limit := 7
			cur := ""
			for pages := 0; ; pages++ {
				if pages == 8 {
					close(stop) // let the list end: the writer adds faster than we read
					wg.Wait()
				}
				for pages < 8 && inserted.Load() < int64(3*(pages+1)) {
					time.Sleep(time.Millisecond) // make sure tasks really arrive between pages
				}
				page, err := s.List(ctx, "alice", ListOptions{Sort: sort, Limit: &limit, Cursor: cur})
				if err != nil {
					t.Fatal(err)
				}
				for _, task := range page.Tasks {
					seen[task.TaskID]++
				}
				if page.NextCursor == "" {
					break
				}
				if len(page.Tasks) != limit {
					t.Errorf("page with a next cursor has %d tasks, want %d", len(page.Tasks), limit)
				}
				cur = page.NextCursor
			}
			if n := inserted.Load(); n < 24 {
				t.Errorf("only %d tasks were added while paging", n)
			}
			for id, n := range seen {
				if n > 1 {
					t.Errorf("task %d listed %d times", id, n)
				}
			}
			for id := int64(1); id <= before; id++ {
				if seen[id] != 1 {
					t.Errorf("task %d, present before paging began, listed %d times", id, seen[id])
				}
			}
		})
	}
}

func TestCursorBelongsToItsQuery(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	for i := range 3 {
		mustAdd(t, s, "alice", NewTask{Title: fmt.Sprint("t", i), Tags: []string{"x"}})
	}
	one := 1
	page, err := s.List(ctx, "alice", ListOptions{Tag: "x", Limit: &one})
	if err != nil || page.NextCursor == "" {
		t.Fatalf("first page: %+v, %v", page, err)
	}
	for _, o := range []ListOptions{
		{Tag: "y", Cursor: page.NextCursor},
		{Tag: "x", Sort: "due", Cursor: page.NextCursor},
		{Cursor: page.NextCursor},
	} {
		if _, err := s.List(ctx, "alice", o); !IsKind(err, Invalid) {
			t.Errorf("cursor reused with %+v: %v, want Invalid", o, err)
		}
	}
	next, err := s.List(ctx, "alice", ListOptions{Tag: "x", Limit: &one, Cursor: page.NextCursor})
	if err != nil || len(next.Tasks) != 1 || next.Tasks[0].TaskID != 2 {
		t.Errorf("second page: %+v, %v", next, err)
	}
}

// TestExtremeDueDates: every date ParseDue accepts round-trips and sorts.
func TestExtremeDueDates(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	for _, d := range []string{"9999-12-31T23:59:59Z", "0001-01-01", "1969-07-20T20:17:00Z"} {
		if got := mustAdd(t, s, "alice", NewTask{Title: d, Due: due(t, d)}); got.Due.String() != d {
			t.Errorf("due %s came back as %s", d, got.Due)
		}
	}
	page, err := s.List(context.Background(), "alice", ListOptions{Sort: "due"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int64{2, 3, 1}, ids(page.Tasks)); diff != "" {
		t.Errorf("sorted by due (-want +got):\n%s", diff)
	}
	// East of UTC, 0001-01-01 starts in 1 BC: paging past it must still work.
	mustAdd(t, s, "east", NewTask{Title: "first", Due: due(t, "0001-01-01"), Timezone: "Asia/Tokyo"})
	mustAdd(t, s, "east", NewTask{Title: "second", Due: due(t, "0001-01-02")})
	one := 1
	first, err := s.List(context.Background(), "east", ListOptions{Sort: "due", Limit: &one})
	if err != nil || first.NextCursor == "" {
		t.Fatalf("first page: %+v, %v", first, err)
	}
	next, err := s.List(context.Background(), "east", ListOptions{Sort: "due", Limit: &one, Cursor: first.NextCursor})
	if err != nil || len(next.Tasks) != 1 || next.Tasks[0].Title != "second" {
		t.Errorf("page after a due in 1 BC: %+v, %v", next, err)
	}
}

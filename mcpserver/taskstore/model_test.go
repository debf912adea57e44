package taskstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/taskwire/taskwire/db"
	"github.com/taskwire/taskwire/internal/pgtest"
)

func at(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func listIDs(t *testing.T, s *Store, user string, o ListOptions) []int64 {
	t.Helper()
	page, err := s.List(context.Background(), user, o)
	if err != nil {
		t.Fatalf("list %+v: %v", o, err)
	}
	return ids(page.Tasks)
}

// Two users at the same instant, one in UTC+14 and one in UTC-11, are on different days:
// each one's "overdue" and date filters follow their own day, and an all-day task due today
// becomes overdue only at the user's midnight.
func TestOverdueInEachUsersZone(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	zones := map[string]string{"kiri": "Pacific/Kiritimati", "pago": "Pacific/Pago_Pago"}
	for user, zone := range zones {
		mustAdd(t, s, user, NewTask{Title: "due 14th", Due: due(t, "2026-06-14"), Timezone: zone})  // 1
		mustAdd(t, s, user, NewTask{Title: "due 15th", Due: due(t, "2026-06-15")})                  // 2
		mustAdd(t, s, user, NewTask{Title: "due 16th", Due: due(t, "2026-06-16")})                  // 3
		mustAdd(t, s, user, NewTask{Title: "due 10:00Z", Due: due(t, "2026-06-15T10:00:00Z")})      // 4
		mustAdd(t, s, user, NewTask{Title: "due 16th 13:00Z", Due: due(t, "2026-06-16T13:00:00Z")}) // 5
	}
	yes := true
	for _, tc := range []struct {
		name, user, now string
		o               ListOptions
		want            []int64
	}{
		// 11:00Z is 01:00 on the 16th in Kiritimati and 00:00 on the 15th in Pago Pago.
		{"overdue UTC+14", "kiri", "2026-06-15T11:00:00Z", ListOptions{Overdue: &yes}, []int64{1, 2, 4}},
		{"overdue UTC-11", "pago", "2026-06-15T11:00:00Z", ListOptions{Overdue: &yes}, []int64{1, 4}},
		{"due today not overdue before midnight", "pago", "2026-06-16T10:59:59Z", ListOptions{Overdue: &yes}, []int64{1, 4}},
		{"due today overdue from midnight", "pago", "2026-06-16T11:00:00Z", ListOptions{Overdue: &yes}, []int64{1, 2, 4}},
		{"due before a date UTC+14: 10:00Z is on the 16th there", "kiri", "2026-06-15T11:00:00Z", ListOptions{DueBefore: due(t, "2026-06-16")}, []int64{1, 2}},
		{"due before a date UTC-11", "pago", "2026-06-15T11:00:00Z", ListOptions{DueBefore: due(t, "2026-06-16")}, []int64{1, 2, 4}},
		{"due after a date UTC+14", "kiri", "2026-06-15T11:00:00Z", ListOptions{DueAfter: due(t, "2026-06-15")}, []int64{3, 4, 5}},
		{"due after a date UTC-11", "pago", "2026-06-15T11:00:00Z", ListOptions{DueAfter: due(t, "2026-06-15")}, []int64{3, 5}},
		{"sort by due UTC+14: the 16th starts at 10:00Z on the 15th", "kiri", "2026-06-15T11:00:00Z", ListOptions{Sort: "due"}, []int64{1, 2, 3, 4, 5}},
		{"sort by due UTC-11: 10:00Z is on the 14th there", "pago", "2026-06-15T11:00:00Z", ListOptions{Sort: "due"}, []int64{1, 4, 2, 3, 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Store{q: s.q, now: func() time.Time { return at(t, tc.now) }}
			if diff := cmp.Diff(tc.want, listIDs(t, s, tc.user, tc.o)); diff != "" {
				t.Errorf("task numbers (-want +got):\n%s", diff)
			}
		})
	}
	// Dates come back as given, whatever the zone.
	page, err := s.List(ctx, "kiri", ListOptions{})
	if err != nil || page.Tasks[1].Due.String() != "2026-06-15" || page.Tasks[3].Due.String() != "2026-06-15T10:00:00Z" {
		t.Errorf("dues came back as %v, %v (%v)", page.Tasks[1].Due, page.Tasks[3].Due, err)
	}
}

// A week with a daylight-saving change (Europe/Berlin, 29 March 2026, 02:00 → 03:00): whole
// days start at the right instants on either side, and changing the user's zone moves them.
func TestDaylightSavingWeekAndZoneChange(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	s.now = func() time.Time { return at(t, "2026-03-30T12:00:00Z") }
	ctx := context.Background()
	mustAdd(t, s, "ana", NewTask{Title: "sat", Due: due(t, "2026-03-28"), Timezone: "Europe/Berlin"}) // 1: starts 27th 23:00Z
	mustAdd(t, s, "ana", NewTask{Title: "sun", Due: due(t, "2026-03-29")})                            // 2: starts 28th 23:00Z
	mustAdd(t, s, "ana", NewTask{Title: "mon", Due: due(t, "2026-03-30")})                            // 3: starts 29th 22:00Z (CEST)
	mustAdd(t, s, "ana", NewTask{Title: "sun 00:30Z", Due: due(t, "2026-03-29T00:30:00Z")})           // 4: 01:30 CET on Sunday
	mustAdd(t, s, "ana", NewTask{Title: "sun 22:30Z", Due: due(t, "2026-03-29T22:30:00Z")})           // 5: 00:30 CEST on Monday
	for _, tc := range []struct {
		name string
		o    ListOptions
		want []int64
	}{
		{"order", ListOptions{Sort: "due"}, []int64{1, 2, 4, 3, 5}},
		{"before monday", ListOptions{DueBefore: due(t, "2026-03-30")}, []int64{1, 2, 4}},
		{"after sunday", ListOptions{DueAfter: due(t, "2026-03-29")}, []int64{3, 5}},
		{"sunday's start instant is in the day", ListOptions{DueAfter: due(t, "2026-03-28T22:59:59Z"), DueBefore: due(t, "2026-03-28T23:00:01Z")}, []int64{2}},
		{"monday starts at 22:00Z", ListOptions{DueAfter: due(t, "2026-03-29T21:59:59Z"), DueBefore: due(t, "2026-03-29T22:00:01Z")}, []int64{3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, listIDs(t, s, "ana", tc.o)); diff != "" {
				t.Errorf("task numbers (-want +got):\n%s", diff)
			}
		})
	}
	// Moving to New York moves every whole day to New York's midnight (UTC-4 then).
	if _, err := s.List(ctx, "ana", ListOptions{Timezone: "America/New_York"}); err != nil {
		t.Fatal(err)
	}
	if got := listIDs(t, s, "ana", ListOptions{DueAfter: due(t, "2026-03-29T03:59:59Z"), DueBefore: due(t, "2026-03-29T04:00:01Z")}); !cmp.Equal(got, []int64{2}) {
		t.Errorf("after the move, Sunday does not start at 04:00Z: %v", got)
	}
	if got := listIDs(t, s, "ana", ListOptions{Sort: "due"}); !cmp.Equal(got, []int64{1, 4, 2, 5, 3}) {
		t.Errorf("order in New York = %v", got)
	}
}

// TestRecurrence completes repeating tasks at chosen times and checks where each moves.
func TestRecurrence(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	const done = "completed"
	for i, tc := range []struct {
		name, rule, due, zone string
		completions           []string // the instants of successive completions
		want                  []string // the due after each, or done
	}{
		{"daily", "FREQ=DAILY", "2026-03-10", "UTC", []string{"2026-03-10T09:00:00Z", "2026-03-11T09:00:00Z"}, []string{"2026-03-11", "2026-03-12"}},
		{"weekdays skip the weekend", "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR", "2026-03-13", "UTC", []string{"2026-03-13T09:00:00Z"}, []string{"2026-03-16"}},
		{"every other week", "FREQ=WEEKLY;INTERVAL=2", "2026-03-02", "UTC", []string{"2026-03-02T09:00:00Z"}, []string{"2026-03-16"}},
		{"monthly on the 31st skips short months", "FREQ=MONTHLY;BYMONTHDAY=31", "2026-01-31", "UTC",
			[]string{"2026-01-31T09:00:00Z", "2026-03-31T09:00:00Z"}, []string{"2026-03-31", "2026-05-31"}},
		{"monthly on the last day", "FREQ=MONTHLY;BYMONTHDAY=-1", "2026-01-31", "UTC",
			[]string{"2026-01-31T09:00:00Z", "2026-02-28T09:00:00Z", "2026-03-31T09:00:00Z"}, []string{"2026-02-28", "2026-03-31", "2026-04-30"}},
		{"yearly on Feb 29", "FREQ=YEARLY", "2024-02-29", "UTC", []string{"2024-02-29T09:00:00Z"}, []string{"2028-02-29"}},
		{"COUNT used up", "FREQ=DAILY;COUNT=2", "2026-03-10", "UTC", []string{"2026-03-10T09:00:00Z", "2026-03-11T09:00:00Z"}, []string{"2026-03-11", done}},
		{"UNTIL reached", "FREQ=WEEKLY;UNTIL=20260316", "2026-03-03", "UTC", []string{"2026-03-03T09:00:00Z", "2026-03-10T09:00:00Z"}, []string{"2026-03-10", done}},
		{"weeks late: the first Monday from today", "FREQ=WEEKLY;BYDAY=MO", "2026-02-02", "UTC", []string{"2026-03-04T09:00:00Z"}, []string{"2026-03-09"}},
		{"late on an occurrence day: today", "FREQ=WEEKLY;BYDAY=MO", "2026-02-02", "UTC", []string{"2026-03-09T09:00:00Z"}, []string{"2026-03-09"}},
		{"late past its COUNT: completed", "FREQ=DAILY;COUNT=3", "2026-03-01", "UTC", []string{"2026-03-10T09:00:00Z"}, []string{done}},
		{"late skips count toward COUNT", "FREQ=DAILY;COUNT=5", "2026-03-01", "UTC", []string{"2026-03-04T09:00:00Z", "2026-03-05T09:00:00Z"}, []string{"2026-03-04", "2026-03-05"}},
		{"today is the user's", "FREQ=DAILY", "2026-03-01", "Pacific/Kiritimati", []string{"2026-03-09T11:00:00Z"}, []string{"2026-03-10"}},
		{"a time keeps its wall clock across DST", "FREQ=DAILY", "2026-03-28T08:00:00Z", "Europe/Berlin",
			[]string{"2026-03-28T08:30:00Z", "2026-03-29T07:30:00Z"}, []string{"2026-03-29T07:00:00Z", "2026-03-30T07:00:00Z"}},
		{"a time's UNTIL date includes that day", "FREQ=DAILY;UNTIL=20260311", "2026-03-10T18:00:00Z", "UTC",
			[]string{"2026-03-10T19:00:00Z", "2026-03-11T19:00:00Z"}, []string{"2026-03-11T18:00:00Z", done}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			user := fmt.Sprint("r", i)
			task := mustAdd(t, s, user, NewTask{Title: tc.name, Due: due(t, tc.due), Repeat: tc.rule, Timezone: tc.zone})
			if task.Repeat == nil || *task.Repeat != tc.rule {
				t.Fatalf("repeat = %v, want %s", task.Repeat, tc.rule)
			}
			for j, when := range tc.completions {
				s := &Store{q: s.q, now: func() time.Time { return at(t, when) }}
				got, err := s.SetCompleted(ctx, user, task.TaskID, true)
				if err != nil {
					t.Fatal(err)
				}
				if got.TaskID != task.TaskID {
					t.Fatalf("task number changed to %d", got.TaskID)
				}
				if tc.want[j] == done {
					if !got.Completed || got.CompletedAt == nil {
						t.Errorf("completion %d: %+v, want completed", j+1, got)
					}
					continue
				}
				if got.Completed || got.Due.String() != tc.want[j] || got.CompletedAt == nil {
					t.Errorf("completion %d at %s: completed=%v due=%v completed_at=%v, want pending, due %s and the completion recorded",
						j+1, when, got.Completed, got.Due, got.CompletedAt, tc.want[j])
				}
			}
		})
	}
}

func TestRepeatAndZoneRefuseBadInput(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	plain := mustAdd(t, s, "alice", NewTask{Title: "no due"})
	weekly := mustAdd(t, s, "alice", NewTask{Title: "weekly", Due: due(t, "2026-03-02"), Repeat: "FREQ=WEEKLY"})
	str := func(s string) *string { return &s }
	for _, tc := range []struct {
		name string
		do   func() error
		want string
	}{
		{"not a rule", func() error {
			_, err := s.Add(ctx, "alice", NewTask{Title: "x", Due: weekly.Due, Repeat: "every monday"})
			return err
		}, "repeat must be an RFC 5545 RRULE"},
		{"hourly", func() error {
			_, err := s.Add(ctx, "alice", NewTask{Title: "x", Due: weekly.Due, Repeat: "FREQ=HOURLY"})
			return err
		}, "FREQ=HOURLY is not supported"},
		{"unsupported part", func() error {
			_, err := s.Add(ctx, "alice", NewTask{Title: "x", Due: weekly.Due, Repeat: "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"})
			return err
		}, "BYMONTH is not supported"},
		{"bad weekday", func() error {
			_, err := s.Add(ctx, "alice", NewTask{Title: "x", Due: weekly.Due, Repeat: "FREQ=WEEKLY;BYDAY=XX"})
			return err
		}, "repeat must be"},
		{"month day out of range", func() error {
			_, err := s.Add(ctx, "alice", NewTask{Title: "x", Due: weekly.Due, Repeat: "FREQ=MONTHLY;BYMONTHDAY=32"})
			return err
		}, "repeat must be"},
		{"zero count", func() error {
			_, err := s.Add(ctx, "alice", NewTask{Title: "x", Due: weekly.Due, Repeat: "FREQ=DAILY;COUNT=0"})
			return err
		}, "COUNT must be at least 1"},
		{"repeat without due", func() error { _, err := s.Add(ctx, "alice", NewTask{Title: "x", Repeat: "FREQ=DAILY"}); return err }, "repeat needs a due date"},
		{"update: repeat on a task without due", func() error {
			_, err := s.Update(ctx, "alice", plain.TaskID, Changes{SetRepeat: true, Repeat: str("FREQ=DAILY")})
			return err
		}, "a repeating task needs a due date"},
		{"update: clear the due of a repeating task", func() error {
			_, err := s.Update(ctx, "alice", weekly.TaskID, Changes{SetDue: true})
			return err
		}, "a repeating task needs a due date"},
		{"unknown zone", func() error { _, err := s.Add(ctx, "alice", NewTask{Title: "x", Timezone: "Mars/Olympus"}); return err }, `timezone must be an IANA time zone name such as Europe/Berlin, America/New_York or UTC, got "Mars/Olympus"`},
		{"server zone", func() error { _, err := s.List(ctx, "alice", ListOptions{Timezone: "Local"}); return err }, "timezone must be an IANA time zone name"},
		{"zone on update", func() error {
			_, err := s.Update(ctx, "alice", plain.TaskID, Changes{Title: str("y"), Timezone: "Europe/Nowhere"})
			return err
		}, "timezone must be"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.do()
			if !IsKind(err, Invalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want an Invalid error containing %q", err, tc.want)
			}
		})
	}
	// Nothing changed: the same two tasks, as they were, and no zone stored.
	page, err := s.List(ctx, "alice", ListOptions{})
	if err != nil || len(page.Tasks) != 2 || page.Tasks[0].Title != "no due" || page.Tasks[0].Repeat != nil ||
		page.Tasks[1].Due.String() != "2026-03-02" || *page.Tasks[1].Repeat != "FREQ=WEEKLY" {
		t.Errorf("bad input changed tasks: %+v, %v", page.Tasks, err)
	}
	if _, err := s.q.GetUserTimezone(ctx, "alice"); err == nil {
		t.Errorf("a refused zone was stored")
	}
	// A name PostgreSQL's zone rules lack is refused by the database too, which the store
	// answers like any unknown zone.
	var pgErr *pgconn.PgError
	if _, err := s.q.SetUserTimezone(ctx, db.SetUserTimezoneParams{UserID: "alice", Timezone: "Mars/Olympus"}); !errors.As(err, &pgErr) || pgErr.Code != "22023" {
		t.Errorf("storing an unknown zone: %v, want SQLSTATE 22023", err)
	}
	// A rule is stored in one form; null stops the repeating.
	got, err := s.Update(ctx, "alice", weekly.TaskID, Changes{SetRepeat: true, Repeat: str(" rrule:freq=monthly; bymonthday=-1 ")})
	if err != nil || *got.Repeat != "FREQ=MONTHLY;BYMONTHDAY=-1" {
		t.Errorf("update repeat: %v, %v", got.Repeat, err)
	}
	got, err = s.Update(ctx, "alice", weekly.TaskID, Changes{SetRepeat: true})
	if err != nil || got.Repeat != nil {
		t.Errorf("clear repeat: %v, %v", got.Repeat, err)
	}
}

// delete → trash → restore brings the same task back; the trash is invisible to everything
// else, restoring is only for the owner and only for TrashDays, and the purge erases after.
func TestTrashRestoreAndPurge(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	orig := mustAdd(t, s, "alice", NewTask{Title: "keep me", Description: "d", Priority: "high", Tags: []string{"x"}, Due: due(t, "2026-12-01"), Repeat: "FREQ=WEEKLY"})
	mustAdd(t, s, "alice", NewTask{Title: "other"})
	mustAdd(t, s, "bob", NewTask{Title: "bob's"})

	del, err := s.Delete(ctx, "alice", 1)
	if err != nil || !del.Deleted || del.TaskID != 1 || del.Title != "keep me" || del.RestorableUntil.Sub(time.Now()) < 29*24*time.Hour {
		t.Fatalf("delete: %+v, %v", del, err)
	}
	title := "changed"
	yes := true
	for name, err := range map[string]error{
		"complete": func() error { _, err := s.SetCompleted(ctx, "alice", 1, true); return err }(),
		"update":   func() error { _, err := s.Update(ctx, "alice", 1, Changes{Title: &title}); return err }(),
		"delete":   func() error { _, err := s.Delete(ctx, "alice", 1); return err }(),
	} {
		if !IsKind(err, NotFound) || err.Error() != "task 1 not found" {
			t.Errorf("%s on a trashed task: %v, want task 1 not found", name, err)
		}
	}
	for _, o := range []ListOptions{{}, {Status: "pending"}, {Sort: "due"}, {Sort: "priority"}, {Tag: "x"}, {Query: "keep"}, {Overdue: &yes}} {
		if got := listIDs(t, s, "alice", o); cmp.Equal(got, []int64{1}) || len(got) > 1 {
			t.Errorf("list %+v shows %v: the trashed task must be invisible", o, got)
		}
	}
	trash, err := s.List(ctx, "alice", ListOptions{Status: "deleted"})
	if err != nil || len(trash.Tasks) != 1 || trash.Tasks[0].TaskID != 1 || trash.Tasks[0].DeletedAt == nil {
		t.Fatalf("trash: %+v, %v", trash.Tasks, err)
	}
	if got := listIDs(t, s, "bob", ListOptions{Status: "deleted"}); len(got) != 0 {
		t.Errorf("bob's trash shows %v", got)
	}

	// Bob cannot restore alice's task 1, and gets the answer a missing task gets.
	_, errBob := s.Restore(ctx, "bob", 1)
	_, errMissing := s.Restore(ctx, "bob", 99)
	if !IsKind(errBob, NotFound) || errBob.Error() != strings.Replace(errMissing.Error(), "99", "1", 1) {
		t.Errorf("bob restoring alice's task: %v; a missing one: %v", errBob, errMissing)
	}
	back, err := s.Restore(ctx, "alice", 1)
	if err != nil {
		t.Fatal(err)
	}
	orig.UpdatedAt, back.UpdatedAt = time.Time{}, time.Time{}
	if diff := cmp.Diff(orig, back); diff != "" {
		t.Errorf("restored task differs (-before +after):\n%s", diff)
	}
	if _, err := s.Restore(ctx, "alice", 1); !IsKind(err, NotFound) || !strings.Contains(err.Error(), "task 1 is not in the trash") {
		t.Errorf("restoring a live task: %v", err)
	}
	if got := listIDs(t, s, "alice", ListOptions{}); !cmp.Equal(got, []int64{1, 2}) {
		t.Errorf("after restore: %v", got)
	}

	// Trash older than TrashDays can no longer be restored or listed, and the purge erases it.
	for _, id := range []int64{1, 2} {
		if _, err := s.Delete(ctx, "alice", id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Delete(ctx, "bob", 1); err != nil {
		t.Fatal(err)
	}
	later := &Store{q: s.q, now: func() time.Time { return time.Now().Add(TrashDays*24*time.Hour + time.Minute) }}
	if _, err := later.Restore(ctx, "alice", 1); !IsKind(err, NotFound) {
		t.Errorf("restore after %d days: %v, want not in the trash", TrashDays, err)
	}
	if got := listIDs(t, later, "alice", ListOptions{Status: "deleted"}); len(got) != 0 {
		t.Errorf("trash after %d days lists %v", TrashDays, got)
	}
	if n, err := s.PurgeTrash(ctx); err != nil || n != 0 {
		t.Errorf("purge now erased %d (%v), want 0", n, err)
	}
	if n, err := later.PurgeTrash(ctx); err != nil || n != 3 {
		t.Errorf("purge after %d days erased %d (%v), want 3", TrashDays, n, err)
	}
	if _, err := s.Restore(ctx, "alice", 2); !IsKind(err, NotFound) {
		t.Errorf("restore after the purge: %v", err)
	}
	// Purged numbers stay taken.
	if next := mustAdd(t, s, "alice", NewTask{Title: "new"}); next.TaskID != 3 {
		t.Errorf("next number after the purge = %d, want 3", next.TaskID)
	}
}

// RunPurger purges at once when it starts, and returns when its context ends.
func TestRunPurger(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t)
	s := New(pool)
	ctx, cancel := context.WithCancel(context.Background())
	mustAdd(t, s, "alice", NewTask{Title: "old"})
	if _, err := s.Delete(ctx, "alice", 1); err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return time.Now().Add(TrashDays*24*time.Hour + time.Minute) }
	stopped := make(chan struct{})
	go func() {
		s.RunPurger(ctx, time.Hour, slog.New(slog.NewTextHandler(io.Discard, nil)))
		close(stopped)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM tasks`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the purger did not erase the expired task within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("RunPurger did not return after its context ended")
	}
}

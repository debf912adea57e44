package taskstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// jsonValue is what the tools return; encoding/json through reflection is the reference for
// each AppendJSON.
type jsonValue interface {
	AppendJSON(b []byte) ([]byte, error)
}

// checkSameJSON fails unless v.AppendJSON writes exactly json.Marshal's bytes, after any
// prefix already in the buffer, or both fail.
func checkSameJSON(t *testing.T, v jsonValue) {
	t.Helper()
	want, wantErr := json.Marshal(v)
	prefix := []byte("prefix ")
	got, gotErr := v.AppendJSON(bytes.Clone(prefix))
	if (wantErr != nil) != (gotErr != nil) {
		t.Fatalf("json.Marshal error %v, AppendJSON error %v for %#v", wantErr, gotErr, v)
	}
	if wantErr != nil {
		return
	}
	if !bytes.HasPrefix(got, prefix) {
		t.Fatalf("AppendJSON lost the buffer's prefix: %q", got)
	}
	if got := got[len(prefix):]; !bytes.Equal(got, want) {
		t.Fatalf("AppendJSON differs from json.Marshal for %#v\ngot  %s\nwant %s", v, got, want)
	}
}

// TestAppendJSONReferenceHasNoShortcut makes sure json.Marshal really is the reference: were
// a tool result a json.Marshaler, the comparisons would hold the encoder to itself.
func TestAppendJSONReferenceHasNoShortcut(t *testing.T) {
	for _, v := range []any{Task{}, Page{}, Deleted{}, &Task{}, &Page{}, &Deleted{}} {
		if _, ok := v.(json.Marshaler); ok {
			t.Errorf("%T is a json.Marshaler", v)
		}
	}
}

// TestDueJSON holds Due's JSON to the form ParseDue reads, quoted as encoding/json quotes it.
func TestDueJSON(t *testing.T) {
	for _, d := range []Due{
		{},
		{At: time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)},
		{At: time.Date(2026, 12, 3, 15, 4, 5, 999, time.UTC), HasTime: true},
		{At: time.Date(2026, 12, 3, 23, 30, 0, 0, time.FixedZone("", -5*3600)), HasTime: true},
		{At: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		{At: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC), HasTime: true},
	} {
		want, _ := json.Marshal(d.String())
		got, err := json.Marshal(d)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("json.Marshal(%v) = %s, %v; want %s", d, got, err, want)
		}
	}
}

// awkward are strings that encoding/json escapes or repairs.
var awkward = []string{
	"",
	"plain text",
	`quote " and backslash \`,
	"<script>alert('x')</script> & more",
	"\x00\x01\x07\b\t\n\v\f\r\x1b\x1f\x7f",
	"line\u2028paragraph\u2029end",
	"invalid \xff byte, truncated \xe2\x80, lone continuation \x80",
	"surrogate half \xed\xa0\x80 and overlong \xc0\xaf",
	"ünïcödé, 漢字, emoji 🎉, U+FFFD \ufffd itself",
	strings.Repeat("é<", 300),
}

func TestTaskJSONMatchesEncodingJSON(t *testing.T) {
	when := time.Date(2026, 12, 3, 7, 24, 50, 123456000, time.UTC)
	ptr := func(tm time.Time) *time.Time { return &tm }
	repeat := "FREQ=WEEKLY;BYDAY=MO"
	full := Task{
		TaskID: 42, Title: "Buy <groceries> & milk", Description: "two\nlines", Completed: true,
		CompletedAt: ptr(when), Due: &Due{At: when, HasTime: true}, Priority: "high",
		Tags: []string{"home", "errands"}, CreatedAt: when, UpdatedAt: when.Add(time.Nanosecond),
		Repeat: &repeat, DeletedAt: ptr(when.Add(time.Hour)),
	}
	tasks := map[string]Task{
		"zero":             {},
		"full":             full,
		"empty tags":       {TaskID: 1, Title: "t", Priority: "none", Tags: []string{}, CreatedAt: when, UpdatedAt: when},
		"due date":         {Due: &Due{At: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}},
		"due far years":    {Due: &Due{At: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}},
		"negative id":      {TaskID: -9223372036854775808},
		"year 0":           {CreatedAt: time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)},
		"year 9999":        {UpdatedAt: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)},
		"zone offset":      {CreatedAt: when.In(time.FixedZone("", 5*3600+1800))},
		"zone with secs":   {CreatedAt: when.In(time.FixedZone("", -(3600 + 59)))},
		"local time":       {CreatedAt: when.Local()},
		"year 10000 fails": {CreatedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		"year -1 fails":    {UpdatedAt: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)},
		"zone 24h fails":   {CreatedAt: when.In(time.FixedZone("", 24*3600))},
		"completed_at bad": {CompletedAt: ptr(time.Date(12345, 1, 1, 0, 0, 0, 0, time.UTC))},
		"deleted_at bad":   {DeletedAt: ptr(time.Date(-5, 1, 1, 0, 0, 0, 0, time.UTC))},
	}
	for i, s := range awkward {
		r := s
		tasks[fmt.Sprintf("awkward %d", i)] = Task{Title: s, Description: s, Priority: s, Tags: []string{s, s}, Repeat: &r}
	}
	for name, task := range tasks {
		t.Run(name, func(t *testing.T) {
			checkSameJSON(t, task)
			checkSameJSON(t, Page{Tasks: []Task{task, full}, NextCursor: task.Title})
			checkSameJSON(t, Deleted{TaskID: task.TaskID, Title: task.Title, Deleted: task.Completed, RestorableUntil: task.CreatedAt})
		})
	}
	for name, p := range map[string]Page{
		"nil tasks":   {},
		"no tasks":    {Tasks: []Task{}},
		"with cursor": {Tasks: []Task{full}, NextCursor: "eyJzIjoiY3JlYXRlZCJ9"},
		"bad time":    {Tasks: []Task{full, tasks["year 10000 fails"]}},
	} {
		t.Run(name, func(t *testing.T) { checkSameJSON(t, p) })
	}
}

// FuzzTaskJSON compares the encoder with encoding/json on tasks, pages and delete reports
// built from arbitrary strings, numbers and times.
func FuzzTaskJSON(f *testing.F) {
	for i, s := range awkward {
		f.Add(s, "notes "+s, "high", s, "FREQ=DAILY", int64(i), i%2 == 0, int64(1796282690+i), int64(i*1000), 0, uint8(i))
	}
	f.Add("x", "", "", "", "", int64(1), true, int64(253402300800), int64(0), 3600, uint8(0xff))  // year 10000
	f.Add("x", "", "", "", "", int64(1), true, int64(-62135596801), int64(0), 0, uint8(0xff))     // year 0
	f.Add("x", "", "", "", "", int64(1), true, int64(1796282690), int64(0), 86400, uint8(0xff))   // zone hour 24
	f.Add("x", "", "", "", "", int64(1), true, int64(1796282690), int64(999999999), -7, uint8(0)) // odd zone
	f.Fuzz(func(t *testing.T, title, desc, prio, tag, repeat string, id int64, done bool, sec, nsec int64, offset int, flags uint8) {
		at := time.Unix(sec, nsec).In(time.FixedZone("", offset%(48*3600)))
		task := Task{
			TaskID: id, Title: title, Description: desc, Completed: done, Priority: prio,
			CreatedAt: at, UpdatedAt: at.Add(time.Duration(nsec)),
		}
		// Each bit of flags sets one optional field, so that nulls and values mix.
		if flags&1 != 0 {
			task.CompletedAt = &at
		}
		if flags&2 != 0 {
			task.Due = &Due{At: at, HasTime: flags&4 != 0}
		}
		if flags&8 != 0 {
			task.Tags = []string{tag, title}
		} else if flags&16 != 0 {
			task.Tags = []string{}
		}
		if flags&32 != 0 {
			task.Repeat = &repeat
		}
		if flags&64 != 0 {
			task.DeletedAt = &at
		}
		checkSameJSON(t, task)
		page := Page{Tasks: []Task{task, {}, task}}
		if flags&128 != 0 {
			page.NextCursor = tag
		}
		checkSameJSON(t, page)
		checkSameJSON(t, Deleted{TaskID: id, Title: title, Deleted: done, RestorableUntil: at})
	})
}

// BenchmarkResultJSON encodes a full default page of realistic tasks, and one task (what
// add_task and complete_task return), both ways.
func BenchmarkResultJSON(b *testing.B) {
	created := time.Date(2026, 12, 3, 7, 24, 50, 123456000, time.UTC)
	page := Page{NextCursor: "eyJzIjoiY3JlYXRlZCIsImkiOjUwLCJmIjoxMjM0NTY3ODl9"}
	for i := range DefaultLimit {
		task := Task{
			TaskID: int64(i + 1), Title: fmt.Sprintf("Buy groceries for the week, list %d", i),
			Description: "milk, eggs & bread", Priority: "high", Tags: []string{"home", "errands"},
			CreatedAt: created, UpdatedAt: created.Add(time.Duration(i) * time.Minute),
		}
		if i%2 == 0 {
			task.Due = &Due{At: time.Date(2026, 12, 4+i%20, 0, 0, 0, 0, time.UTC)}
		}
		if i%5 == 0 {
			task.Completed, task.CompletedAt = true, &task.UpdatedAt
		}
		page.Tasks = append(page.Tasks, task)
	}
	for _, v := range []struct {
		name  string
		value jsonValue
	}{{"page", page}, {"task", page.Tasks[0]}} {
		want, err := json.Marshal(v.value)
		if err != nil {
			b.Fatal(err)
		}
		for _, tc := range []struct {
			name string
			enc  func() ([]byte, error)
		}{
			{"json.Marshal", func() ([]byte, error) { return json.Marshal(v.value) }},
			{"AppendJSON", func() ([]byte, error) { return v.value.AppendJSON(nil) }},
		} {
			b.Run(v.name+"/"+tc.name, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(want)))
				for b.Loop() {
					if got, err := tc.enc(); err != nil || len(got) != len(want) {
						b.Fatalf("%d bytes, %v", len(got), err)
					}
				}
			})
		}
	}
}

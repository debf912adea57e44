package tasktools_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/taskwire/taskwire/mcpserver/mcphttp"
	"github.com/taskwire/taskwire/mcpserver/taskstore"
	"github.com/taskwire/taskwire/mcpserver/tasktools"
)

// task mirrors the structured task, with due as the raw string it is sent as.
type task struct {
	TaskID      int64    `json:"task_id"`
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Completed   bool     `json:"completed"`
	CompletedAt *string  `json:"completed_at"`
	Due         *string  `json:"due"`
	Priority    string   `json:"priority"`
	Tags        []string `json:"tags"`
	CreatedAt   string   `json:"created_at"`
	UpdatedAt   string   `json:"updated_at"`
	Repeat      *string  `json:"repeat"`
	DeletedAt   *string  `json:"deleted_at"`
}

type page struct {
	Tasks      []task `json:"tasks"`
	NextCursor string `json:"next_cursor"`
}

func add(t *testing.T, c *client.Client, args map[string]any) task {
	t.Helper()
	var out task
	success(t, call(t, c, "add_task", args), &out)
	return out
}

func list(t *testing.T, c *client.Client, args map[string]any) page {
	t.Helper()
	var out page
	success(t, call(t, c, "list_tasks", args), &out)
	return out
}

// TestToolsSucceed runs each tool's happy path, over both protocol eras a host may use.
func TestToolsSucceed(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	for _, era := range []struct {
		name string
		opts []client.ClientOption
	}{
		{"2026-07-28 stateless", nil},
		{"2025-11-25 initialize", []client.ClientOption{client.WithLegacyProtocolOnly()}},
	} {
		t.Run(era.name, func(t *testing.T) {
			user := strings.ReplaceAll(era.name, " ", "-")
			c := connect(t, srv, user, era.opts...)

			got := add(t, c, map[string]any{"title": "Buy groceries", "description": "milk, eggs",
				"due": "2026-12-01", "priority": "high", "tags": []string{"Errands"}})
			want := task{TaskID: 1, Title: "Buy groceries", Description: "milk, eggs", Due: ptr("2026-12-01"),
				Priority: "high", Tags: []string{"errands"}}
			if diff := cmp.Diff(want, got, ignoreTimes); diff != "" {
				t.Errorf("add_task (-want +got):\n%s", diff)
			}
			add(t, c, map[string]any{"title": "Call mum"})

			l := list(t, c, nil)
			if len(l.Tasks) != 2 || l.Tasks[0].Title != "Buy groceries" || l.Tasks[1].TaskID != 2 || l.NextCursor != "" {
				t.Errorf("list_tasks: %+v", l)
			}

			var done task
			success(t, call(t, c, "complete_task", map[string]any{"task_id": 1}), &done)
			if !done.Completed || done.CompletedAt == nil {
				t.Errorf("complete_task: %+v", done)
			}
			success(t, call(t, c, "complete_task", map[string]any{"task_id": 1, "completed": false}), &done)
			if done.Completed || done.CompletedAt != nil {
				t.Errorf("complete_task completed=false did not reopen: %+v", done)
			}

			var upd task
			success(t, call(t, c, "update_task", map[string]any{"task_id": 1, "title": "Buy food", "due": nil, "tags": nil}), &upd)
			if upd.Title != "Buy food" || upd.Due != nil || len(upd.Tags) != 0 || upd.Description != "milk, eggs" || upd.Priority != "high" {
				t.Errorf("update_task: %+v", upd)
			}

			var del struct {
				TaskID  int64  `json:"task_id"`
				Title   string `json:"title"`
				Deleted bool   `json:"deleted"`
			}
			success(t, call(t, c, "delete_task", map[string]any{"task_id": 2}), &del)
			if del.TaskID != 2 || del.Title != "Call mum" || !del.Deleted {
				t.Errorf("delete_task: %+v", del)
			}
			if l := list(t, c, nil); len(l.Tasks) != 1 || l.Tasks[0].TaskID != 1 {
				t.Errorf("after delete: %+v", l)
			}
		})
	}
}

var ignoreTimes = cmp.FilterPath(func(p cmp.Path) bool {
	s := p.String()
	return s == "CreatedAt" || s == "UpdatedAt"
}, cmp.Ignore())

func ptr[T any](v T) *T { return &v }

// TestResultsMatchOutputSchemas checks every tool's structuredContent against the output
// schema it advertises (clients may validate; the spec says servers MUST conform).
func TestResultsMatchOutputSchemas(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	c := connect(t, srv, "alice")
	schemas := map[string]*jsonschema.Schema{}
	for _, tool := range tasktools.Tools() {
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(tool.RawOutputSchema)))
		if err != nil {
			t.Fatal(err)
		}
		comp := jsonschema.NewCompiler()
		if err := comp.AddResource(tool.Name+".json", doc); err != nil {
			t.Fatal(err)
		}
		if schemas[tool.Name], err = comp.Compile(tool.Name + ".json"); err != nil {
			t.Fatalf("%s output schema: %v", tool.Name, err)
		}
	}
	calls := []struct {
		tool string
		args map[string]any
	}{
		{"add_task", map[string]any{"title": "a", "due": "2026-12-01T10:00:00Z", "tags": []string{"x"}}},
		{"add_task", map[string]any{"title": "b"}},
		{"complete_task", map[string]any{"task_id": 1}},
		{"update_task", map[string]any{"task_id": 2, "due": "2026-12-24"}},
		{"list_tasks", map[string]any{"limit": 1}},
		{"list_tasks", map[string]any{}},
		{"add_task", map[string]any{"title": "c", "due": "2026-03-02", "repeat": "FREQ=WEEKLY;BYDAY=MO", "timezone": "Europe/Berlin"}},
		{"complete_task", map[string]any{"task_id": 3}},
		{"delete_task", map[string]any{"task_id": 1}},
		{"list_tasks", map[string]any{"status": "deleted"}},
		{"restore_task", map[string]any{"task_id": 1}},
	}
	for _, tc := range calls {
		res := call(t, c, tc.tool, tc.args)
		var v any
		success(t, res, &v)
		if err := schemas[tc.tool].Validate(v); err != nil {
			t.Errorf("%s(%v) result does not match its output schema: %v\n%s", tc.tool, tc.args, err, res.RawStructuredContent)
		}
	}
}

// TestToolErrors checks that bad arguments and missing tasks are tool errors (isError) with
// a message a model can act on.
func TestToolErrors(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	c := connect(t, srv, "alice")
	add(t, c, map[string]any{"title": "exists"})
	for _, tc := range []struct {
		tool string
		args map[string]any
		want string
	}{
		{"add_task", map[string]any{}, "title is required"},
		{"add_task", map[string]any{"title": ""}, "title must be 1–200 characters"},
		{"add_task", map[string]any{"title": strings.Repeat("x", 201)}, "title must be 1–200 characters after trimming spaces, got 201"},
		{"add_task", map[string]any{"title": 7}, "title must be a string"},
		{"add_task", map[string]any{"title": "x", "user_id": "bob"}, `unknown argument "user_id": this tool takes only description, due, priority, repeat, tags, timezone, title`},
		{"add_task", map[string]any{"title": "x", "due": "next friday"}, `due must be a date YYYY-MM-DD or an RFC 3339 time`},
		{"add_task", map[string]any{"title": "x", "priority": "urgent"}, `priority must be one of none, low, medium, high, got "urgent"`},
		{"add_task", map[string]any{"title": "x", "tags": "work"}, "tags must be an array of strings"},
		{"add_task", map[string]any{"title": "x", "description": strings.Repeat("d", 4001)}, "description must be at most 4000 characters"},
		{"list_tasks", map[string]any{"status": "done"}, `status must be one of all, pending, completed, deleted, got "done"`},
		{"list_tasks", map[string]any{"sort": "title"}, `sort must be one of created, due, priority`},
		{"list_tasks", map[string]any{"limit": 500}, "limit must be between 1 and 200, got 500"},
		{"list_tasks", map[string]any{"limit": 0}, "limit must be between 1 and 200, got 0"},
		{"list_tasks", map[string]any{"limit": "ten"}, "limit must be an integer"},
		{"list_tasks", map[string]any{"overdue": "yes"}, "overdue must be true or false"},
		{"list_tasks", map[string]any{"cursor": "bogus"}, "cursor is not valid for this query"},
		{"list_tasks", map[string]any{"due_before": "soon"}, "due_before must be a date"},
		{"complete_task", map[string]any{}, "task_id is required"},
		{"complete_task", map[string]any{"task_id": "one"}, "task_id must be an integer"},
		{"complete_task", map[string]any{"task_id": 0}, "task_id must be a positive task number, got 0"},
		{"complete_task", map[string]any{"task_id": 7}, "task 7 not found"},
		{"delete_task", map[string]any{"task_id": 7}, "task 7 not found"},
		{"update_task", map[string]any{"task_id": 7, "title": "x"}, "task 7 not found"},
		{"update_task", map[string]any{"task_id": 1}, "nothing to change"},
		{"update_task", map[string]any{"task_id": 1, "title": nil}, "title cannot be cleared"},
		{"update_task", map[string]any{"task_id": 1, "tags": []int{1}}, "tags must be an array of strings"},
		{"add_task", map[string]any{"title": "x", "due": "2026-03-02", "repeat": "every monday"}, "repeat must be an RFC 5545 RRULE"},
		{"add_task", map[string]any{"title": "x", "due": "2026-03-02", "repeat": "FREQ=MINUTELY"}, "FREQ=MINUTELY is not supported"},
		{"add_task", map[string]any{"title": "x", "repeat": "FREQ=WEEKLY;BYDAY=MO"}, "repeat needs a due date"},
		{"add_task", map[string]any{"title": "x", "repeat": 7}, "repeat must be a string"},
		{"add_task", map[string]any{"title": "x", "timezone": "Mars/Base"}, `timezone must be an IANA time zone name`},
		{"list_tasks", map[string]any{"timezone": "Local"}, `timezone must be an IANA time zone name`},
		{"update_task", map[string]any{"task_id": 1, "repeat": "FREQ=DAILY"}, "a repeating task needs a due date"},
		{"update_task", map[string]any{"task_id": 1, "title": "y", "timezone": "UTC+3"}, "timezone must be an IANA time zone name"},
		{"restore_task", map[string]any{"task_id": 1}, "task 1 is not in the trash"},
		{"restore_task", map[string]any{"task_id": 9}, "task 9 is not in the trash"},
		{"restore_task", map[string]any{}, "task_id is required"},
	} {
		t.Run(tc.tool+"/"+tc.want, func(t *testing.T) {
			msg := toolError(t, call(t, c, tc.tool, tc.args))
			if !strings.Contains(msg, tc.want) {
				t.Errorf("message %q does not contain %q", msg, tc.want)
			}
		})
	}
	// None of the failures above changed anything.
	if l := list(t, c, nil); len(l.Tasks) != 1 || l.Tasks[0].Title != "exists" || l.Tasks[0].Repeat != nil || l.Tasks[0].Due != nil {
		t.Errorf("failed calls changed data: %+v", l)
	}
}

func TestUnknownToolIsProtocolError(t *testing.T) {
	t.Parallel()
	c := connect(t, newServer(t, nil), "alice")
	_, err := c.CallTool(context.Background(), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "drop_tables"}})
	if err == nil {
		t.Fatal("calling an unknown tool succeeded")
	}
}

// TestIsolation: user B can neither see nor change user A's tasks, and gets exactly the
// answer a task that does not exist gets.
func TestIsolation(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	alice, bob := connect(t, srv, "alice"), connect(t, srv, "bob")
	add(t, alice, map[string]any{"title": "alice's plan", "tags": []string{"secret"}})
	add(t, alice, map[string]any{"title": "alice's second"})
	add(t, bob, map[string]any{"title": "bob's own"}) // bob's task 1

	for _, tc := range []struct {
		tool string
		args map[string]any
	}{
		{"complete_task", map[string]any{"task_id": 2}},
		{"update_task", map[string]any{"task_id": 2, "title": "pwned"}},
		{"delete_task", map[string]any{"task_id": 2}},
	} {
		theirs := toolError(t, call(t, bob, tc.tool, tc.args))
		tc.args["task_id"] = 99
		missing := toolError(t, call(t, bob, tc.tool, tc.args))
		if theirs != strings.Replace(missing, "99", "2", 1) {
			t.Errorf("%s: another user's task answers %q, a missing one %q", tc.tool, theirs, missing)
		}
	}
	if l := list(t, bob, map[string]any{"query": "alice"}); len(l.Tasks) != 0 {
		t.Errorf("bob sees alice's tasks: %+v", l.Tasks)
	}
	if l := list(t, bob, map[string]any{"tag": "secret"}); len(l.Tasks) != 0 {
		t.Errorf("bob sees alice's tasks by tag: %+v", l.Tasks)
	}
	l := list(t, alice, nil)
	if len(l.Tasks) != 2 || l.Tasks[1].Title != "alice's second" || l.Tasks[1].Completed {
		t.Errorf("alice's tasks were touched by bob: %+v", l.Tasks)
	}
	// Bob's own task 1 is his, not alice's task 1.
	var mine task
	success(t, call(t, bob, "complete_task", map[string]any{"task_id": 1}), &mine)
	if mine.Title != "bob's own" {
		t.Errorf("bob's task 1 is %q", mine.Title)
	}
	if l := list(t, alice, map[string]any{"status": "completed"}); len(l.Tasks) != 0 {
		t.Errorf("bob completing his task 1 completed alice's: %+v", l.Tasks)
	}
}

func TestListPagesThroughTools(t *testing.T) {
	t.Parallel()
	c := connect(t, newServer(t, nil), "alice")
	for i := range 5 {
		add(t, c, map[string]any{"title": fmt.Sprint("t", i), "priority": taskstore.Priorities[i%4]})
	}
	var got []int64
	args := map[string]any{"limit": 2, "sort": "priority"}
	for range 5 {
		p := list(t, c, args)
		for _, task := range p.Tasks {
			got = append(got, task.TaskID)
		}
		if p.NextCursor == "" {
			break
		}
		args["cursor"] = p.NextCursor
	}
	if diff := cmp.Diff([]int64{4, 3, 2, 1, 5}, got); diff != "" {
		t.Errorf("pages by priority (-want +got):\n%s", diff)
	}
}

// TestTaskModelThroughTools: "every Monday" in the user's zone, completed and moved on;
// deleted by mistake and restored with its number; over MCP.
func TestTaskModelThroughTools(t *testing.T) {
	t.Parallel()
	c := connect(t, newServer(t, nil), "alice")
	weekly := add(t, c, map[string]any{"title": "Water the plants", "due": "2026-03-02", "repeat": "FREQ=WEEKLY;BYDAY=MO", "timezone": "Pacific/Auckland"})
	if weekly.Due == nil || *weekly.Due != "2026-03-02" || weekly.Repeat == nil || *weekly.Repeat != "FREQ=WEEKLY;BYDAY=MO" {
		t.Fatalf("add_task: %+v", weekly)
	}
	var done task
	success(t, call(t, c, "complete_task", map[string]any{"task_id": weekly.TaskID}), &done)
	// Completed long after 2 March: the next Monday from today in Auckland, still task 1.
	next, err := time.Parse(time.DateOnly, *done.Due)
	if err != nil || done.Completed || done.TaskID != 1 || next.Weekday() != time.Monday {
		t.Fatalf("complete_task on a weekly task: %+v (%v)", done, err)
	}
	today := time.Now().In(mustZone(t, "Pacific/Auckland")).Format(time.DateOnly)
	if *done.Due < today || next.Sub(mustDate(t, today)) >= 7*24*time.Hour {
		t.Errorf("next due %s is not the first Monday from today (%s)", *done.Due, today)
	}
	if l := list(t, c, map[string]any{"overdue": true}); len(l.Tasks) != 0 {
		t.Errorf("overdue after completing: %+v", l.Tasks)
	}

	var del struct {
		Deleted         bool   `json:"deleted"`
		RestorableUntil string `json:"restorable_until"`
	}
	success(t, call(t, c, "delete_task", map[string]any{"task_id": 1}), &del)
	if !del.Deleted || del.RestorableUntil == "" {
		t.Errorf("delete_task: %+v", del)
	}
	if l := list(t, c, nil); len(l.Tasks) != 0 {
		t.Errorf("deleted task still listed: %+v", l.Tasks)
	}
	if l := list(t, c, map[string]any{"status": "deleted"}); len(l.Tasks) != 1 || l.Tasks[0].DeletedAt == nil {
		t.Errorf("trash: %+v", l.Tasks)
	}
	var back task
	success(t, call(t, c, "restore_task", map[string]any{"task_id": 1}), &back)
	if back.TaskID != 1 || back.Title != "Water the plants" || back.Due == nil || *back.Due != *done.Due || back.DeletedAt != nil {
		t.Errorf("restore_task: %+v", back)
	}
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func mustDate(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestDatabaseDownIsRetryable: when PostgreSQL cannot be reached, a tool call fails as a
// request (a JSON-RPC error the client may retry), not as a tool result for the model.
func TestDatabaseDownIsRetryable(t *testing.T) {
	t.Parallel()
	down, err := pgxpool.New(context.Background(), "postgres://nobody@127.0.0.1:1/none?connect_timeout=2&sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(down.Close)
	c := connect(t, newServer(t, func(cfg *mcphttp.Config) { cfg.Pool = down }), "alice")
	for tool, args := range map[string]map[string]any{"list_tasks": nil, "add_task": {"title": "x"}, "complete_task": {"task_id": 1}} {
		res, err := c.CallTool(context.Background(), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: tool, Arguments: args}})
		if err == nil || !strings.Contains(err.Error(), "unavailable") || strings.Contains(err.Error(), "127.0.0.1") {
			t.Errorf("%s with the database down: result %+v, error %v; want a protocol error saying unavailable, without details", tool, res, err)
		}
	}
}

package agent_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/taskwire/taskwire/chatproxy/llm/llmtest"
)

// The task model in chat, with the fake model speaking and the real mcpserver doing the
// work: a weekly reminder, the overdue list, and "undo that" after a delete. mcpserver judges
// dates by the real clock, so the dates the scripted model sends are computed from it.

// nextWeekday is the first date strictly after today (UTC) that falls on day.
func nextWeekday(day time.Weekday) string {
	d := time.Now().UTC().AddDate(0, 0, 1)
	for d.Weekday() != day {
		d = d.AddDate(0, 0, 1)
	}
	return d.Format(time.DateOnly)
}

func TestEveryMonday(t *testing.T) {
	t.Parallel()
	monday := nextWeekday(time.Monday)
	add := fmt.Sprintf(`{"title":"Water the plants","due":%q,"repeat":"FREQ=WEEKLY;BYDAY=MO"}`, monday)
	st := newStack(t, opts{},
		llmtest.ToolCalls(call("add_task", add)),
		llmtest.Text("I'll remind you every Monday, starting "+monday+"."),
	)
	_, events := st.env.CreateThread(t, "alice", "remind me every Monday to water the plants")
	if e := errorEvents(events); len(e) > 0 {
		t.Fatalf("error events: %v", e)
	}
	var repeat, due string
	if err := st.tasks.Pool.QueryRow(t.Context(),
		`SELECT repeat, due_date::text FROM tasks WHERE user_id = 'alice' AND task_id = 1 AND deleted_at IS NULL`).Scan(&repeat, &due); err != nil {
		t.Fatalf("the weekly task is not in mcpserver's database: %v", err)
	}
	if repeat != "FREQ=WEEKLY;BYDAY=MO" || due != monday {
		t.Errorf("stored repeat %q due %s, want FREQ=WEEKLY;BYDAY=MO due %s", repeat, due, monday)
	}
	reqs := st.streamed()
	if !reqs[0].HasTool("restore_task") {
		t.Errorf("restore_task was not offered to the model")
	}
	tm := toolMessages(reqs[1])
	if len(tm) != 1 || !strings.Contains(tm[0].Content, `"repeat":"FREQ=WEEKLY;BYDAY=MO"`) || !strings.Contains(tm[0].Content, `"due":"`+monday+`"`) {
		t.Fatalf("the model did not get the repeat and due back: %+v", tm)
	}

	// Completing it moves it to the Monday after, as the same task.
	res := st.callTool(t, "alice", "complete_task", `{"task_id":1}`)
	after := mustParseDate(t, monday).AddDate(0, 0, 7).Format(time.DateOnly)
	if !strings.Contains(string(res.Structured), `"due":"`+after+`"`) || !strings.Contains(string(res.Structured), `"completed":false`) {
		t.Errorf("complete_task on the weekly task: %s, want it pending and due %s", res.Structured, after)
	}
}

func TestWhatsOverdue(t *testing.T) {
	t.Parallel()
	st := newStack(t, opts{},
		llmtest.ToolCalls(call("list_tasks", `{"overdue":true,"timezone":"Europe/Berlin"}`)),
		llmtest.Text("One task is overdue: task 1 (Pay the bill)."),
	)
	twoDaysAgo := time.Now().UTC().AddDate(0, 0, -2).Format(time.DateOnly)
	inTwoDays := time.Now().UTC().AddDate(0, 0, 2).Format(time.DateOnly)
	st.callTool(t, "alice", "add_task", fmt.Sprintf(`{"title":"Pay the bill","due":%q}`, twoDaysAgo))
	st.callTool(t, "alice", "add_task", fmt.Sprintf(`{"title":"Book flights","due":%q}`, inTwoDays))
	st.callTool(t, "alice", "add_task", `{"title":"No date"}`)
	st.callTool(t, "bob", "add_task", fmt.Sprintf(`{"title":"Bob's late thing","due":%q}`, twoDaysAgo))

	_, events := st.env.CreateThread(t, "alice", "what's overdue?")
	if e := errorEvents(events); len(e) > 0 {
		t.Fatalf("error events: %v", e)
	}
	tm := toolMessages(st.streamed()[1])
	if len(tm) != 1 {
		t.Fatalf("tool messages = %+v", tm)
	}
	for _, want := range []string{`"title":"Pay the bill"`, `"due":"` + twoDaysAgo + `"`} {
		if !strings.Contains(tm[0].Content, want) {
			t.Errorf("overdue list %s lacks %s", tm[0].Content, want)
		}
	}
	for _, unwanted := range []string{"Book flights", "No date", "Bob"} {
		if strings.Contains(tm[0].Content, unwanted) {
			t.Errorf("overdue list %s shows %q", tm[0].Content, unwanted)
		}
	}
	var zone string
	if err := st.tasks.Pool.QueryRow(t.Context(), `SELECT timezone FROM user_settings WHERE user_id = 'alice'`).Scan(&zone); err != nil || zone != "Europe/Berlin" {
		t.Errorf("alice's zone = %q (%v), want Europe/Berlin remembered", zone, err)
	}
}

func TestUndoThat(t *testing.T) {
	t.Parallel()
	st := newStack(t, opts{},
		llmtest.ToolCalls(call("delete_task", `{"task_id":2}`)),
		llmtest.Text("Deleted task 2 (Write report)."),
		llmtest.ToolCalls(call("restore_task", `{"task_id":2}`)),
		llmtest.Text("Restored task 2 (Write report)."),
	)
	st.callTool(t, "alice", "add_task", `{"title":"Buy milk"}`)
	st.callTool(t, "alice", "add_task", `{"title":"Write report","priority":"high","tags":["work"]}`)

	thread, events := st.env.CreateThread(t, "alice", "delete the report task")
	if e := errorEvents(events); len(e) > 0 {
		t.Fatalf("error events: %v", e)
	}
	if res := st.callTool(t, "alice", "list_tasks", `{}`); strings.Contains(string(res.Structured), "Write report") {
		t.Fatalf("the deleted task is still listed: %s", res.Structured)
	}

	events = st.env.AddMessage(t, "alice", thread, "undo that")
	if e := errorEvents(events); len(e) > 0 {
		t.Fatalf("error events on undo: %v", e)
	}
	reqs := st.streamed()
	tm := toolMessages(reqs[len(reqs)-1])
	if len(tm) == 0 || !strings.Contains(tm[len(tm)-1].Content, `"task_id":2`) || !strings.Contains(tm[len(tm)-1].Content, `"deleted_at":null`) {
		t.Fatalf("restore_task result given to the model = %+v", tm)
	}
	res := st.callTool(t, "alice", "list_tasks", `{}`)
	for _, want := range []string{`"task_id":2`, `"title":"Write report"`, `"priority":"high"`, `"tags":["work"]`} {
		if !strings.Contains(string(res.Structured), want) {
			t.Errorf("after undo, list_tasks = %s, lacks %s", res.Structured, want)
		}
	}
	if got := assistantTexts(events); len(got) != 1 || got[0] != "Restored task 2 (Write report)." {
		t.Errorf("assistant messages = %q", got)
	}
}

func mustParseDate(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

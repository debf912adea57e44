package agent_test

import (
	"encoding/json"
	"flag"
	"net/http"
	"slices"
	"testing"

	"github.com/taskwire/taskwire/chatproxy/agent"
	"github.com/taskwire/taskwire/chatproxy/chatkit/chatkittest"
	"github.com/taskwire/taskwire/chatproxy/llm/llmtest"
)

var update = flag.Bool("update", false, "rewrite the golden transcripts in testdata/")

// widgetOf returns the one widget item among a stream's done or replaced items.
func widgetOf(t *testing.T, events []map[string]any) map[string]any {
	t.Helper()
	var found []map[string]any
	for _, ev := range events {
		if ev["type"] != "thread.item.done" && ev["type"] != "thread.item.replaced" {
			continue
		}
		if item := ev["item"].(map[string]any); item["type"] == "widget" {
			found = append(found, item)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d widget items in %v, want 1", len(found), events)
	}
	return found[0]
}

// rowsOf summarises a task widget: per row, its key and the action types it offers.
func rowsOf(widget map[string]any) map[string][]string {
	out := map[string][]string{}
	for _, row := range widget["widget"].(map[string]any)["children"].([]any) {
		row := row.(map[string]any)
		var actions []string
		for _, c := range row["children"].([]any) {
			c := c.(map[string]any)
			for _, k := range []string{"onChangeAction", "onClickAction"} {
				if a, ok := c[k].(map[string]any); ok {
					actions = append(actions, a["type"].(string))
				}
			}
		}
		out[row["key"].(string)] = actions
	}
	return out
}

// checkedRows maps each task row of a widget to whether its checkbox is ticked.
func checkedRows(widget map[string]any) map[string]bool {
	out := map[string]bool{}
	for _, row := range widget["widget"].(map[string]any)["children"].([]any) {
		for _, c := range row.(map[string]any)["children"].([]any) {
			if c := c.(map[string]any); c["type"] == "Checkbox" {
				out[c["name"].(string)] = c["defaultChecked"].(bool)
			}
		}
	}
	return out
}

func actionReq(typ, thread, item, action string, payload map[string]any) map[string]any {
	return chatkittest.Req(typ, map[string]any{"thread_id": thread, "item_id": item, "action": map[string]any{"type": action, "payload": payload}})
}

// TestTaskWidgetActions: "show my tasks" shows a widget; its checkbox completes a task and
// its delete button (after a confirmation) deletes one, both through mcpserver, each time
// replacing the widget with the fresh list. The whole conversation is a golden transcript.
func TestTaskWidgetActions(t *testing.T) {
	t.Parallel()
	st := newStack(t, opts{},
		llmtest.ToolCalls(call("list_tasks", `{}`)),
		llmtest.Text("Here are your tasks."),
	)
	st.callTool(t, "alice", "add_task", `{"title":"Buy milk"}`)
	st.callTool(t, "alice", "add_task", `{"title":"Call mom","due":"2026-03-20","priority":"high"}`)
	st.callTool(t, "bob", "add_task", `{"title":"Bob's own"}`)
	var tr chatkittest.Transcript
	do := func(note, user string, body map[string]any) chatkittest.Response {
		tr.Note(note)
		return tr.Exchange(t, st.env, user, body)
	}

	r := do("show my tasks: a widget follows the workflow", "alice",
		chatkittest.Req("threads.create", map[string]any{"input": chatkittest.Input("show my tasks")}))
	thread := r.Events[0]["thread"].(map[string]any)["id"].(string)
	w := widgetOf(t, r.Events)
	wid := w["id"].(string)
	if got := rowsOf(w); len(got) != 2 || !slices.Equal(got["task-1"], []string{agent.ActionComplete, agent.ActionDelete}) {
		t.Fatalf("widget rows = %v", got)
	}

	r = do("tick task 1", "alice", actionReq("threads.custom_action", thread, wid, agent.ActionComplete, map[string]any{"task_id": 1, "completed": true}))
	if w := widgetOf(t, r.Events); w["id"] != wid {
		t.Errorf("replaced item %v, want the widget %s", w["id"], wid)
	}
	if got := effects(r.Events); !slices.EqualFunc(got, [][]float64{{1}}, slices.Equal) {
		t.Errorf("tasks.changed = %v, want [[1]]", got)
	}
	if rows := st.taskRows(t); !rows[0].Completed {
		t.Fatalf("task 1 not completed in mcpserver: %+v", rows)
	}

	r = do("delete task 2 asks first", "alice", actionReq("threads.custom_action", thread, wid, agent.ActionDelete, map[string]any{"task_id": 2}))
	if got := rowsOf(widgetOf(t, r.Events))["task-2"]; !slices.Equal(got, []string{agent.ActionDeleteConfirm, agent.ActionDeleteCancel}) {
		t.Errorf("row 2 while confirming offers %v", got)
	}
	if n := len(st.taskRows(t)); n != 3 {
		t.Fatalf("asking deleted something: %d tasks", n)
	}
	r = do("confirm", "alice", actionReq("threads.custom_action", thread, wid, agent.ActionDeleteConfirm, map[string]any{"task_id": 2}))
	// With restore_task in tools/list the deleted task keeps a row offering only an undo.
	if got := rowsOf(widgetOf(t, r.Events)); got["task-1"] == nil || (got["task-2"] != nil && !slices.Equal(got["task-2"], []string{agent.ActionRestore})) {
		t.Errorf("rows after the delete = %v, want task 1 and at most an undo for task 2", got)
	}
	if got := st.listedIDs(t, "alice"); !slices.Equal(got, []int{1}) {
		t.Errorf("alice's tasks after the delete = %v, want [1]", got)
	}
	// Where mcpserver can restore deleted tasks, the widget's Undo brings task 2 back.
	if slices.Equal(rowsOf(widgetOf(t, r.Events))["task-2"], []string{agent.ActionRestore}) {
		r = do("undo the delete", "alice", actionReq("threads.custom_action", thread, wid, agent.ActionRestore, map[string]any{"task_id": 2}))
		if got := rowsOf(widgetOf(t, r.Events))["task-2"]; !slices.Equal(got, []string{agent.ActionComplete, agent.ActionDelete}) {
			t.Errorf("row 2 after the undo offers %v", got)
		}
		if got := st.listedIDs(t, "alice"); !slices.Equal(got, []int{1, 2}) {
			t.Errorf("alice's tasks after the undo = %v, want [1 2]", got)
		}
	}

	r = do("sync action: reopen task 1", "alice", actionReq("threads.sync_custom_action", thread, wid, agent.ActionComplete, map[string]any{"task_id": 1, "completed": false}))
	if r.Status != http.StatusOK || r.JSON["updated_item"].(map[string]any)["id"] != wid {
		t.Fatalf("sync action: %d %s", r.Status, r.Raw)
	}
	if rows := st.taskRows(t); rows[0].Completed {
		t.Errorf("task 1 still completed: %+v", rows)
	}
	stored := st.env.Items(t, "alice", thread)
	if last := stored[len(stored)-2]; last["id"] != wid || !json.Valid(mustJSON(t, last)) {
		t.Errorf("the stored widget is not where it was: %v", stored)
	}
	if got := rowsOf(stored[len(stored)-2])["task-1"]; !slices.Equal(got, []string{agent.ActionComplete, agent.ActionDelete}) {
		t.Errorf("stored widget after the sync action offers %v", got)
	}
	tr.Check(t, "widget_actions", *update)
}

// TestTaskWidgetBadInput: actions the widget never offered, another user's thread, a stale
// widget and a widget-less action all answer clearly and change nothing.
func TestTaskWidgetBadInput(t *testing.T) {
	t.Parallel()
	st := newStack(t, opts{},
		llmtest.ToolCalls(call("list_tasks", `{}`)),
		llmtest.Text("Here are your tasks."),
	)
	st.callTool(t, "alice", "add_task", `{"title":"Buy milk"}`)
	st.callTool(t, "alice", "add_task", `{"title":"Call mom"}`)
	st.callTool(t, "bob", "add_task", `{"title":"Bob's own"}`)
	thread, events := st.env.CreateThread(t, "alice", "show my tasks")
	wid := widgetOf(t, events)["id"].(string)
	before := st.taskRows(t)
	var tr chatkittest.Transcript

	for _, tt := range []struct {
		name    string
		user    string
		req     map[string]any
		message string
	}{
		{"a task the widget does not show", "alice", actionReq("threads.custom_action", thread, wid, agent.ActionComplete, map[string]any{"task_id": 9, "completed": true}), "That action is not one this task list offers, so nothing was changed."},
		{"a state the checkbox does not offer", "alice", actionReq("threads.custom_action", thread, wid, agent.ActionComplete, map[string]any{"task_id": 1, "completed": false}), "That action is not one this task list offers, so nothing was changed."},
		{"a confirmation never asked for", "alice", actionReq("threads.custom_action", thread, wid, agent.ActionDeleteConfirm, map[string]any{"task_id": 1}), "That action is not one this task list offers, so nothing was changed."},
		{"an unknown action", "alice", actionReq("threads.custom_action", thread, wid, "task.explode", map[string]any{"task_id": 1}), "That action is not one this task list offers, so nothing was changed."},
		{"no widget", "alice", actionReq("threads.custom_action", thread, "", agent.ActionComplete, map[string]any{"task_id": 1, "completed": true}), "This action only works from a task list."},
	} {
		tr.Note(tt.name)
		r := tr.Exchange(t, st.env, tt.user, tt.req)
		errs := errorEvents(r.Events)
		if len(errs) != 1 || errs[0]["message"] != tt.message || len(ofType(r.Events, "thread.item.replaced")) != 0 {
			t.Errorf("%s: events %v, want one error %q and no replaced widget", tt.name, r.Events, tt.message)
		}
	}

	tr.Note("bob acts on alice's widget: her thread does not exist for him")
	r := tr.Exchange(t, st.env, "bob", actionReq("threads.custom_action", thread, wid, agent.ActionComplete, map[string]any{"task_id": 1, "completed": true}))
	if r.Status != http.StatusNotFound {
		t.Errorf("bob's action: %d %s, want 404", r.Status, r.Raw)
	}
	tr.Note("sync: not offered")
	r = tr.Exchange(t, st.env, "alice", actionReq("threads.sync_custom_action", thread, wid, agent.ActionDeleteConfirm, map[string]any{"task_id": 1}))
	if r.Status != http.StatusBadRequest {
		t.Errorf("sync action never offered: %d %s, want 400", r.Status, r.Raw)
	}
	if after := st.taskRows(t); !slices.Equal(after, before) {
		t.Fatalf("bad actions changed tasks: %+v → %+v", before, after)
	}

	// Stale: task 2 goes behind the widget's back; ticking it says so and redraws the list.
	st.callTool(t, "alice", "delete_task", `{"task_id":2}`)
	tr.Note("stale widget: task 2 was deleted elsewhere")
	r = tr.Exchange(t, st.env, "alice", actionReq("threads.custom_action", thread, wid, agent.ActionComplete, map[string]any{"task_id": 2, "completed": true}))
	notices := ofType(r.Events, "notice")
	if len(notices) != 1 || notices[0]["level"] != "warning" {
		t.Errorf("stale action: events %v, want a warning notice", r.Events)
	}
	if got := rowsOf(widgetOf(t, r.Events)); len(got) != 1 || got["task-1"] == nil {
		t.Errorf("rows after the stale action = %v, want the fresh list (task 1)", got)
	}
	if len(effects(r.Events)) != 0 {
		t.Errorf("a refused action sent tasks.changed: %v", r.Events)
	}
	tr.Check(t, "widget_bad_input", *update)
}

// listedIDs is what list_tasks shows user, by task id.
func (st *stack) listedIDs(t *testing.T, user string) []int {
	t.Helper()
	var page struct {
		Tasks []struct {
			TaskID int `json:"task_id"`
		} `json:"tasks"`
	}
	if err := json.Unmarshal(st.callTool(t, user, "list_tasks", `{"status":"all"}`).Structured, &page); err != nil {
		t.Fatal(err)
	}
	var ids []int
	for _, task := range page.Tasks {
		ids = append(ids, task.TaskID)
	}
	slices.Sort(ids)
	return ids
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

package agent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/taskwire/taskwire/chatproxy/chatkit"
)

// Widget action types: what the task widget's controls send back (threads.custom_action or
// threads.sync_custom_action), each with {"task_id"} and, for completion, "completed".
const (
	ActionComplete      = "task.complete"       // the checkbox: complete_task
	ActionDelete        = "task.delete"         // the delete button: asks for confirmation
	ActionDeleteConfirm = "task.delete.confirm" // "Delete": delete_task
	ActionDeleteCancel  = "task.delete.cancel"  // "Keep": back to the row
	ActionRestore       = "task.restore"        // "Undo" after a delete: restore_task
)

// Tools the widget actions call. Which tools return lists or change tasks is read from their
// definitions; these are the verbs a widget control stands for.
const (
	toolList     = "list_tasks"
	toolComplete = "complete_task"
	toolDelete   = "delete_task"
	toolRestore  = "restore_task"
)

// widgetStateType marks the hidden item that keeps what a task widget was built from.
const widgetStateType = "task_widget"

// widgetTask is the part of an mcpserver task object a widget row shows.
type widgetTask struct {
	TaskID    int     `json:"task_id"`
	Title     string  `json:"title"`
	Completed bool    `json:"completed"`
	Due       *string `json:"due,omitempty"`
	Priority  string  `json:"priority,omitempty"`
}

// widgetState is everything a task widget is rendered from, kept in a hidden item beside
// it (the widget tree itself is only ever written, never parsed back).
type widgetState struct {
	Type     string `json:"type"`
	WidgetID string `json:"widget_id"`
	// List holds the list_tasks arguments of a list widget, re-run after every action;
	// nil for a widget showing tasks a changing tool returned.
	List    json.RawMessage `json:"list,omitempty"`
	Tasks   []widgetTask    `json:"tasks"`
	More    bool            `json:"more,omitempty"`
	Confirm int             `json:"confirm,omitempty"` // the task whose delete awaits confirmation
	// Deleted are tasks deleted from this widget, shown with an undo while restore exists.
	Deleted []widgetTask `json:"deleted,omitempty"`
}

// stateItemID is the id of the hidden item holding a widget's state: derived from the
// widget's own id, so an action finds it without scanning the thread.
func stateItemID(widgetID string) string { return chatkit.PrefixHiddenContext + "_w" + widgetID }

// item wraps st as its hidden item.
func (st *widgetState) item() (*chatkit.HiddenContextItem, error) {
	raw, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("encode widget state: %w", err)
	}
	return &chatkit.HiddenContextItem{ItemBase: chatkit.ItemBase{ID: stateItemID(st.WidgetID)}, Content: raw}, nil
}

// decodeWidgetState returns the widget state in item, or false if item is not one.
func decodeWidgetState(item chatkit.Item) (widgetState, bool) {
	h, ok := item.(*chatkit.HiddenContextItem)
	if !ok {
		return widgetState{}, false
	}
	var st widgetState
	if json.Unmarshal(h.Content, &st) != nil || st.Type != widgetStateType || st.WidgetID == "" {
		return widgetState{}, false
	}
	return st, true
}

// listState is the state of a widget for a list_tasks result called with args.
func listState(args string, structured json.RawMessage) (widgetState, error) {
	var page struct {
		Tasks      []widgetTask `json:"tasks"`
		NextCursor string       `json:"next_cursor"`
	}
	if err := json.Unmarshal(structured, &page); err != nil {
		return widgetState{}, fmt.Errorf("decode task list: %w", err)
	}
	list := json.RawMessage(args)
	if len(bytes.TrimSpace(list)) == 0 {
		list = json.RawMessage(`{}`)
	}
	return widgetState{Type: widgetStateType, List: list, Tasks: nonNilTasks(page.Tasks), More: page.NextCursor != ""}, nil
}

// taskState is the state of a widget for one task a changing tool returned; false when the
// result is not a whole task (delete_task answers only its id and title).
func taskState(structured json.RawMessage) (widgetState, bool) {
	t, ok := decodeTask(structured)
	if !ok {
		return widgetState{}, false
	}
	return widgetState{Type: widgetStateType, Tasks: []widgetTask{t}}, true
}

// decodeTask reads a whole task object (one with a "completed" field).
func decodeTask(structured json.RawMessage) (widgetTask, bool) {
	var v struct {
		widgetTask
		Completed *bool `json:"completed"`
	}
	if json.Unmarshal(structured, &v) != nil || v.Completed == nil || v.TaskID == 0 {
		return widgetTask{}, false
	}
	v.widgetTask.Completed = *v.Completed
	return v.widgetTask, true
}

func nonNilTasks(ts []widgetTask) []widgetTask {
	if ts == nil {
		return []widgetTask{}
	}
	return ts
}

// Widget nodes: the subset of ChatKit's widget components the task widget uses (ListView,
// ListViewItem, Checkbox, Badge, Button, Text). Empty fields are left out, as ChatKit's own
// serializer drops null props.
type (
	node struct {
		Type           string        `json:"type"`
		Key            string        `json:"key,omitempty"`
		Status         *widgetStatus `json:"status,omitempty"`
		Gap            int           `json:"gap,omitempty"`
		Align          string        `json:"align,omitempty"`
		Name           string        `json:"name,omitempty"`
		Label          string        `json:"label,omitempty"`
		Value          string        `json:"value,omitempty"`
		DefaultChecked *bool         `json:"defaultChecked,omitempty"`
		Color          string        `json:"color,omitempty"`
		Variant        string        `json:"variant,omitempty"`
		Size           string        `json:"size,omitempty"`
		LineThrough    bool          `json:"lineThrough,omitempty"`
		OnChangeAction *actionConfig `json:"onChangeAction,omitempty"`
		OnClickAction  *actionConfig `json:"onClickAction,omitempty"`
		Children       []node        `json:"children,omitempty"`
	}
	widgetStatus struct {
		Text string `json:"text"`
		Icon string `json:"icon,omitempty"`
	}
	// actionConfig is sent with its defaults filled in, as ChatKit's serializer does.
	actionConfig struct {
		Type            string         `json:"type"`
		Payload         map[string]any `json:"payload"`
		Handler         string         `json:"handler"`
		LoadingBehavior string         `json:"loadingBehavior"`
		Streaming       bool           `json:"streaming"`
	}
)

func action(typ string, payload map[string]any) *actionConfig {
	return &actionConfig{Type: typ, Payload: payload, Handler: "server", LoadingBehavior: "auto", Streaming: true}
}

// renderWidget draws st: one row per task (a checkbox that completes or reopens it, due and
// priority badges, a delete button), a confirmation row in place of the task being deleted,
// and an undo row per deleted task when canRestore.
func renderWidget(st widgetState, canRestore bool) (json.RawMessage, string) {
	title := "Tasks"
	if st.List == nil {
		title = "Task"
	}
	open := 0
	var rows []node
	var copyText strings.Builder
	for _, t := range st.Tasks {
		if !t.Completed {
			open++
		}
		mark := "[ ]"
		if t.Completed {
			mark = "[x]"
		}
		fmt.Fprintf(&copyText, "%s #%d %s\n", mark, t.TaskID, t.Title)
		rows = append(rows, taskRow(t, st.Confirm == t.TaskID))
	}
	if canRestore {
		for _, t := range st.Deleted {
			rows = append(rows, node{Type: "ListViewItem", Key: rowKey(t.TaskID), Gap: 2, Align: "center", Children: []node{
				{Type: "Text", Value: "Deleted ‘" + t.Title + "’", Color: "secondary", LineThrough: true},
				{Type: "Button", Label: "Undo", Variant: "outline", Size: "sm", OnClickAction: action(ActionRestore, map[string]any{"task_id": t.TaskID})},
			}})
		}
	}
	if len(rows) == 0 {
		rows = append(rows, node{Type: "ListViewItem", Key: "empty", Children: []node{{Type: "Text", Value: "No tasks", Color: "secondary"}}})
	}
	status := fmt.Sprintf("%s · %d open", title, open)
	if st.More {
		status += " · more not shown"
	}
	root := node{Type: "ListView", Status: &widgetStatus{Text: status, Icon: "check-circle"}, Children: rows}
	raw, _ := json.Marshal(root) // plain structs: cannot fail
	return raw, strings.TrimSuffix(copyText.String(), "\n")
}

func rowKey(id int) string { return "task-" + strconv.Itoa(id) }

// taskRow is one task's row, or the question whether to delete it.
func taskRow(t widgetTask, confirming bool) node {
	id := map[string]any{"task_id": t.TaskID}
	if confirming {
		return node{Type: "ListViewItem", Key: rowKey(t.TaskID), Gap: 2, Align: "center", Children: []node{
			{Type: "Text", Value: "Delete ‘" + t.Title + "’?"},
			{Type: "Button", Label: "Delete", Color: "danger", Size: "sm", OnClickAction: action(ActionDeleteConfirm, id)},
			{Type: "Button", Label: "Keep", Variant: "outline", Size: "sm", OnClickAction: action(ActionDeleteCancel, id)},
		}}
	}
	checked := t.Completed
	children := []node{{
		Type: "Checkbox", Name: rowKey(t.TaskID), Label: t.Title, DefaultChecked: &checked,
		OnChangeAction: action(ActionComplete, map[string]any{"task_id": t.TaskID, "completed": !t.Completed}),
	}}
	if t.Due != nil && *t.Due != "" {
		due := *t.Due
		if len(due) > 10 {
			due = due[:10]
		}
		children = append(children, node{Type: "Badge", Label: "Due " + due, Color: "info", Variant: "soft"})
	}
	if color, ok := priorityColors[t.Priority]; ok {
		children = append(children, node{Type: "Badge", Label: strings.ToUpper(t.Priority[:1]) + t.Priority[1:] + " priority", Color: color, Variant: "soft"})
	}
	children = append(children, node{Type: "Button", Label: "Delete", Color: "danger", Variant: "outline", Size: "sm", OnClickAction: action(ActionDelete, id)})
	return node{Type: "ListViewItem", Key: rowKey(t.TaskID), Gap: 2, Align: "center", Children: children}
}

var priorityColors = map[string]string{"high": "danger", "medium": "warning", "low": "secondary"}

// offers reports whether the widget tree holds a control whose action is a: same type and
// the same payload. Actions are checked against what the server stored, never trusted from
// the client. A client may add the control's own value under the control's name (as ChatKit
// does for form fields); that key is ignored, since the payload already says what to do.
func offers(widget json.RawMessage, a chatkit.Action) bool {
	var payload any
	if len(bytes.TrimSpace(a.Payload)) > 0 && json.Unmarshal(a.Payload, &payload) != nil {
		return false
	}
	var tree any
	if json.Unmarshal(widget, &tree) != nil {
		return false
	}
	found := false
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for _, k := range []string{"onChangeAction", "onClickAction"} {
				cfg, ok := x[k].(map[string]any)
				if !ok || cfg["type"] != a.Type {
					continue
				}
				name, _ := x["name"].(string)
				want, ok1 := canonicalValue(cfg["payload"])
				got, ok2 := canonicalValue(without(payload, name))
				found = found || (ok1 && ok2 && want == got)
			}
			for k, child := range x {
				if k != "onChangeAction" && k != "onClickAction" {
					walk(child)
				}
			}
		case []any:
			for _, child := range x {
				walk(child)
			}
		}
	}
	walk(tree)
	return found
}

// without is payload minus the key name, when payload is an object and name is set.
func without(payload any, name string) any {
	m, ok := payload.(map[string]any)
	if !ok || name == "" {
		return payload
	}
	if _, has := m[name]; !has {
		return payload
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		if k != name {
			out[k] = v
		}
	}
	return out
}

// canonicalValue encodes a decoded JSON value with sorted keys; null means {}.
func canonicalValue(v any) (string, bool) {
	if v == nil {
		return "{}", true
	}
	b, err := json.Marshal(v)
	return string(b), err == nil
}

package agent

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/taskwire/taskwire/chatproxy/chatkit"
	"github.com/taskwire/taskwire/chatproxy/llm"
)

func roles(msgs []llm.Message) string {
	var b strings.Builder
	for _, m := range msgs {
		b.WriteString(m.Role[:1])
	}
	return b.String()
}

// TestTrimHistory: the budget drops the oldest messages first, never separates a tool call
// from its results, never starts with an assistant or tool message, and keeps the input.
func TestTrimHistory(t *testing.T) {
	big := strings.Repeat("x", 100)
	calls := []llm.ToolCall{{ID: "c1", Name: "list_tasks", Arguments: "{}"}}
	history := []llm.Message{
		{Role: llm.RoleUser, Content: big},                         // u 100
		{Role: llm.RoleAssistant, Content: "ok", ToolCalls: calls}, // a 2+10+2
		{Role: llm.RoleTool, ToolCallID: "c1", Content: big},       // t 100
		{Role: llm.RoleAssistant, Content: big},                    // a 100
		{Role: llm.RoleUser, Content: "now"},                       // u 3
	}
	cases := []struct {
		budget int
		want   string
	}{
		{10000, "uatau"},
		{320, "uatau"},
		{300, "u"}, // dropping the first user leaves "atau": the call and result go together, then the answer
		{3, "u"},
		{0, "u"},
	}
	for _, c := range cases {
		if got := roles(trimHistory(slices.Clone(history), c.budget)); got != c.want {
			t.Errorf("budget %d: %s, want %s", c.budget, got, c.want)
		}
	}
}

// TestHistoryMessages: a tool step after the step's text becomes that message's tool calls;
// a hidden note and a stop note become context messages; workflows are skipped.
func TestHistoryMessages(t *testing.T) {
	step, _ := json.Marshal(toolStep{Type: toolStepType, Calls: []toolRun{{ID: "c1", Name: "add_task", Arguments: `{"title":"A"}`, ProviderExtra: []byte(`{"google":{}}`), Result: `{"task_id":1}`}}})
	items := []chatkit.Item{
		&chatkit.UserMessageItem{Content: []chatkit.UserContent{{Type: chatkit.ContentInputText, Text: "add A"}}},
		&chatkit.AssistantMessageItem{Content: []chatkit.OutputText{{Text: "Adding."}}},
		&chatkit.WorkflowItem{},
		&chatkit.HiddenContextItem{Content: step},
		&chatkit.AssistantMessageItem{Content: []chatkit.OutputText{{Text: "Done."}}},
		&chatkit.SDKHiddenContextItem{Content: chatkit.CancelledNote},
		&chatkit.HiddenContextItem{Content: []byte(`"some note"`)},
	}
	msgs := historyMessages(items)
	if got := roles(msgs); got != "uatauu" {
		t.Fatalf("roles %s, want uatauu: %+v", got, msgs)
	}
	if msgs[1].Content != "Adding." || len(msgs[1].ToolCalls) != 1 || string(msgs[1].ToolCalls[0].ProviderExtra) != `{"google":{}}` {
		t.Errorf("assistant with calls = %+v", msgs[1])
	}
	if msgs[2].ToolCallID != "c1" || msgs[2].Content != `{"task_id":1}` {
		t.Errorf("tool message = %+v", msgs[2])
	}
	if !strings.Contains(msgs[4].Content, "stopped the previous response") || !strings.Contains(msgs[5].Content, "some note") {
		t.Errorf("notes = %q, %q", msgs[4].Content, msgs[5].Content)
	}
}

// TestSystemPromptZone: "today" is the user's day when the page sends its time zone.
func TestSystemPromptZone(t *testing.T) {
	now := time.Date(2026, 3, 14, 23, 30, 0, 0, time.UTC)
	cases := []struct{ header, want string }{
		{"", "Saturday, 2026-03-14"},
		{"Asia/Tokyo", "Sunday, 2026-03-15"},
		{"America/Los_Angeles", "Saturday, 2026-03-14"},
		{"Not/AZone", "Saturday, 2026-03-14"},
		{"Local", "(time zone UTC)"},
	}
	for _, c := range cases {
		h := http.Header{}
		if c.header != "" {
			h.Set(TimezoneHeader, c.header)
		}
		p := systemPrompt(now, clientZone(chatkit.Caller{Header: h}), "")
		if !strings.Contains(p, c.want) {
			t.Errorf("%s: prompt lacks %q:\n%s", c.header, c.want, p)
		}
	}
	if p := systemPrompt(now, time.UTC, "de-DE"); !strings.Contains(p, `"de-DE"`) {
		t.Errorf("locale missing from prompt")
	}
}

func TestTitles(t *testing.T) {
	cases := []struct{ in, want string }{
		{"Grocery Shopping Plans", "Grocery Shopping Plans"},
		{"\"Weekly chores.\"\n", "Weekly chores"},
		{"Title: Milk run", "Milk run"},
		{"", ""},
		{"This is far too long to be a title for anything at all really", ""},
	}
	for _, c := range cases {
		if got := cleanTitle(c.in); got != c.want {
			t.Errorf("cleanTitle(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := fallbackTitle("please add a task to buy milk tomorrow morning"); got != "please add a task to buy" {
		t.Errorf("fallbackTitle = %q", got)
	}
}

// TestWorkflowTitles: what the thread shows for each tool while running and when done.
func TestWorkflowTitles(t *testing.T) {
	cases := []struct {
		name, args string
		res        *toolRun
		want       string
	}{
		{"add_task", `{"title":"Buy milk"}`, nil, "Adding ‘Buy milk’…"},
		{"add_task", `{"title":"Buy milk"}`, &toolRun{Structured: []byte(`{"task_id":1,"title":"Buy milk"}`)}, "Added ‘Buy milk’"},
		{"add_task", `{"title":"Buy milk"}`, &toolRun{IsError: true, Result: "Error: bad"}, "Couldn't add ‘Buy milk’"},
		{"complete_task", `{"task_id":3}`, &toolRun{Structured: []byte(`{"task_id":3,"title":"X"}`)}, "Completed task 3"},
		{"complete_task", `{"task_id":3,"completed":false}`, &toolRun{Structured: []byte(`{"task_id":3}`)}, "Reopened task 3"},
		{"delete_task", `{"task_id":2}`, &toolRun{Structured: []byte(`{"task_id":2,"title":"Old","deleted":true}`)}, "Deleted ‘Old’"},
		{"update_task", `{"task_id":2}`, &toolRun{Structured: []byte(`{"task_id":2}`)}, "Updated task 2"},
		{"restore_task", `{"task_id":2}`, &toolRun{Structured: []byte(`{"task_id":2,"title":"Old"}`)}, "Restored ‘Old’"},
		{"list_tasks", `{}`, &toolRun{Structured: []byte(`{"tasks":[{},{},{},{}]}`)}, "Listed 4 tasks"},
		{"list_tasks", `{}`, &toolRun{Structured: []byte(`{"tasks":[{}]}`)}, "Listed 1 task"},
		{"complete_task", `not json`, &toolRun{IsError: true}, "Couldn't complete a task"},
	}
	for _, c := range cases {
		task := workflowTask(llm.ToolCall{Name: c.name, Arguments: c.args}, c.res)
		if *task.Title != c.want {
			t.Errorf("%s %s: %q, want %q", c.name, c.args, *task.Title, c.want)
		}
		if wantIndicator := map[bool]string{true: "loading", false: "complete"}[c.res == nil]; task.StatusIndicator != wantIndicator {
			t.Errorf("%s: indicator %s, want %s", c.name, task.StatusIndicator, wantIndicator)
		}
	}
}

// TestWithDefault: the browser's zone goes into a call only where the model left it out.
func TestWithDefault(t *testing.T) {
	tests := []struct{ args, want string }{
		{`{"title":"x"}`, `{"timezone":"Europe/Paris","title":"x"}`},
		{``, `{"timezone":"Europe/Paris"}`},
		{`{}`, `{"timezone":"Europe/Paris"}`},
		{`{"timezone":null}`, `{"timezone":"Europe/Paris"}`},
		{`{"timezone":"Asia/Tokyo"}`, `{"timezone":"Asia/Tokyo"}`},
		{`[1]`, `[1]`}, // not an object: mcpserver refuses it as the model sent it
		{`{bad`, `{bad`},
	}
	for _, tt := range tests {
		if got := withDefault(tt.args, "timezone", "Europe/Paris"); got != tt.want {
			t.Errorf("withDefault(%s) = %s, want %s", tt.args, got, tt.want)
		}
	}
}

// TestOffers: an action counts only when the stored tree has a control with the same type
// and payload (key order and number spelling aside).
func TestOffers(t *testing.T) {
	tree, _ := renderWidget(widgetState{List: json.RawMessage(`{}`), Tasks: []widgetTask{{TaskID: 3, Title: "Buy milk"}}}, false)
	tests := []struct {
		typ, payload string
		want         bool
	}{
		{ActionComplete, `{"task_id":3,"completed":true}`, true},
		{ActionComplete, `{"completed":true,"task_id":3.0}`, true},
		{ActionComplete, `{"task_id":3,"completed":false}`, false},
		{ActionComplete, `{"task_id":3}`, false},
		{ActionDelete, `{"task_id":3}`, true},
		{ActionDelete, `{"task_id":3,"extra":1}`, false},
		{ActionDeleteConfirm, `{"task_id":3}`, false},
		{ActionDelete, `not json`, false},
		{ActionComplete, `{"task_id":3,"completed":true,"task-3":true}`, true}, // the checkbox's own value
		{ActionDelete, `{"task_id":3,"task-3":true}`, false},                   // the button has no name
		{ActionComplete, `{"task_id":3,"completed":true,"task-4":true}`, false},
		{"", ``, false},
	}
	for _, tt := range tests {
		if got := offers(tree, chatkit.Action{Type: tt.typ, Payload: json.RawMessage(tt.payload)}); got != tt.want {
			t.Errorf("offers(%s %s) = %v, want %v", tt.typ, tt.payload, got, tt.want)
		}
	}
}

// TestUndoRows: a task deleted from a widget keeps an Undo row only while mcpserver can
// restore it.
func TestUndoRows(t *testing.T) {
	st := widgetState{List: json.RawMessage(`{}`), Tasks: []widgetTask{{TaskID: 1, Title: "Buy milk"}}, Deleted: []widgetTask{{TaskID: 2, Title: "Call mom"}}}
	restore := chatkit.Action{Type: ActionRestore, Payload: json.RawMessage(`{"task_id":2}`)}
	for _, can := range []bool{true, false} {
		tree, copyText := renderWidget(st, can)
		if got := offers(tree, restore); got != can {
			t.Errorf("canRestore=%v: undo offered = %v", can, got)
		}
		if copyText != "[ ] #1 Buy milk" {
			t.Errorf("copy text = %q", copyText)
		}
	}
}

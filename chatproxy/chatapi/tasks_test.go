package chatapi_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestTaskRoutes: the panel's changes go through mcpserver as the signed-in user; bad input
// is a 4xx with a JSON error and changes nothing; another user's task reads as missing.
func TestTaskRoutes(t *testing.T) {
	s := newStack(t)
	url := s.proxy + "/api/tasks"
	status, body := call(t, "POST", url, "alice", map[string]any{"title": "Buy milk", "priority": "high"})
	if status != http.StatusOK || body["task_id"] != float64(1) || body["title"] != "Buy milk" {
		t.Fatalf("POST /api/tasks: %d %v", status, body)
	}
	call(t, "POST", url, "alice", map[string]any{"title": "Call mom"})
	call(t, "POST", url, "bob", map[string]any{"title": "Bob's own"})

	steps := []struct {
		name, method, path, user string
		body                     any
		status                   int
		check                    func(map[string]any) bool
	}{
		{"tick", "PATCH", "/1", "alice", map[string]any{"completed": true}, 200, func(b map[string]any) bool { return b["completed"] == true }},
		{"reopen", "PATCH", "/1", "alice", map[string]any{"completed": false}, 200, func(b map[string]any) bool { return b["completed"] == false }},
		{"rename", "PATCH", "/2", "alice", map[string]any{"title": "Call mum"}, 200, func(b map[string]any) bool { return b["title"] == "Call mum" }},
		{"clear the due date", "PATCH", "/2", "alice", `{"due":null}`, 200, func(b map[string]any) bool { return b["due"] == nil }},
		{"completed with other fields", "PATCH", "/1", "alice", map[string]any{"completed": true, "title": "x"}, 400, nil},
		{"nothing to change", "PATCH", "/1", "alice", map[string]any{}, 400, nil},
		{"unknown field", "PATCH", "/1", "alice", map[string]any{"owner": "bob"}, 400, nil},
		{"wrong type", "PATCH", "/1", "alice", map[string]any{"completed": "yes"}, 400, nil},
		{"two objects", "PATCH", "/1", "alice", `{"completed":true}{"completed":false}`, 400, nil},
		{"not JSON", "PATCH", "/1", "alice", `completed`, 400, nil},
		{"too big", "PATCH", "/1", "alice", map[string]any{"title": strings.Repeat("x", 20000)}, 413, nil},
		{"bad id", "PATCH", "/one", "alice", map[string]any{"completed": true}, 400, nil},
		{"zero id", "DELETE", "/0", "alice", nil, 400, nil},
		{"empty title (mcpserver refuses)", "PATCH", "/1", "alice", map[string]any{"title": ""}, 400, nil},
		{"add without a title", "POST", "", "alice", map[string]any{"priority": "low"}, 400, nil},
		{"add completed", "POST", "", "alice", map[string]any{"title": "x", "completed": true}, 400, nil},
		{"missing task", "PATCH", "/99", "alice", map[string]any{"completed": true}, 404, nil},
		{"bob's task 1 is his own", "PATCH", "/1", "bob", map[string]any{"title": "Mine"}, 200, func(b map[string]any) bool { return b["title"] == "Mine" }},
		{"bob has no task 2", "DELETE", "/2", "bob", nil, 404, nil},
		{"no token", "PATCH", "/1", "", map[string]any{"completed": true}, 401, nil},
		{"delete", "DELETE", "/2", "alice", nil, 200, func(b map[string]any) bool { return b["task_id"] == float64(2) }},
		{"features", "GET", "/features", "alice", nil, 200, func(b map[string]any) bool { _, ok := b["restore"].(bool); return ok }},
	}
	for _, st := range steps {
		status, body := call(t, st.method, url+st.path, st.user, st.body)
		if status != st.status {
			t.Errorf("%s: %s %s → %d %v, want %d", st.name, st.method, st.path, status, body, st.status)
			continue
		}
		if status >= 400 {
			if e, ok := body["error"].(map[string]any); !ok || e["message"] == "" {
				t.Errorf("%s: error body %v has no message", st.name, body)
			}
			continue
		}
		if st.check != nil && !st.check(body) {
			t.Errorf("%s: answer %v", st.name, body)
		}
	}
	if got := taskTitles(t, s, "alice"); strings.Join(got, ",") != "Buy milk" {
		t.Errorf("alice's tasks = %v, want only Buy milk (open)", got)
	}
	if got := taskTitles(t, s, "bob"); strings.Join(got, ",") != "Mine" {
		t.Errorf("bob's tasks = %v", got)
	}
}

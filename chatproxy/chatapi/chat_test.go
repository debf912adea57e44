package chatapi_test

import (
	"net/http"
	"strings"
	"testing"
)

// /api/chat refuses what /chatkit refuses (one decoding path) with a 400 JSON error, and a
// refused request leaves nothing behind: no thread, no message.
func TestChatRefusesUnstorableInput(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	tests := []struct {
		name string
		body string
	}{
		{"NUL in the message", `{"message":"a\u0000b"}`},
		{"NUL in conversation_id", `{"message":"hi","conversation_id":"thr_\u0000"}`},
		{"NUL in a key", `{"message":"hi","x\u0000":1}`},
		{"number out of range", `{"message":"hi","extra":1e400}`},
		{"deep nesting", `{"message":"hi","x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`},
		{"not an object", `["hi"]`},
		{"message not a string", `{"message":42}`},
		{"conversation_id not a string", `{"message":"hi","conversation_id":7}`},
		{"trailing data", `{"message":"hi"} {"message":"again"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := call(t, "POST", s.proxy+"/api/chat", "nul-user", tt.body)
			if status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400 (%v)", status, body)
			}
			if e, _ := body["error"].(map[string]any); e == nil || e["code"] == "" || e["message"] == "" {
				t.Fatalf("not the JSON error shape: %v", body)
			}
		})
	}
	threads := func() int {
		status, page := call(t, "POST", s.proxy+"/chatkit", "nul-user", `{"type":"threads.list","params":{}}`)
		data, ok := page["data"].([]any)
		if status != http.StatusOK || !ok {
			t.Fatalf("threads.list: %d %v", status, page)
		}
		return len(data)
	}
	if n := threads(); n != 0 {
		t.Fatalf("refused requests left %d threads behind", n)
	}
	if status, body := call(t, "POST", s.proxy+"/api/chat", "nul-user", `{"message":"hello"}`); status != http.StatusOK || threads() != 1 {
		t.Fatalf("a good message after them: %d %v", status, body)
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// hostileCase is one bad request; mustFail says that a 200 must carry an error (a tool error,
// a JSON-RPC error or a ChatKit error event), since the input cannot be valid.
type hostileCase struct {
	name     string
	service  string // "mcp", "chatkit", "api"
	path     string
	method   string
	body     []byte
	mustFail bool
}

func toolCall(name string, args string) []byte {
	return []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"` + name + `","arguments":` + args + `}}`)
}

func chatkitBody(typ, params string) []byte {
	return []byte(`{"type":"` + typ + `","params":` + params + `}`)
}

func createWith(text string) []byte {
	return chatkitBody("threads.create", `{"input":{"content":[{"type":"input_text","text":`+text+`}],"attachments":[],"inference_options":{}}}`)
}

// hostileCases covers every endpoint: NUL, invalid UTF-8, huge and deeply nested bodies,
// numbers out of range, forged cursors and ids (including another user's).
func hostileCases(otherTask int, otherThread string) []hostileCase {
	deep := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	huge := `"` + strings.Repeat("x", 12<<20) + `"`
	invalid := "\"a\xff\xfeb\""
	var cs []hostileCase
	// lenient cases may be answered normally (a limit clamped, an unknown cursor ignored):
	// they must never answer a 5xx. They are sent as a third user, so that what they may store is kept apart from the
	// no-partial-write check, and what they got is reported.
	lenient := func(name, service, path, method string, body []byte) {
		cs = append(cs, hostileCase{name: name, service: service, path: path, method: method, body: body})
	}
	mcp := func(name string, body []byte) {
		cs = append(cs, hostileCase{name: "mcp " + name, service: "mcp", path: "/mcp", method: http.MethodPost, body: body, mustFail: true})
	}
	mcp("NUL in title", toolCall("add_task", `{"title":"a\u0000b"}`))
	mcp("invalid UTF-8 title", toolCall("add_task", `{"title":`+invalid+`}`))
	mcp("huge body", toolCall("add_task", `{"title":`+huge+`}`))
	mcp("deeply nested arguments", toolCall("add_task", `{"title":`+deep+`}`))
	mcp("deeply nested body", []byte(deep))
	mcp("not JSON", []byte("\x00\x01{{{"))
	mcp("task_id 1e30", toolCall("complete_task", `{"task_id":1e30}`))
	mcp("task_id 2^63", toolCall("complete_task", `{"task_id":9223372036854775808}`))
	mcp("task_id -1", toolCall("delete_task", `{"task_id":-1}`))
	mcp("task_id 1.5", toolCall("update_task", `{"task_id":1.5,"title":"x"}`))
	lenient("mcp limit 1e30", "mcp", "/mcp", http.MethodPost, toolCall("list_tasks", `{"limit":1e30}`))
	mcp("forged cursor", toolCall("list_tasks", `{"cursor":"eyJpZCI6OTk5OTk5OTl9"}`))
	mcp("garbage cursor", toolCall("list_tasks", `{"cursor":"\u0000\u00ff%%%"}`))
	mcp("another user's task: complete", toolCall("complete_task", fmt.Sprintf(`{"task_id":%d}`, otherTask)))
	mcp("another user's task: update", toolCall("update_task", fmt.Sprintf(`{"task_id":%d,"title":"stolen"}`, otherTask)))
	mcp("another user's task: delete", toolCall("delete_task", fmt.Sprintf(`{"task_id":%d}`, otherTask)))
	mcp("due out of range", toolCall("add_task", `{"title":"t","due":"99999-99-99"}`))
	mcp("title too long", toolCall("add_task", `{"title":"`+strings.Repeat("y", 5000)+`"}`))
	mcp("unknown tool", toolCall("drop_tables", `{}`))

	chat := func(name string, body []byte) {
		cs = append(cs, hostileCase{name: "chatkit " + name, service: "chatkit", path: "/chatkit", method: http.MethodPost, body: body, mustFail: true})
	}
	chat("NUL in message", createWith(`"a\u0000b"`))
	chat("invalid UTF-8 message", createWith(invalid))
	chat("huge message", createWith(huge))
	chat("deeply nested body", []byte(deep))
	chat("unknown type", chatkitBody("threads.explode", `{}`))
	chat("forged thread id", chatkitBody("items.list", `{"thread_id":"thr_forged"}`))
	chat("another user's thread", chatkitBody("items.list", `{"thread_id":"`+otherThread+`"}`))
	chat("another user's thread: add message", chatkitBody("threads.add_user_message", `{"thread_id":"`+otherThread+`","input":{"content":[{"type":"input_text","text":"hi"}],"attachments":[],"inference_options":{}}}`))
	lenient("chatkit limit out of range", "chatkit", "/chatkit", http.MethodPost, chatkitBody("threads.list", `{"limit":1e30}`))
	lenient("chatkit forged cursor", "chatkit", "/chatkit", http.MethodPost, chatkitBody("threads.list", `{"after":"\u0000forged"}`))

	api := func(name, method, path string, body []byte) {
		cs = append(cs, hostileCase{name: "api " + name, service: "api", path: path, method: method, body: body, mustFail: true})
	}
	api("chat NUL message", http.MethodPost, "/api/chat", []byte(`{"message":"a\u0000b"}`))
	api("chat NUL conversation id", http.MethodPost, "/api/chat", []byte(`{"message":"hi","conversation_id":"a\u0000"}`))
	api("chat invalid UTF-8", http.MethodPost, "/api/chat", []byte(`{"message":`+invalid+`}`))
	api("chat huge", http.MethodPost, "/api/chat", []byte(`{"message":`+huge+`}`))
	api("chat deeply nested", http.MethodPost, "/api/chat", []byte(deep))
	api("chat another user's conversation", http.MethodPost, "/api/chat", []byte(`{"message":"hi","conversation_id":"`+otherThread+`"}`))
	lenient("api tasks forged cursor", "api", "/api/tasks?cursor=%00forged&limit=1e30", http.MethodGet, nil)
	return cs
}

// hostile sends every case as one user and checks: never a 5xx, errors where the input
// cannot be valid, and nothing written (that user's tasks and threads, and the other user's
// task and thread, are unchanged).
func (u *suite) hostile(ctx context.Context) {
	const user, other = "chaos-hostile", "chaos-victim"
	tok, otok := token(user), token(other)
	// Task numbers are per user: the victim's task 20 is one the hostile user never has.
	var r result
	otherTask := 0
	for i := range 20 {
		r = callTool(ctx, u.s.mcpLB, otok, "add_task", map[string]any{"title": fmt.Sprintf("victim task %d", i+1)})
		if id, ok := r.structured["task_id"].(float64); ok {
			otherTask = int(id)
		}
	}
	_, evs := chatkit(ctx, u.s.chatLB, otok, "threads.create", userInput("hello"))
	otherThread := threadID(evs)
	if otherTask == 0 || otherThread == "" {
		u.verdict("f. hostile inputs", false, "could not set up the other user's task/thread: %s", describe(r))
		return
	}
	before := u.snapshot(ctx, user, other)
	var bad, accepted, closed []string
	ltok := token("chaos-lenient")
	for _, c := range hostileCases(otherTask, otherThread) {
		base := u.s.mcpLB
		if c.service != "mcp" {
			base = u.s.chatLB
		}
		req, err := http.NewRequestWithContext(ctx, c.method, base+c.path, bytes.NewReader(c.body))
		if err != nil {
			bad = append(bad, c.name+": "+err.Error())
			continue
		}
		if c.mustFail {
			req.Header.Set("Authorization", "Bearer "+tok)
		} else {
			req.Header.Set("Authorization", "Bearer "+ltok)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		res := do(req)
		switch {
		case res.out == timedOut:
			bad = append(bad, fmt.Sprintf("%s: %s", c.name, res.out))
		case res.out == refused:
			// A server may answer a body it refuses before reading it all and close the
			// connection; the client then sees a reset. Allowed while the service stays up.
			closed = append(closed, c.name)
		case res.status >= 500:
			bad = append(bad, fmt.Sprintf("%s: HTTP %d %.120s", c.name, res.status, res.body))
		case res.status == http.StatusOK && c.mustFail && !failedInBody(c.service, res.body):
			bad = append(bad, fmt.Sprintf("%s: HTTP 200 without an error: %.160s", c.name, res.body))
		case res.status == http.StatusOK && !c.mustFail && !failedInBody(c.service, res.body):
			accepted = append(accepted, c.name)
		}
	}
	for _, base := range []string{u.s.mcpLB, u.s.chatLB} {
		if code, err := getStatus(ctx, base+"/health"); code != http.StatusOK {
			bad = append(bad, fmt.Sprintf("%s/health after the hostile inputs: %d %v", base, code, err))
		}
	}
	after := u.snapshot(ctx, user, other)
	u.figure("Hostile inputs: requests / problems", fmt.Sprintf("%d / %d", len(hostileCases(otherTask, otherThread)), len(bad)))
	u.figure("Hostile inputs answered normally (allowed)", strings.Join(accepted, ", "))
	if len(closed) > 0 {
		u.figure("Hostile inputs answered by closing the connection (allowed)", strings.Join(closed, ", "))
	}
	u.verdict("f. hostile inputs: 4xx or a clear error, never a 5xx", len(bad) == 0, "%d problems: %s", len(bad), strings.Join(bad, "; "))
	if before == after {
		u.verdict("f. hostile inputs: no partial write", true, "the hostile and the victim user's rows are unchanged")
	} else {
		u.verdict("f. hostile inputs: no partial write", false, "rows before %s, after %s", before, after)
	}
}

func do(req *http.Request) result {
	ctx, cancel := context.WithTimeout(req.Context(), callTimeout)
	defer cancel()
	resp, err := client.Do(req.WithContext(ctx))
	if err != nil {
		if ctx.Err() != nil {
			return result{out: timedOut}
		}
		return result{out: refused}
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(http.MaxBytesReader(nil, resp.Body, 1<<20))
	return result{status: resp.StatusCode, body: buf.Bytes()}
}

// failedInBody says whether a 200 answer carries an error: a JSON-RPC error or tool error
// for MCP, an "error" event for ChatKit, an error field for the JSON API.
func failedInBody(service string, body []byte) bool {
	switch service {
	case "mcp":
		var m struct {
			Error  json.RawMessage `json:"error"`
			Result struct {
				IsError bool `json:"isError"`
			} `json:"result"`
		}
		return json.Unmarshal(lastJSON(body), &m) == nil && (m.Error != nil || m.Result.IsError)
	case "chatkit":
		for _, e := range events(body) {
			if e["type"] == "error" {
				return true
			}
		}
		return bytes.Contains(body, []byte(`"error"`))
	}
	return bytes.Contains(body, []byte(`"error"`))
}

// snapshot counts what the two users have stored, plus the victim task's title.
func (u *suite) snapshot(ctx context.Context, users ...string) string {
	var parts []string
	for _, usr := range users {
		for _, t := range []string{"tasks", "chat_threads", "chat_items"} {
			n, err := u.rowCount(ctx, t, usr)
			if err != nil {
				return "error: " + err.Error()
			}
			parts = append(parts, fmt.Sprintf("%s.%s=%d", usr, t, n))
		}
	}
	counts, err := u.titleCounts(ctx, users[1], "")
	if err != nil {
		return "error: " + err.Error()
	}
	parts = append(parts, fmt.Sprintf("victim titles=%v", counts))
	return strings.Join(parts, " ")
}

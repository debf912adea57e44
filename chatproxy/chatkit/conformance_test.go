package chatkit_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	ck "github.com/taskwire/taskwire/chatproxy/chatkit/chatkittest"
	"github.com/taskwire/taskwire/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

const alice = "user-alice"

func newEnv(t *testing.T) (*ck.Env, *ck.Scripted) {
	t.Helper()
	r := &ck.Scripted{}
	return ck.NewEnv(t, r, ck.EnvOptions{}), r
}

type obj = map[string]any

// docs/chatkit-protocol.md §8.1 SSE framing, §8.2 the create turn's prefix, for the captured
// real-client body and a body with unknown fields and metadata.
func TestCreateTurnPrefixAndFraming(t *testing.T) {
	t.Parallel()
	env, _ := newEnv(t)
	bodies := map[string]string{
		"quoted":      `{"type":"threads.create","params":{"input":{"content":[{"type":"input_text","text":"Hello"}],"attachments":[],"quoted_text":"Quoted","inference_options":{}}}}`,
		"real client": `{"type":"threads.create","params":{"input":{"content":[{"type":"input_text","text":"Hi there"}],"quoted_text":"","attachments":[],"inference_options":{}}}}`,
		"unknown fields": `{"type":"threads.create","metadata":{"x":1},"extra":true,"params":{"future":1,"input":{"content":[{"type":"input_text","text":"Hi","novel":"x"}],` +
			`"attachments":[],"inference_options":{"later":2}}}}`,
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			r := env.Do(t, alice, body)
			if r.Status != http.StatusOK || !strings.HasPrefix(r.ContentType, "text/event-stream") {
				t.Fatalf("status %d, content type %q: %s", r.Status, r.ContentType, r.Raw)
			}
			for h, want := range map[string]string{"Cache-Control": "no-cache", "X-Accel-Buffering": "no"} {
				if got := r.Header.Get(h); got != want {
					t.Errorf("%s = %q, want %q", h, got, want)
				}
			}
			types := ck.Types(r.Events)
			if len(types) < 4 || !slices.Equal(types[:3], []string{"thread.created", "thread.item.done", "stream_options"}) {
				t.Fatalf("frames %v", types)
			}
			thread := r.Events[0]["thread"].(obj)
			if !strings.HasPrefix(thread["id"].(string), "thr_") || len(thread["id"].(string)) < 4+24 {
				t.Errorf("thread id %q: want thr_ and ≥96 random bits", thread["id"])
			}
			if _, titled := thread["title"]; titled {
				t.Error("a new thread must not have a title key")
			}
			if diff := cmp.Diff(obj{"data": []any{}, "has_more": false}, thread["items"]); diff != "" {
				t.Errorf("items: %s", diff)
			}
			if diff := cmp.Diff(obj{"type": "active"}, thread["status"]); diff != "" {
				t.Errorf("status: %s", diff)
			}
			if diff := cmp.Diff(obj{}, thread["metadata"]); diff != "" {
				t.Errorf("metadata: %s", diff)
			}
			checkTimestamp(t, thread["created_at"])
			user := r.Events[1]["item"].(obj)
			if user["type"] != "user_message" || user["thread_id"] != thread["id"] || !strings.HasPrefix(user["id"].(string), "msg_") {
				t.Errorf("user item %v", user)
			}
			if diff := cmp.Diff([]any{}, user["attachments"]); diff != "" {
				t.Errorf("attachments: %s", diff)
			}
			if name == "quoted" && (ck.ItemText(user) != "Hello" || user["quoted_text"] != "Quoted") {
				t.Errorf("user item %v", user)
			}
			if name == "real client" && user["quoted_text"] != "" {
				t.Errorf("quoted_text %v, want the empty string echoed", user["quoted_text"])
			}
			if _, ok := r.Events[2]["stream_options"].(obj)["allow_cancel"].(bool); !ok {
				t.Errorf("stream_options %v", r.Events[2])
			}
			// The echo reply: item added → part added → deltas → part done → item done.
			want := []string{"thread.item.added", "thread.item.updated"}
			if !slices.Equal(types[3:5], want) || types[len(types)-1] != "thread.item.done" {
				t.Errorf("reply frames %v", types[3:])
			}
			for _, l := range strings.Split(strings.TrimSuffix(string(r.Raw), "\n\n"), "\n\n") {
				if !strings.HasPrefix(l, "data: {") || strings.Contains(l, "\n") {
					t.Errorf("frame %q is not one data line", l)
				}
			}
		})
	}
}

func checkTimestamp(t *testing.T, v any) {
	t.Helper()
	s, _ := v.(string)
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || !strings.HasSuffix(s, "Z") || time.Since(ts) > time.Hour {
		t.Errorf("timestamp %q: want a recent RFC 3339 UTC time", s)
	}
}

// docs/chatkit-protocol.md §8.3 inference options round-trip; §8.4 the user message is stored
// before the reply.
func TestAddUserMessageEchoesInferenceOptions(t *testing.T) {
	t.Parallel()
	env, _ := newEnv(t)
	thread, _ := env.CreateThread(t, alice, "first")
	in := ck.Input("second")
	in["inference_options"] = obj{"tool_choice": obj{"id": "search"}, "model": "m-1"}
	r := env.Do(t, alice, ck.Req("threads.add_user_message", obj{"thread_id": thread, "input": in}))
	if got := ck.Types(r.Events); len(got) < 2 || got[0] != "thread.item.done" || got[1] != "stream_options" {
		t.Fatalf("frames %v", got)
	}
	if diff := cmp.Diff(obj{"tool_choice": obj{"id": "search"}, "model": "m-1"}, r.Events[0]["item"].(obj)["inference_options"]); diff != "" {
		t.Errorf("inference options: %s", diff)
	}
	get := env.Do(t, alice, ck.Req("threads.get_by_id", obj{"thread_id": thread}))
	if get.Status != http.StatusOK || get.JSON["id"] != thread || !cmp.Equal(get.JSON["metadata"], obj{}) {
		t.Fatalf("get_by_id: %d %s", get.Status, get.Raw)
	}
	items := get.JSON["items"].(obj)["data"].([]any)
	var texts []string
	for _, it := range items {
		texts = append(texts, ck.ItemText(it.(obj)))
	}
	want := []string{"first", ck.EchoText("first"), "second", ck.EchoText("second")}
	if diff := cmp.Diff(want, texts); diff != "" {
		t.Errorf("stored items, oldest first: %s", diff)
	}
}

// docs/chatkit-protocol.md §8.5 threads.list paging.
func TestThreadsListPaging(t *testing.T) {
	t.Parallel()
	env, _ := newEnv(t)
	var created []string
	for i := range 25 {
		id, _ := env.CreateThread(t, alice, fmt.Sprint("thread ", i))
		created = append(created, id)
	}
	slices.Reverse(created) // newest first
	first := env.Do(t, alice, ck.Req("threads.list", obj{"limit": 20}))
	data := first.JSON["data"].([]any)
	if len(data) != 20 || first.JSON["has_more"] != true || first.JSON["after"] != data[19].(obj)["id"] {
		t.Fatalf("first page: %s", first.Raw)
	}
	var got []string
	prev := ""
	for _, d := range data {
		th := d.(obj)
		got = append(got, th["id"].(string))
		if !cmp.Equal(th["items"], obj{"data": []any{}, "has_more": false}) || !cmp.Equal(th["metadata"], obj{}) {
			t.Errorf("listed thread %v", th)
		}
		if c := th["created_at"].(string); prev != "" && c > prev {
			t.Errorf("created_at increases: %s after %s", c, prev)
		} else {
			prev = c
		}
	}
	second := env.Do(t, alice, ck.Req("threads.list", obj{"after": first.JSON["after"]}))
	if _, has := second.JSON["after"]; len(second.JSON["data"].([]any)) != 5 || second.JSON["has_more"] != false || has {
		t.Fatalf("second page: %s", second.Raw)
	}
	for _, d := range second.JSON["data"].([]any) {
		got = append(got, d.(obj)["id"].(string))
	}
	if diff := cmp.Diff(created, got); diff != "" {
		t.Errorf("threads newest first: %s", diff)
	}
	for _, params := range []obj{{}, {"limit": 0}, {"limit": -3}, {"limit": nil}} {
		r := env.Do(t, alice, ck.Req("threads.list", params))
		if n := len(r.JSON["data"].([]any)); r.Status != http.StatusOK || n != 20 {
			t.Errorf("threads.list %v: %d threads (status %d), want the default 20", params, n, r.Status)
		}
	}
	if r := env.Do(t, alice, ck.Req("threads.list", obj{"limit": 100000})); len(r.JSON["data"].([]any)) != 25 {
		t.Errorf("a huge limit must be clamped, not refused: %s", r.Raw)
	}
	if r := env.Do(t, alice, ck.Req("threads.list", obj{"order": "asc", "limit": 1})); r.JSON["data"].([]any)[0].(obj)["id"] != created[24] {
		t.Errorf("asc must start with the oldest thread: %s", r.Raw)
	}
}

// docs/chatkit-protocol.md §8.7 threads.update, §8.8 threads.delete.
func TestThreadUpdateAndDelete(t *testing.T) {
	t.Parallel()
	env, _ := newEnv(t)
	thread, _ := env.CreateThread(t, alice, "hi")
	r := env.Do(t, alice, ck.Req("threads.update", obj{"thread_id": thread, "title": "New Title"}))
	if r.Status != http.StatusOK || r.JSON["title"] != "New Title" || !cmp.Equal(r.JSON["items"], obj{"data": []any{}, "has_more": false}) {
		t.Fatalf("update: %d %s", r.Status, r.Raw)
	}
	list := env.Do(t, alice, ck.Req("threads.list", obj{}))
	if list.JSON["data"].([]any)[0].(obj)["title"] != "New Title" {
		t.Errorf("list after update: %s", list.Raw)
	}
	del := env.Do(t, alice, ck.Req("threads.delete", obj{"thread_id": thread}))
	if del.Status != http.StatusOK || string(del.Raw) != "{}" {
		t.Fatalf("delete: %d %q", del.Status, del.Raw)
	}
	if r := env.Do(t, alice, ck.Req("threads.get_by_id", obj{"thread_id": thread})); r.Status != http.StatusNotFound {
		t.Errorf("get after delete: %d", r.Status)
	}
	if r := env.Do(t, alice, ck.Req("threads.list", obj{})); len(r.JSON["data"].([]any)) != 0 {
		t.Errorf("list after delete: %s", r.Raw)
	}
	var n int
	if err := env.Pool.QueryRow(t.Context(), "SELECT count(*) FROM chat_items WHERE thread_id = $1", thread).Scan(&n); err != nil || n != 0 {
		t.Errorf("items left after delete: %d (%v)", n, err)
	}
	long := strings.Repeat("x", 201)
	if r := env.Do(t, alice, ck.Req("threads.update", obj{"thread_id": thread, "title": long})); r.Status != http.StatusBadRequest {
		t.Errorf("overlong title: %d", r.Status)
	}
}

// docs/chatkit-protocol.md §8.9 items.feedback.
func TestFeedback(t *testing.T) {
	t.Parallel()
	env, _ := newEnv(t)
	thread, evs := env.CreateThread(t, alice, "hi")
	asst := evs[len(evs)-1]["item"].(obj)["id"]
	if r := env.Do(t, alice, ck.Req("items.feedback", obj{"thread_id": thread, "item_ids": []any{asst}, "kind": "negative"})); r.Status != http.StatusOK || string(r.Raw) != "{}" {
		t.Errorf("feedback: %d %s", r.Status, r.Raw)
	}
	if r := env.Do(t, alice, ck.Req("items.feedback", obj{"thread_id": thread, "item_ids": []any{asst}, "kind": "meh"})); r.Status != http.StatusBadRequest {
		t.Errorf("kind meh: %d", r.Status)
	}
	if r := env.Do(t, alice, ck.Req("items.feedback", obj{"thread_id": thread, "item_ids": []any{"msg_nope"}, "kind": "positive"})); r.Status != http.StatusNotFound {
		t.Errorf("unknown item: %d", r.Status)
	}
}

// docs/chatkit-protocol.md §8.10 invalid envelopes and §1.4: 400 with a JSON error, nothing
// created.
func TestInvalidRequests(t *testing.T) {
	t.Parallel()
	env, _ := newEnv(t)
	cases := []struct {
		name, body string
		status     int
		code       string
	}{
		{"empty object", `{}`, 400, "invalid_request"},
		{"unknown type", `{"type":"threads.nope","params":{}}`, 400, "invalid_request"},
		{"not JSON", `hello`, 400, "invalid_json"},
		{"trailing data", `{"type":"threads.list","params":{}} {}`, 400, "invalid_json"},
		{"array", `[1]`, 400, "invalid_request"},
		{"no params", `{"type":"threads.list"}`, 400, "invalid_request"},
		{"params not object", `{"type":"threads.list","params":[]}`, 400, "invalid_request"},
		{"no inference_options", `{"type":"threads.create","params":{"input":{"content":[{"type":"input_text","text":"x"}],"attachments":[]}}}`, 400, "invalid_request"},
		{"no content", `{"type":"threads.create","params":{"input":{"attachments":[],"inference_options":{}}}}`, 400, "invalid_request"},
		{"empty content", `{"type":"threads.create","params":{"input":{"content":[],"attachments":[],"inference_options":{}}}}`, 400, "invalid_request"},
		{"bad content type", `{"type":"threads.create","params":{"input":{"content":[{"type":"input_image"}],"attachments":[],"inference_options":{}}}}`, 400, "invalid_request"},
		{"wrong field type", `{"type":"threads.create","params":{"input":{"content":"hi","attachments":[],"inference_options":{}}}}`, 400, "invalid_request"},
		{"attachments", `{"type":"threads.create","params":{"input":{"content":[{"type":"input_text","text":"x"}],"attachments":["atc_1"],"inference_options":{}}}}`, 400, "not_supported"},
		{"NUL text", `{"type":"threads.create","params":{"input":{"content":[{"type":"input_text","text":"a\u0000b"}],"attachments":[],"inference_options":{}}}}`, 400, "invalid_request"},
		{"invalid UTF-8 text", "{\"type\":\"threads.create\",\"params\":{\"input\":{\"content\":[{\"type\":\"input_text\",\"text\":\"a\xffb\"}],\"attachments\":[],\"inference_options\":{}}}}", 400, "invalid_json"},
		{"huge number", `{"type":"threads.list","params":{"limit":1e999}}`, 400, "invalid_request"},
		{"bad order", `{"type":"items.list","params":{"thread_id":"thr_x","order":"sideways"}}`, 400, "invalid_request"},
		{"no thread id", `{"type":"threads.get_by_id","params":{}}`, 400, "invalid_request"},
		{"message too long", string(must(json.Marshal(ck.Req("threads.create", obj{"input": ck.Input(strings.Repeat("é", 16001))})))), 400, "message_too_long"},
		{"attachments.create", `{"type":"attachments.create","params":{"name":"cat.png","size":1024,"mime_type":"image/png"}}`, 400, "not_supported"},
		{"attachments.delete", `{"type":"attachments.delete","params":{"attachment_id":"atc_1"}}`, 400, "not_supported"},
		{"input.transcribe", `{"type":"input.transcribe","params":{"audio_base64":"aGVsbG8=","mime_type":"audio/webm;codecs=opus"}}`, 400, "not_supported"},
		{"body over 1 MiB", `{"type":"threads.list","params":{"pad":"` + strings.Repeat("a", 1<<20) + `"}}`, 413, "request_too_large"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := env.Do(t, alice, c.body)
			if r.Status != c.status || !strings.HasPrefix(r.ContentType, "application/json") {
				t.Fatalf("status %d (%s), want %d: %s", r.Status, r.ContentType, c.status, r.Raw)
			}
			e, _ := r.JSON["error"].(obj)
			if e["code"] != c.code || e["message"] == "" {
				t.Errorf("error body %s, want code %s", r.Raw, c.code)
			}
		})
	}
	if r := env.Do(t, alice, ck.Req("threads.list", obj{})); len(r.JSON["data"].([]any)) != 0 {
		t.Errorf("a refused request created a thread: %s", r.Raw)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// docs/chatkit-protocol.md §8.11 unknown thread on every streaming op: 404 JSON, nothing stored.
func TestUnknownThreadOnStreamingOps(t *testing.T) {
	t.Parallel()
	env, r := newEnv(t)
	for _, req := range []obj{
		ck.Req("threads.add_user_message", obj{"thread_id": "thr_missing", "input": ck.Input("x")}),
		ck.Req("threads.add_client_tool_output", obj{"thread_id": "thr_missing", "result": obj{}}),
		ck.Req("threads.add_structured_input", obj{"thread_id": "thr_missing", "item_id": "si_1", "input": obj{}}),
		ck.Req("threads.retry_after_item", obj{"thread_id": "thr_missing", "item_id": "msg_1"}),
		ck.Req("threads.custom_action", obj{"thread_id": "thr_missing", "action": obj{"type": "x"}}),
	} {
		res := env.Do(t, alice, req)
		if res.Status != http.StatusNotFound || res.JSON["error"].(obj)["code"] != "not_found" {
			t.Errorf("%s: %d %s", req["type"], res.Status, res.Raw)
		}
	}
	if len(r.Turns()) != 0 {
		t.Error("the responder ran for a missing thread")
	}
}

// docs/chatkit-protocol.md §8.12 a title set during the turn is streamed as thread.updated and
// listed.
func TestTitleUpdateStreamed(t *testing.T) {
	t.Parallel()
	env, _ := newEnv(t)
	thread, evs := env.CreateThread(t, alice, "title: Greeting")
	types := ck.Types(evs)
	i := slices.Index(types, "thread.updated")
	if i < 0 || types[i-1] != "thread.item.done" || evs[i-1]["item"].(obj)["type"] != "assistant_message" {
		t.Fatalf("frames %v", types)
	}
	th := evs[i]["thread"].(obj)
	if th["title"] != "Greeting" || !cmp.Equal(th["items"], obj{"data": []any{}, "has_more": false}) || !cmp.Equal(th["metadata"], obj{}) {
		t.Errorf("thread.updated %v", th)
	}
	list := env.Do(t, alice, ck.Req("threads.list", obj{}))
	if got := list.JSON["data"].([]any)[0].(obj); got["id"] != thread || got["title"] != "Greeting" {
		t.Errorf("list: %s", list.Raw)
	}
}

// docs/chatkit-protocol.md §8.13 responder errors become error frames; the stream ends cleanly; the
// user message stays.
func TestResponderErrors(t *testing.T) {
	t.Parallel()
	env, _ := newEnv(t)
	cases := []struct {
		text string
		want obj
	}{
		{"fail", obj{"type": "error", "code": "stream.error", "allow_retry": true}},
		{"quota", obj{"type": "error", "code": "custom", "message": "Quota exceeded", "allow_retry": false}},
	}
	for _, c := range cases {
		thread, evs := env.CreateThread(t, alice, c.text)
		types := ck.Types(evs)
		if diff := cmp.Diff(c.want, evs[len(evs)-1]); diff != "" {
			t.Errorf("%s: last frame %s (frames %v)", c.text, diff, types)
		}
		if c.text == "fail" && !slices.Equal(types, []string{"thread.created", "thread.item.done", "stream_options", "progress_update", "error"}) {
			t.Errorf("fail frames %v", types)
		}
		items := env.Items(t, alice, thread)
		if len(items) != 1 || ck.ItemText(items[0]) != c.text {
			t.Errorf("%s: items after the error %v", c.text, items)
		}
	}
}

// docs/chatkit-protocol.md §8.14 retry after item; §8.15 retry on a non-user or unknown item.
func TestRetryAfterItem(t *testing.T) {
	t.Parallel()
	env, _ := newEnv(t)
	thread, evs := env.CreateThread(t, alice, "one")
	u1 := evs[1]["item"].(obj)["id"]
	a1 := evs[len(evs)-1]["item"].(obj)["id"]
	evs2 := env.AddMessage(t, alice, thread, "two")
	u2 := evs2[0]["item"].(obj)["id"]

	r := env.Do(t, alice, ck.Req("threads.retry_after_item", obj{"thread_id": thread, "item_id": u2}))
	types := ck.Types(r.Events)
	if types[0] != "stream_options" || slices.Contains(types, "thread.created") || slices.Contains(types, "thread.item.removed") {
		t.Fatalf("retry frames %v", types)
	}
	a2 := r.Events[len(r.Events)-1]["item"].(obj)
	items := env.Items(t, alice, thread)
	var ids []any
	for _, it := range items {
		ids = append(ids, it["id"])
	}
	if diff := cmp.Diff([]any{u1, a1, u2, a2["id"]}, ids); diff != "" {
		t.Errorf("items after retrying turn 2 (turn 1 intact, one new answer): %s", diff)
	}

	for _, c := range []struct {
		item   any
		status int
	}{{a1, http.StatusBadRequest}, {"msg_unknown", http.StatusNotFound}} {
		res := env.Do(t, alice, ck.Req("threads.retry_after_item", obj{"thread_id": thread, "item_id": c.item}))
		if res.Status != c.status {
			t.Errorf("retry on %v: %d, want %d", c.item, res.Status, c.status)
		}
	}
	if got := env.Items(t, alice, thread); len(got) != len(items) {
		t.Errorf("a refused retry deleted items: %d → %d", len(items), len(got))
	}
}

// docs/chatkit-protocol.md §8.16 client tool round trip; §8.17 tool output without a pending call.
func TestClientToolRoundTrip(t *testing.T) {
	t.Parallel()
	env, r := newEnv(t)
	thread, evs := env.CreateThread(t, alice, "tool")
	call := evs[len(evs)-1]["item"].(obj)
	if call["type"] != "client_tool_call" || call["status"] != "pending" || call["name"] != "get_selection" || call["call_id"] != "call_1" ||
		!cmp.Equal(call["arguments"], obj{"project": "p1"}) {
		t.Fatalf("tool call frame %v", call)
	}
	res := env.Do(t, alice, ck.Req("threads.add_client_tool_output", obj{"thread_id": thread, "result": obj{"text": "Wow!"}}))
	types := ck.Types(res.Events)
	if types[0] != "stream_options" || types[len(types)-1] != "thread.item.done" {
		t.Fatalf("continuation frames %v", types)
	}
	items := env.Items(t, alice, thread)
	var stored obj
	for _, it := range items {
		if it["id"] == call["id"] {
			stored = it
		}
	}
	if stored["status"] != "completed" || !cmp.Equal(stored["output"], obj{"text": "Wow!"}) {
		t.Errorf("stored tool call %v", stored)
	}
	if last := items[len(items)-1]; !strings.HasPrefix(ck.ItemText(last), "Tool said: ") {
		t.Errorf("continuation %v", last)
	}
	turns := len(r.Turns())
	again := env.Do(t, alice, ck.Req("threads.add_client_tool_output", obj{"thread_id": thread, "result": obj{}}))
	if again.Status != http.StatusBadRequest || len(r.Turns()) != turns {
		t.Errorf("tool output without a pending call: %d %s (responder ran: %v)", again.Status, again.Raw, len(r.Turns()) != turns)
	}
}

// docs/chatkit-protocol.md §8.18 custom action on a widget; §8.19 on a non-widget item and without
// an item; docs/chatkit-protocol.md §8.20 the sync variant.
func TestCustomActions(t *testing.T) {
	t.Parallel()
	env, r := newEnv(t)
	thread, evs := env.CreateThread(t, alice, "widget")
	w := evs[len(evs)-1]["item"].(obj)
	if w["type"] != "widget" {
		t.Fatalf("widget frame %v", w)
	}
	action := obj{"type": "task.toggle", "payload": obj{"task_id": "t1"}}
	res := env.Do(t, alice, ck.Req("threads.custom_action", obj{"thread_id": thread, "item_id": w["id"], "action": action}))
	types := ck.Types(res.Events)
	if !slices.Equal(types, []string{"stream_options", "thread.item.replaced"}) || res.Events[1]["item"].(obj)["id"] != w["id"] {
		t.Fatalf("action frames %v", types)
	}
	turns := r.Turns()
	got := turns[len(turns)-1]
	if got.Action.Type != "task.toggle" || string(got.Action.Payload) != `{"task_id":"t1"}` || got.Sender == nil {
		t.Errorf("the responder got action %+v sender %v", got.Action, got.Sender)
	}
	get := env.Do(t, alice, ck.Req("threads.get_by_id", obj{"thread_id": thread}))
	if !strings.Contains(string(get.Raw), `"defaultChecked":true`) {
		t.Errorf("the replaced widget was not stored: %s", get.Raw)
	}

	user := evs[1]["item"].(obj)["id"]
	bad := env.Do(t, alice, ck.Req("threads.custom_action", obj{"thread_id": thread, "item_id": user, "action": action}))
	if diff := cmp.Diff([]map[string]any{{"type": "error", "code": "stream.error", "allow_retry": false}}, bad.Events); diff != "" {
		t.Errorf("action on a user message: %s", diff)
	}
	none := env.Do(t, alice, ck.Req("threads.custom_action", obj{"thread_id": thread, "action": obj{"type": "ping", "payload": obj{"a": 1}}}))
	if last := none.Events[len(none.Events)-1]; last["type"] != "thread.item.done" || !strings.Contains(ck.ItemText(last["item"].(obj)), "without a sender") {
		t.Errorf("action without item: %v", ck.Types(none.Events))
	}
	if res := env.Do(t, alice, ck.Req("threads.custom_action", obj{"thread_id": thread, "item_id": "wgt_unknown", "action": action})); res.Status != http.StatusNotFound {
		t.Errorf("action on an unknown item: %d", res.Status)
	}

	sync := env.Do(t, alice, ck.Req("threads.sync_custom_action", obj{"thread_id": thread, "item_id": w["id"], "action": action}))
	if sync.Status != http.StatusOK || !strings.HasPrefix(sync.ContentType, "application/json") {
		t.Fatalf("sync action: %d %s", sync.Status, sync.Raw)
	}
	updated := sync.JSON["updated_item"].(obj)
	if updated["id"] != w["id"] || updated["type"] != "widget" || !strings.Contains(string(sync.Raw), `"defaultChecked":false`) {
		t.Errorf("sync answer %s", sync.Raw)
	}
	get = env.Do(t, alice, ck.Req("threads.get_by_id", obj{"thread_id": thread}))
	if !strings.Contains(string(get.Raw), `"defaultChecked":false`) {
		t.Errorf("the sync update was not stored: %s", get.Raw)
	}
	if empty := env.Do(t, alice, ck.Req("threads.sync_custom_action", obj{"thread_id": thread, "action": obj{"type": "other"}})); string(empty.Raw) != "{}" {
		t.Errorf("sync action without update: %s", empty.Raw)
	}
	if bad := env.Do(t, alice, ck.Req("threads.sync_custom_action", obj{"thread_id": thread, "item_id": user, "action": action})); bad.Status != http.StatusBadRequest {
		t.Errorf("sync action on a user message: %d", bad.Status)
	}
}

// docs/chatkit-protocol.md §8.21 structured input.
func TestStructuredInput(t *testing.T) {
	t.Parallel()
	env, _ := newEnv(t)
	thread, evs := env.CreateThread(t, alice, "structured")
	si := evs[len(evs)-1]["item"].(obj)
	if si["type"] != "structured_input" || si["status"] != "pending" {
		t.Fatalf("frame %v", si)
	}
	submit := ck.Req("threads.add_structured_input", obj{"thread_id": thread, "item_id": si["id"],
		"input": obj{"status": "answered", "answers": obj{"prio": obj{"values": []any{"High", "Low"}}, "bogus": obj{"values": []any{"x"}}}}})
	res := env.Do(t, alice, submit)
	types := ck.Types(res.Events)
	if len(types) < 3 || types[0] != "stream_options" || types[1] != "thread.item.replaced" {
		t.Fatalf("frames %v", types)
	}
	replaced := res.Events[1]["item"].(obj)
	inputs := replaced["inputs"].([]any)
	if replaced["status"] != "answered" ||
		!cmp.Equal(inputs[0].(obj)["answer"], obj{"values": []any{"High"}, "skipped": false}) ||
		!cmp.Equal(inputs[1].(obj)["answer"], obj{"values": []any{}, "skipped": true}) {
		t.Errorf("replaced item %v", replaced)
	}
	get := env.Do(t, alice, ck.Req("threads.get_by_id", obj{"thread_id": thread}))
	if !strings.Contains(string(get.Raw), `"status":"answered"`) {
		t.Errorf("get_by_id does not show the answered item: %s", get.Raw)
	}
	if again := env.Do(t, alice, submit); again.Status != http.StatusBadRequest {
		t.Errorf("second submission: %d", again.Status)
	}
}

// docs/chatkit-protocol.md §8.22 hidden context is stored but never visible; client_effect passes
// through.
func TestHiddenContextInvisible(t *testing.T) {
	t.Parallel()
	env, _ := newEnv(t)
	thread, evs := env.CreateThread(t, alice, "hidden")
	raw, _ := json.Marshal(evs)
	if strings.Contains(string(raw), "hidden_context") || strings.Contains(string(raw), "model only") {
		t.Errorf("hidden item streamed: %s", raw)
	}
	i := slices.Index(ck.Types(evs), "client_effect")
	if i < 0 || !cmp.Equal(evs[i], obj{"type": "client_effect", "name": "tasks.changed", "data": obj{"task_ids": []any{1.0, 2.0}}}) {
		t.Errorf("client_effect frame: %v", evs)
	}
	for _, req := range []obj{
		ck.Req("items.list", obj{"thread_id": thread}),
		ck.Req("items.list", obj{"thread_id": thread, "order": "asc", "limit": 1}),
		ck.Req("threads.get_by_id", obj{"thread_id": thread}),
	} {
		r := env.Do(t, alice, req)
		if strings.Contains(string(r.Raw), "hidden_context") {
			t.Errorf("%s shows the hidden item: %s", req["type"], r.Raw)
		}
	}
	var n int
	if err := env.Pool.QueryRow(t.Context(), "SELECT count(*) FROM chat_items WHERE thread_id = $1 AND type = 'hidden_context_item'", thread).Scan(&n); err != nil || n != 1 {
		t.Errorf("hidden items stored: %d (%v)", n, err)
	}
	// With limit 1 in asc order the second page is the hidden item alone: it is skipped, not
	// answered as an empty page.
	r := env.Do(t, alice, ck.Req("items.list", obj{"thread_id": thread, "order": "asc", "limit": 1}))
	r = env.Do(t, alice, ck.Req("items.list", obj{"thread_id": thread, "order": "asc", "limit": 1, "after": r.JSON["after"]}))
	if d := r.JSON["data"].([]any); len(d) != 1 || d[0].(obj)["type"] != "assistant_message" {
		t.Errorf("page after the hidden item: %s", r.Raw)
	}
}

// A workflow streams task updates and is stored done with its final tasks.
func TestWorkflowItem(t *testing.T) {
	t.Parallel()
	env, _ := newEnv(t)
	thread, evs := env.CreateThread(t, alice, "workflow")
	var updates []string
	var done obj
	for _, ev := range evs {
		if ev["type"] == "thread.item.updated" {
			updates = append(updates, ev["update"].(obj)["type"].(string))
		}
		if ev["type"] == "thread.item.done" && ev["item"].(obj)["type"] == "workflow" {
			done = ev["item"].(obj)
		}
	}
	if !slices.Contains(updates, "workflow.task.added") || !slices.Contains(updates, "workflow.task.updated") {
		t.Errorf("updates %v", updates)
	}
	wf, _ := done["workflow"].(obj)
	want := []any{obj{"type": "custom", "status_indicator": "complete", "title": "Added ‘Buy milk’"}}
	if diff := cmp.Diff(want, wf["tasks"]); diff != "" || wf["summary"].(obj)["duration"] == nil {
		t.Errorf("workflow done: %v %s", wf, diff)
	}
	items := env.Items(t, alice, thread)
	if len(items) != 3 || items[1]["type"] != "workflow" {
		t.Errorf("stored items %v", items)
	}
}

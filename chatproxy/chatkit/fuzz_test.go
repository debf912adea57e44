package chatkit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/taskwire/taskwire/chatproxy/chatkit"
	ck "github.com/taskwire/taskwire/chatproxy/chatkit/chatkittest"
	"github.com/taskwire/taskwire/internal/auth"
)

// FuzzDecodeRequest feeds arbitrary bodies to the real ChatKit handler over a real database:
// it must never panic, and every body gets a 2xx (a well-formed JSON document or SSE stream)
// or a 4xx with a JSON error — never a 5xx. The seeds run in every `go test`.
func FuzzDecodeRequest(f *testing.F) {
	echo := chatkit.ResponderFunc(func(ctx context.Context, turn *chatkit.Turn, s *chatkit.Stream) error {
		m, err := s.StartMessage()
		if err != nil {
			return err
		}
		if turn.Input != nil {
			if err := m.Delta(turn.Input.Text()); err != nil {
				return err
			}
		}
		_, err = m.Done()
		return err
	})
	env := ck.NewEnv(f, echo, ck.EnvOptions{})
	seedFixtures(f, env)
	seeds := []string{
		`{"type":"threads.create","params":{"input":{"content":[{"type":"input_text","text":"Hi there"}],"quoted_text":"","attachments":[],"inference_options":{}}}}`,
		`{"type":"threads.create","params":{"input":{"content":[{"type":"input_tag","id":"t1","text":"Bob","data":{"x":1},"interactive":true}],"attachments":[],"inference_options":{"model":"m"}}}}`,
		`{"type":"threads.add_user_message","params":{"thread_id":"thr_fuzz","input":{"content":[{"type":"input_text","text":"more"}],"attachments":[],"inference_options":{}}}}`,
		`{"type":"threads.add_client_tool_output","params":{"thread_id":"thr_fuzz","result":{"text":"Wow!"}}}`,
		`{"type":"threads.add_structured_input","params":{"thread_id":"thr_fuzz","item_id":"si_fuzz","input":{"status":"answered","answers":{"prio":{"values":["High"]}}}}}`,
		`{"type":"threads.retry_after_item","params":{"thread_id":"thr_fuzz","item_id":"msg_fuzz"}}`,
		`{"type":"threads.custom_action","params":{"thread_id":"thr_fuzz","item_id":"wgt_fuzz","action":{"type":"task.toggle","payload":{"task_id":"t1"}}}}`,
		`{"type":"threads.sync_custom_action","params":{"thread_id":"thr_fuzz","item_id":"wgt_fuzz","action":{"type":"task.toggle"}}}`,
		`{"type":"threads.get_by_id","params":{"thread_id":"thr_fuzz"}}`,
		`{"type":"threads.list","params":{"limit":5,"order":"asc","after":"thr_fuzz"}}`,
		`{"type":"threads.update","params":{"thread_id":"thr_fuzz","title":"T"}}`,
		`{"type":"items.list","params":{"thread_id":"thr_fuzz","limit":2,"order":"desc","after":"msg_fuzz"}}`,
		`{"type":"items.feedback","params":{"thread_id":"thr_fuzz","item_ids":["msg_fuzz"],"kind":"positive"}}`,
		`{"type":"attachments.create","params":{"name":"cat.png","size":1024,"mime_type":"image/png"}}`,
		`{"type":"input.transcribe","params":{"audio_base64":"aGVsbG8=","mime_type":"audio/webm;codecs=opus"}}`,
		`{"type":"threads.delete","params":{"thread_id":"thr_other"}}`,
		`{"type":"threads.list","params":{"limit":1e400}}`,
		`{"type":"threads.update","params":{"thread_id":"thr_fuzz","title":"\ud800"}}`,
		`{"type":"threads.add_client_tool_output","params":{"thread_id":"thr_fuzz","result":{"k":"\u0000"}}}`,
		`{"type":"threads.list","params":{"limit":-1}}`,
		`{"type":"threads.list","params":null}`,
		`{"type":null}`, `{}`, `[]`, `null`, `"x"`, ``, `{"type":"threads.list","params":{}}garbage`,
		"\xff\xfe", `{"type":"items.list","params":{"thread_id":"` + strings.Repeat("x", 3000) + `"}}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/chatkit", bytes.NewReader(body))
		req = req.WithContext(auth.WithUser(req.Context(), auth.Identity{UserID: alice}))
		rec := httptest.NewRecorder()
		env.Server.ServeHTTP(rec, req)
		res := rec.Result()
		ct := res.Header.Get("Content-Type")
		switch {
		case res.StatusCode >= 400 && res.StatusCode < 500:
			var e struct {
				Error struct{ Code, Message string }
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code == "" {
				t.Fatalf("%d without a JSON error: %q", res.StatusCode, rec.Body.Bytes())
			}
		case res.StatusCode == 200 && strings.HasPrefix(ct, "text/event-stream"):
			if _, err := ck.ReadSSE(rec.Body); err != nil {
				t.Fatalf("bad stream: %v", err)
			}
		case res.StatusCode == 200:
			if !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("200 with invalid JSON: %q", rec.Body.Bytes())
			}
		default:
			t.Fatalf("status %d for %q: %s", res.StatusCode, body, rec.Body.Bytes())
		}
	})
}

// seedFixtures stores a thread with known ids, so seeds reach the deep paths.
func seedFixtures(tb testing.TB, env *ck.Env) {
	ctx := context.Background()
	th := &chatkit.Thread{ID: "thr_fuzz", CreatedAt: chatkit.Now(), Status: chatkit.ThreadStatus{Type: chatkit.StatusActive}}
	if err := env.Store.CreateThread(ctx, alice, th, nil); err != nil {
		tb.Fatal(err)
	}
	base := func(id string) chatkit.ItemBase {
		return chatkit.ItemBase{ID: id, ThreadID: th.ID, CreatedAt: chatkit.Now()}
	}
	for _, item := range []chatkit.Item{
		&chatkit.UserMessageItem{ItemBase: base("msg_fuzz"), Content: []chatkit.UserContent{{Type: chatkit.ContentInputText, Text: "hi"}}},
		&chatkit.WidgetItem{ItemBase: base("wgt_fuzz"), Widget: ck.Widget(false)},
		&chatkit.StructuredInputItem{ItemBase: base("si_fuzz"), Status: chatkit.InputPending, Inputs: []chatkit.StructuredInput{{Type: chatkit.QuestionMultipleChoice, ID: "prio", Question: "?"}}},
		&chatkit.ClientToolCallItem{ItemBase: base("tc_fuzz"), Status: chatkit.ToolCallPending, CallID: "c", Name: "n"},
	} {
		if err := env.Store.SaveItem(ctx, alice, th.ID, item); err != nil {
			tb.Fatal(err)
		}
	}
}

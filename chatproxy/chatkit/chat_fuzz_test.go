package chatkit_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/taskwire/taskwire/chatproxy/chatkit"
)

// FuzzDecodeChatMessage: the /api/chat decoder never panics, everything it accepts is
// storable and within the limits, and it accepts a message exactly when /chatkit's decoder
// accepts the same message as threads.create.
func FuzzDecodeChatMessage(f *testing.F) {
	for _, s := range []string{
		`{"message":"hi"}`,
		`{"message":"hi","conversation_id":"thr_1"}`,
		`{"message":"a\u0000b"}`,
		`{"message":"hi","conversation_id":"\u0000"}`,
		`{"message":"  "}`,
		`{"message":1e400}`,
		`{"MESSAGE":"case"}`,
		`{"message":"a\ud800b"}`,
		"{\"message\":\"bad \xff utf8\"}",
		`[]`, `null`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := chatkit.DecodeChatMessage(body, chatkit.Limits{})
		if err != nil {
			if _, ok := err.(*chatkit.Error); !ok {
				t.Fatalf("error %v is not a *chatkit.Error (it would be a 500)", err)
			}
			return
		}
		var in chatkit.UserMessageInput
		switch r := req.(type) {
		case *chatkit.CreateThreadRequest:
			in = r.Input
		case *chatkit.AddUserMessageRequest:
			in = r.Input
			if r.ThreadID == "" || strings.ContainsRune(r.ThreadID, 0) {
				t.Fatalf("accepted thread id %q", r.ThreadID)
			}
		default:
			t.Fatalf("unexpected request %T", req)
		}
		text := in.Content[0].Text
		if strings.TrimSpace(text) == "" || strings.ContainsRune(text, 0) || len([]rune(text)) > chatkit.DefaultMaxMessageChars {
			t.Fatalf("accepted message %q", text)
		}
		wire, _ := json.Marshal(map[string]any{"type": "threads.create", "params": map[string]any{"input": map[string]any{
			"content": []any{map[string]any{"type": "input_text", "text": text}}, "attachments": []any{}, "inference_options": map[string]any{},
		}}})
		if _, err := chatkit.DecodeRequest(wire, chatkit.Limits{}); err != nil {
			t.Fatalf("/api/chat accepted %q, /chatkit refuses it: %v", text, err)
		}
	})
}

// FuzzRequestType: no ChatKit body decodes to a streaming request (a model turn) while
// RequestType, which the edge counts turns by, says it is none — however its keys are
// duplicated, cased or encoded.
func FuzzRequestType(f *testing.F) {
	for _, s := range []string{
		`{"type":"threads.create","params":{"input":{"content":[{"type":"input_text","text":"hi"}],"attachments":[],"inference_options":{}}}}`,
		`{"type":"threads.create","Type":"threads.list","params":{"input":{"content":[{"type":"input_text","text":"hi"}],"attachments":[],"inference_options":{}}}}`,
		`{"TYPE":"threads.add_user_message","params":{"thread_id":"t","input":{"content":[{"type":"input_text","text":"hi"}],"attachments":[],"inference_options":{}}}}`,
		`{"type":"threads.list","params":{}}`,
		`{"type":"threads.retry_after_item","params":{"thread_id":"t","item_id":"i"}}`,
		`{"type":"threads.custom_action","params":{"thread_id":"t","action":{"type":"x"}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := chatkit.DecodeRequest(body, chatkit.Limits{})
		if err != nil {
			return
		}
		_, streams := req.(chatkit.StreamingRequest)
		typ := chatkit.RequestType(body, chatkit.Limits{})
		if typ != req.RequestType() {
			t.Fatalf("RequestType %q, DecodeRequest decoded %q", typ, req.RequestType())
		}
		if streams != chatkit.IsStreaming(typ) {
			t.Fatalf("%q: decoded as streaming=%v, IsStreaming says %v", typ, streams, chatkit.IsStreaming(typ))
		}
	})
}

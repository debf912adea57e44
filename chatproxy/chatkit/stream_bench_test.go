package chatkit

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
)

// discardWriter is a ResponseWriter that flushes to nowhere, so the benchmark measures the
// server's own work per frame.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}
func (d *discardWriter) Flush()                      {}

// BenchmarkTextDelta is the hot path of every answer: one text delta through the Stream
// (pending-text tracking) into an SSE frame.
func BenchmarkTextDelta(b *testing.B) {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	thread := &Thread{ID: NewID(PrefixThread), CreatedAt: Now(), Status: ThreadStatus{Type: StatusActive}}
	s := newStream(ctx, cancel, nil, "u", thread, newSSESink(&discardWriter{h: http.Header{}}))
	m, err := s.StartMessage()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := m.Delta("Hello, "); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeRequest is the cost of validating a typical add_user_message body.
func BenchmarkDecodeRequest(b *testing.B) {
	body := []byte(`{"type":"threads.add_user_message","params":{"thread_id":"thr_0123456789abcdef0123456789abcdef","input":{"content":[{"type":"input_text","text":"Add a task to buy groceries tomorrow"}],"attachments":[],"quoted_text":"","inference_options":{}}}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeRequest(body, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

// The hand-written delta encoder must write exactly what encoding/json writes.
func TestAppendTextDeltaMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `quote " back \ slash`, "tab\tnl\ncr\r\x00\x1f\x7f", "<html> & é ü 日本 🎉",
		"bad \xff\xfe utf8 \xe2\x82", "line\u2028sep\u2029", "a\x00b"} {
		ev := ItemUpdated{ItemID: "msg_1", Update: TextDelta{ContentIndex: 3, Delta: s}}
		got, _ := ev.MarshalJSON()
		type plain TextDelta
		update, _ := marshalTagged(TextDelta{}.UpdateType(), plain(TextDelta{ContentIndex: 3, Delta: s}))
		want, _ := marshalTagged(ev.EventType(), struct {
			ItemID string          `json:"item_id"`
			Update json.RawMessage `json:"update"`
		}{"msg_1", update})
		if string(got) != string(want) {
			t.Errorf("delta %q:\n got %s\nwant %s", s, got, want)
		}
	}
}

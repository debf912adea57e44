package chatkit

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
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

// flushCounter is a ResponseWriter that keeps what was written and counts the flushes: the
// writes a client receives.
type flushCounter struct {
	discardWriter
	body    strings.Builder
	flushes []string // the body at each flush
}

func (f *flushCounter) Write(p []byte) (int, error) { return f.body.Write(p) }
func (f *flushCounter) Flush()                      { f.flushes = append(f.flushes, f.body.String()) }

// StartMessageWith sends what StartMessage and Delta send, in one flush when there is text.
func TestStartMessageWithIsOneWrite(t *testing.T) {
	for _, c := range []struct {
		text    string
		frames  []string // event types, in order
		flushes int
	}{
		{"Hi", []string{"thread.item.added", "thread.item.updated", "thread.item.updated"}, 1},
		{"", []string{"thread.item.added", "thread.item.updated"}, 1},
	} {
		ctx, cancel := context.WithCancelCause(context.Background())
		thread := &Thread{ID: NewID(PrefixThread), CreatedAt: Now(), Status: ThreadStatus{Type: StatusActive}}
		w := &flushCounter{discardWriter: discardWriter{h: http.Header{}}}
		s := newStream(ctx, cancel, nil, "u", thread, newSSESink(w))
		m, err := s.StartMessageWith(c.text)
		cancel(nil)
		if err != nil {
			t.Fatal(err)
		}
		var types []string
		for _, frame := range strings.SplitAfter(w.body.String(), "\n\n") {
			if frame == "" {
				continue
			}
			var ev struct{ Type string }
			if err := json.Unmarshal([]byte(strings.TrimPrefix(frame, "data: ")), &ev); err != nil {
				t.Fatalf("frame %q: %v", frame, err)
			}
			types = append(types, ev.Type)
		}
		if !slices.Equal(types, c.frames) || len(w.flushes) != c.flushes || w.flushes[len(w.flushes)-1] != w.body.String() {
			t.Errorf("text %q: frames %v in %d flushes (everything flushed: %v), want %v in %d", c.text, types, len(w.flushes),
				len(w.flushes) > 0 && w.flushes[len(w.flushes)-1] == w.body.String(), c.frames, c.flushes)
		}
		if got := m.Text(); got != c.text {
			t.Errorf("text %q: the pending message holds %q", c.text, got)
		}
	}
}

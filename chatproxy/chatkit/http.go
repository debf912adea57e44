package chatkit

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/taskwire/taskwire/internal/auth"
)

// Sink receives a turn's events in order. Send is called from one goroutine at a time.
type Sink interface {
	Send(ev Event) error
}

// HiddenItemSink is a Sink that also wants the hidden items a turn stores (which are never
// sent to a browser), e.g. to report tool calls and results in a JSON API.
type HiddenItemSink interface {
	Sink
	Hidden(item Item)
}

// Collector is a Sink that keeps every event, for running a turn without SSE (POST
// /api/chat): run Server.Stream into it and read the result afterwards.
type Collector struct {
	mu          sync.Mutex
	Events      []Event
	HiddenItems []Item
}

// Send implements Sink.
func (c *Collector) Send(ev Event) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.Events = append(c.Events, ev)
	return nil
}

// Hidden implements HiddenItemSink.
func (c *Collector) Hidden(item Item) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.HiddenItems = append(c.HiddenItems, item)
}

// ThreadID is the id of the thread the collected turn created ("" if it created none).
func (c *Collector) ThreadID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ev := range c.Events {
		if tc, ok := ev.(ThreadCreated); ok {
			return tc.Thread.ID
		}
	}
	return ""
}

// AssistantText joins the text of the assistant messages the turn finished.
func (c *Collector) AssistantText() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var text string
	for _, ev := range c.Events {
		if d, ok := ev.(ItemDone); ok {
			if m, ok := d.Item.(*AssistantMessageItem); ok {
				if text != "" {
					text += "\n\n"
				}
				text += m.Text()
			}
		}
	}
	return text
}

// Err returns the turn's error event, if it ended with one.
func (c *Collector) Err() *ErrorEvent {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ev := range c.Events {
		if e, ok := ev.(ErrorEvent); ok {
			return &e
		}
	}
	return nil
}

// frameWriteTimeout bounds one frame's write, so a client that stops reading cannot hold a
// turn (and its thread lock) forever.
const frameWriteTimeout = 30 * time.Second

// sseSink writes events as server-sent events. Headers are committed by the first frame, so
// everything that fails before it can still be answered with an HTTP status.
type sseSink struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	started bool
	buf     []byte
}

func newSSESink(w http.ResponseWriter) *sseSink {
	return &sseSink{w: w, rc: http.NewResponseController(w)}
}

func (s *sseSink) Send(ev Event) error { return s.send(ev, true) }

// sendHeld implements heldSink.
func (s *sseSink) sendHeld(ev Event) error { return s.send(ev, false) }

func (s *sseSink) send(ev Event, flush bool) error {
	var (
		body []byte
		err  error
	)
	switch e := ev.(type) {
	case ItemUpdated:
		if d, ok := e.Update.(TextDelta); ok { // the per-token path: no intermediate copy
			s.buf = append(appendTextDelta(append(s.buf[:0], "data: "...), e.ItemID, d), "\n\n"...)
			return s.write(s.buf, flush)
		}
		body, err = e.MarshalJSON()
	case json.Marshaler:
		body, err = e.MarshalJSON() // already compact: skip encoding/json's re-check
	default:
		body, err = marshalCompact(ev)
	}
	if err != nil {
		return err
	}
	s.buf = append(append(append(s.buf[:0], "data: "...), body...), "\n\n"...)
	return s.write(s.buf, flush)
}

// write sends one frame, committing the headers first if this is the first, and flushes it
// unless the caller sends another frame at once.
func (s *sseSink) write(frame []byte, flush bool) error {
	if !s.started {
		h := s.w.Header()
		h.Set("Content-Type", "text/event-stream; charset=utf-8")
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Accel-Buffering", "no")
		h.Set("X-Content-Type-Options", "nosniff")
		s.w.WriteHeader(http.StatusOK)
		s.started = true
	}
	if err := s.rc.SetWriteDeadline(time.Now().Add(frameWriteTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	if _, err := s.w.Write(frame); err != nil {
		return err
	}
	if !flush {
		return nil
	}
	if err := s.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}

// ServeHTTP is the ChatKit endpoint: POST with a JSON body, answered with JSON or an SSE
// stream. The user must already be authenticated (auth.WithUser, as package proxyhttp does);
// without one the answer is 401.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		WriteError(w, http.StatusMethodNotAllowed, CodeInvalidRequest, "use POST")
		return
	}
	id, ok := auth.UserFrom(r.Context())
	if !ok {
		WriteError(w, http.StatusUnauthorized, CodeUnauthorized, "missing or invalid bearer token")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.limits.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			s.writeError(w, r, tooLarge(s.limits.MaxBodyBytes))
			return
		}
		WriteError(w, http.StatusBadRequest, CodeInvalidRequest, "could not read the request body")
		return
	}
	req, err := DecodeRequest(body, s.limits)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	token, _ := auth.BearerToken(r)
	c := Caller{UserID: id.UserID, Token: token, Locale: r.Header.Get("Accept-Language"), Header: r.Header}
	if sr, ok := req.(StreamingRequest); ok {
		sink := newSSESink(w)
		if err := s.Stream(r.Context(), c, sr, sink); err != nil {
			if !sink.started {
				s.writeError(w, r, err)
				return
			}
			s.log.ErrorContext(r.Context(), "chatkit stream failed", "type", req.RequestType(), "error", err)
		}
		return
	}
	res, err := s.Call(r.Context(), c, req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	body, err = marshalCompact(res)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

// writeError answers a client mistake with its status and anything else with a bare 500,
// keeping the details in the log.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	if errors.As(err, &e) {
		WriteError(w, e.Status, e.Code, e.Message)
		return
	}
	s.log.ErrorContext(r.Context(), "chatkit request failed", "error", err)
	WriteError(w, http.StatusInternalServerError, CodeInternal, "internal error")
}

package llmtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Responder answers a request when the script is empty.
type Responder func(Request) Response

// Server is the fake. It answers POST /chat/completions and /v1/chat/completions, streamed or
// not, from a queue of scripted Responses, then from its Responder. It is an http.Handler and
// safe for concurrent use.
type Server struct {
	shape Shape
	split int

	mu        sync.Mutex
	script    []Response
	responder Responder
	requests  []Request
}

// New returns a server of the given shape that answers the scripted responses in order.
// When they run out it answers 500 "llmtest: no scripted response left" unless a Responder is
// set.
func New(shape Shape, script ...Response) *Server {
	return &Server{shape: shape, split: DefaultSplit, script: script}
}

// NewRules returns a server that answers by rules (DefaultRules when none are given), for
// demos and browser tests.
func NewRules(shape Shape, rules ...Rule) *Server {
	s := New(shape)
	s.SetResponder(RuleResponder(rules...))
	return s
}

// Push appends responses to the script.
func (s *Server) Push(rs ...Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append(s.script, rs...)
}

// SetResponder sets the answer for requests beyond the script.
func (s *Server) SetResponder(f Responder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.responder = f
}

// SetSplit sets how many bytes of text or arguments go into one chunk.
func (s *Server) SetSplit(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.split = n
}

// Requests returns a copy of every request received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Start serves s on a loopback httptest server closed at the end of the test, and returns the
// base URL to configure (OPENAI_BASE_URL), ending in /v1.
func (s *Server) Start(t testing.TB) string {
	t.Helper()
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return ts.URL + "/v1"
}

// maxBody bounds a request body.
const maxBody = 4 << 20

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || (r.URL.Path != "/chat/completions" && r.URL.Path != "/v1/chat/completions") {
		writeError(w, http.StatusNotFound, "not_found", "llmtest serves POST /v1/chat/completions only")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "invalid_request_error", err.Error())
		return
	}
	req, err := decodeRequest(body)
	req.Path, req.Authorization, req.Body = r.URL.Path, r.Header.Get("Authorization"), body
	resp, split := s.next(req)
	if err == nil {
		err = s.check(req)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", err.Error())
		return
	}
	if resp.Status != 0 {
		if !wait(r, resp.delay) {
			return
		}
		if resp.Status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "0")
		}
		msg := resp.msg
		if msg == "" {
			msg = fmt.Sprintf("llmtest: scripted status %d", resp.Status)
		}
		writeError(w, resp.Status, "server_error", msg)
		return
	}
	if !req.Stream {
		if !wait(r, resp.delay) {
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(completion(s.shape, req.Model, resp))
		return
	}
	s.stream(w, r, req, resp, split)
}

// next records the request and picks its response.
func (s *Server) next(req Request) (Response, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, req)
	switch {
	case len(s.script) > 0:
		r := s.script[0]
		s.script = s.script[1:]
		return r, s.split
	case s.responder != nil:
		return s.responder(req), s.split
	}
	return Response{Status: http.StatusInternalServerError, msg: "llmtest: no scripted response left"}, s.split
}

func (s *Server) stream(w http.ResponseWriter, r *http.Request, req Request, resp Response, split int) {
	flusher, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if flusher != nil {
		flusher.Flush()
	}
	if !wait(r, resp.delay) {
		return
	}
	chunks := render(s.shape, req.Model, resp, split, req.IncludeUsage)
	for i := 0; ; i++ {
		if resp.cut && i == resp.cutAfter {
			panic(http.ErrAbortHandler) // drops the connection; net/http does not log it
		}
		if resp.errorEvent != "" && i == resp.errorAfter {
			e, _ := json.Marshal(map[string]any{"error": map[string]any{"message": resp.errorEvent, "type": "server_error", "code": 502}})
			fmt.Fprintf(w, "data: %s\n\n", e)
			return
		}
		if i == len(chunks) {
			break
		}
		fmt.Fprintf(w, "data: %s\n\n", chunks[i])
		if flusher != nil {
			flusher.Flush()
		}
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
}

// wait sleeps d unless the client goes away first.
func wait(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

func writeError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": typ, "code": status}})
}

// wireRequest is the part of a chat completion request the fake reads.
type wireRequest struct {
	Model         string    `json:"model"`
	Stream        bool      `json:"stream"`
	Messages      []Message `json:"messages"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	Tools []struct {
		Type     string `json:"type"`
		Function struct {
			Name        string          `json:"name"`
			Description string          `json:"description"`
			Parameters  json.RawMessage `json:"parameters"`
		} `json:"function"`
	} `json:"tools"`
}

func decodeRequest(body []byte) (Request, error) {
	var w wireRequest
	if err := json.Unmarshal(body, &w); err != nil {
		return Request{}, fmt.Errorf("llmtest: request body is not a chat completion request: %w", err)
	}
	req := Request{Model: w.Model, Stream: w.Stream, Messages: w.Messages}
	req.IncludeUsage = w.StreamOptions != nil && w.StreamOptions.IncludeUsage
	for _, t := range w.Tools {
		req.Tools = append(req.Tools, Tool{Name: t.Function.Name, Description: t.Function.Description, Parameters: t.Function.Parameters})
	}
	return req, nil
}

// check rejects what strict providers reject, so that tests catch a malformed history.
func (s *Server) check(req Request) error {
	if req.Model == "" {
		return fmt.Errorf("llmtest: model is required")
	}
	if len(req.Messages) == 0 {
		return fmt.Errorf("llmtest: messages must not be empty")
	}
	calls := map[string]bool{}
	for i, m := range req.Messages {
		switch m.Role {
		case "system", "user":
		case "assistant":
			for j, c := range m.ToolCalls {
				switch {
				case c.ID == "":
					return fmt.Errorf("llmtest: messages[%d].tool_calls[%d].id is empty", i, j)
				case c.Type != "function":
					return fmt.Errorf("llmtest: messages[%d].tool_calls[%d].type must be \"function\", not %q", i, j, c.Type)
				case !json.Valid([]byte(c.Function.Arguments)):
					return fmt.Errorf("llmtest: messages[%d].tool_calls[%d].function.arguments is not JSON", i, j)
				case s.shape == Gemini && j == 0 && len(c.ExtraContent) == 0:
					return fmt.Errorf("Function call is missing a thought_signature in functionCall parts (messages[%d])", i)
				}
				calls[c.ID] = true
			}
		case "tool":
			switch {
			case m.ToolCallID == "" || !calls[m.ToolCallID]:
				return fmt.Errorf("llmtest: messages[%d] answers unknown tool call %q", i, m.ToolCallID)
			case strings.TrimSpace(m.Content) == "":
				return fmt.Errorf("llmtest: messages[%d] is a tool result without content", i)
			}
		default:
			return fmt.Errorf("llmtest: messages[%d].role %q is not valid", i, m.Role)
		}
	}
	return nil
}

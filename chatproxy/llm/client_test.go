package llm_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/taskwire/taskwire/chatproxy/llm"
	"github.com/taskwire/taskwire/chatproxy/llm/llmtest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// newClient configures a client for the fake at baseURL with fast retries.
func newClient(t *testing.T, cfg llm.Config) *llm.Client {
	t.Helper()
	if cfg.RetryDelay == 0 {
		cfg.RetryDelay = time.Millisecond
	}
	c, err := llm.New(cfg, llm.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var addTool = openai.Tool{Type: openai.ToolTypeFunction, Function: &openai.FunctionDefinition{
	Name: "add_task", Description: "Add a task", Parameters: json.RawMessage(`{"type":"object","properties":{"title":{"type":"string"}},"required":["title"]}`),
}}

func userRequest(text string) llm.Request {
	return llm.Request{
		Messages: []llm.Message{{Role: llm.RoleSystem, Content: "You manage tasks."}, {Role: llm.RoleUser, Content: text}},
		Tools:    []openai.Tool{addTool},
	}
}

// collect streams a request and returns the turn, the deltas and the error.
func collect(c *llm.Client, ctx context.Context, req llm.Request) (llm.Turn, []string, error) {
	var deltas []string
	turn, err := c.Stream(ctx, req, func(d string) error { deltas = append(deltas, d); return nil })
	return turn, deltas, err
}

// TestStreamToolTurnThenHistory runs the two model calls of a tool turn in each provider shape:
// the call is assembled, and the second request carries the call and its result back, in a
// form the strict fake accepts (type "function", non-empty tool content, Gemini's signature).
func TestStreamToolTurnThenHistory(t *testing.T) {
	for _, shape := range []llmtest.Shape{llmtest.OpenAI, llmtest.Gemini, llmtest.Ollama} {
		t.Run(string(shape), func(t *testing.T) {
			fake := llmtest.New(shape,
				llmtest.ToolCalls(llmtest.Call{Name: "add_task", Arguments: `{"title":"Buy milk"}`}),
				llmtest.Text("Added “Buy milk” as task 1."))
			c := newClient(t, llm.Config{BaseURL: fake.Start(t), Model: "test-model", OpenAIAPIKey: "sk-test"})

			req := userRequest("add a task to buy milk")
			turn, deltas, err := collect(c, t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			if len(turn.ToolCalls) != 1 || turn.ToolCalls[0].Name != "add_task" || turn.ToolCalls[0].Arguments != `{"title":"Buy milk"}` {
				t.Fatalf("tool calls = %+v", turn.ToolCalls)
			}
			if len(deltas) != 0 || turn.Text != "" {
				t.Errorf("text = %q, deltas %q; want none", turn.Text, deltas)
			}
			if turn.Attempts != 1 || turn.Model != "test-model" || turn.TimeToFirstToken <= 0 {
				t.Errorf("turn = %+v", turn)
			}

			req.Messages = append(req.Messages, turn.AssistantMessage(),
				llm.Message{Role: llm.RoleTool, ToolCallID: turn.ToolCalls[0].ID, Name: "add_task", Content: `{"task_id":1,"title":"Buy milk"}`})
			turn, deltas, err = collect(c, t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			if turn.Text != "Added “Buy milk” as task 1." || strings.Join(deltas, "") != turn.Text || len(deltas) < 2 {
				t.Errorf("text = %q in deltas %q", turn.Text, deltas)
			}
			reqs := fake.Requests()
			if len(reqs) != 2 {
				t.Fatalf("%d requests, want 2", len(reqs))
			}
			second := reqs[1]
			if got := second.Messages[2].ToolCalls; len(got) != 1 || got[0].Function.Name != "add_task" || got[0].Type != "function" {
				t.Errorf("replayed call = %+v", got)
			}
			if second.Messages[3].Role != "tool" || !strings.Contains(second.Messages[3].Content, "Buy milk") {
				t.Errorf("tool result = %+v", second.Messages[3])
			}
			if !second.Stream || !second.HasTool("add_task") || second.Authorization != "Bearer sk-test" {
				t.Errorf("request = stream %v, tools %+v, auth %q", second.Stream, second.Tools, second.Authorization)
			}
		})
	}
}

// TestGeminiSignatures: a call from Gemini is echoed with its own thought signature; a call
// from elsewhere (no signature) gets the documented placeholder. The fake, like Gemini 3,
// answers 400 without one.
func TestGeminiSignatures(t *testing.T) {
	fake := llmtest.New(llmtest.Gemini, llmtest.Text("ok"), llmtest.Text("ok"))
	c := newClient(t, llm.Config{BaseURL: fake.Start(t), Model: "gemini-test"})
	for _, extra := range []string{`{"google":{"thought_signature":"sig-123"}}`, ""} {
		req := userRequest("hi")
		req.Messages = append(req.Messages,
			llm.Message{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "c1", Name: "add_task", Arguments: `{"title":"x"}`, ProviderExtra: json.RawMessage(extra)}}},
			llm.Message{Role: llm.RoleTool, ToolCallID: "c1", Content: ""})
		if _, _, err := collect(c, t.Context(), req); err != nil {
			t.Fatalf("extra %q: %v", extra, err)
		}
	}
	reqs := fake.Requests()
	if got := string(reqs[0].Messages[2].ToolCalls[0].ExtraContent); !strings.Contains(got, "sig-123") {
		t.Errorf("echoed extra = %s, want the call's own signature", got)
	}
	if got := string(reqs[1].Messages[2].ToolCalls[0].ExtraContent); !strings.Contains(got, "skip_thought_signature_validator") {
		t.Errorf("extra = %s, want the placeholder", got)
	}
	if got := reqs[1].Messages[3].Content; got == "" {
		t.Error("empty tool result was sent empty")
	}
}

func TestRetriesAndFallback(t *testing.T) {
	tests := []struct {
		name          string
		primary       []llmtest.Response
		fallback      []llmtest.Response // nil: no fallback configured
		retries       int
		wantErr       error
		wantText      string
		wantPrimary   int
		wantFallback  int
		wantProvider  string
		firstTokenMax time.Duration
	}{
		{name: "429 then success", primary: []llmtest.Response{llmtest.Status(429), llmtest.Text("hello")},
			retries: 2, wantText: "hello", wantPrimary: 2},
		{name: "500, 503 then success", primary: []llmtest.Response{llmtest.Status(500), llmtest.Status(503), llmtest.Text("hello")},
			retries: 2, wantText: "hello", wantPrimary: 3},
		{name: "cut before the first token is retried", primary: []llmtest.Response{llmtest.Text("hello").CutAfter(1), llmtest.Text("hello")},
			retries: 1, wantText: "hello", wantPrimary: 2},
		{name: "error event before output is retried", primary: []llmtest.Response{llmtest.Text("x").ErrorEventAfter(1, "overloaded"), llmtest.Text("hello")},
			retries: 1, wantText: "hello", wantPrimary: 2},
		{name: "slow first token is retried", primary: []llmtest.Response{llmtest.Text("late").After(2 * time.Second), llmtest.Text("hello")},
			retries: 1, wantText: "hello", wantPrimary: 2, firstTokenMax: 100 * time.Millisecond},
		{name: "primary exhausted, fallback answers", primary: []llmtest.Response{llmtest.Status(503), llmtest.Status(429)},
			fallback: []llmtest.Response{llmtest.Text("from fallback")}, retries: 1, wantText: "from fallback", wantPrimary: 2, wantFallback: 1},
		{name: "everything fails", primary: []llmtest.Response{llmtest.Status(500), llmtest.Status(500)},
			fallback: []llmtest.Response{llmtest.Status(502), llmtest.Status(502)}, retries: 1, wantErr: llm.ErrUnavailable, wantPrimary: 2, wantFallback: 2},
		{name: "400 is not retried nor passed on", primary: []llmtest.Response{llmtest.Status(400)},
			fallback: []llmtest.Response{llmtest.Text("unused")}, retries: 3, wantPrimary: 1},
		{name: "401 is not retried", primary: []llmtest.Response{llmtest.Status(401)}, retries: 3, wantPrimary: 1},
		{name: "cut after the first token is not retried", primary: []llmtest.Response{llmtest.Text("hello there, friend").CutAfter(3), llmtest.Text("unused")},
			fallback: []llmtest.Response{llmtest.Text("unused")}, retries: 3, wantErr: llm.ErrInterrupted, wantPrimary: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			primary := llmtest.New(llmtest.OpenAI, tt.primary...)
			cfg := llm.Config{BaseURL: primary.Start(t), Model: "primary-model", MaxRetries: tt.retries, FirstTokenTimeout: tt.firstTokenMax}
			var fallback *llmtest.Server
			if tt.fallback != nil {
				fallback = llmtest.New(llmtest.OpenAI, tt.fallback...)
				cfg.FallbackBaseURL, cfg.FallbackModel = fallback.Start(t), "fallback-model"
			}
			c := newClient(t, cfg)
			turn, deltas, err := collect(c, t.Context(), userRequest("hi"))
			switch {
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			case tt.wantErr == nil && tt.wantText == "" && err == nil:
				t.Error("err = nil, want the client error")
			case tt.wantText != "" && (err != nil || turn.Text != tt.wantText || strings.Join(deltas, "") != tt.wantText):
				t.Errorf("turn %q (deltas %q), err %v; want %q", turn.Text, deltas, err, tt.wantText)
			}
			if got := len(primary.Requests()); got != tt.wantPrimary {
				t.Errorf("primary got %d requests, want %d", got, tt.wantPrimary)
			}
			if fallback != nil {
				if got := len(fallback.Requests()); got != tt.wantFallback {
					t.Errorf("fallback got %d requests, want %d", got, tt.wantFallback)
				}
				if tt.wantFallback > 0 && tt.wantErr == nil && turn.Model != "fallback-model" {
					t.Errorf("answered by %q, want the fallback", turn.Model)
				}
			}
			if errors.Is(err, llm.ErrInterrupted) && (turn.Text == "" || len(deltas) == 0) {
				t.Errorf("interrupted turn lost its partial text: %q", turn.Text)
			}
		})
	}
}

// TestCancelStopsTheRequest: cancelling the context ends Stream at once and the fake sees its
// request end.
func TestCancelStopsTheRequest(t *testing.T) {
	gone := make(chan struct{})
	fake := llmtest.New(llmtest.OpenAI, llmtest.Text("never").After(time.Minute))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fake.ServeHTTP(w, r)
		if r.Context().Err() != nil {
			close(gone)
		}
	}))
	t.Cleanup(srv.Close)
	c := newClient(t, llm.Config{BaseURL: srv.URL, Model: "m", MaxRetries: 3})
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, _, err := collect(c, ctx, userRequest("hi"))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	select {
	case <-gone:
	case <-time.After(10 * time.Second):
		t.Fatal("the server never saw the request cancelled")
	}
	if n := len(fake.Requests()); n != 1 {
		t.Errorf("%d requests, want 1 (no retry after cancel)", n)
	}
}

func TestOnTextErrorAborts(t *testing.T) {
	fake := llmtest.New(llmtest.OpenAI, llmtest.Text("a long answer in pieces"))
	c := newClient(t, llm.Config{BaseURL: fake.Start(t), Model: "m", MaxRetries: 3})
	stop := errors.New("client went away")
	_, err := c.Stream(t.Context(), userRequest("hi"), func(string) error { return stop })
	if !errors.Is(err, stop) {
		t.Fatalf("err = %v, want the callback's error", err)
	}
	if n := len(fake.Requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestNotConfigured(t *testing.T) {
	c := newClient(t, llm.Config{})
	if c.Configured() {
		t.Fatal("Configured() = true with no provider")
	}
	_, err := c.Stream(t.Context(), userRequest("hi"), nil)
	if !errors.Is(err, llm.ErrNotConfigured) {
		t.Fatalf("err = %v, want ErrNotConfigured", err)
	}
	for _, name := range []string{"OPENAI_API_KEY", "GEMINI_API_KEY", "OPENAI_BASE_URL", "LLM_MODEL"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("message %q does not name %s", err, name)
		}
	}
}

func TestCompleteNonStreaming(t *testing.T) {
	fake := llmtest.New(llmtest.OpenAI, llmtest.Status(503), llmtest.Text("  Groceries for the week"))
	c := newClient(t, llm.Config{BaseURL: fake.Start(t), Model: "m", MaxRetries: 1})
	turn, err := c.Complete(t.Context(), llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "title?"}}})
	if err != nil {
		t.Fatal(err)
	}
	if turn.Text != "Groceries for the week" || turn.Attempts != 2 || turn.Usage == nil {
		t.Errorf("turn = %+v", turn)
	}
	if reqs := fake.Requests(); reqs[1].Stream {
		t.Error("Complete sent a streaming request")
	}
}

// TestRuleBasedFake drives the demo responder the way the agent will: a tool call for a
// request it recognises, then a summary of the tool result.
func TestRuleBasedFake(t *testing.T) {
	fake := llmtest.NewRules(llmtest.OpenAI)
	c := newClient(t, llm.Config{BaseURL: fake.Start(t), Model: "m"})
	tests := []struct {
		say, wantTool, wantArgs string
	}{
		{"Add a task to buy groceries", "add_task", `{"title":"buy groceries"}`},
		{"Show me all my tasks", "list_tasks", `{}`},
		{"Mark task #1 as complete", "complete_task", `{"task_id":1}`},
	}
	tools := []openai.Tool{addTool}
	for _, n := range []string{"list_tasks", "complete_task"} {
		tools = append(tools, openai.Tool{Type: openai.ToolTypeFunction, Function: &openai.FunctionDefinition{Name: n, Parameters: json.RawMessage(`{"type":"object"}`)}})
	}
	for _, tt := range tests {
		req := llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: tt.say}}, Tools: tools}
		turn, _, err := collect(c, t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		if len(turn.ToolCalls) != 1 || turn.ToolCalls[0].Name != tt.wantTool || turn.ToolCalls[0].Arguments != tt.wantArgs {
			t.Errorf("%q → %+v, want %s %s", tt.say, turn.ToolCalls, tt.wantTool, tt.wantArgs)
			continue
		}
		if tt.wantTool != "add_task" {
			continue
		}
		req.Messages = append(req.Messages, turn.AssistantMessage(),
			llm.Message{Role: llm.RoleTool, ToolCallID: turn.ToolCalls[0].ID, Content: `{"task_id":4,"title":"buy groceries","completed":false}`})
		turn, _, err = collect(c, t.Context(), req)
		if err != nil || turn.Text != "Added “buy groceries” (task 4)." {
			t.Errorf("summary = %q, %v", turn.Text, err)
		}
	}
}

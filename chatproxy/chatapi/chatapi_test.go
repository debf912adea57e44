package chatapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/taskwire/taskwire/chatproxy/agent"
	"github.com/taskwire/taskwire/chatproxy/chatapi"
	"github.com/taskwire/taskwire/chatproxy/chatkit"
	"github.com/taskwire/taskwire/chatproxy/chatstore"
	"github.com/taskwire/taskwire/chatproxy/llm"
	"github.com/taskwire/taskwire/chatproxy/llm/llmtest"
	"github.com/taskwire/taskwire/chatproxy/mcpclient"
	"github.com/taskwire/taskwire/chatproxy/proxyhttp"
	"github.com/taskwire/taskwire/internal/auth"
	"github.com/taskwire/taskwire/internal/pgtest"
	"github.com/taskwire/taskwire/mcpserver/mcphttp"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

var secret = []byte("chatapi-test-secret-0123456789abcdef")

const mcpAudience = "taskwire-mcp"

// stack is the whole product on loopback: chatproxy's routes over the real agent, whose tools
// are a real mcpserver, both on real PostgreSQL databases; only the model is faked.
type stack struct {
	proxy string
	model *llmtest.Server
}

func newStack(t *testing.T) stack {
	t.Helper()
	ctx := t.Context()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	mcpVerifier, err := auth.NewVerifier(ctx, auth.Config{Secret: secret, Audience: mcpAudience})
	if err != nil {
		t.Fatal(err)
	}
	mcpHandler, err := mcphttp.NewHandler(mcphttp.Config{Pool: pgtest.Pool(t), Verifier: mcpVerifier, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	mcpSrv := httptest.NewServer(mcpHandler)
	t.Cleanup(mcpSrv.Close)

	model := llmtest.NewRules(llmtest.OpenAI)
	modelClient, err := llm.New(llm.Config{BaseURL: model.Start(t), Model: "fake", RetryDelay: time.Millisecond}, llm.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := mcpclient.NewTokens(mcpclient.TokenConfig{Audience: mcpAudience, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	tools, err := mcpclient.New(mcpclient.Config{URL: mcpSrv.URL + "/mcp", Tokens: tokens.Source()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tools.Close() })

	chatPool := pgtest.Pool(t)
	chat, err := chatkit.NewServer(chatkit.Options{
		Store:     chatstore.New(chatPool, chatstore.Options{}),
		Responder: agent.New(agent.Config{LLM: modelClient, MCP: tools, Logger: quiet}),
		Logger:    quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	proxyVerifier, err := auth.NewVerifier(ctx, auth.Config{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	routes, err := proxyhttp.New(proxyhttp.Options{Verifier: proxyVerifier, ChatKit: chat, DB: chatPool, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	chatapi.Mount(routes, chatapi.Config{
		ChatKit: chat, MCP: tools, ToolCalls: func(items []chatkit.Item) any { return agent.ToolCalls(items) },
		DevUser: "dev-user", Secret: secret, Logger: quiet,
	})
	proxy := httptest.NewServer(routes)
	t.Cleanup(proxy.Close)
	return stack{proxy: proxy.URL, model: model}
}

func token(t *testing.T, user string) string {
	t.Helper()
	tok, err := auth.Mint(secret, auth.MintOptions{UserID: user, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// call sends a request as user ("" sends no token) and decodes the JSON answer.
func call(t *testing.T, method, url, user string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, _ := json.Marshal(b)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Content-Type", "application/json")
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+token(t, user))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: answer is not a JSON object: %q", method, url, raw)
	}
	return resp.StatusCode, out
}

func taskTitles(t *testing.T, s stack, user string) []string {
	t.Helper()
	status, body := call(t, "GET", s.proxy+"/api/tasks", user, nil)
	if status != http.StatusOK {
		t.Fatalf("GET /api/tasks as %s: %d %v", user, status, body)
	}
	var titles []string
	for _, task := range body["tasks"].([]any) {
		titles = append(titles, task.(map[string]any)["title"].(string))
	}
	return titles
}

func TestChatAddsTaskEndToEnd(t *testing.T) {
	t.Parallel()
	s := newStack(t)

	status, body := call(t, "POST", s.proxy+"/api/chat", "alice", map[string]any{"message": "Add a task to buy milk"})
	if status != http.StatusOK {
		t.Fatalf("POST /api/chat: %d %v", status, body)
	}
	conv, _ := body["conversation_id"].(string)
	if !strings.HasPrefix(conv, "thr_") {
		t.Fatalf("conversation_id = %v", body["conversation_id"])
	}
	if reply, _ := body["response"].(string); !strings.Contains(strings.ToLower(reply), "buy milk") {
		t.Fatalf("response %q does not mention the added task", reply)
	}
	calls, _ := body["tool_calls"].([]any)
	if len(calls) != 1 {
		t.Fatalf("tool_calls = %v, want one add_task", body["tool_calls"])
	}
	first := calls[0].(map[string]any)
	if first["name"] != "add_task" || !strings.Contains(toJSON(first["arguments"]), "buy milk") || !strings.Contains(toJSON(first["result"]), "buy milk") {
		t.Fatalf("tool call = %v", first)
	}

	if got := taskTitles(t, s, "alice"); len(got) != 1 || got[0] != "buy milk" {
		t.Fatalf("alice's tasks = %v", got)
	}
	if got := taskTitles(t, s, "bob"); len(got) != 0 {
		t.Fatalf("bob sees alice's tasks: %v", got)
	}

	// The same conversation goes on, and the model sees its history.
	status, body = call(t, "POST", s.proxy+"/api/chat", "alice", map[string]any{"message": "Show me all my tasks", "conversation_id": conv})
	if status != http.StatusOK || body["conversation_id"] != conv {
		t.Fatalf("second turn: %d %v", status, body)
	}
	reqs := s.model.Requests()
	if last := reqs[len(reqs)-1]; !strings.Contains(string(last.Body), "Add a task to buy milk") {
		t.Fatalf("the second turn's model request lacks the first turn: %s", last.Body)
	}

	// Bob cannot continue Alice's conversation: it is answered like a missing one.
	statusB, bodyB := call(t, "POST", s.proxy+"/api/chat", "bob", map[string]any{"message": "hi", "conversation_id": conv})
	statusM, bodyM := call(t, "POST", s.proxy+"/api/chat", "bob", map[string]any{"message": "hi", "conversation_id": "thr_doesnotexist"})
	foreign := strings.ReplaceAll(toJSON(bodyB), conv, "ID")
	missing := strings.ReplaceAll(toJSON(bodyM), "thr_doesnotexist", "ID")
	if statusB != http.StatusNotFound || statusM != http.StatusNotFound || foreign != missing {
		t.Fatalf("foreign conversation: %d %v; missing one: %d %v", statusB, bodyB, statusM, bodyM)
	}
}

func TestChatRejectsBadRequests(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	tests := []struct {
		name   string
		path   string
		user   string
		body   any
		status int
	}{
		{"no token", "/api/chat", "", map[string]any{"message": "hi"}, http.StatusUnauthorized},
		{"not json", "/api/chat", "alice", "{nope", http.StatusBadRequest},
		{"empty message", "/api/chat", "alice", map[string]any{"message": "  "}, http.StatusBadRequest},
		{"overlong message", "/api/chat", "alice", map[string]any{"message": strings.Repeat("a", chatkit.DefaultMaxMessageChars+1)}, http.StatusBadRequest},
		{"path user is someone else", "/api/bob/chat", "alice", map[string]any{"message": "hi"}, http.StatusForbidden},
		{"body over the limit", "/api/chat", "alice", map[string]any{"message": strings.Repeat("a", proxyhttp.DefaultMaxBodyBytes)}, http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := call(t, "POST", s.proxy+tt.path, tt.user, tt.body)
			if status != tt.status {
				t.Fatalf("status = %d, want %d (%v)", status, tt.status, body)
			}
			if e, _ := body["error"].(map[string]any); e == nil || e["message"] == "" {
				t.Fatalf("no error message in %v", body)
			}
		})
	}
	// The path form works for the token's own user.
	if status, body := call(t, "POST", s.proxy+"/api/alice/chat", "alice", map[string]any{"message": "Add a task to call mom"}); status != http.StatusOK {
		t.Fatalf("POST /api/alice/chat: %d %v", status, body)
	}
	if got := taskTitles(t, s, "alice"); len(got) != 1 || got[0] != "call mom" {
		t.Fatalf("tasks after the path form = %v", got)
	}
}

func TestTasksParameters(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	for _, tt := range []struct {
		query  string
		status int
	}{
		{"?status=pending&limit=5&overdue=false", http.StatusOK},
		{"?limit=many", http.StatusBadRequest},
		{"?overdue=maybe", http.StatusBadRequest},
		{"?user_id=bob", http.StatusBadRequest},
		{"?status=sideways", http.StatusBadRequest},
	} {
		status, body := call(t, "GET", s.proxy+"/api/tasks"+tt.query, "alice", nil)
		if status != tt.status {
			t.Errorf("GET /api/tasks%s: %d %v, want %d", tt.query, status, body, tt.status)
		}
	}
	if status, _ := call(t, "GET", s.proxy+"/api/tasks", "", nil); status != http.StatusUnauthorized {
		t.Errorf("GET /api/tasks without a token: %d", status)
	}
}

func TestDevToken(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	status, body := call(t, "GET", s.proxy+"/api/dev/token", "", nil)
	if status != http.StatusOK || body["user_id"] != "dev-user" {
		t.Fatalf("GET /api/dev/token: %d %v", status, body)
	}
	v, err := auth.NewVerifier(t.Context(), auth.Config{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	if id, err := v.Verify(t.Context(), body["token"].(string)); err != nil || id.UserID != "dev-user" {
		t.Fatalf("dev token: %+v, %v", id, err)
	}

	// From anywhere but loopback, dev mode does not exist.
	routes := &recordingRouter{}
	chatapi.Mount(routes, chatapi.Config{DevUser: "dev-user", Secret: secret})
	req := httptest.NewRequest("GET", "/api/dev/token", nil)
	req.RemoteAddr = "203.0.113.9:4444"
	rec := httptest.NewRecorder()
	routes.public["GET /api/dev/token"].ServeHTTP(rec, req)
	if rec.Code != http.StatusNotFound {
		t.Fatalf("dev token from a remote address: %d", rec.Code)
	}
	if _, ok := (&recordingRouter{}).mountWithoutDev()["GET /api/dev/token"]; ok {
		t.Fatal("dev token route mounted without DEV_USER")
	}
}

type recordingRouter struct{ public map[string]http.Handler }

func (r *recordingRouter) Public(p string, h http.Handler) {
	if r.public == nil {
		r.public = map[string]http.Handler{}
	}
	r.public[p] = h
}
func (r *recordingRouter) Authenticated(string, http.Handler) {}
func (r *recordingRouter) Turn(string, http.Handler)          {}

func (r *recordingRouter) mountWithoutDev() map[string]http.Handler {
	chatapi.Mount(r, chatapi.Config{})
	return r.public
}

func toJSON(v any) string {
	raw, _ := json.Marshal(v)
	return string(raw)
}

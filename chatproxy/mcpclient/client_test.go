package mcpclient_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/taskwire/taskwire/chatproxy/mcpclient"
	"github.com/taskwire/taskwire/internal/auth"
)

var (
	secret   = []byte("test-secret-at-least-32-bytes-long!!")
	audience = "http://mcp.test/mcp"
)

// toyServer is a small real mcp-go streamable HTTP server with a bearer check like
// mcpserver's: it records which user each tools/call came as and counts tools/list requests.
type toyServer struct {
	URL string

	mu     sync.Mutex
	callAs []string // user per tools/call, in order
	tokens []string // raw bearer per tools/call

	lists    atomic.Int32 // tools/list requests that reached the server
	failList atomic.Int32 // answer this many tools/list requests with 500
	down     atomic.Bool  // answer everything with 503
}

func startToy(t *testing.T) *toyServer {
	t.Helper()
	ts := &toyServer{}
	s := server.NewMCPServer("toy", "1", server.WithToolCapabilities(false))
	s.AddTool(mcp.NewTool("whoami", mcp.WithDescription("Say who is calling.")),
		func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			id, ok := auth.UserFrom(ctx)
			if !ok {
				return mcp.NewToolResultError("no user in context"), nil
			}
			return mcp.NewToolResultStructured(map[string]any{"user": id.UserID}, `{"user":"`+id.UserID+`"}`), nil
		})
	s.AddTool(mcp.NewTool("fail", mcp.WithDescription("Always fails."), mcp.WithString("why", mcp.Required())),
		func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultError("no task with number " + req.GetString("why", "?")), nil
		})
	verifier, err := auth.NewVerifier(t.Context(), auth.Config{Secret: secret, Audience: audience})
	if err != nil {
		t.Fatal(err)
	}
	mcpHandler := server.NewStreamableHTTPServer(s, server.WithStateLess(true))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ts.down.Load() {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		raw, _ := auth.BearerToken(r)
		id, err := verifier.Verify(r.Context(), raw)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer resource_metadata="http://mcp.test/.well-known/oauth-protected-resource"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		var msg struct{ Method string }
		_ = json.Unmarshal(body, &msg)
		switch msg.Method {
		case "tools/list":
			ts.lists.Add(1)
			if ts.failList.Load() > 0 {
				ts.failList.Add(-1)
				http.Error(w, "boom", http.StatusInternalServerError)
				return
			}
		case "tools/call":
			ts.mu.Lock()
			ts.callAs, ts.tokens = append(ts.callAs, id.UserID), append(ts.tokens, raw)
			ts.mu.Unlock()
		}
		mcpHandler.ServeHTTP(w, r.WithContext(auth.WithUser(r.Context(), id)))
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	ts.URL = srv.URL + "/mcp"
	return ts
}

func (ts *toyServer) calls() ([]string, []string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]string(nil), ts.callAs...), append([]string(nil), ts.tokens...)
}

func newClient(t *testing.T, url string, ttl time.Duration) *mcpclient.Client {
	t.Helper()
	tokens, err := mcpclient.NewTokens(mcpclient.TokenConfig{Audience: audience, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	c, err := mcpclient.New(mcpclient.Config{URL: url, Tokens: tokens.Source(), ToolsTTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func mint(t *testing.T, user, aud string) string {
	t.Helper()
	tok, err := auth.Mint(secret, auth.MintOptions{UserID: user, Audience: aud, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestPerUserCredentials: one client, two users interleaved (and concurrently); every call
// reaches the server as its own user. Alice's own token fits mcpserver's audience and is
// passed through; Bob's is for another audience, so a token is minted for him.
func TestPerUserCredentials(t *testing.T) {
	toy := startToy(t)
	c := newClient(t, toy.URL, 0)
	alice := mcpclient.User{ID: "alice", Token: mint(t, "alice", audience)}
	bob := mcpclient.User{ID: "bob", Token: mint(t, "bob", "http://web.test")}
	users := []mcpclient.User{alice, bob, alice, bob, bob, alice}
	for _, u := range users {
		res, err := c.CallTool(t.Context(), u, "whoami", nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.IsError || string(res.Structured) != `{"user":"`+u.ID+`"}` {
			t.Errorf("as %s: result %+v", u.ID, res)
		}
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			u := users[i%len(users)]
			res, err := c.CallTool(context.Background(), u, "whoami", json.RawMessage(`{}`))
			if err != nil || !strings.Contains(res.Text, `"`+u.ID+`"`) {
				t.Errorf("concurrent call as %s: %+v, %v", u.ID, res, err)
			}
		})
	}
	wg.Wait()
	callAs, tokens := toy.calls()
	for i, u := range users {
		if callAs[i] != u.ID {
			t.Errorf("call %d came as %q, want %q", i, callAs[i], u.ID)
		}
		if passed := tokens[i] == u.Token; passed != (u.ID == "alice") {
			t.Errorf("call %d as %s: own token passed through = %v", i, u.ID, passed)
		}
	}
}

func TestToolListCache(t *testing.T) {
	toy := startToy(t)
	c := newClient(t, toy.URL, time.Second)
	user := mcpclient.User{ID: "alice"}

	toy.failList.Store(1)
	if _, err := c.Tools(t.Context(), user); !errors.Is(err, mcpclient.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable from the 500", err)
	}
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			tools, err := c.Tools(context.Background(), user)
			if err != nil || len(tools) != 2 {
				t.Errorf("Tools = %d tools, %v", len(tools), err)
			}
		})
	}
	wg.Wait()
	if n := toy.lists.Load(); n != 2 {
		t.Errorf("%d tools/list requests, want 2 (the failure was not cached; 10 callers shared one fetch)", n)
	}
	time.Sleep(1100 * time.Millisecond)
	if _, err := c.Tools(t.Context(), user); err != nil {
		t.Fatal(err)
	}
	if n := toy.lists.Load(); n != 3 {
		t.Errorf("%d tools/list requests, want 3 after the entry went stale", n)
	}
}

func TestCallResultsAndErrors(t *testing.T) {
	toy := startToy(t)
	c := newClient(t, toy.URL, 0)
	user := mcpclient.User{ID: "carol"}

	res, err := c.CallTool(t.Context(), user, "fail", json.RawMessage(`{"why":"7"}`))
	if err != nil {
		t.Fatalf("a tool error came back as a Go error: %v", err)
	}
	if !res.IsError || res.Text != "no task with number 7" || res.ForModel() != "Error: no task with number 7" {
		t.Errorf("result = %+v (for the model: %q)", res, res.ForModel())
	}

	_, err = c.CallTool(t.Context(), user, "no_such_tool", nil)
	if !errors.Is(err, mcpclient.ErrRejected) {
		t.Errorf("unknown tool: err = %v, want ErrRejected", err)
	}

	toy.down.Store(true)
	_, err = c.CallTool(t.Context(), user, "whoami", nil)
	if !errors.Is(err, mcpclient.ErrUnavailable) || !strings.Contains(err.Error(), toy.URL) {
		t.Errorf("server failing: err = %v, want ErrUnavailable naming the URL", err)
	}
	toy.down.Store(false)
	if res, err := c.CallTool(t.Context(), user, "whoami", nil); err != nil || res.IsError {
		t.Errorf("after the server came back: %+v, %v", res, err)
	}
}

func TestServerDown(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/mcp"
	srv.Close()
	c := newClient(t, url, 0)
	_, err := c.CallTool(t.Context(), mcpclient.User{ID: "dave"}, "whoami", nil)
	if !errors.Is(err, mcpclient.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	if _, err := c.Tools(t.Context(), mcpclient.User{ID: "dave"}); !errors.Is(err, mcpclient.ErrUnavailable) {
		t.Fatalf("Tools err = %v, want ErrUnavailable", err)
	}
}

// TestRedirectKeepsTheToken: a redirect from the MCP URL is not followed, so the user's
// token never reaches the host it points at.
func TestRedirectKeepsTheToken(t *testing.T) {
	var leaked atomic.Bool
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			leaked.Store(true)
		}
		http.NotFound(w, r)
	}))
	defer elsewhere.Close()
	redirector := httptest.NewServer(http.RedirectHandler(elsewhere.URL+"/mcp", http.StatusTemporaryRedirect))
	defer redirector.Close()
	c := newClient(t, redirector.URL+"/mcp", 0)
	if _, err := c.CallTool(t.Context(), mcpclient.User{ID: "frank"}, "whoami", nil); err == nil {
		t.Error("a call answered by a redirect succeeded")
	}
	if leaked.Load() {
		t.Error("the bearer token followed the redirect to another server")
	}
}

func TestUnauthorized(t *testing.T) {
	toy := startToy(t)
	// A proxy configured with the wrong secret mints tokens mcpserver refuses.
	tokens, err := mcpclient.NewTokens(mcpclient.TokenConfig{Audience: audience, Secret: []byte("another-secret-of-at-least-32-bytes")})
	if err != nil {
		t.Fatal(err)
	}
	c, err := mcpclient.New(mcpclient.Config{URL: toy.URL, Tokens: tokens.Source()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.CallTool(t.Context(), mcpclient.User{ID: "eve"}, "whoami", nil)
	if !errors.Is(err, mcpclient.ErrUnauthorized) || !strings.Contains(err.Error(), "BETTER_AUTH_SECRET") {
		t.Fatalf("err = %v, want ErrUnauthorized with a hint", err)
	}
	if calls, _ := toy.calls(); len(calls) != 0 {
		t.Errorf("calls reached the tools: %v", calls)
	}
}

func TestNewValidates(t *testing.T) {
	src := func(context.Context, mcpclient.User) (string, error) { return "", nil }
	for _, cfg := range []mcpclient.Config{{URL: "", Tokens: src}, {URL: "localhost:8001/mcp", Tokens: src}, {URL: "http://x/mcp"}} {
		if _, err := mcpclient.New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
}

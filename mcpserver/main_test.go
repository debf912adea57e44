package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/taskwire/taskwire/internal/auth"
	"github.com/taskwire/taskwire/internal/pgcluster"
	"github.com/taskwire/taskwire/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

const secret = "a-test-secret-that-is-long-enough-0123456789"

// buildBinary compiles mcpserver once for the tests that run the real program.
var buildBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "mcpserver-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "mcpserver")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", &buildError{string(out), err}
	}
	return bin, nil
})

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

// stdioClient starts `mcpserver stdio` with the given arguments and environment and
// initializes an mcp-go stdio client on it.
func stdioClient(t *testing.T, env []string, args ...string) (*client.Client, *syncBuffer) {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &syncBuffer{}
	c, err := client.NewStdioMCPClientWithOptions(bin, env, append([]string{"stdio"}, args...),
		transport.WithCommandStderrWriter(stderr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.Initialize(ctx, mcp.InitializeRequest{Params: mcp.InitializeParams{
		ClientInfo: mcp.Implementation{Name: "stdio-test", Version: "1"},
	}}); err != nil {
		t.Fatalf("initialize over stdio: %v\nstderr:\n%s", err, stderr.String())
	}
	return c, stderr
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func callTool(t *testing.T, c *client.Client, name string, args map[string]any) map[string]any {
	t.Helper()
	res, err := c.CallTool(context.Background(), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: name, Arguments: args}})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if res.IsError {
		t.Fatalf("%s: tool error %+v", name, res.Content)
	}
	var out map[string]any
	if err := json.Unmarshal(res.RawStructuredContent, &out); err != nil {
		t.Fatalf("%s: structuredContent %s: %v", name, res.RawStructuredContent, err)
	}
	return out
}

// TestStdio drives the real binary over stdio with the mcp-go client, once per way of
// naming the user, and checks the two users are kept apart.
func TestStdio(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.URL(t)
	alice, stderr := stdioClient(t, []string{"DATABASE_URL=" + dbURL, "TASKWIRE_USER="}, "--user", "alice")
	tools, err := alice.ListTools(context.Background(), mcp.ListToolsRequest{})
	if err != nil || len(tools.Tools) != 6 {
		t.Fatalf("tools/list over stdio: %d tools, %v", len(tools.Tools), err)
	}
	got := callTool(t, alice, "add_task", map[string]any{"title": "Buy groceries"})
	if got["task_id"] != float64(1) || got["title"] != "Buy groceries" {
		t.Errorf("add_task over stdio: %v", got)
	}
	bob, _ := stdioClient(t, []string{"DATABASE_URL=" + dbURL, "TASKWIRE_USER=bob"})
	if l := callTool(t, bob, "list_tasks", nil); len(l["tasks"].([]any)) != 0 {
		t.Errorf("bob (TASKWIRE_USER) sees alice's tasks: %v", l)
	}
	if l := callTool(t, alice, "list_tasks", nil); len(l["tasks"].([]any)) != 1 {
		t.Errorf("alice's list: %v", l)
	}
	if err := alice.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	if !strings.Contains(stderr.String(), "serving stdio") {
		t.Errorf("logs did not go to stderr: %q", stderr.String())
	}
}

// run drives the command in-process, as main would, with a fixed environment.
func runCmd(ctx context.Context, env []string, args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, env, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestConfigErrorsNameTheVariable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"dev mode on a public address", []string{"MCP_DEV_USER=dev", "MCP_HOST=0.0.0.0", "DATABASE_URL=postgres://x"}, nil, "MCP_DEV_USER (dev mode: requests without a token act as that user) needs MCP_HOST to be a loopback address"},
		{"dev mode in production", []string{"MCP_DEV_USER=dev", "ENVIRONMENT=production"}, nil, "cannot be used with ENVIRONMENT=production"},
		{"no way to verify tokens", []string{"DATABASE_URL=postgres://x"}, nil, "set BETTER_AUTH_SECRET and/or BETTER_AUTH_JWKS_URL"},
		{"short secret", []string{"BETTER_AUTH_SECRET=short"}, nil, "BETTER_AUTH_SECRET must be at least 32 characters"},
		{"bad port", []string{"BETTER_AUTH_SECRET=" + secret, "MCP_PORT=http"}, nil, "MCP_PORT"},
		{"missing database", []string{"BETTER_AUTH_SECRET=" + secret}, nil, `"DATABASE_URL"`},
		{"bad log level", []string{"LOG_LEVEL=loud"}, nil, `LOG_LEVEL "loud": want debug, info, warn or error`},
		{"stdio without user", []string{"DATABASE_URL=postgres://x"}, []string{"stdio"}, "stdio needs a user: --user ID or TASKWIRE_USER"},
		{"stdio with a bad user", []string{"TASKWIRE_USER=a\x01b"}, []string{"stdio"}, "--user / TASKWIRE_USER"},
		{"token without secret", nil, []string{"token", "--user", "alice"}, "token needs BETTER_AUTH_SECRET"},
		{"token without user", []string{"BETTER_AUTH_SECRET=" + secret}, []string{"token"}, "token needs --user ID"},
		{"unknown command", nil, []string{"launch"}, `unknown command "launch"`},
		{"zero rate limit", []string{"BETTER_AUTH_SECRET=" + secret, "MCP_RATE_LIMIT=0"}, nil, "MCP_RATE_LIMIT must be a positive number"},
		{"bad rate limit", []string{"BETTER_AUTH_SECRET=" + secret, "MCP_RATE_LIMIT=fast"}, nil, "MCP_RATE_LIMIT"},
		{"zero burst", []string{"BETTER_AUTH_SECRET=" + secret, "MCP_RATE_BURST=0"}, nil, "MCP_RATE_BURST must be at least 1"},
		{"bad shutdown timeout", []string{"BETTER_AUTH_SECRET=" + secret, "SHUTDOWN_TIMEOUT=soon"}, nil, "SHUTDOWN_TIMEOUT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCmd(ctx, tc.env, tc.args...)
			if code == 0 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want failure mentioning %q", code, stderr, tc.want)
			}
		})
	}
}

// TestTokenIsAcceptedByTheVerifier: `mcpserver token` mints what this server's own
// configuration verifies, with the configured audience and issuer.
func TestTokenIsAcceptedByTheVerifier(t *testing.T) {
	t.Parallel()
	env := []string{"BETTER_AUTH_SECRET=" + secret, "MCP_AUDIENCE=https://tasks.test/mcp", "BETTER_AUTH_ISSUER=https://auth.test"}
	code, stdout, stderr := runCmd(context.Background(), env, "token", "--user", "alice", "--ttl", "10m")
	if code != 0 {
		t.Fatalf("token: exit %d: %s", code, stderr)
	}
	v, err := auth.NewVerifier(context.Background(), auth.Config{Secret: []byte(secret), Audience: "https://tasks.test/mcp", Issuer: "https://auth.test"})
	if err != nil {
		t.Fatal(err)
	}
	id, err := v.Verify(context.Background(), strings.TrimSpace(stdout))
	if err != nil || id.UserID != "alice" || time.Until(id.ExpiresAt) > 11*time.Minute {
		t.Errorf("token %q: %+v, %v", stdout, id, err)
	}
}

// TestServeHealthcheckAndShutdown starts `serve`, checks it with the `healthcheck` command
// the container uses, then stops it as SIGTERM would (the context ends): it must exit 0.
func TestServeHealthcheckAndShutdown(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	env := []string{"DATABASE_URL=" + pgtest.URL(t), "BETTER_AUTH_SECRET=" + secret, "MCP_HOST=127.0.0.1", "MCP_PORT=" + port}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var serveErr string
	go func() {
		code, _, stderr := runCmd(ctx, env, "serve")
		serveErr = stderr
		done <- code
	}()
	healthy := false
	for range 100 {
		if code, _, _ := runCmd(context.Background(), env, "healthcheck"); code == 0 {
			healthy = true
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	code := <-done
	if !healthy {
		t.Errorf("healthcheck never succeeded; serve said:\n%s", serveErr)
	}
	if code != 0 {
		t.Errorf("serve exited %d after shutdown:\n%s", code, serveErr)
	}
	if code, _, _ := runCmd(context.Background(), env, "healthcheck"); code == 0 {
		t.Error("healthcheck succeeds with the server stopped")
	}
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// TestDatabaseOutage stops and restarts the server's own PostgreSQL under it: while the
// database is down, tool calls — the first one included — fail fast with 503 + Retry-After
// and a JSON-RPC error (never a 200 tool error), /health and /ready answer 503; once it is
// back the same process serves again without a restart.
func TestDatabaseOutage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir, err := os.MkdirTemp("/tmp", "outage-") // short and reachable by the postgres user
	if err != nil {
		t.Fatal(err)
	}
	var clusterLog syncBuffer
	cluster, err := pgcluster.Start(ctx, pgcluster.Options{Dir: dir, Ephemeral: true, Log: &clusterLog})
	if err != nil {
		t.Fatalf("%v\n%s", err, clusterLog.String())
	}
	t.Cleanup(func() { _ = cluster.Stop(context.Background(), true); os.RemoveAll(dir) })
	port := freePort(t)
	env := []string{"DATABASE_URL=" + cluster.URL("postgres"), "BETTER_AUTH_SECRET=" + secret, "MCP_HOST=127.0.0.1", "MCP_PORT=" + port}
	serveCtx, stop := context.WithCancel(ctx)
	done := make(chan string, 1)
	go func() {
		_, _, stderr := runCmd(serveCtx, env, "serve")
		done <- stderr
	}()
	t.Cleanup(func() { stop(); <-done })
	base := "http://127.0.0.1:" + port
	tok, err := auth.Mint([]byte(secret), auth.MintOptions{UserID: "alice", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	type answer struct {
		status     int
		retryAfter string
		body       string
	}
	add := func(title string) answer {
		body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add_task","arguments":{"title":"` + title + `"}}}`
		req, _ := http.NewRequest(http.MethodPost, base+"/mcp", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		client := http.Client{Timeout: 10 * time.Second}
		resp, err := client.Do(req)
		if err != nil {
			return answer{body: err.Error()}
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return answer{resp.StatusCode, resp.Header.Get("Retry-After"), string(b)}
	}
	status := func(path string) int {
		resp, err := http.Get(base + path)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// until polls f every 100 ms for at most 20 s.
	until := func(what string, f func() bool) time.Duration {
		t.Helper()
		start := time.Now()
		for time.Since(start) < 20*time.Second {
			if f() {
				return time.Since(start)
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("%s: not within 20 s", what)
		return 0
	}
	until("server up", func() bool { return status("/ready") == http.StatusOK })
	if a := add("before"); a.status != http.StatusOK || strings.Contains(a.body, `"isError":true`) {
		t.Fatalf("add_task with the database up: %+v", a)
	}

	// A fast shutdown: the throwaway cluster skips fsync, so an immediate one could lose the
	// schema; for the server it is an outage all the same (every connection is cut).
	if err := cluster.Stop(ctx, false); err != nil {
		t.Fatal(err)
	}
	// Even the first call, which meets the dead connections, is a retryable 503.
	during := add("during")
	if during.status != http.StatusServiceUnavailable || during.retryAfter == "" ||
		!strings.Contains(during.body, `"code":-32000`) || !strings.Contains(during.body, "retry_after") {
		t.Fatalf("first call with the database down: %+v, want 503 with Retry-After and a JSON-RPC error", during)
	}
	start := time.Now()
	if a := add("fast"); a.status != http.StatusServiceUnavailable || time.Since(start) > 2*time.Second {
		t.Errorf("a call during the outage took %v and answered %+v", time.Since(start), a)
	}
	for _, path := range []string{"/health", "/ready"} {
		if got := status(path); got != http.StatusServiceUnavailable {
			t.Errorf("%s with the database down: %d", path, got)
		}
	}

	if _, err := pgcluster.Start(ctx, pgcluster.Options{Dir: dir, Ephemeral: true, Log: &clusterLog}); err != nil {
		t.Fatal(err)
	}
	took := until("recovery", func() bool {
		a := add("after")
		return a.status == http.StatusOK && !strings.Contains(a.body, `"isError":true`)
	})
	t.Logf("recovered %v after the database came back", took.Round(time.Millisecond))
	if got := status("/ready"); got != http.StatusOK {
		t.Errorf("/ready after recovery: %d", got)
	}
}

// Tokens for the public URL (what OAuth clients get with resource=MCP_PUBLIC_URL) are
// accepted without MCP_AUDIENCE, and `mcpserver token` mints for it then.
func TestPublicURLIsAnAudience(t *testing.T) {
	t.Parallel()
	const public = "https://tasks.example.com/mcp"
	env := []string{"BETTER_AUTH_SECRET=" + secret, "MCP_PUBLIC_URL=" + public}
	code, stdout, stderr := runCmd(context.Background(), env, "token", "--user", "alice")
	if code != 0 {
		t.Fatalf("token: exit %d: %s", code, stderr)
	}
	v, err := authConfig{Secret: secret}.verifier(t.Context(), quietLogger, public)
	if err != nil {
		t.Fatal(err)
	}
	if id, err := v.Verify(t.Context(), strings.TrimSpace(stdout)); err != nil || id.UserID != "alice" {
		t.Fatalf("token for the public URL: %+v, %v", id, err)
	}
	other, _ := auth.Mint([]byte(secret), auth.MintOptions{UserID: "alice", Audience: "https://other.example.com/mcp", TTL: time.Hour})
	if _, err := v.Verify(t.Context(), other); err == nil {
		t.Fatal("a token for another audience was accepted")
	}
}

var quietLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

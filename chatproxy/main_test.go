package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/taskwire/taskwire/chatproxy/chatkit"
	"github.com/taskwire/taskwire/chatproxy/chatstore"
	"github.com/taskwire/taskwire/internal/auth"
	"github.com/taskwire/taskwire/internal/pgcluster"
	"github.com/taskwire/taskwire/internal/pgtest"
	"github.com/taskwire/taskwire/mcpserver/mcphttp"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

const testSecret = "main-test-secret-0123456789abcdef0123"

func TestConfigErrorsNameTheVariable(t *testing.T) {
	base := []string{"DATABASE_URL=postgres://x@127.0.0.1/db", "BETTER_AUTH_SECRET=" + testSecret}
	tests := []struct {
		name    string
		environ []string
		want    string
	}{
		{"no database", []string{"BETTER_AUTH_SECRET=" + testSecret}, "DATABASE_URL"},
		{"no way to verify", []string{"DATABASE_URL=postgres://x@127.0.0.1/db"}, "BETTER_AUTH_SECRET"},
		{"short secret", []string{"DATABASE_URL=postgres://x@127.0.0.1/db", "BETTER_AUTH_SECRET=short"}, "BETTER_AUTH_SECRET"},
		{"dev mode off loopback", append(base, "DEV_USER=dev", "HOST=0.0.0.0"), "DEV_USER"},
		{"dev mode in production", append(base, "DEV_USER=dev", "ENVIRONMENT=production"), "DEV_USER"},
		{"silly step limit", append(base, "AGENT_MAX_STEPS=0"), "AGENT_MAX_STEPS"},
		{"not a number", append(base, "AGENT_MAX_STEPS=many"), "AGENT_MAX_STEPS"},
		{"base URL without model", append(base, "OPENAI_BASE_URL=http://127.0.0.1:1/v1"), "LLM_MODEL"},
		{"zero turn rate", append(base, "CHAT_TURNS_PER_MINUTE=0"), "CHAT_TURNS_PER_MINUTE"},
		{"zero burst", append(base, "CHAT_TURN_BURST=0"), "CHAT_TURN_BURST"},
		{"zero streams", append(base, "CHAT_MAX_STREAMS=0"), "CHAT_MAX_STREAMS"},
		{"bad shutdown timeout", append(base, "SHUTDOWN_TIMEOUT=later"), "SHUTDOWN_TIMEOUT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			code := run(t.Context(), []string{"serve"}, tt.environ, &bytes.Buffer{}, &stderr)
			if code == 0 || !strings.Contains(stderr.String(), tt.want) {
				t.Fatalf("exit %d, stderr %q; want a failure naming %s", code, stderr.String(), tt.want)
			}
		})
	}
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// The server starts with no model configured (it must), answers /health and the page, and
// stops cleanly with exit 0 when its context ends, as on SIGTERM.
func TestServeHealthcheckAndShutdown(t *testing.T) {
	port := freePort(t)
	environ := []string{"DATABASE_URL=" + pgtest.URL(t), "BETTER_AUTH_SECRET=" + testSecret, "PORT=" + port,
		"DEV_USER=dev-user", "MCP_SERVER_URL=http://127.0.0.1:1/mcp", "LOG_LEVEL=error"}
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	var code int
	var stderr bytes.Buffer
	wg.Go(func() { code = run(ctx, nil, environ, &bytes.Buffer{}, &stderr) })

	base := "http://127.0.0.1:" + port
	var resp *http.Response
	var err error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err = http.Get(base + "/health"); err == nil {
			break
		}
	}
	if err != nil {
		cancel()
		wg.Wait()
		t.Fatalf("server never answered: %v; stderr: %s", err, stderr.String())
	}
	var health map[string]string
	json.NewDecoder(resp.Body).Decode(&health)
	resp.Body.Close()
	if resp.StatusCode != 200 || health["status"] != "healthy" || health["service"] != "chatproxy" {
		t.Fatalf("/health = %d %v", resp.StatusCode, health)
	}
	if code := run(t.Context(), []string{"healthcheck"}, environ, &bytes.Buffer{}, &bytes.Buffer{}); code != 0 {
		t.Fatalf("healthcheck exit %d", code)
	}
	page, err := http.Get(base + "/")
	if err != nil || page.StatusCode != 200 {
		t.Fatalf("GET / = %v, %v", page, err)
	}
	page.Body.Close()
	metrics, err := http.Get(base + "/metrics")
	if err != nil || metrics.StatusCode != 200 {
		t.Fatalf("GET /metrics = %v, %v", metrics, err)
	}
	metrics.Body.Close()

	cancel()
	wg.Wait()
	if code != 0 {
		t.Fatalf("serve exit %d after shutdown; stderr: %s", code, stderr.String())
	}
	if code := run(t.Context(), []string{"healthcheck"}, environ, &bytes.Buffer{}, &bytes.Buffer{}); code == 0 {
		t.Fatal("healthcheck succeeded after shutdown")
	}
}

// slowModel is an OpenAI-compatible endpoint that streams the start of an answer and then
// hangs until the caller goes away, like a model mid-way through a long reply.
func slowModel(t *testing.T, partial string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		chunk, _ := json.Marshal(map[string]any{"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "slow",
			"choices": []any{map[string]any{"index": 0, "delta": map[string]any{"role": "assistant", "content": partial}, "finish_reason": nil}}})
		fmt.Fprintf(w, "data: %s\n\n", chunk)
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/v1"
}

// taskServer serves mcpserver's handler, trusting tokens signed with testSecret.
func taskServer(t *testing.T) string {
	t.Helper()
	v, err := auth.NewVerifier(t.Context(), auth.Config{Secret: []byte(testSecret)})
	if err != nil {
		t.Fatal(err)
	}
	h, err := mcphttp.NewHandler(mcphttp.Config{Pool: pgtest.Pool(t), Verifier: v})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL + mcphttp.MCPPath
}

// On SIGTERM (the context ends) a ChatKit stream in the middle of an answer ends with a final
// retryable error event, the text written so far is stored, and the process exits 0 well
// within SHUTDOWN_TIMEOUT.
func TestDrainEndsOpenStreams(t *testing.T) {
	const partial = "Here is the first half of a long answer"
	dbURL := pgtest.URL(t)
	port := freePort(t)
	environ := []string{"DATABASE_URL=" + dbURL, "BETTER_AUTH_SECRET=" + testSecret, "PORT=" + port,
		"MCP_SERVER_URL=" + taskServer(t), "LOG_LEVEL=error", "SHUTDOWN_TIMEOUT=20s",
		"OPENAI_BASE_URL=" + slowModel(t, partial), "LLM_MODEL=slow", "LLM_FIRST_TOKEN_TIMEOUT=30s"}
	ctx, sigterm := context.WithCancel(t.Context())
	defer sigterm()
	exited := make(chan int, 1)
	stderr, err := os.Create(filepath.Join(t.TempDir(), "stderr")) // safe to read while written
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	logs := func() string { b, _ := os.ReadFile(stderr.Name()); return string(b) }
	go func() { exited <- run(ctx, nil, environ, &bytes.Buffer{}, stderr) }()
	base := "http://127.0.0.1:" + port
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(base + "/ready"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			sigterm()
			t.Fatalf("server never answered; stderr: %s", logs())
		}
	}
	tok, err := auth.Mint([]byte(testSecret), auth.MintOptions{UserID: "drain-user", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	body := `{"type":"threads.create","params":{"input":{"content":[{"type":"input_text","text":"write me an essay"}],"attachments":[],"inference_options":{}}}}`
	req, _ := http.NewRequest(http.MethodPost, base+"/chatkit", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	events := bufio.NewScanner(resp.Body)
	events.Buffer(make([]byte, 1<<20), 1<<20)
	var threadID string
	var last map[string]any
	sawPartial := false
	for events.Scan() {
		line, ok := strings.CutPrefix(events.Text(), "data: ")
		if !ok {
			continue
		}
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("bad event %s", line)
		}
		last = ev
		if th, ok := ev["thread"].(map[string]any); ok && ev["type"] == "thread.created" {
			threadID, _ = th["id"].(string)
		}
		if !sawPartial && strings.Contains(line, partial) {
			sawPartial = true
			sigterm() // mid-answer
		}
	}
	if !sawPartial {
		t.Fatalf("the partial answer never streamed (last event %v); stderr: %s", last, logs())
	}
	if last["type"] != "error" || last["message"] != chatkit.DrainingMessage || last["allow_retry"] != true {
		t.Fatalf("the stream ended with %v, want a retryable error event saying the server restarts", last)
	}
	select {
	case code := <-exited:
		if code != 0 {
			t.Fatalf("exit %d; stderr: %s", code, logs())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the server did not exit after the drain")
	}

	pool, err := pgxpool.New(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	page, err := chatstore.New(pool, chatstore.Options{}).LoadItems(t.Context(), "drain-user", threadID, chatkit.PageQuery{Limit: 20, Order: chatkit.Asc})
	if err != nil {
		t.Fatal(err)
	}
	var stored string
	for _, it := range page.Data {
		if m, ok := it.(*chatkit.AssistantMessageItem); ok {
			stored += m.Text()
		}
	}
	if stored != partial {
		t.Fatalf("stored assistant text %q, want the partial answer %q", stored, partial)
	}
}

// While its PostgreSQL is down, chatproxy answers ChatKit requests — the first one that meets
// the dead connections included — with 503 and Retry-After, /ready with 503, and serves again
// once the database is back, without a restart.
func TestDatabaseOutage(t *testing.T) {
	dir, err := os.MkdirTemp("/tmp", "outage-") // short, and reachable by the postgres user
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	start := func() *pgcluster.Cluster {
		c, err := pgcluster.Start(context.Background(), pgcluster.Options{Dir: dir, Ephemeral: true})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	cluster := start()
	defer func() { _ = cluster.Stop(context.Background(), true) }()
	port := freePort(t)
	environ := []string{"DATABASE_URL=" + cluster.URL("postgres"), "BETTER_AUTH_SECRET=" + testSecret, "PORT=" + port,
		"MCP_SERVER_URL=http://127.0.0.1:1/mcp", "LOG_LEVEL=error"}
	ctx, sigterm := context.WithCancel(t.Context())
	defer sigterm()
	exited := make(chan int, 1)
	go func() { exited <- run(ctx, nil, environ, &bytes.Buffer{}, io.Discard) }()
	defer func() { sigterm(); <-exited }()
	base := "http://127.0.0.1:" + port
	tok, err := auth.Mint([]byte(testSecret), auth.MintOptions{UserID: "outage-user", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	list := func() (int, string) {
		req, _ := http.NewRequest(http.MethodPost, base+"/chatkit", strings.NewReader(`{"type":"threads.list","params":{}}`))
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Retry-After")
	}
	waitFor := func(what string, want int) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if got, _ := list(); got == want {
				return
			}
		}
		got, detail := list()
		t.Fatalf("%s: threads.list never answered %d (last: %d %s)", what, want, got, detail)
	}
	waitFor("start", http.StatusOK)

	// A fast shutdown: the throwaway cluster skips fsync, so an immediate one could lose the
	// schema; for the server it is an outage all the same (every connection is cut).
	if err := cluster.Stop(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	if status, retry := list(); status != http.StatusServiceUnavailable || retry == "" {
		t.Fatalf("first request with the database down: %d Retry-After=%q, want 503 with Retry-After", status, retry)
	}
	if resp, err := http.Get(base + "/ready"); err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("/ready with the database down: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	cluster = start()
	waitFor("recovery", http.StatusOK)
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/taskwire/taskwire/internal/pgtest"
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

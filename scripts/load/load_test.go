package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"math"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/taskwire/taskwire/internal/auth"
	"github.com/taskwire/taskwire/internal/pgtest"
	"github.com/taskwire/taskwire/mcpserver/mcphttp"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

const testSecret = "a-load-test-secret-that-is-long-enough-0123"

func noEnv(string) string { return "" }

// newServer serves mcpserver's handler on a fresh database, with tokens signed by testSecret.
func newServer(t *testing.T) *httptest.Server {
	t.Helper()
	v, err := auth.NewVerifier(context.Background(), auth.Config{Secret: []byte(testSecret)})
	if err != nil {
		t.Fatal(err)
	}
	h, err := mcphttp.NewHandler(mcphttp.Config{Pool: pgtest.Pool(t), Verifier: v, RateLimit: math.Inf(1), // load, not limits
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// TestLoadAgainstServer runs the command for about a second against the real MCP handler
// on a real database: every operation must be exercised and none may fail.
func TestLoadAgainstServer(t *testing.T) {
	srv := newServer(t)

	c, err := parseConfig([]string{"-url", srv.URL + mcphttp.MCPPath, "-users", "5", "-concurrency", "4",
		"-duration", "1s", "-mix", "add=30,list=40,complete=15,update=15"},
		func(name string) string {
			if name == "BETTER_AUTH_SECRET" {
				return testSecret
			}
			return ""
		}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := load(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if rep.errors() != 0 {
		t.Errorf("errors: %v, e.g. %v", rep.failures, rep.example)
	}
	for _, tool := range []string{"add_task", "list_tasks", "complete_task", "update_task"} {
		if len(rep.latency[tool]) == 0 {
			t.Errorf("no %s calls were made", tool)
		}
	}
	var out bytes.Buffer
	rep.write(&out, c)
	for _, want := range []string{"throughput", "list_tasks", "p99", "errors 0"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

// TestRequestBudget stops the run after -requests calls, well before -duration.
func TestRequestBudget(t *testing.T) {
	srv := newServer(t)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-url", srv.URL + "/mcp", "-secret", testSecret,
		"-users", "3", "-concurrency", "3", "-requests", "25", "-duration", "1m"}, noEnv, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "requests 25 ·") {
		t.Errorf("want exactly 25 requests:\n%s", stdout.String())
	}
}

func TestConfigRefusals(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"remote host", []string{"-url", "http://192.0.2.1:8001/mcp"}, "loopback"},
		{"remote name", []string{"-url", "https://tasks.example.com/mcp"}, "loopback"},
		{"not http", []string{"-url", "ftp://127.0.0.1/mcp"}, "not an http"},
		{"no secret", []string{"-secret", ""}, "-secret"},
		{"too long", []string{"-duration", "3m"}, "at most 2m0s"},
		{"no users", []string{"-users", "0"}, "-users"},
		{"unknown op", []string{"-mix", "add=1,fly=2"}, `unknown operation "fly"`},
		{"bad weight", []string{"-mix", "add=x"}, "op=weight"},
		{"zero mix", []string{"-mix", "add=0"}, "zero"},
		{"twice", []string{"-mix", "add=1,add=2"}, "twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"-secret", testSecret}, tt.args...)
			_, err := parseConfig(args, noEnv, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
	for _, ok := range []string{"http://127.0.0.1:1/mcp", "http://[::1]:1/mcp", "http://localhost:1/mcp"} {
		if _, err := parseConfig([]string{"-secret", testSecret, "-url", ok}, noEnv, io.Discard); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}

// TestHelpHidesSecret: -h must never print the secret taken from the environment.
func TestHelpHidesSecret(t *testing.T) {
	var stderr bytes.Buffer
	code := run(context.Background(), []string{"-h"}, func(string) string { return testSecret }, io.Discard, &stderr)
	if code != 0 || strings.Contains(stderr.String(), testSecret) || !strings.Contains(stderr.String(), "-concurrency") {
		t.Errorf("exit %d, usage:\n%s", code, stderr.String())
	}
}

package mcphttp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/taskwire/taskwire/internal/auth"
	"github.com/taskwire/taskwire/internal/pgtest"
	"github.com/taskwire/taskwire/mcpserver/mcphttp"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

const (
	testSecret   = "a-test-secret-that-is-long-enough-0123456789"
	testAudience = "https://tasks.test/mcp"
	testIssuer   = "https://auth.test"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// newServer starts mcpserver's HTTP handler on a fresh database, with HS256 tokens for
// testAudience from testIssuer; change may adjust the configuration first.
func newServer(t testing.TB, change func(*mcphttp.Config)) *httptest.Server {
	t.Helper()
	v, err := auth.NewVerifier(context.Background(), auth.Config{Secret: []byte(testSecret), Audience: testAudience, Issuer: testIssuer})
	if err != nil {
		t.Fatal(err)
	}
	cfg := mcphttp.Config{Pool: pgtest.Pool(t), Verifier: v, Logger: quiet, Version: "test", Environment: "test"}
	if change != nil {
		change(&cfg)
	}
	h, err := mcphttp.NewHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func tokenFor(t testing.TB, user string) string {
	t.Helper()
	tok, err := auth.Mint([]byte(testSecret), auth.MintOptions{UserID: user, Audience: testAudience, Issuer: testIssuer, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// toolCall is the body of one tools/call (a stateless server needs no initialize first).
func toolCall(name string, args any) string {
	b, _ := json.Marshal(args)
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":%q,"arguments":%s}}`, name, b)
}

func mustMarshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

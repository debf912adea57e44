// Package mcphttptest serves mcpserver's HTTP handler on a fresh test database, with HS256
// tokens for a fixed audience and issuer, for the tests of mcphttp and of the tools.
package mcphttptest

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/taskwire/taskwire/internal/auth"
	"github.com/taskwire/taskwire/internal/pgtest"
	"github.com/taskwire/taskwire/mcpserver/mcphttp"
)

// The token contract of servers started by NewServer.
const (
	Secret   = "a-test-secret-that-is-long-enough-0123456789"
	Audience = "https://tasks.test/mcp"
	Issuer   = "https://auth.test"
)

// Quiet is a logger that discards everything.
var Quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// NewServer starts mcpserver's HTTP handler on a fresh database (the package's TestMain must
// run pgtest.Main); change may adjust the configuration first.
func NewServer(t testing.TB, change func(*mcphttp.Config)) *httptest.Server {
	t.Helper()
	v, err := auth.NewVerifier(context.Background(), auth.Config{Secret: []byte(Secret), Audience: Audience, Issuer: Issuer})
	if err != nil {
		t.Fatal(err)
	}
	cfg := mcphttp.Config{Pool: pgtest.Pool(t), Verifier: v, Logger: Quiet, Version: "test", Environment: "test"}
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

// Token is a bearer token for user that servers started by NewServer accept.
func Token(t testing.TB, user string) string {
	t.Helper()
	tok, err := auth.Mint([]byte(Secret), auth.MintOptions{UserID: user, Audience: Audience, Issuer: Issuer, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

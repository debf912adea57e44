package mcphttp_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/taskwire/taskwire/db"
	"github.com/taskwire/taskwire/internal/auth"
	"github.com/taskwire/taskwire/internal/httpedge"
	"github.com/taskwire/taskwire/internal/pgtest"
	"github.com/taskwire/taskwire/mcpserver/mcphttp"
)

// TestScopes: the scope a tools/call needs comes from the tool's readOnlyHint; a token
// without it gets 403 insufficient_scope naming it; tokens without a scope claim may do all.
func TestScopes(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	meta := srv.URL + "/.well-known/oauth-protected-resource/mcp"
	scoped := func(scope string) map[string]string {
		return bearer(mint(t, testSecret, auth.MintOptions{Audience: testAudience, Issuer: testIssuer, Scope: scope, UserID: "scoped"}))
	}
	readOnly, writeOnly, both, unscoped := scoped("tasks:read"), scoped("tasks:write"), scoped("tasks:read tasks:write"), bearer(tokenFor(t, "scoped"))
	for _, tc := range []struct {
		name      string
		body      string
		headers   map[string]string
		status    int
		challenge string
	}{
		{"read token lists", toolCall("list_tasks", map[string]any{}), readOnly, 200, ""},
		{"read token cannot add", toolCall("add_task", map[string]any{"title": "x"}), readOnly, 403,
			`Bearer error="insufficient_scope", scope="tasks:write", resource_metadata="` + meta + `"`},
		{"read token cannot delete", toolCall("delete_task", map[string]any{"task_id": 1}), readOnly, 403,
			`Bearer error="insufficient_scope", scope="tasks:write", resource_metadata="` + meta + `"`},
		{"write token cannot list", toolCall("list_tasks", map[string]any{}), writeOnly, 403,
			`Bearer error="insufficient_scope", scope="tasks:read", resource_metadata="` + meta + `"`},
		{"write token adds", toolCall("add_task", map[string]any{"title": "x"}), writeOnly, 200, ""},
		{"both scopes add", toolCall("add_task", map[string]any{"title": "y"}), both, 200, ""},
		{"no scope claim adds", toolCall("add_task", map[string]any{"title": "z"}), unscoped, 200, ""},
		{"read token: tools/list needs a valid token only", toolsListBody, readOnly, 200, ""},
		{"read token: initialize", initializeBody, writeOnly, 200, ""},
		{"read token: unknown tool is mcp-go's error", toolCall("no_such_tool", map[string]any{}), readOnly, 200, ""},
		{"case-folded keys are read as mcp-go reads them", `{"jsonrpc":"2.0","id":1,"METHOD":"tools/call","Params":{"NAME":"add_task","arguments":{"title":"x"}}}`, readOnly, 403,
			`Bearer error="insufficient_scope", scope="tasks:write", resource_metadata="` + meta + `"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := post(t, srv.URL+mcphttp.MCPPath, tc.body, tc.headers)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if got := r.header.Get("WWW-Authenticate"); got != tc.challenge {
				t.Errorf("WWW-Authenticate = %q\nwant %q", got, tc.challenge)
			}
			if tc.status == 403 && !strings.Contains(r.body, `"code":"insufficient_scope"`) {
				t.Errorf("403 body: %s", r.body)
			}
		})
	}
}

// TestRateLimit: a user over the tool-call rate gets 429 with Retry-After and a JSON-RPC
// error; another user is unaffected, and other methods are not counted.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	srv := newServer(t, func(c *mcphttp.Config) { c.RateLimit, c.RateBurst = 0.5, 3 })
	alice, bob := bearer(tokenFor(t, "alice")), bearer(tokenFor(t, "bob"))
	list := toolCall("list_tasks", map[string]any{})
	for i := range 3 {
		if r := post(t, srv.URL+mcphttp.MCPPath, list, alice); r.status != 200 {
			t.Fatalf("call %d within the burst: %d %s", i, r.status, r.body)
		}
	}
	r := post(t, srv.URL+mcphttp.MCPPath, list, alice)
	var e struct {
		ID    int `json:"id"`
		Error struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
			Data    struct {
				RetryAfter int `json:"retry_after"`
			} `json:"data"`
		} `json:"error"`
	}
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "2" || json.Unmarshal([]byte(r.body), &e) != nil ||
		e.ID != 7 || e.Error.Code != -32000 || e.Error.Message != "rate limit exceeded" || e.Error.Data.RetryAfter != 2 {
		t.Fatalf("over the limit: %d Retry-After=%q %s", r.status, r.header.Get("Retry-After"), r.body)
	}
	if r := post(t, srv.URL+mcphttp.MCPPath, toolsListBody, alice); r.status != 200 {
		t.Errorf("tools/list counted against the tool-call limit: %d", r.status)
	}
	if r := post(t, srv.URL+mcphttp.MCPPath, list, bob); r.status != 200 {
		t.Errorf("another user was limited: %d %s", r.status, r.body)
	}
}

// TestDatabaseGate: while the gate is closed, tool calls get 503 with Retry-After and a
// JSON-RPC error (retryable), while initialize and tools/list still work.
func TestDatabaseGate(t *testing.T) {
	t.Parallel()
	gate := httpedge.NewDBGate(nil, quiet)
	srv := newServer(t, func(c *mcphttp.Config) { c.Gate = gate })
	tok := bearer(tokenFor(t, "alice"))
	// The answer passes the gate whole (encoded into the held response once), length included.
	if r := post(t, srv.URL+mcphttp.MCPPath, toolCall("list_tasks", map[string]any{}), tok); r.status != 200 ||
		!strings.Contains(r.body, `"structuredContent":{"tasks":[]}`) || r.header.Get("Content-Length") != strconv.Itoa(len(r.body)) {
		t.Fatalf("open gate: %d %v %s", r.status, r.header, r.body)
	}
	gate.Report(context.Background(), errors.New("connection refused"))
	r := post(t, srv.URL+mcphttp.MCPPath, toolCall("add_task", map[string]any{"title": "x"}), tok)
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") != "1" || !strings.Contains(r.body, `"code":-32000`) || !strings.Contains(r.body, `"retry_after":1`) {
		t.Fatalf("closed gate: %d %v %s", r.status, r.header, r.body)
	}
	if r := post(t, srv.URL+mcphttp.MCPPath, toolsListBody, tok); r.status != 200 {
		t.Errorf("tools/list while the database is away: %d", r.status)
	}
}

// TestCallMeetingTheOutage: a call that runs into dead database connections (the gate still
// open, no ping yet) answers 503 with Retry-After in place of its tool error, and closes the
// gate for the calls after it.
func TestCallMeetingTheOutage(t *testing.T) {
	t.Parallel()
	gate := httpedge.NewDBGate(nil, quiet)
	url := pgtest.URL(t)
	pool, err := db.Open(t.Context(), url, db.ReportUnavailable(gate.Report))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	srv := newServer(t, func(c *mcphttp.Config) { c.Pool, c.Gate = pool, gate })
	tok := bearer(tokenFor(t, "alice"))
	if r := post(t, srv.URL+mcphttp.MCPPath, toolCall("add_task", map[string]any{"title": "before"}), tok); r.status != 200 || strings.Contains(r.body, `"isError":true`) {
		t.Fatalf("with the database up: %d %s", r.status, r.body)
	}
	// Kill every server process behind the pool's idle connections.
	admin, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	if _, err := admin.Exec(t.Context(), "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"); err != nil {
		t.Fatal(err)
	}
	if gate.Down() {
		t.Fatal("the gate closed before any call met the outage")
	}
	r := post(t, srv.URL+mcphttp.MCPPath, toolCall("add_task", map[string]any{"title": "during"}), tok)
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") != "1" || !strings.Contains(r.body, `"code":-32000`) {
		t.Fatalf("the call that met the outage: %d %v %s", r.status, r.header, r.body)
	}
	if !gate.Down() {
		t.Fatal("the gate is still open after a call met the outage")
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestSecretIsCreatedOnceAndKept(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dev-secret")
	first, err := loadOrCreateSecret(path)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(first) {
		t.Fatalf("secret %q is not 32 bytes of hex", first)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("secret file mode %v, want 0600", st.Mode().Perm())
	}
	again, err := loadOrCreateSecret(path)
	if err != nil || again != first {
		t.Fatalf("second run got %q, %v; want the same secret %q", again, err, first)
	}
	other, _ := loadOrCreateSecret(filepath.Join(t.TempDir(), "dev-secret"))
	if other == first {
		t.Fatal("two fresh secrets are equal")
	}
	if err := os.WriteFile(path, []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadOrCreateSecret(path); err == nil || !strings.Contains(err.Error(), "delete it") {
		t.Fatalf("a too-short secret must be refused with advice, got %v", err)
	}
}

func TestChooseClusterDir(t *testing.T) {
	const want = "/home/me/taskwire/.data/postgres"
	tests := []struct {
		name     string
		euid     int
		canEnter bool
		wantDir  string
		wantNote bool
	}{
		{"not root: always the checkout", 1000, false, want, false},
		{"root, reachable checkout", 0, true, want, false},
		{"root, unreachable checkout", 0, false, "/var/tmp/taskwire-0/postgres", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var asked string
			dir, note := chooseClusterDir(want, tc.euid, func(d string) bool { asked = d; return tc.canEnter })
			if dir != tc.wantDir || (note != "") != tc.wantNote {
				t.Fatalf("got %q, note %q; want %q, note=%v", dir, note, tc.wantDir, tc.wantNote)
			}
			if tc.euid == 0 && asked != filepath.Dir(want) {
				t.Errorf("checked %q, want the parent %q", asked, filepath.Dir(want))
			}
			if tc.wantNote && !strings.Contains(note, dir) {
				t.Errorf("note %q does not say where the data went", note)
			}
		})
	}
}

func testStack() stack {
	return stack{
		Host: "127.0.0.1", ChatPort: 8000, MCPPort: 8001,
		DataDir: `/srv/my "odd" dir/.data`, BinDir: `/srv/my "odd" dir/.data/bin`,
		DatabaseURL: "postgres://postgres@127.0.0.1:5433/taskwire?sslmode=disable",
		Secret:      strings.Repeat("ab", 32), User: devUser, Token: "eyJ.tok.en",
	}
}

func TestSnippetsAreValidAndComplete(t *testing.T) {
	s := testStack()
	roundTrip := func(v any) mcpHostServer {
		t.Helper()
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var c mcpHostConfig
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatal(err)
		}
		return c.MCPServers["taskwire"]
	}
	stdio := roundTrip(claudeStdio(s))
	if stdio.Command != `/srv/my "odd" dir/.data/bin/mcpserver` || !filepath.IsAbs(stdio.Command) {
		t.Errorf("stdio command %q, want the absolute binary path", stdio.Command)
	}
	if !slices.Equal(stdio.Args, []string{"stdio", "--user", "dev-user"}) || stdio.Env["DATABASE_URL"] != s.DatabaseURL {
		t.Errorf("stdio snippet: %+v", stdio)
	}
	remote := roundTrip(claudeRemote(s))
	if remote.Command != "npx" || !slices.Contains(remote.Args, "http://127.0.0.1:8001/mcp") ||
		!slices.Contains(remote.Args, "Authorization: Bearer ${TASKWIRE_TOKEN}") || remote.Env["TASKWIRE_TOKEN"] != s.Token {
		t.Errorf("mcp-remote snippet: %+v", remote)
	}
	if slices.ContainsFunc(remote.Args, func(a string) bool { return strings.Contains(a, s.Token) }) {
		t.Error("the token belongs in env, not in args")
	}
	b, _ := json.Marshal(responsesRequest(s))
	var resp struct {
		Tools []struct {
			Type        string            `json:"type"`
			ServerLabel string            `json:"server_label"`
			ServerURL   string            `json:"server_url"`
			Headers     map[string]string `json:"headers"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(b, &resp); err != nil {
		t.Fatal(err)
	}
	if len(resp.Tools) != 1 || resp.Tools[0].Type != "mcp" || resp.Tools[0].Headers["Authorization"] != "Bearer "+s.Token || !strings.HasSuffix(resp.Tools[0].ServerURL, "/mcp") {
		t.Errorf("Responses mcp tool: %s", b)
	}
}

func TestBanner(t *testing.T) {
	for _, llm := range []bool{false, true} {
		s := testStack()
		s.LLMConfigured = llm
		var buf bytes.Buffer
		if err := renderBanner(&buf, s); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		for _, want := range []string{"http://127.0.0.1:8000/", "http://127.0.0.1:8001/mcp", "export TASKWIRE_TOKEN=eyJ.tok.en",
			"@modelcontextprotocol/inspector --cli http://127.0.0.1:8001/mcp", `"type": "mcp"`, `"mcpServers"`, s.DatabaseURL} {
			if !strings.Contains(out, want) {
				t.Errorf("banner (llm=%v) lacks %q", llm, want)
			}
		}
		if got := strings.Contains(out, "No LLM is configured"); got == llm {
			t.Errorf("llm configured=%v, but the how-to-configure line shown=%v", llm, got)
		}
	}
}

func TestServiceEnvironment(t *testing.T) {
	t.Setenv("OPENAI_BASE_URL", "http://user-choice/v1")
	t.Setenv("PORT", "9999")
	s := testStack()
	s.LLMEnv = []string{"OPENAI_BASE_URL=http://fake/v1"}
	env := func(svc service) map[string]string {
		m := map[string]string{}
		for _, kv := range svc.env {
			k, v, _ := strings.Cut(kv, "=")
			if _, dup := m[k]; dup {
				t.Errorf("%s: %s set twice", svc.name, k)
			}
			m[k] = v
		}
		return m
	}
	cp := env(s.chatproxy())
	want := map[string]string{"PORT": "8000", "HOST": "127.0.0.1", "DEV_USER": "dev-user", "MCP_SERVER_URL": "http://127.0.0.1:8001/mcp",
		"BETTER_AUTH_SECRET": s.Secret, "DATABASE_URL": s.DatabaseURL, "OPENAI_BASE_URL": "http://fake/v1"}
	for k, v := range want {
		if cp[k] != v {
			t.Errorf("chatproxy %s = %q, want %q", k, cp[k], v)
		}
	}
	mcp := env(s.mcpserver())
	for k, v := range map[string]string{"MCP_PORT": "8001", "MCP_HOST": "127.0.0.1", "BETTER_AUTH_SECRET": s.Secret, "DATABASE_URL": s.DatabaseURL} {
		if mcp[k] != v {
			t.Errorf("mcpserver %s = %q, want %q", k, mcp[k], v)
		}
	}
	if mcp["OPENAI_BASE_URL"] != "http://user-choice/v1" {
		t.Error("the user's environment must reach the services")
	}
}

func TestPrefixerKeepsLinesWhole(t *testing.T) {
	var out bytes.Buffer
	p := newPrefixer(&out)
	a, b := p.writer("a"), p.writer("b")
	_, _ = io.WriteString(a, "one ")
	_, _ = io.WriteString(b, "x\ny")
	_, _ = io.WriteString(a, "two\nthree\n")
	_, _ = io.WriteString(b, "z\n")
	want := "[b] x\n[a] one two\n[a] three\n[b] yz\n"
	if out.String() != want {
		t.Fatalf("got %q, want %q", out.String(), want)
	}
}

// TestPrivatePostgresKeepsData is the "next make run finds the same data" promise: a cluster
// restarted in the same directory still has the database and its rows.
func TestPrivatePostgresKeepsData(t *testing.T) {
	// Not t.TempDir: its parent is private to us, and PostgreSQL runs as postgres when we are
	// root; a dir postgres cannot enter would send the data to /var/tmp instead.
	dir, err := os.MkdirTemp("", "devrun-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pgDir := filepath.Join(dir, "postgres")
	for run := range 2 {
		db, err := startPostgres(ctx, pgDir, 0, false, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(pgDir, "data", "PG_VERSION")); err != nil || db.note != "" {
			db.stop()
			t.Fatalf("cluster not in %s: %v (%s)", pgDir, err, db.note)
		}
		conn, err := pgx.Connect(ctx, db.url)
		if err != nil {
			db.stop()
			t.Fatal(err)
		}
		if run == 0 {
			_, err = conn.Exec(ctx, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')")
		} else {
			var v string
			err = conn.QueryRow(ctx, "SELECT v FROM kept").Scan(&v)
			if err == nil && v != "still here" {
				t.Errorf("got %q after restart", v)
			}
		}
		conn.Close(ctx)
		db.stop()
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
	}
}

func TestServiceEnvironmentWithAuth(t *testing.T) {
	s := testStack()
	s.AuthPort, s.NodeBin, s.RepoDir = 8002, "/usr/bin/node", "/src/taskwire"
	s.PublicMCP = "https://tasks.example.com/mcp/"
	envOf := func(svc service) map[string]string {
		m := map[string]string{}
		for _, kv := range svc.env {
			k, v, _ := strings.Cut(kv, "=")
			m[k] = v
		}
		return m
	}
	tests := []struct {
		svc  service
		want map[string]string
	}{
		{s.authserver(), map[string]string{"AUTH_PORT": "8002", "BETTER_AUTH_URL": "http://127.0.0.1:8002", "MCP_PUBLIC_URL": "https://tasks.example.com/mcp",
			"AUTH_TRUSTED_ORIGINS": "http://127.0.0.1:8000", "BETTER_AUTH_SECRET": s.Secret, "DATABASE_URL": s.DatabaseURL}},
		{s.mcpserver(), map[string]string{"BETTER_AUTH_JWKS_URL": "http://127.0.0.1:8002/api/auth/jwks", "BETTER_AUTH_ISSUER": "http://127.0.0.1:8002",
			"MCP_AUDIENCE": "https://tasks.example.com/mcp", "MCP_PUBLIC_URL": "https://tasks.example.com/mcp", "MCP_AUTHORIZATION_SERVERS": "http://127.0.0.1:8002"}},
		{s.chatproxy(), map[string]string{"BETTER_AUTH_URL": "http://127.0.0.1:8002", "BETTER_AUTH_JWKS_URL": "http://127.0.0.1:8002/api/auth/jwks",
			"BETTER_AUTH_ISSUER": "http://127.0.0.1:8002", "CHAT_AUDIENCE": "http://127.0.0.1:8002", "MCP_AUDIENCE": "https://tasks.example.com/mcp", "DEV_USER": ""}},
	}
	for _, tc := range tests {
		got := envOf(tc.svc)
		for k, v := range tc.want {
			if got[k] != v {
				t.Errorf("%s %s = %q, want %q", tc.svc.name, k, got[k], v)
			}
		}
	}
	if a := s.authserver(); a.bin != "/usr/bin/node" || a.args[0] != "/src/taskwire/authserver/src/main.js" || a.health != "http://127.0.0.1:8002/health" {
		t.Errorf("authserver service: %+v", a)
	}
}

package mcphttp_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/taskwire/taskwire/internal/auth"
	"github.com/taskwire/taskwire/internal/pgtest"
	"github.com/taskwire/taskwire/mcpserver/mcphttp"
)

const (
	initializeBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`
	toolsListBody  = `{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{}}`
)

type response struct {
	status int
	header http.Header
	body   string
}

// post sends one raw MCP POST with the given extra headers.
func post(t *testing.T, url, body string, headers map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	for k, v := range headers {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) response {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, string(b)}
}

func get(t *testing.T, url string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, req)
}

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

func mint(t *testing.T, secret string, o auth.MintOptions) string {
	t.Helper()
	if o.UserID == "" {
		o.UserID = "alice"
	}
	if o.TTL == 0 {
		o.TTL = time.Hour
	}
	tok, err := auth.Mint([]byte(secret), o)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// jwksServer serves one Ed25519 key, the way Better Auth's JWT plugin publishes its keys,
// and returns a function that signs tokens with it.
func jwksServer(t *testing.T) (string, func(jwt.MapClaims) string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "OKP", "crv": "Ed25519", "kid": "k1", "alg": "EdDSA", "use": "sig",
		"x": base64.RawURLEncoding.EncodeToString(pub),
	}}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(doc)
	}))
	t.Cleanup(srv.Close)
	sign := func(c jwt.MapClaims) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
		tok.Header["kid"] = "k1"
		s, err := tok.SignedString(priv)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	return srv.URL, sign
}

// TestAuthentication: every request without a valid token is refused with 401 and a
// WWW-Authenticate challenge before MCP sees it — initialize and tools/list included.
func TestAuthentication(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	jwksURL, sign := jwksServer(t)
	jwksOnly := newServer(t, func(c *mcphttp.Config) {
		v, err := auth.NewVerifier(context.Background(), auth.Config{JWKSURL: jwksURL, Audience: testAudience})
		if err != nil {
			t.Fatal(err)
		}
		c.Verifier = v
	})
	now := time.Now()
	edClaims := jwt.MapClaims{"sub": "alice", "aud": testAudience, "exp": now.Add(time.Hour).Unix(), "iat": now.Unix()}
	good := auth.MintOptions{Audience: testAudience, Issuer: testIssuer}
	with := func(change func(*auth.MintOptions)) auth.MintOptions {
		o := good
		change(&o)
		return o
	}
	for _, tc := range []struct {
		name    string
		srv     *httptest.Server
		headers map[string]string
		want    int
	}{
		{"valid HS256 token", srv, bearer(mint(t, testSecret, good)), http.StatusOK},
		{"valid EdDSA token from the JWKS", jwksOnly, bearer(sign(edClaims)), http.StatusOK},
		{"no token", srv, nil, http.StatusUnauthorized},
		{"empty bearer", srv, map[string]string{"Authorization": "Bearer "}, http.StatusUnauthorized},
		{"basic auth", srv, map[string]string{"Authorization": "Basic YWxpY2U6cHc="}, http.StatusUnauthorized},
		{"garbage", srv, bearer("not-a-jwt"), http.StatusUnauthorized},
		{"wrong signature", srv, bearer(mint(t, "another-secret-that-is-also-long-enough!!", good)), http.StatusUnauthorized},
		{"expired", srv, bearer(mint(t, testSecret, with(func(o *auth.MintOptions) { o.Now = now.Add(-3 * time.Hour) }))), http.StatusUnauthorized},
		{"wrong audience", srv, bearer(mint(t, testSecret, with(func(o *auth.MintOptions) { o.Audience = "https://other.test/mcp" }))), http.StatusUnauthorized},
		{"no audience", srv, bearer(mint(t, testSecret, with(func(o *auth.MintOptions) { o.Audience = "" }))), http.StatusUnauthorized},
		{"wrong issuer", srv, bearer(mint(t, testSecret, with(func(o *auth.MintOptions) { o.Issuer = "https://evil.test" }))), http.StatusUnauthorized},
		{"alg none", srv, bearer(b64(`{"alg":"none","typ":"JWT"}`) + "." +
			b64(`{"sub":"alice","aud":"`+testAudience+`","iss":"`+testIssuer+`","exp":`+strconv.FormatInt(now.Add(time.Hour).Unix(), 10)+`}`) + "."), http.StatusUnauthorized},
		{"HS256 against a JWKS-only server", jwksOnly, bearer(mint(t, testSecret, good)), http.StatusUnauthorized},
		{"EdDSA token for another audience", jwksOnly, bearer(sign(jwt.MapClaims{"sub": "alice", "aud": "x", "exp": now.Add(time.Hour).Unix()})), http.StatusUnauthorized},
		{"EdDSA token without exp", jwksOnly, bearer(sign(jwt.MapClaims{"sub": "alice", "aud": testAudience})), http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, body := range []string{initializeBody, toolsListBody} {
				r := post(t, tc.srv.URL+mcphttp.MCPPath, body, tc.headers)
				if r.status != tc.want {
					t.Fatalf("status %d, want %d: %s", r.status, tc.want, r.body)
				}
				if tc.want != http.StatusUnauthorized {
					continue
				}
				wantChallenge := `Bearer resource_metadata="` + tc.srv.URL + `/.well-known/oauth-protected-resource/mcp"`
				if got := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, wantChallenge) {
					t.Errorf("WWW-Authenticate = %q, want prefix %q", got, wantChallenge)
				}
				var e struct{ Error struct{ Code string } }
				if json.Unmarshal([]byte(r.body), &e) != nil || e.Error.Code == "" || strings.Contains(r.body, "jsonrpc") {
					t.Errorf("401 body is not our JSON error (did MCP see the request?): %s", r.body)
				}
			}
		})
	}
}

// TestProtectedResourceMetadata checks the RFC 9728 document at both well-known URLs, as
// derived locally and as configured for a public deployment.
func TestProtectedResourceMetadata(t *testing.T) {
	t.Parallel()
	local := newServer(t, nil)
	public := newServer(t, func(c *mcphttp.Config) {
		c.ResourceURL = "https://tasks.example.com/mcp"
		c.AuthorizationServers = []string{"https://auth.example.com/api/auth"}
	})
	for _, tc := range []struct {
		name       string
		srv        *httptest.Server
		resource   string
		authz      []string
		challenge  string
		metaPathOK bool
	}{
		{"local", local, local.URL + "/mcp", nil, local.URL + "/.well-known/oauth-protected-resource/mcp", true},
		{"public", public, "https://tasks.example.com/mcp", []string{"https://auth.example.com/api/auth"},
			"https://tasks.example.com/.well-known/oauth-protected-resource/mcp", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, path := range []string{"/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"} {
				r := get(t, tc.srv.URL+path)
				if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
					t.Fatalf("GET %s: %d %s", path, r.status, r.header.Get("Content-Type"))
				}
				var doc struct {
					Resource             string   `json:"resource"`
					AuthorizationServers []string `json:"authorization_servers"`
					BearerMethods        []string `json:"bearer_methods_supported"`
					Scopes               []string `json:"scopes_supported"`
				}
				if err := json.Unmarshal([]byte(r.body), &doc); err != nil {
					t.Fatalf("metadata is not JSON: %v", err)
				}
				if doc.Resource != tc.resource || strings.Join(doc.AuthorizationServers, ",") != strings.Join(tc.authz, ",") ||
					strings.Join(doc.BearerMethods, ",") != "header" || strings.Join(doc.Scopes, " ") != "tasks:read tasks:write" {
					t.Errorf("metadata at %s = %+v", path, doc)
				}
			}
			r := post(t, tc.srv.URL+"/mcp", initializeBody, map[string]string{"Host": hostOf(tc.resource)})
			want := `Bearer resource_metadata="` + tc.challenge + `", scope="tasks:read tasks:write"`
			if r.status != http.StatusUnauthorized || r.header.Get("WWW-Authenticate") != want {
				t.Errorf("challenge: %d %q, want 401 %q", r.status, r.header.Get("WWW-Authenticate"), want)
			}
		})
	}
}

func hostOf(u string) string {
	u = strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://")
	host, _, _ := strings.Cut(u, "/")
	return host
}

// TestOriginAndHost: browsers from other sites get 403 even with a valid token; so does a
// DNS-rebinding Host over loopback.
func TestOriginAndHost(t *testing.T) {
	t.Parallel()
	srv := newServer(t, func(c *mcphttp.Config) {
		c.AllowedOrigins = []string{"https://app.example.com/"}
		c.ResourceURL = "https://tasks.example.com/mcp"
	})
	tok := bearer(tokenFor(t, "alice"))
	h := func(kv ...string) map[string]string {
		m := map[string]string{"Authorization": tok["Authorization"]}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, tc := range []struct {
		name    string
		headers map[string]string
		want    int
	}{
		{"no origin (a program, not a browser)", h(), http.StatusOK},
		{"allowed origin", h("Origin", "https://APP.example.com"), http.StatusOK},
		{"origin of the public URL", h("Origin", "https://tasks.example.com", "Host", "tasks.example.com"), http.StatusOK},
		{"same origin", h("Origin", srv.URL), http.StatusOK},
		{"other origin", h("Origin", "https://evil.example"), http.StatusForbidden},
		{"null origin", h("Origin", "null"), http.StatusForbidden},
		{"allowed origin but other port", h("Origin", "https://app.example.com:8443"), http.StatusForbidden},
		{"rebinding host over loopback", h("Host", "evil.example"), http.StatusForbidden},
		{"rebinding host and origin", h("Host", "evil.example:1234", "Origin", "http://evil.example:1234"), http.StatusForbidden},
		{"public host over loopback (reverse proxy keeping Host)", h("Host", "tasks.example.com"), http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := post(t, srv.URL+"/mcp", initializeBody, tc.headers)
			if r.status != tc.want {
				t.Errorf("status %d, want %d: %s", r.status, tc.want, r.body)
			}
		})
	}
}

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	tok := tokenFor(t, "alice")
	big := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add_task","arguments":{"title":"x","description":"` +
		strings.Repeat("a", mcphttp.MaxBodyBytes) + `"}}}`
	r := post(t, srv.URL+"/mcp", big, bearer(tok))
	if r.status != http.StatusRequestEntityTooLarge || !strings.Contains(r.body, "request_too_large") {
		t.Errorf("declared oversized body: %d %s", r.status, r.body)
	}
	// Without a Content-Length (chunked), the limit applies while reading.
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/mcp", io.MultiReader(strings.NewReader(big)))
	req.ContentLength = -1
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+tok)
	if r := do(t, req); r.status < 400 || r.status >= 500 || strings.Contains(r.body, `"result"`) {
		t.Errorf("chunked oversized body: %d %s", r.status, r.body)
	}
	// Just under the limit is served.
	ok := `{"jsonrpc":"2.0","id":1,"method":"ping","pad":"` + strings.Repeat("a", mcphttp.MaxBodyBytes-100) + `"}`
	if r := post(t, srv.URL+"/mcp", ok, bearer(tok)); r.status != http.StatusOK {
		t.Errorf("body under the limit: %d %s", r.status, r.body)
	}
}

// TestInvalidUTF8: a body that is not UTF-8 is refused as unparsable before any tool runs,
// where encoding/json would have stored U+FFFD in place of the bad bytes.
func TestInvalidUTF8(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	tok := tokenFor(t, "alice")
	r := post(t, srv.URL+"/mcp", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"add_task\",\"arguments\":{\"title\":\"a\xffb\"}}}", bearer(tok))
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, `"code":-32700`) || !strings.Contains(r.body, "UTF-8") {
		t.Errorf("invalid UTF-8: %d %s, want 400 with a JSON-RPC parse error", r.status, r.body)
	}
	list := post(t, srv.URL+"/mcp", `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"list_tasks","arguments":{}}}`, bearer(tok))
	if !strings.Contains(list.body, `\"tasks\":[]`) {
		t.Errorf("a task was stored from the refused call: %s", list.body)
	}
}

// TestStreamsAreNotOffered: nothing here is ever pushed, so neither the legacy GET stream
// nor a 2026-07-28 subscriptions/listen stream is offered.
func TestStreamsAreNotOffered(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	tok := tokenFor(t, "alice")
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/mcp", nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+tok)
	if r := do(t, req); r.status != http.StatusMethodNotAllowed {
		t.Errorf("GET /mcp: %d, want 405", r.status)
	}
	listen := `{"jsonrpc":"2.0","id":"l1","method":"subscriptions/listen","params":{"notifications":{"toolsListChanged":true},` +
		`"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}`
	r := post(t, srv.URL+"/mcp", listen, map[string]string{"Authorization": "Bearer " + tok,
		"Mcp-Method": "subscriptions/listen", "MCP-Protocol-Version": "2026-07-28"})
	var e struct {
		ID    string `json:"id"`
		Error struct {
			Code int `json:"code"`
		} `json:"error"`
	}
	if r.status != http.StatusNotFound || json.Unmarshal([]byte(r.body), &e) != nil || e.ID != "l1" || e.Error.Code != -32601 {
		t.Errorf("subscriptions/listen: %d %s, want 404 with error -32601 for id l1", r.status, r.body)
	}
	// Without a token the refusal is still a 401: authentication comes first.
	if r := post(t, srv.URL+"/mcp", listen, map[string]string{"Mcp-Method": "subscriptions/listen"}); r.status != http.StatusUnauthorized {
		t.Errorf("subscriptions/listen without token: %d, want 401", r.status)
	}
}

// TestHealthAndReadiness: /health and /ready ping the database and answer 503 without it.
func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	pool, err := pgxpool.New(context.Background(), pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, func(c *mcphttp.Config) { c.Pool = pool })
	r := get(t, srv.URL+"/health")
	var h map[string]string
	if r.status != http.StatusOK || json.Unmarshal([]byte(r.body), &h) != nil ||
		h["status"] != "healthy" || h["service"] != "mcpserver" || h["version"] != "test" || h["environment"] != "test" || h["database"] != "ok" {
		t.Fatalf("health: %d %s", r.status, r.body)
	}
	if r := get(t, srv.URL+"/ready"); r.status != http.StatusOK || strings.TrimSpace(r.body) != `{"status":"ready"}` {
		t.Fatalf("ready: %d %s", r.status, r.body)
	}
	pool.Close()
	if r := get(t, srv.URL+"/health"); r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, `"unhealthy"`) {
		t.Errorf("health without a database: %d %s", r.status, r.body)
	}
	if r := get(t, srv.URL+"/ready"); r.status != http.StatusServiceUnavailable {
		t.Errorf("ready without a database: %d %s", r.status, r.body)
	}
}

// TestDevMode: on loopback, a request without any Authorization acts as the dev user; a
// request with a token still needs a valid one.
func TestDevMode(t *testing.T) {
	t.Parallel()
	srv := newServer(t, func(c *mcphttp.Config) { c.DevUser = "dev" })
	r := post(t, srv.URL+"/mcp", toolsListBody, nil)
	if r.status != http.StatusOK || !strings.Contains(r.body, "add_task") {
		t.Fatalf("dev mode without token: %d %s", r.status, r.body)
	}
	if r := post(t, srv.URL+"/mcp", toolsListBody, bearer("garbage")); r.status != http.StatusUnauthorized {
		t.Errorf("dev mode with a bad token: %d, want 401", r.status)
	}
	// The dev user and a token user are different users.
	if r := post(t, srv.URL+"/mcp", toolCall("add_task", map[string]any{"title": "dev task"}), nil); r.status != http.StatusOK || !strings.Contains(r.body, `\"task_id\":1`) {
		t.Fatalf("dev add_task: %d %s", r.status, r.body)
	}
	if r := post(t, srv.URL+"/mcp", toolCall("list_tasks", map[string]any{}), bearer(tokenFor(t, "alice"))); r.status != http.StatusOK || strings.Contains(r.body, "dev task") {
		t.Errorf("alice sees the dev user's tasks: %d %s", r.status, r.body)
	}

	// Without a verifier, dev mode refuses every token instead of ignoring it.
	noVerifier := newServer(t, func(c *mcphttp.Config) { c.DevUser = "dev"; c.Verifier = nil })
	if r := post(t, noVerifier.URL+"/mcp", toolsListBody, bearer(tokenFor(t, "alice"))); r.status != http.StatusUnauthorized {
		t.Errorf("token without a verifier: %d, want 401", r.status)
	}
}

func TestNewHandlerRefusesBadConfig(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t)
	for _, tc := range []struct {
		name string
		cfg  mcphttp.Config
	}{
		{"no pool", mcphttp.Config{DevUser: "dev"}},
		{"no verifier outside dev mode", mcphttp.Config{Pool: pool}},
		{"bad dev user", mcphttp.Config{Pool: pool, DevUser: "a\nb"}},
		{"relative resource URL", mcphttp.Config{Pool: pool, DevUser: "dev", ResourceURL: "/mcp"}},
		{"bad origin", mcphttp.Config{Pool: pool, DevUser: "dev", AllowedOrigins: []string{"example.com"}}},
	} {
		if _, err := mcphttp.NewHandler(tc.cfg); err == nil {
			t.Errorf("%s: NewHandler accepted it", tc.name)
		}
	}
}

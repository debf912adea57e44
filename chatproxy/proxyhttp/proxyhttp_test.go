package proxyhttp_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	ck "github.com/taskwire/taskwire/chatproxy/chatkit/chatkittest"
	"github.com/taskwire/taskwire/chatproxy/proxyhttp"
	"github.com/taskwire/taskwire/internal/auth"
	"github.com/taskwire/taskwire/internal/httpedge"
	"github.com/taskwire/taskwire/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

const listBody = `{"type":"threads.list","params":{}}`

func do(t *testing.T, method, url, body string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, raw
}

func TestUnauthorized(t *testing.T) {
	t.Parallel()
	env := ck.NewEnv(t, &ck.Scripted{}, ck.EnvOptions{})
	expired, err := auth.Mint(ck.Secret, auth.MintOptions{UserID: "u", TTL: time.Minute, Now: time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	otherKey, err := auth.Mint([]byte("another-secret-another-secret-00"), auth.MintOptions{UserID: "u", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	// A request without a token is told to send one; one with a bad token, that the token
	// is the problem (error="invalid_token"), so a client knows to sign in again.
	const missing, invalid = `Bearer realm="chatproxy"`, `Bearer realm="chatproxy", error="invalid_token"`
	cases := map[string]struct{ authz, challenge, code string }{
		"no header":    {"", missing, "unauthorized"},
		"not bearer":   {"Basic dTpw", invalid, "invalid_token"},
		"empty bearer": {"Bearer ", invalid, "invalid_token"},
		"garbage":      {"Bearer not.a.jwt", invalid, "invalid_token"},
		"expired":      {"Bearer " + expired, invalid, "invalid_token"},
		"wrong secret": {"Bearer " + otherKey, invalid, "invalid_token"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			authz := tc.authz
			resp, raw := do(t, http.MethodPost, env.URL+"/chatkit", listBody, map[string]string{"Authorization": authz})
			if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") != tc.challenge {
				t.Fatalf("status %d, WWW-Authenticate %q, want 401 %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), tc.challenge)
			}
			var e struct {
				Error struct{ Code, Message string }
			}
			if err := json.Unmarshal(raw, &e); err != nil || e.Error.Code != tc.code {
				t.Errorf("body %s", raw)
			}
			if strings.Contains(string(raw), strings.TrimPrefix(authz, "Bearer ")) && len(authz) > 10 {
				t.Errorf("the answer echoes the token: %s", raw)
			}
		})
	}
	resp, _ := do(t, http.MethodPost, env.URL+"/chatkit", listBody, map[string]string{"Authorization": "Bearer " + ck.Token(t, "u")})
	if resp.StatusCode != http.StatusOK {
		t.Errorf("a good token: %d", resp.StatusCode)
	}
}

func TestCORS(t *testing.T) {
	t.Parallel()
	env := ck.NewEnv(t, &ck.Scripted{}, ck.EnvOptions{})
	for _, origin := range []string{ck.AppOrigin, proxyhttp.ChatKitOrigin} {
		t.Run("preflight "+origin, func(t *testing.T) {
			resp, _ := do(t, http.MethodOptions, env.URL+"/chatkit", "", map[string]string{
				"Origin":                         origin,
				"Access-Control-Request-Method":  "POST",
				"Access-Control-Request-Headers": "authorization, content-type, accept-language",
			})
			want := map[string]string{
				"Access-Control-Allow-Origin":  origin,
				"Access-Control-Allow-Headers": "authorization, content-type, accept-language",
			}
			if resp.StatusCode != http.StatusNoContent {
				t.Errorf("status %d", resp.StatusCode)
			}
			for k, v := range want {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if m := resp.Header.Get("Access-Control-Allow-Methods"); !strings.Contains(m, "POST") {
				t.Errorf("Allow-Methods %q", m)
			}
		})
	}
	resp, _ := do(t, http.MethodOptions, env.URL+"/chatkit", "", map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from a foreign origin: %d, allow-origin %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
	// The real request from an allowed origin is readable by the page; a stream too.
	resp, _ = do(t, http.MethodPost, env.URL+"/chatkit", `{"type":"threads.create","params":{"input":{"content":[{"type":"input_text","text":"hi"}],"attachments":[],"inference_options":{}}}}`,
		map[string]string{"Origin": ck.AppOrigin, "Authorization": "Bearer " + ck.Token(t, "u")})
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != ck.AppOrigin {
		t.Errorf("POST from the app: %d, allow-origin %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
	// Even a 401 carries CORS headers, so the page can read why.
	resp, _ = do(t, http.MethodPost, env.URL+"/chatkit", listBody, map[string]string{"Origin": ck.AppOrigin})
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Access-Control-Allow-Origin") != ck.AppOrigin {
		t.Errorf("401 from the app: %d, allow-origin %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
}

func TestHealth(t *testing.T) {
	t.Parallel()
	env := ck.NewEnv(t, &ck.Scripted{}, ck.EnvOptions{})
	resp, raw := do(t, http.MethodGet, env.URL+"/health", "", nil)
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("health: %d %s", resp.StatusCode, raw)
	}
	want := map[string]any{"status": "healthy", "service": "chatproxy", "version": "test", "environment": "test", "database": "ok"}
	if diff := cmp.Diff(want, body); diff != "" {
		t.Errorf("health body: %s", diff)
	}

	h := newHandler(t, pinger(func(context.Context) error { return errors.New("connection refused") }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/health", nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), `"status":"unhealthy"`) {
		t.Errorf("health with the database down: %d %s", rec.Code, rec.Body)
	}
}

type pinger func(context.Context) error

func (p pinger) Ping(ctx context.Context) error { return p(ctx) }

func newHandler(t *testing.T, db httpedge.Pinger) *proxyhttp.Handler {
	t.Helper()
	v, err := auth.NewVerifier(t.Context(), auth.Config{Secret: ck.Secret})
	if err != nil {
		t.Fatal(err)
	}
	h, err := proxyhttp.New(proxyhttp.Options{Verifier: v, ChatKit: http.NotFoundHandler(), DB: db, MaxBodyBytes: 64})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// Routes added later (/api/chat, /, /metrics) get the same auth, CORS and body limit.
func TestMountedRoutes(t *testing.T) {
	t.Parallel()
	h := newHandler(t, pinger(func(context.Context) error { return nil }))
	h.Authenticated("POST /api/chat", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := auth.UserFrom(r.Context())
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, "too large", http.StatusRequestEntityTooLarge)
			return
		}
		io.WriteString(w, id.UserID)
	}))
	h.Public("GET /{$}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "page") }))
	srv := httptest.NewServer(h)
	defer srv.Close()

	tok := map[string]string{"Authorization": "Bearer " + ck.Token(t, "carol")}
	cases := []struct {
		name, method, path, body string
		header                   map[string]string
		status                   int
		want                     string
	}{
		{"authenticated route", http.MethodPost, "/api/chat", "{}", tok, 200, "carol"},
		{"authenticated route without token", http.MethodPost, "/api/chat", "{}", nil, 401, `"unauthorized"`},
		{"body over the limit", http.MethodPost, "/api/chat", strings.Repeat("x", 65), tok, 413, ""},
		{"public route", http.MethodGet, "/", "", nil, 200, "page"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, raw := do(t, c.method, srv.URL+c.path, c.body, c.header)
			if resp.StatusCode != c.status || !strings.Contains(string(raw), c.want) {
				t.Errorf("%d %s, want %d containing %q", resp.StatusCode, raw, c.status, c.want)
			}
		})
	}
}

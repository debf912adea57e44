package web

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func get(t *testing.T, h http.Handler, path string) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	return rec.Result()
}

var configScript = regexp.MustCompile(`<script>(window\.TASKWIRE_CONFIG = (.*?);)</script>`)

func TestPageInjectsConfigSafely(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"dev defaults", Config{DomainKey: "domain_pk_localhost_dev", DevMode: true, LLMConfigured: true}},
		{"no model", Config{DomainKey: "k", LLMHelp: "Set OPENAI_API_KEY=sk-... & restart"}},
		{"auth service", Config{DomainKey: "k", AuthURL: "https://auth.example.com"}},
		{"hostile values", Config{
			DomainKey: `</script><script>alert(1)</script>`,
			LLMHelp:   "<!-- \u2028\u2029 '\"` </SCRIPT> ${x} \\",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := get(t, Handler(tc.cfg), "/")
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
				t.Fatalf("GET / = %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			m := configScript.FindSubmatch(body)
			if m == nil {
				t.Fatalf("no config script in page:\n%s", body)
			}
			var got Config
			if err := json.Unmarshal(m[2], &got); err != nil {
				t.Fatalf("config is not JSON: %v: %s", err, m[2])
			}
			if diff := cmp.Diff(tc.cfg, got); diff != "" {
				t.Errorf("config round trip (-want +got):\n%s", diff)
			}
			// Nothing in the values may close the element, open a comment or break a JS line.
			for _, bad := range []string{"</", "<!--", "\u2028", "\u2029"} {
				if strings.Contains(string(m[2]), bad) {
					t.Errorf("config script contains %q unescaped: %s", bad, m[2])
				}
			}
			if n := strings.Count(string(body), "<script"); n != 3 {
				t.Errorf("page has %d script elements, want 3 (config, app.js, auth.js)", n)
			}
			sum := sha256.Sum256(m[1])
			hash := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
			if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, hash) {
				t.Errorf("CSP does not allow the config script by its hash %s: %s", hash, csp)
			}
		})
	}
}

func TestSecurityHeaders(t *testing.T) {
	h := Handler(Config{DomainKey: "k"})
	for _, path := range []string{"/", "/static/app.js", "/nope"} {
		resp := get(t, h, path)
		want := map[string]string{
			"X-Content-Type-Options": "nosniff",
			"Referrer-Policy":        "strict-origin-when-cross-origin",
			"X-Frame-Options":        "SAMEORIGIN",
		}
		for k, v := range want {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("%s: %s = %q, want %q", path, k, got, v)
			}
		}
		csp := resp.Header.Get("Content-Security-Policy")
		for _, d := range []string{"default-src 'self'", "script-src 'self' https://cdn.platform.openai.com 'sha256-",
			"frame-src https://cdn.platform.openai.com", "object-src 'none'", "frame-ancestors 'self'", "base-uri 'none'"} {
			if !strings.Contains(csp, d) {
				t.Errorf("%s: CSP lacks %q: %s", path, d, csp)
			}
		}
		if strings.Contains(csp, "unsafe-eval") || regexp.MustCompile(`script-src[^;]*unsafe-inline`).MatchString(csp) {
			t.Errorf("%s: CSP allows inline or eval'd scripts: %s", path, csp)
		}
	}
}

func TestStaticFilesAndRoutes(t *testing.T) {
	h := Handler(Config{DomainKey: "k"})
	tests := []struct {
		path       string
		wantStatus int
		wantType   string
		wantBody   string
	}{
		{"/static/app.js", 200, "text/javascript; charset=utf-8", "window.TaskwireSetToken"},
		{"/static/app.js", 200, "text/javascript; charset=utf-8", ChatKitScript},
		{"/static/app.css", 200, "text/css; charset=utf-8", ".task-list"},
		{"/static/auth.js", 200, "text/javascript; charset=utf-8", "window.TaskwireSetToken(r.data.token)"},
		{"/static/", 404, "", ""},
		{"/static/missing.js", 404, "", ""},
		{"/index.html", 404, "", ""},
		{"/api/whatever", 404, "", ""},
	}
	for _, tc := range tests {
		resp := get(t, h, tc.path)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != tc.wantStatus {
			t.Errorf("GET %s = %d, want %d", tc.path, resp.StatusCode, tc.wantStatus)
			continue
		}
		if tc.wantType != "" && resp.Header.Get("Content-Type") != tc.wantType {
			t.Errorf("GET %s Content-Type = %q, want %q", tc.path, resp.Header.Get("Content-Type"), tc.wantType)
		}
		if !strings.Contains(string(body), tc.wantBody) {
			t.Errorf("GET %s body lacks %q", tc.path, tc.wantBody)
		}
	}
}

// The page must not rely on inline event handlers or inline scripts beyond the hashed config,
// or the CSP would break it.
func TestPageHasNoInlineHandlers(t *testing.T) {
	body, _ := io.ReadAll(get(t, Handler(Config{}), "/").Body)
	if m := regexp.MustCompile(`(?i)\son[a-z]+\s*=`).Find(body); m != nil {
		t.Errorf("inline event handler %q in index.html", m)
	}
	js, _ := files.ReadFile("static/app.js")
	if regexp.MustCompile(`innerHTML|eval\(|new Function`).Match(js) {
		t.Error("app.js renders HTML or evaluates strings; use textContent")
	}
}

func TestCSPLetsThePageReachTheAuthService(t *testing.T) {
	tests := []struct {
		authURL string
		want    string // the connect-src directive
	}{
		{"", "connect-src 'self' https://*.openai.com"},
		{"http://127.0.0.1:8002", "connect-src 'self' https://*.openai.com http://127.0.0.1:8002"},
		{"https://auth.example.com/", "connect-src 'self' https://*.openai.com https://auth.example.com"},
		// Anything but an origin is left out rather than spliced into the policy.
		{"https://auth.example.com; script-src *", "connect-src 'self' https://*.openai.com"},
		{"https://auth.example.com/api/auth", "connect-src 'self' https://*.openai.com"},
	}
	for _, tc := range tests {
		csp := get(t, Handler(Config{AuthURL: tc.authURL}), "/").Header.Get("Content-Security-Policy")
		var got string
		for _, d := range strings.Split(csp, "; ") {
			if strings.HasPrefix(d, "connect-src") {
				got = d
			}
		}
		if got != tc.want {
			t.Errorf("AuthURL %q: %q, want %q", tc.authURL, got, tc.want)
		}
	}
}

func TestIsOrigin(t *testing.T) {
	tests := map[string]bool{
		"http://127.0.0.1:8002": true, "https://auth.example.com": true, "https://auth.example.com/": true, "http://[::1]:8002": true,
		"": false, "auth.example.com": false, "ftp://auth.example.com": false, "https://auth.example.com/api": false,
		"https://auth.example.com?x": false, "https://a b.com": false, `https://a.com"`: false,
	}
	for in, want := range tests {
		if got := IsOrigin(in); got != want {
			t.Errorf("IsOrigin(%q) = %v, want %v", in, got, want)
		}
	}
}

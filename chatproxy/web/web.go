// Package web is chatproxy's page at GET /: ChatKit.js from OpenAI's CDN talking to /chatkit,
// a task panel fed by /api/tasks, and a plain built-in chat on /api/chat for when the CDN
// cannot be reached, so the page works offline too. The files are embedded, so the binary is
// the whole deployment; configuration is injected into index.html when the handler is built.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"io/fs"
	"net/http"
	"regexp"
	"strings"
)

//go:embed index.html static
var files embed.FS

// ChatKitScript is where the page loads ChatKit.js from; the CSP allows its origin.
const ChatKitScript = "https://cdn.platform.openai.com/deployments/chatkit/chatkit.js"

// Config is what the page needs to know about the proxy. It becomes window.TASKWIRE_CONFIG.
type Config struct {
	// DomainKey is ChatKit's domainKey (CHATKIT_DOMAIN_KEY); ChatKit requires one even for a
	// custom backend, and any placeholder works on localhost.
	DomainKey string `json:"domainKey"`
	// DevMode makes the page fetch its token from GET /api/dev/token (DEV_USER on loopback);
	// otherwise it waits for the embedding app to call window.TaskwireSetToken(token).
	DevMode bool `json:"devMode"`
	// LLMConfigured false makes the page show LLMHelp prominently: chatting cannot work yet.
	LLMConfigured bool   `json:"llmConfigured"`
	LLMHelp       string `json:"llmHelp"`
	// AuthURL is the auth service's base URL (BETTER_AUTH_URL): static/auth.js signs the user
	// up and in there and hands the page its JWTs. Empty: no sign-in form (dev mode or an
	// embedding app supplies tokens). It must be an origin; the CSP lets the page reach it.
	AuthURL string `json:"authURL,omitempty"`
}

// configMarker in index.html is replaced by the inline script that sets the configuration.
const configMarker = "<!--TASKWIRE_CONFIG-->"

// Handler serves the page at / and its assets under /static/; mount it at "GET /". The
// configuration is rendered once here, which also fixes the CSP hash of the one inline script.
func Handler(cfg Config) http.Handler {
	// encoding/json escapes <, >, &, U+2028 and U+2029, so no value can end the script
	// element or break the JavaScript that holds it.
	js, err := json.Marshal(cfg)
	if err != nil {
		panic("web: marshal page config: " + err.Error()) // a struct of strings and bools cannot fail
	}
	script := "window.TASKWIRE_CONFIG = " + string(js) + ";"
	raw, err := files.ReadFile("index.html")
	if err != nil {
		panic("web: index.html is not embedded: " + err.Error())
	}
	index := bytes.Replace(raw, []byte(configMarker), []byte("<script>"+script+"</script>"), 1)
	sum := sha256.Sum256([]byte(script))
	csp := contentSecurityPolicy("'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'", cfg.AuthURL)

	static, err := fs.Sub(files, "static")
	if err != nil {
		panic("web: static files are not embedded: " + err.Error())
	}
	assets := http.StripPrefix("/static/", http.FileServerFS(static))

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(index)
	})
	mux.HandleFunc("GET /static/", func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") { // no directory listings
			http.NotFound(w, r)
			return
		}
		assets.ServeHTTP(w, r)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		// The ChatKit frame checks the embedding origin for the domain key, so the origin
		// (never the path) must still reach cross-origin requests.
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		h.Set("X-Frame-Options", "SAMEORIGIN")
		// The configuration may change between restarts; the files are tiny.
		h.Set("Cache-Control", "no-cache")
		mux.ServeHTTP(w, r)
	})
}

// originPattern is scheme://host[:port] with nothing that could end a CSP source expression.
var originPattern = regexp.MustCompile(`^https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?/?$|^https?://\[[0-9A-Fa-f:]+\](:[0-9]{1,5})?/?$`)

// IsOrigin reports whether s is an http(s) origin (an optional trailing slash allowed), the
// only form of BETTER_AUTH_URL the page and its CSP accept.
func IsOrigin(s string) bool { return originPattern.MatchString(s) }

// contentSecurityPolicy allows our own files, the one inline configuration script (by hash),
// ChatKit (its script and frame come from cdn.platform.openai.com, and the frame's own traffic
// goes to openai.com hosts) and, when set, fetches to the auth service. No inline event
// handlers, no eval, no plugins.
func contentSecurityPolicy(configHash, authURL string) string {
	connect := "connect-src 'self' https://*.openai.com"
	if IsOrigin(authURL) {
		connect += " " + strings.TrimSuffix(authURL, "/")
	}
	return strings.Join([]string{
		"default-src 'self'",
		"script-src 'self' https://cdn.platform.openai.com " + configHash,
		"style-src 'self' 'unsafe-inline' https://cdn.platform.openai.com",
		"frame-src https://cdn.platform.openai.com https://*.openai.com",
		connect,
		"img-src 'self' data: blob: https:",
		"font-src 'self' data: https://cdn.platform.openai.com https://cdn.openai.com",
		"object-src 'none'",
		"base-uri 'none'",
		"form-action 'self'",
		"frame-ancestors 'self'",
	}, "; ")
}

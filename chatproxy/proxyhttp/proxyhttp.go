// Package proxyhttp is chatproxy's HTTP surface: the routes, bearer-token authentication,
// CORS for the ChatKit page (and the ChatKit iframe's origin), request body limits and the
// health check. main builds a Handler with New and serves it; further routes are mounted on
// it with Public or Authenticated.
package proxyhttp

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/taskwire/taskwire/chatproxy/chatkit"
	"github.com/taskwire/taskwire/internal/auth"
	"github.com/taskwire/taskwire/internal/obs"
)

// ChatKitOrigin is where the ChatKit UI's iframe is served from; requests it makes itself
// carry this Origin, so it is always allowed.
const ChatKitOrigin = "https://cdn.platform.openai.com"

// DefaultMaxBodyBytes caps every request body unless Options says otherwise.
const DefaultMaxBodyBytes = 1 << 20

// TokenVerifier checks a bearer token; *auth.Verifier is one.
type TokenVerifier interface {
	Verify(ctx context.Context, raw string) (auth.Identity, error)
}

// Pinger reports whether a dependency answers; *chatstore.Store and *pgxpool.Pool are ones.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Options are what the HTTP surface needs. Verifier, ChatKit and DB are required.
type Options struct {
	Verifier TokenVerifier
	// ChatKit serves POST /chatkit (a *chatkit.Server); it finds the user with auth.UserFrom.
	ChatKit http.Handler
	// DB is checked by GET /health.
	DB Pinger
	// CORSOrigins may call the API from a browser (CORS_ORIGINS); ChatKitOrigin is always
	// added. "*" allows any origin (credentials are bearer tokens, never cookies).
	CORSOrigins []string
	// Version and Environment are reported by /health.
	Version     string
	Environment string
	// MaxBodyBytes caps every request body; default 1 MiB.
	MaxBodyBytes int64
	Logger       *slog.Logger
}

// Handler is chatproxy's http.Handler. Mount more routes with Public and Authenticated
// before serving; patterns are net/http ServeMux patterns such as "POST /api/chat".
type Handler struct {
	mux     *http.ServeMux
	opt     Options
	origins map[string]bool
	anyOrig bool
	handler http.Handler
}

// New builds the handler with POST /chatkit (authenticated) and GET /health (public).
func New(o Options) (*Handler, error) {
	if o.Verifier == nil || o.ChatKit == nil || o.DB == nil {
		return nil, errors.New("proxyhttp: Verifier, ChatKit and DB are required")
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	h := &Handler{mux: http.NewServeMux(), opt: o, origins: map[string]bool{ChatKitOrigin: true}}
	for _, origin := range o.CORSOrigins {
		origin = strings.TrimRight(strings.TrimSpace(origin), "/")
		switch origin {
		case "":
		case "*":
			h.anyOrig = true
		default:
			h.origins[origin] = true
		}
	}
	h.Authenticated("POST /chatkit", o.ChatKit)
	h.Public("GET /health", http.HandlerFunc(h.health))
	h.handler = h.cors(h.limitBody(h.mux))
	return h, nil
}

// Public mounts a route that needs no token, e.g. "GET /" or "GET /metrics". It still gets
// CORS and the body limit.
func (h *Handler) Public(pattern string, handler http.Handler) {
	h.mux.Handle(pattern, handler)
}

// Authenticated mounts a route behind the bearer token, e.g. "POST /api/chat". A missing or
// bad token is answered 401 before handler runs; handler reads the user with auth.UserFrom.
func (h *Handler) Authenticated(pattern string, handler http.Handler) {
	h.mux.Handle(pattern, h.authenticate(handler))
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.handler.ServeHTTP(w, r) }

// authenticate verifies the bearer token and records the user in the request context. The
// token and the reason it failed are never logged or echoed.
func (h *Handler) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, ok := auth.BearerToken(r)
		if !ok {
			unauthorized(w, "missing bearer token")
			return
		}
		id, err := h.opt.Verifier.Verify(r.Context(), raw)
		if err != nil {
			unauthorized(w, "invalid bearer token")
			return
		}
		obs.SetUser(r.Context(), id.UserID)
		next.ServeHTTP(w, r.WithContext(auth.WithUser(r.Context(), id)))
	})
}

func unauthorized(w http.ResponseWriter, message string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="chatproxy"`)
	chatkit.WriteError(w, http.StatusUnauthorized, chatkit.CodeUnauthorized, message)
}

// limitBody caps every request body; handlers see an error from Read past the limit.
func (h *Handler) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > h.opt.MaxBodyBytes {
			chatkit.WriteError(w, http.StatusRequestEntityTooLarge, chatkit.CodeTooLarge, "request body is too large")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, h.opt.MaxBodyBytes)
		next.ServeHTTP(w, r)
	})
}

// corsMethods are what browsers may use cross-origin: the API is POST (ChatKit), GET
// (health, pages) and PUT (upload URLs, should attachments come).
const corsMethods = "GET, POST, PUT, OPTIONS"

// cors answers preflights for allowed origins and marks their responses readable. Requests
// from other origins get no CORS headers (the browser then blocks them); requests without
// an Origin (curl, servers) are untouched.
func (h *Handler) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		allowed := origin != "" && (h.anyOrig || h.origins[origin])
		if origin != "" {
			w.Header().Add("Vary", "Origin")
		}
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		if allowed {
			hdr := w.Header()
			hdr.Set("Access-Control-Allow-Origin", origin)
			hdr.Set("Access-Control-Expose-Headers", "Content-Type")
			if preflight {
				hdr.Add("Vary", "Access-Control-Request-Method")
				hdr.Add("Vary", "Access-Control-Request-Headers")
				hdr.Set("Access-Control-Allow-Methods", corsMethods)
				// Echo what the page asks for: ChatKit adds its own headers (content-type,
				// accept-language, …) to whatever the custom fetch adds (authorization).
				if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
					hdr.Set("Access-Control-Allow-Headers", req)
				}
				hdr.Set("Access-Control-Max-Age", "600")
			}
		}
		if preflight {
			if !allowed {
				chatkit.WriteError(w, http.StatusForbidden, "origin_not_allowed", "this origin may not call the API; add it to CORS_ORIGINS")
				return
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// healthTimeout bounds the database check so a hung database makes /health fail, not hang.
const healthTimeout = 2 * time.Second

type healthBody struct {
	Status      string `json:"status"`
	Service     string `json:"service"`
	Version     string `json:"version"`
	Environment string `json:"environment"`
	Database    string `json:"database"`
}

// health answers {"status":"healthy",…} when the database answers, else 503 "unhealthy".
func (h *Handler) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
	defer cancel()
	body := healthBody{Status: "healthy", Service: "chatproxy", Version: h.opt.Version, Environment: h.opt.Environment, Database: "ok"}
	status := http.StatusOK
	if err := h.opt.DB.Ping(ctx); err != nil {
		h.opt.Logger.WarnContext(r.Context(), "health check: database unreachable", "error", err)
		body.Status, body.Database, status = "unhealthy", "unreachable", http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// AllowedOrigins lists the origins CORS allows (for a start-up log line).
func (h *Handler) AllowedOrigins() []string {
	out := make([]string, 0, len(h.origins)+1)
	for o := range h.origins {
		out = append(out, o)
	}
	if h.anyOrig {
		out = append(out, "*")
	}
	slices.Sort(out)
	return out
}

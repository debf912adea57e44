// Package proxyhttp is chatproxy's HTTP surface: the routes, CORS for the ChatKit page (and
// the ChatKit iframe's origin), and the shared edge (package httpedge) — bearer-token
// authentication, request body limits, health and readiness, per-user limits on model turns
// and open streams, and a 503 while the chat database is away. main builds a Handler with
// New and serves it; further routes are mounted on it with Public, Authenticated or Turn.
package proxyhttp

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/taskwire/taskwire/chatproxy/chatkit"
	"github.com/taskwire/taskwire/internal/httpedge"
)

// ChatKitOrigin is where the ChatKit UI's iframe is served from; requests it makes itself
// carry this Origin, so it is always allowed.
const ChatKitOrigin = "https://cdn.platform.openai.com"

// DefaultMaxBodyBytes caps every request body unless Options says otherwise.
const DefaultMaxBodyBytes = 1 << 20

// Options are what the HTTP surface needs. Verifier, ChatKit and DB are required.
type Options struct {
	Verifier httpedge.TokenVerifier
	// ChatKit serves POST /chatkit (a *chatkit.Server); it finds the user with auth.UserFrom.
	ChatKit http.Handler
	// DB is checked by GET /health and GET /ready.
	DB httpedge.Pinger
	// Health serves /health and /ready; pass the one the server drains. Nil: a new one.
	Health *httpedge.Health
	// Gate, when set, answers /chatkit and turn routes with 503 while the database is away.
	Gate *httpedge.DBGate
	// Limits on model turns and open streams per user; zero fields mean no limit.
	Limits Limits
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

// Handler is chatproxy's http.Handler. Mount more routes with Public, Authenticated and
// Turn before serving; patterns are net/http ServeMux patterns such as "POST /api/chat".
type Handler struct {
	mux     *http.ServeMux
	opt     Options
	origins map[string]bool
	anyOrig bool
	bearer  httpedge.Bearer
	turns   *turnLimits
	handler http.Handler
}

// New builds the handler with POST /chatkit (authenticated, its streaming requests counted
// as turns) and GET /health and GET /ready (public).
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
	if o.Health == nil {
		o.Health = &httpedge.Health{}
	}
	o.Health.Service, o.Health.Version, o.Health.Environment = "chatproxy", o.Version, o.Environment
	o.Health.DB, o.Health.Logger = o.DB, o.Logger
	h := &Handler{mux: http.NewServeMux(), opt: o, origins: map[string]bool{ChatKitOrigin: true}, turns: newTurnLimits(o.Limits)}
	h.bearer = httpedge.Bearer{Verifier: o.Verifier, Realm: "chatproxy", Logger: o.Logger}
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
	h.mux.Handle("POST /chatkit", h.bearer.Wrap(h.gate(h.turns.wrap(chatKitTurn, o.ChatKit))))
	o.Health.Mount(h.mux)
	h.handler = h.cors(httpedge.LimitBody(o.MaxBodyBytes, h.mux))
	return h, nil
}

// Public mounts a route that needs no token, e.g. "GET /" or "GET /metrics". It still gets
// CORS and the body limit.
func (h *Handler) Public(pattern string, handler http.Handler) {
	h.mux.Handle(pattern, handler)
}

// Authenticated mounts a route behind the bearer token, e.g. "GET /api/tasks". A missing or
// bad token is answered 401 before handler runs; handler reads the user with auth.UserFrom.
func (h *Handler) Authenticated(pattern string, handler http.Handler) {
	h.mux.Handle(pattern, h.bearer.Wrap(handler))
}

// Turn mounts an authenticated route that runs a model turn, e.g. "POST /api/chat": it
// counts against the user's turn rate and open streams, and answers 503 while the database
// is away.
func (h *Handler) Turn(pattern string, handler http.Handler) {
	h.mux.Handle(pattern, h.bearer.Wrap(h.gate(h.turns.wrap(nil, handler))))
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.handler.ServeHTTP(w, r) }

// gate refuses requests with 503 while the database is away, when a gate is configured.
func (h *Handler) gate(next http.Handler) http.Handler {
	if h.opt.Gate == nil {
		return next
	}
	return h.opt.Gate.Wrap(next)
}

// customActionType is the ChatKit request a widget control sends.
var customActionType = (*chatkit.CustomActionRequest)(nil).RequestType()

// chatKitTurn reads the request type of a ChatKit body (restoring the body) and says what it
// costs: a widget action streams without the model; other streaming requests run a turn.
func chatKitTurn(r *http.Request) turnKind {
	body, err := io.ReadAll(r.Body)
	r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{err}))
	if err != nil {
		return notATurn // the ChatKit handler meets the same error and answers it
	}
	switch typ := chatkit.RequestType(body, chatkit.Limits{}); {
	case typ == customActionType:
		return streamOnly
	case chatkit.IsStreaming(typ):
		return modelTurn
	}
	return notATurn
}

// errReader replays a read error after the bytes that were read before it.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) {
	if e.err == nil {
		return 0, io.EOF
	}
	return 0, e.err
}

// corsMethods are what browsers may use cross-origin: the API is POST (ChatKit), GET
// (health, pages), PATCH and DELETE (the task panel's routes) and PUT (upload URLs, should
// attachments come).
const corsMethods = "GET, POST, PUT, PATCH, DELETE, OPTIONS"

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
				httpedge.WriteError(w, http.StatusForbidden, "origin_not_allowed", "this origin may not call the API; add it to CORS_ORIGINS")
				return
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
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

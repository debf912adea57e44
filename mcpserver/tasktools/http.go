package tasktools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/taskwire/taskwire/internal/auth"
	"github.com/taskwire/taskwire/internal/loopback"
	"github.com/taskwire/taskwire/internal/obs"
	"github.com/taskwire/taskwire/mcpserver/taskstore"
)

// MaxBodyBytes bounds a request body: a tool call is a few kilobytes, and mcp-go reads bodies
// whole.
const MaxBodyBytes = 1 << 20

// Paths served by NewHandler.
const (
	MCPPath    = "/mcp"
	HealthPath = "/health"
)

// Config is what the HTTP server needs. Pool and one of Verifier or DevUser are required.
type Config struct {
	// Pool holds the tasks; /health pings it.
	Pool *pgxpool.Pool
	// Verifier checks bearer tokens. It may be nil only in dev mode, where then every
	// request that carries a token is refused.
	Verifier *auth.Verifier
	// ResourceURL is the public, canonical URL of the MCP endpoint, such as
	// https://tasks.example.com/mcp: the "resource" of the protected-resource metadata. Its
	// origin is allowed as an Origin and its host as a Host. Empty (local use): both are
	// derived from each request.
	ResourceURL string
	// AuthorizationServers are the issuers of tokens for this server, listed in the
	// protected-resource metadata so OAuth-capable hosts know where to sign users in.
	AuthorizationServers []string
	// AllowedOrigins may call /mcp from a browser (scheme://host[:port]); requests with any
	// other Origin, except same-origin ones, get 403.
	AllowedOrigins []string
	// DevUser, when set, is who a request without any Authorization header acts as — but
	// only over a loopback connection. For clients that cannot send a token (the MCP
	// conformance suite); never set it on a server others can reach.
	DevUser string
	// Logger gets request failures and the audit line of each tool call; nil: slog.Default().
	Logger *slog.Logger
	// Metrics, when set, receives request, tool-call and pool metrics, served at GET
	// /metrics, and every request is logged with its id and user (internal/obs).
	Metrics *prometheus.Registry
	// Version and Environment are reported by /health.
	Version     string
	Environment string
}

// NewHandler returns the whole HTTP surface of mcpserver: stateless streamable HTTP MCP at
// /mcp behind Origin/Host checks, bearer authentication and a body limit; GET /health; and
// the OAuth protected-resource metadata (RFC 9728) at its root and path-specific well-known
// URLs. It can be mounted on any server, e.g. httptest.NewServer in another package's tests.
func NewHandler(cfg Config) (http.Handler, error) {
	if cfg.Pool == nil {
		return nil, errors.New("tasktools: Config.Pool is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Verifier == nil && cfg.DevUser == "" {
		return nil, errors.New("tasktools: Config.Verifier is required outside dev mode")
	}
	if cfg.DevUser != "" {
		if err := auth.ValidateUserID(cfg.DevUser); err != nil {
			return nil, fmt.Errorf("dev user: %w", err)
		}
	}
	var public *url.URL
	if cfg.ResourceURL != "" {
		u, err := url.Parse(cfg.ResourceURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("resource URL %q must be an absolute http(s) URL without query or fragment", cfg.ResourceURL)
		}
		public = u
	}
	origins := map[string]bool{}
	for _, o := range cfg.AllowedOrigins {
		norm, err := normalizeOrigin(o)
		if err != nil {
			return nil, fmt.Errorf("allowed origin: %w", err)
		}
		origins[norm] = true
	}
	if public != nil {
		origins[strings.ToLower(public.Scheme+"://"+public.Host)] = true
	}

	var tools *obs.ToolMetrics
	if cfg.Metrics != nil {
		tools = obs.NewToolMetrics(cfg.Metrics)
		cfg.Metrics.MustRegister(obs.NewPoolCollector(cfg.Pool))
	}
	mcpServer := NewMCPServer(taskstore.New(cfg.Pool), cfg.Logger, cfg.Version, tools)
	streamable := server.NewStreamableHTTPServer(mcpServer,
		// Any replica answers any request: no session state lives in this process.
		server.WithStateLess(true),
		// A stateless server has nothing to push on a standalone GET stream: 405.
		server.WithDisableStreaming(true),
		// guardHost below does mcp-go's loopback Host check, but also accepts the public
		// host, so a reverse proxy on the same machine may keep Host.
		server.WithDisableLocalhostProtection(true),
		server.WithStreamableHTTPLogger(cfg.Logger),
	)
	h := &httpHandler{cfg: cfg, public: public, origins: origins}

	mux := http.NewServeMux()
	mux.Handle(MCPPath, h.guardHost(h.checkOrigin(h.authenticate(limitBody(refuseSubscriptions(fastToolCalls(mcpServer, streamable)))))))
	mux.HandleFunc("GET "+HealthPath, h.health)
	prm := http.HandlerFunc(h.protectedResourceMetadata)
	mux.Handle(server.WellKnownProtectedResourcePath, prm)
	if p := h.metadataPath(); p != server.WellKnownProtectedResourcePath {
		mux.Handle(p, prm)
	}
	if cfg.Metrics == nil {
		return mux, nil
	}
	mux.Handle("GET /metrics", obs.MetricsHandler(cfg.Metrics))
	return obs.NewHTTP(cfg.Metrics, cfg.Logger).Middleware(mux), nil
}

type httpHandler struct {
	cfg     Config
	public  *url.URL
	origins map[string]bool
}

// resource is the canonical URL of the MCP endpoint for this request.
func (h *httpHandler) resource(r *http.Request) string {
	if h.public != nil {
		return h.public.String()
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + MCPPath
}

// metadataPath is the path-specific well-known URL of the metadata (RFC 9728 §3.1).
func (h *httpHandler) metadataPath() string {
	if h.public != nil {
		return server.ProtectedResourceMetadataPath(h.public.String())
	}
	return server.WellKnownProtectedResourcePath + MCPPath
}

// metadataURL is where a client that got a 401 finds the metadata.
func (h *httpHandler) metadataURL(r *http.Request) string {
	u, _ := url.Parse(h.resource(r)) // resource is always a valid URL
	u.Path = h.metadataPath()
	return u.String()
}

func (h *httpHandler) protectedResourceMetadata(w http.ResponseWriter, r *http.Request) {
	server.NewProtectedResourceMetadataHandler(server.ProtectedResourceMetadataConfig{
		Resource:               h.resource(r),
		AuthorizationServers:   h.cfg.AuthorizationServers,
		BearerMethodsSupported: []string{"header"},
		ResourceName:           "taskwire tasks",
	}).ServeHTTP(w, r)
}

// guardHost refuses DNS rebinding: a request that reached us over loopback must name a
// loopback host (or our public one), not a domain an attacker pointed at 127.0.0.1.
func (h *httpHandler) guardHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if overLoopback(r) && !loopback.Host(r.Host) && (h.public == nil || !strings.EqualFold(r.Host, h.public.Host)) {
			writeJSONError(w, http.StatusForbidden, "forbidden_host", "this server does not answer to host "+r.Host)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// checkOrigin refuses browser requests from other sites (the MCP transport's Origin rule).
// Requests without Origin come from programs, not browsers, and pass.
func (h *httpHandler) checkOrigin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" && !h.originAllowed(origin, r.Host) {
			writeJSONError(w, http.StatusForbidden, "forbidden_origin", "requests from origin "+origin+" are not allowed")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (h *httpHandler) originAllowed(origin, host string) bool {
	norm, err := normalizeOrigin(origin)
	if err != nil {
		return false
	}
	if h.origins[norm] {
		return true
	}
	// Same-origin: the page was served by this very host. guardHost has already made sure
	// that host is really ours.
	u, _ := url.Parse(norm)
	return strings.EqualFold(u.Host, host)
}

// authenticate lets a request through only with a verified bearer token (or, in dev mode
// over loopback, without any Authorization header), before any MCP processing: an
// unauthenticated caller learns nothing, not even the tool list.
func (h *httpHandler) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, hasToken := auth.BearerToken(r)
		if !hasToken {
			if h.cfg.DevUser != "" && r.Header.Get("Authorization") == "" && overLoopback(r) {
				ctx := auth.WithUser(r.Context(), auth.Identity{UserID: h.cfg.DevUser})
				obs.SetUser(ctx, h.cfg.DevUser)
				next.ServeHTTP(w, r.WithContext(ctx))
				return
			}
			h.unauthorized(w, r, r.Header.Get("Authorization") != "")
			return
		}
		if h.cfg.Verifier == nil {
			h.unauthorized(w, r, true)
			return
		}
		id, err := h.cfg.Verifier.Verify(r.Context(), raw)
		if err != nil {
			// The reason helps operators, never the caller (it could tune a forgery).
			h.cfg.Logger.InfoContext(r.Context(), "rejected bearer token", "error", err, "remote", r.RemoteAddr)
			h.unauthorized(w, r, true)
			return
		}
		obs.SetUser(r.Context(), id.UserID)
		next.ServeHTTP(w, r.WithContext(auth.WithUser(r.Context(), id)))
	})
}

// unauthorized answers 401 with the challenge that points OAuth clients to the metadata.
func (h *httpHandler) unauthorized(w http.ResponseWriter, r *http.Request, badToken bool) {
	challenge := fmt.Sprintf("Bearer resource_metadata=%q", h.metadataURL(r))
	code, desc := "unauthorized", "this server needs a bearer token: Authorization: Bearer <token>"
	if badToken {
		challenge += `, error="invalid_token"`
		code, desc = "invalid_token", "the bearer token is malformed, expired, or not issued for this server"
	}
	w.Header().Set("WWW-Authenticate", challenge)
	writeJSONError(w, http.StatusUnauthorized, code, desc)
}

// limitBody refuses bodies over MaxBodyBytes: declared ones at once with 413, streamed ones
// when reading passes the limit.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > MaxBodyBytes {
			writeJSONError(w, http.StatusRequestEntityTooLarge, "request_too_large",
				fmt.Sprintf("request bodies are limited to %d bytes", MaxBodyBytes))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		next.ServeHTTP(w, r)
	})
}

// refuseSubscriptions answers subscriptions/listen (protocol 2026-07-28) with "method not
// found", as the spec has servers do for methods they do not offer: no tool list or resource
// here ever changes, so a listen stream would carry nothing. (mcp-go v1.2.1 also races on
// such an empty stream and may drop its acknowledgement.) The method is known from the
// Mcp-Method header, which mcp-go requires on every 2026-07-28 request to match the body.
func refuseSubscriptions(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get(mcp.HeaderMethod) != string(mcp.MethodSubscriptionsListen) {
			next.ServeHTTP(w, r)
			return
		}
		var msg struct {
			ID json.RawMessage `json:"id"`
		}
		_ = json.NewDecoder(r.Body).Decode(&msg) // a bad body still gets the refusal, with a null id
		if len(msg.ID) == 0 {
			msg.ID = json.RawMessage("null")
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": msg.ID, "error": map[string]any{
			"code": mcp.METHOD_NOT_FOUND, "message": "subscriptions/listen is not offered: this server sends no notifications",
		}})
	})
}

// health reports whether the service can reach its database, in the shape the earlier
// Python backend used.
func (h *httpHandler) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	body := map[string]string{
		"status":      "healthy",
		"service":     "mcpserver",
		"version":     h.cfg.Version,
		"environment": h.cfg.Environment,
	}
	status := http.StatusOK
	if err := h.cfg.Pool.Ping(ctx); err != nil {
		h.cfg.Logger.ErrorContext(ctx, "health check: database unreachable", "error", err)
		body["status"], body["error"] = "unhealthy", "database unreachable"
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func writeJSONError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}

// normalizeOrigin reduces an origin to lower-case scheme://host[:port].
func normalizeOrigin(o string) (string, error) {
	u, err := url.Parse(strings.TrimSuffix(strings.TrimSpace(o), "/"))
	if err != nil || u.Scheme == "" || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return "", fmt.Errorf("%q is not an origin (scheme://host[:port])", o)
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), nil
}

// overLoopback reports whether the request came in on a loopback address of ours.
func overLoopback(r *http.Request) bool {
	addr, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok || addr == nil {
		return false
	}
	return loopback.Host(addr.String())
}

// Package mcphttp is mcpserver's HTTP surface: stateless streamable-HTTP MCP at /mcp behind
// DNS-rebinding and Origin checks, OAuth 2.1 resource-server duties (bearer tokens, the RFC
// 9728 protected-resource metadata, a scope per tool read from its annotations), per-user
// rate limits, a 503 while the database is away, health and readiness. The tools themselves
// live in package tasktools.
package mcphttp

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/taskwire/taskwire/internal/auth"
	"github.com/taskwire/taskwire/internal/httpedge"
	"github.com/taskwire/taskwire/internal/loopback"
	"github.com/taskwire/taskwire/internal/obs"
	"github.com/taskwire/taskwire/mcpserver/taskstore"
	"github.com/taskwire/taskwire/mcpserver/tasktools"
)

// MaxBodyBytes bounds a request body: a tool call is a few kilobytes, and mcp-go reads bodies
// whole.
const MaxBodyBytes = 1 << 20

// Paths served by NewHandler.
const (
	MCPPath    = "/mcp"
	HealthPath = "/health"
)

// The OAuth scopes of this resource: a tool whose annotations say readOnlyHint needs
// ScopeRead, every other tool ScopeWrite. Tokens without a scope claim hold both.
const (
	ScopeRead  = "tasks:read"
	ScopeWrite = "tasks:write"
)

// Scopes are listed in the protected-resource metadata and the 401 challenge.
var Scopes = []string{ScopeRead, ScopeWrite}

// Default per-user limits on tool calls (per replica).
const (
	DefaultRateLimit = 20 // tool calls per second
	DefaultRateBurst = 40
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
	// Health serves /health and /ready; pass the one the server drains. Nil: a new one.
	Health *httpedge.Health
	// Gate, when set, answers tool calls with 503 while the database is away (the caller
	// runs it and wires it to the pool).
	Gate *httpedge.DBGate
	// RateLimit (tool calls per second) and RateBurst bound each user's tool calls in this
	// process; zero: DefaultRateLimit and DefaultRateBurst.
	RateLimit float64
	RateBurst int
}

// NewHandler returns the whole HTTP surface of mcpserver: stateless streamable HTTP MCP at
// /mcp behind Origin/Host checks, a body limit, bearer authentication with a scope per tool,
// the per-user tool-call rate limit and the database gate; GET /health and GET /ready; and
// the OAuth protected-resource metadata (RFC 9728) at its root and path-specific well-known
// URLs. It can be mounted on any server, e.g. httptest.NewServer in another package's tests;
// serve it with httpedge.Server for the timeouts and the drain.
func NewHandler(cfg Config) (http.Handler, error) {
	if cfg.Pool == nil {
		return nil, errors.New("mcphttp: Config.Pool is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Verifier == nil && cfg.DevUser == "" {
		return nil, errors.New("mcphttp: Config.Verifier is required outside dev mode")
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
	mcpServer := tasktools.NewMCPServer(taskstore.New(cfg.Pool), cfg.Logger, cfg.Version, tools)
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
	if cfg.RateLimit <= 0 {
		cfg.RateLimit = DefaultRateLimit
	}
	if cfg.RateBurst <= 0 {
		cfg.RateBurst = DefaultRateBurst
	}
	if cfg.Health == nil {
		cfg.Health = &httpedge.Health{}
	}
	cfg.Health.Service, cfg.Health.Version, cfg.Health.Environment = "mcpserver", cfg.Version, cfg.Environment
	cfg.Health.DB, cfg.Health.Logger = cfg.Pool, cfg.Logger
	// The tool set is fixed once tasktools has built the server: one read-only snapshot
	// serves every call's scope check and dispatch, with no lock and no copy per call.
	h := &httpHandler{cfg: cfg, public: public, origins: origins, tools: mcpServer, toolSet: mcpServer.ListTools(),
		limiter: httpedge.NewRateLimiter(cfg.RateLimit, cfg.RateBurst, 0)}
	bearer := httpedge.Bearer{
		Verifier:         cfg.Verifier,
		ResourceMetadata: h.metadataURL,
		Scopes:           Scopes,
		NeededScope:      h.neededScope,
		Logger:           cfg.Logger,
	}
	if cfg.Verifier == nil { // a nil *auth.Verifier in the interface would not be nil
		bearer.Verifier = nil
	}
	if cfg.DevUser != "" {
		bearer.Anonymous = h.devUser
	}

	mux := http.NewServeMux()
	mux.Handle(MCPPath, h.guardHost(h.checkOrigin(httpedge.LimitBody(MaxBodyBytes,
		peekCalls(bearer.Wrap(h.limitCalls(h.refuseWhileDBDown(refuseSubscriptions(h.resourceNotFoundData(fastToolCalls(h.toolSet, streamable)))))))))))
	cfg.Health.Mount(mux)
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
	tools   *server.MCPServer
	toolSet map[string]*server.ServerTool
	limiter *httpedge.RateLimiter
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
		ScopesSupported:        Scopes,
		BearerMethodsSupported: []string{"header"},
		ResourceName:           "taskwire tasks",
	}).ServeHTTP(w, r)
}

// guardHost refuses DNS rebinding: a request that reached us over loopback must name a
// loopback host (or our public one), not a domain an attacker pointed at 127.0.0.1.
func (h *httpHandler) guardHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if overLoopback(r) && !loopback.Host(r.Host) && (h.public == nil || !strings.EqualFold(r.Host, h.public.Host)) {
			httpedge.WriteError(w, http.StatusForbidden, "forbidden_host", "this server does not answer to host "+r.Host)
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
			httpedge.WriteError(w, http.StatusForbidden, "forbidden_origin", "requests from origin "+origin+" are not allowed")
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

// devUser is who a request without any Authorization header acts as in dev mode — only
// over a loopback connection.
func (h *httpHandler) devUser(r *http.Request) (auth.Identity, bool) {
	return auth.Identity{UserID: h.cfg.DevUser}, overLoopback(r)
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
		writeRPCError(w, http.StatusNotFound, peeked(r).id, mcp.METHOD_NOT_FOUND,
			"subscriptions/listen is not offered: this server sends no notifications", nil)
	})
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

package httpedge

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"
)

// Pinger reports whether a dependency answers; *pgxpool.Pool is one.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Health serves GET /health (liveness with details, in the shape the earlier Python backend
// used) and GET /ready (may this replica take traffic?). Both answer 503 while the database
// does not answer or once Drain has been called, so a load balancer stops sending requests
// before the server stops accepting them.
type Health struct {
	Service     string
	Version     string
	Environment string
	// DB is pinged by both routes (bounded by PingTimeout). Nil: no database to check.
	DB          Pinger
	PingTimeout time.Duration // default 2 s
	Logger      *slog.Logger  // nil: slog.Default()

	draining atomic.Bool
}

// HealthBody is the /health answer.
type HealthBody struct {
	Status      string `json:"status"` // healthy, unhealthy or draining
	Service     string `json:"service"`
	Version     string `json:"version"`
	Environment string `json:"environment"`
	Database    string `json:"database"` // ok, unreachable or none
}

// Drain marks the replica as going away: from now on both routes answer 503.
func (h *Health) Drain() { h.draining.Store(true) }

// Draining reports whether Drain has been called.
func (h *Health) Draining() bool { return h.draining.Load() }

// dbStatus pings the database: "ok", "unreachable" or "none".
func (h *Health) dbStatus(ctx context.Context) string {
	if h.DB == nil {
		return "none"
	}
	timeout := h.PingTimeout
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := h.DB.Ping(ctx); err != nil {
		logger := h.Logger
		if logger == nil {
			logger = slog.Default()
		}
		logger.WarnContext(ctx, "health check: database unreachable", "error", err)
		return "unreachable"
	}
	return "ok"
}

// ServeHealth is GET /health.
func (h *Health) ServeHealth(w http.ResponseWriter, r *http.Request) {
	body := HealthBody{Status: "healthy", Service: h.Service, Version: h.Version, Environment: h.Environment}
	body.Database = h.dbStatus(r.Context())
	status := http.StatusOK
	switch {
	case h.Draining():
		body.Status, status = "draining", http.StatusServiceUnavailable
	case body.Database == "unreachable":
		body.Status, status = "unhealthy", http.StatusServiceUnavailable
	}
	WriteJSON(w, status, body)
}

// ServeReady is GET /ready: 200 {"status":"ready"} when serving and the database answers,
// else 503 {"status":"draining"|"unavailable"}.
func (h *Health) ServeReady(w http.ResponseWriter, r *http.Request) {
	switch {
	case h.Draining():
		WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "draining"})
	case h.dbStatus(r.Context()) == "unreachable":
		WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
	default:
		WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	}
}

// Mount adds GET /health and GET /ready to mux.
func (h *Health) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET /health", h.ServeHealth)
	mux.HandleFunc("GET /ready", h.ServeReady)
}

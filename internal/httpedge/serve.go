package httpedge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// ErrDraining is the cancellation cause of request contexts ended by a drain (Server with
// CancelOnDrain): handlers that stream tell it from a client that went away.
var ErrDraining = errors.New("the server is shutting down")

// Defaults of Server; each service may override them from its configuration.
const (
	DefaultShutdownTimeout   = 25 * time.Second
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultBodyTimeout       = 30 * time.Second
	DefaultIdleTimeout       = 2 * time.Minute
	DefaultMaxHeaderBytes    = 64 << 10
)

// Server serves a handler until its context ends, then drains: readiness turns 503 at once,
// the listener closes (new connections are refused), requests in flight finish within
// ShutdownTimeout, and whatever is left after that is closed. Slow clients are bounded by
// the header timeout, the body deadline (BodyDeadline, applied here to every request), the
// idle timeout and the header size limit; responses themselves may take as long as they
// need, which server-sent event streams do.
type Server struct {
	Handler http.Handler
	Logger  *slog.Logger // also receives net/http's own errors; nil: slog.Default()
	// Health is drained first; nil: none.
	Health *Health
	// CancelOnDrain cancels every request's context with cause ErrDraining when the drain
	// begins, for handlers that would otherwise run past the deadline (open chat streams);
	// they must end their responses cleanly when it fires.
	CancelOnDrain bool

	ShutdownTimeout   time.Duration
	ReadHeaderTimeout time.Duration
	BodyTimeout       time.Duration
	IdleTimeout       time.Duration
	MaxHeaderBytes    int
	// WriteTimeout bounds a whole response, so a client that stops reading cannot hold a
	// handler. Zero: none, for services whose streams bound each write themselves.
	WriteTimeout time.Duration
}

func (s *Server) defaults() {
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	setDefault(&s.ShutdownTimeout, DefaultShutdownTimeout)
	setDefault(&s.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	setDefault(&s.BodyTimeout, DefaultBodyTimeout)
	setDefault(&s.IdleTimeout, DefaultIdleTimeout)
	setDefault(&s.MaxHeaderBytes, DefaultMaxHeaderBytes)
}

func setDefault[T int | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// Serve accepts on ln until ctx ends, then drains as described on Server. It returns nil
// after a clean drain.
func (s Server) Serve(ctx context.Context, ln net.Listener) error {
	s.defaults()
	base, cancelRequests := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancelRequests(nil)
	srv := &http.Server{
		Handler:           BodyDeadline(s.BodyTimeout, s.Handler),
		ReadHeaderTimeout: s.ReadHeaderTimeout,
		IdleTimeout:       s.IdleTimeout,
		WriteTimeout:      s.WriteTimeout,
		MaxHeaderBytes:    s.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.Logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return base },
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve HTTP: %w", err)
	case <-ctx.Done():
	}
	s.Logger.Info("draining: readiness is 503, new connections are refused", "timeout", s.ShutdownTimeout.String())
	if s.Health != nil {
		s.Health.Drain()
	}
	if s.CancelOnDrain {
		cancelRequests(ErrDraining)
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), s.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("requests still running after SHUTDOWN_TIMEOUT (%s) were cut off: %w", s.ShutdownTimeout, err)
	}
	s.Logger.Info("drained")
	return nil
}

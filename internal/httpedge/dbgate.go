package httpedge

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"
)

// DBGate answers requests with 503 and Retry-After while the database is known to be
// unreachable, instead of letting each one fail in its own way (a tool error a model reads
// as bad arguments, a half-run chat turn). It learns of an outage from Report (wired to the
// pool, see db.ReportUnavailable) or from its own pings, and opens again as soon as a
// background ping succeeds; the pool reconnects by itself.
type DBGate struct {
	DB Pinger
	// Interval between pings while the database answers (default 2 s); while it does not,
	// pings are four times as frequent, so recovery is noticed quickly.
	Interval time.Duration
	// RetryAfter is what refused clients are told (default 1 s).
	RetryAfter time.Duration
	Logger     *slog.Logger

	down atomic.Bool
	kick chan struct{}
}

// NewDBGate returns a gate over db with the default timings.
func NewDBGate(db Pinger, logger *slog.Logger) *DBGate {
	if logger == nil {
		logger = slog.Default()
	}
	return &DBGate{DB: db, Logger: logger, kick: make(chan struct{}, 1)}
}

// Down reports whether the gate is refusing requests.
func (g *DBGate) Down() bool { return g.down.Load() }

type watchKey struct{}

// WatchUnavailable marks ctx so that a Report made with it (or with a context derived from
// it, such as a query's) is remembered; failed says whether one was. A handler uses it to
// tell "this request failed because the database went away" from its other failures.
func WatchUnavailable(ctx context.Context) (_ context.Context, failed func() bool) {
	var hit atomic.Bool
	return context.WithValue(ctx, watchKey{}, &hit), hit.Load
}

// Report tells the gate the database just failed to answer the request of ctx: it closes at
// once, the background loop starts checking for the way back, and a WatchUnavailable on ctx
// learns of it. It fits db.ReportUnavailable.
func (g *DBGate) Report(ctx context.Context, err error) {
	if hit, ok := ctx.Value(watchKey{}).(*atomic.Bool); ok {
		hit.Store(true)
	}
	if !g.close(err) {
		return // already closed: the loop is polling
	}
	select {
	case g.kick <- struct{}{}:
	default:
	}
}

// close closes the gate and reports whether it was open.
func (g *DBGate) close(err error) bool {
	if !g.down.CompareAndSwap(false, true) {
		return false
	}
	g.Logger.Warn("database unreachable: answering 503 until it is back", "error", err)
	return true
}

// Run pings the database until ctx ends, opening and closing the gate.
func (g *DBGate) Run(ctx context.Context) {
	interval := g.Interval
	if interval <= 0 {
		interval = 2 * time.Second
	}
	for {
		wait := interval
		if g.down.Load() {
			wait = interval / 4
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		case <-g.kick:
		}
		pingCtx, cancel := context.WithTimeout(ctx, interval)
		err := g.DB.Ping(pingCtx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			g.close(err)
		case g.down.CompareAndSwap(true, false):
			g.Logger.Info("database reachable again")
		}
	}
}

// Wrap refuses requests to next while the gate is closed, and turns a server error that a
// request ends with after meeting the outage itself (its own Report) into the same 503.
func (g *DBGate) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.down.Load() {
			g.refuse(w)
			return
		}
		ctx, failed := WatchUnavailable(r.Context())
		next.ServeHTTP(&outageWriter{ResponseWriter: w, gate: g, failed: failed}, r.WithContext(ctx))
	})
}

func (g *DBGate) refuse(w http.ResponseWriter) {
	after := g.RetryAfter
	if after <= 0 {
		after = time.Second
	}
	WriteRetryable(w, http.StatusServiceUnavailable, CodeUnavailable, "the database is unreachable; try again shortly", after)
}

// outageWriter replaces a 5xx answer with the gate's 503 when the request met the outage.
// Answers already under way (a stream's 200) are never touched.
type outageWriter struct {
	http.ResponseWriter
	gate     *DBGate
	failed   func() bool
	replaced bool
}

func (o *outageWriter) WriteHeader(status int) {
	if status >= 500 && o.failed() {
		o.replaced = true
		o.gate.refuse(o.ResponseWriter)
		return
	}
	o.ResponseWriter.WriteHeader(status)
}

func (o *outageWriter) Write(b []byte) (int, error) {
	if o.replaced {
		return len(b), nil // the handler's own error body
	}
	return o.ResponseWriter.Write(b)
}

// Flush and Unwrap keep streaming and http.ResponseController working through the wrapper.
func (o *outageWriter) Flush() {
	if !o.replaced {
		_ = http.NewResponseController(o.ResponseWriter).Flush()
	}
}

func (o *outageWriter) Unwrap() http.ResponseWriter { return o.ResponseWriter }

package obs

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// RequestIDHeader is read from requests (when well-formed) and always set on responses, so a
// user's report and a proxy's call to mcpserver can be matched to log lines.
const RequestIDHeader = "X-Request-Id"

// unmatchedRoute labels requests no ServeMux pattern matched (404s, 405s): a fixed label keeps
// scanners probing random paths from creating a time series per path.
const unmatchedRoute = "unmatched"

// HTTP logs and counts the requests of one service.
type HTTP struct {
	log      *slog.Logger
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewHTTP registers the request metrics on reg (it panics if they are already registered:
// one HTTP per registry) and logs each request to log.
func NewHTTP(reg prometheus.Registerer, log *slog.Logger) *HTTP {
	h := &HTTP{
		log: log,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "taskwire_http_requests_total",
			Help: "HTTP requests by route pattern (it holds the method when the route names one) and status code.",
		}, []string{"route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "taskwire_http_request_duration_seconds",
			Help: "HTTP request latency by route pattern (streamed ChatKit responses included, hence the long buckets).",
			// Streaming chat turns last seconds to minutes; JSON routes take milliseconds.
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120},
		}, []string{"route"}),
	}
	reg.MustRegister(h.requests, h.duration)
	return h
}

// Middleware wraps a service's *http.ServeMux (put it directly around the mux: the route label
// is the pattern the mux matched, read from the request after it has served). It assigns or
// propagates X-Request-Id, puts the request id in the context for loggers, logs one line per
// request — method, route, path (never the query string), status, duration, bytes; never a
// header — and records the request metrics. /health, /ready and /metrics are logged at debug level so
// probes and scrapes do not drown the log.
func (h *HTTP) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get(RequestIDHeader)
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set(RequestIDHeader, id)
		ctx := WithRequestID(r.Context(), id)
		r = r.WithContext(ctx)
		rec := &recorder{ResponseWriter: w}

		next.ServeHTTP(rec, r)

		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		route := r.Pattern
		if route == "" {
			route = unmatchedRoute
		}
		elapsed := time.Since(start)
		h.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
		h.duration.WithLabelValues(route).Observe(elapsed.Seconds())

		level := slog.LevelInfo
		switch {
		case status >= 500:
			level = slog.LevelError
		case r.URL.Path == "/health" || r.URL.Path == "/ready" || r.URL.Path == "/metrics":
			level = slog.LevelDebug
		}
		h.log.LogAttrs(ctx, level, "http request",
			slog.String("method", r.Method),
			slog.String("route", route),
			slog.String("path", r.URL.Path),
			slog.Int("status", status),
			slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
			slog.Int64("bytes", rec.bytes),
		)
	})
}

// recorder remembers the status and counts the body bytes. It keeps streaming working: Flush
// for code that type-asserts http.Flusher (SSE writers, mcp-go), Unwrap for
// http.ResponseController (deadlines, hijacking).
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 && code >= 200 { // 1xx (103 Early Hints) is not the final status
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

func (r *recorder) Flush() {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	_ = http.NewResponseController(r.ResponseWriter).Flush()
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Transport sets X-Request-Id on outgoing requests from the context's request id, so a
// chatproxy request and the mcpserver calls it makes share one id in the logs. base nil means
// http.DefaultTransport.
func Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return roundTripper{base}
}

type roundTripper struct{ base http.RoundTripper }

func (t roundTripper) RoundTrip(r *http.Request) (*http.Response, error) {
	id := RequestID(r.Context())
	if id == "" || r.Header.Get(RequestIDHeader) != "" {
		return t.base.RoundTrip(r)
	}
	r = r.Clone(r.Context()) // a RoundTripper must not modify the caller's request
	r.Header.Set(RequestIDHeader, id)
	return t.base.RoundTrip(r)
}

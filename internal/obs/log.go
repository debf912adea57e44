// Package obs is the observability both services share: JSON logs that carry the request and
// user of every record and never a credential, an HTTP middleware that logs and counts each
// request by its route pattern, and the Prometheus metrics the services record (tool calls, LLM
// latency and tokens, database pool). Every service owns its registry; nothing here is global,
// so tests and two servers in one process never see each other's numbers.
package obs

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"

	"github.com/taskwire/taskwire/internal/auth"
)

// NewLogger returns a JSON logger at the level named by level (LOG_LEVEL: debug, info, warn or
// warning, error; empty means info). Its records carry service, and request_id and user_id
// whenever the context passed to the *Context methods has them.
func NewLogger(w io.Writer, level, service string) (*slog.Logger, error) {
	lvl, err := ParseLevel(level)
	if err != nil {
		return nil, err
	}
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lvl, ReplaceAttr: redact})
	return slog.New(NewContextHandler(h)).With("service", service), nil
}

// ParseLevel reads a LOG_LEVEL value. It accepts the names the earlier Python backend used
// (WARNING, any case) so existing deployments keep working.
func ParseLevel(s string) (slog.Level, error) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "":
		return slog.LevelInfo, nil
	case "warning":
		return slog.LevelWarn, nil
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("LOG_LEVEL %q: want debug, info, warn or error", s)
	}
	return lvl, nil
}

// secretKeys are attribute keys whose values are replaced before a record is written: a
// guard against a careless logger.Info("...", "token", tok) anywhere in the code.
var secretKeys = map[string]bool{
	"authorization": true, "token": true, "access_token": true, "refresh_token": true,
	"id_token": true, "password": true, "secret": true, "api_key": true, "cookie": true,
	"client_secret": true, "bearer": true,
}

func redact(_ []string, a slog.Attr) slog.Attr {
	if secretKeys[strings.ToLower(a.Key)] {
		return slog.String(a.Key, "[REDACTED]")
	}
	return a
}

// contextHandler adds request_id and user_id from the context to every record, so code deep
// in a request only needs logger.InfoContext(ctx, ...) to be traceable.
type contextHandler struct{ slog.Handler }

// NewContextHandler wraps h so records logged with a request's context carry request_id and
// user_id (the authenticated user from auth.UserFrom, else one noted with SetUser).
func NewContextHandler(h slog.Handler) slog.Handler { return contextHandler{h} }

func (h contextHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	if user := UserID(ctx); user != "" {
		r.AddAttrs(slog.String("user_id", user))
	}
	return h.Handler.Handle(ctx, r)
}

func (h contextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return contextHandler{h.Handler.WithAttrs(attrs)}
}

func (h contextHandler) WithGroup(name string) slog.Handler {
	return contextHandler{h.Handler.WithGroup(name)}
}

// requestState is shared, by pointer, between the middleware and everything below it: the
// middleware's own access-log line is written after the handler returns, when the context the
// auth layer derived is gone, so the auth layer notes the user here too (SetUser).
type requestState struct {
	id   string
	user atomic.Pointer[string] // written by the auth layer, read by loggers on any goroutine
}

type stateKey struct{}

// WithRequestID returns a context carrying request id id, for work that starts outside an
// HTTP request (a background job, a stdio session) but should still be traceable.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, stateKey{}, &requestState{id: id})
}

// RequestID is the id of the request ctx belongs to, or "".
func RequestID(ctx context.Context) string {
	if s, ok := ctx.Value(stateKey{}).(*requestState); ok {
		return s.id
	}
	return ""
}

// SetUser notes the authenticated user on the request, so the middleware's access-log line
// carries user_id. Call it from the auth middleware next to auth.WithUser; it does nothing
// outside a request started by Middleware.
func SetUser(ctx context.Context, userID string) {
	if s, ok := ctx.Value(stateKey{}).(*requestState); ok {
		s.user.Store(&userID)
	}
}

// UserID is the authenticated user of ctx (auth.UserFrom), else the one noted by SetUser, or "".
func UserID(ctx context.Context) string {
	if id, ok := auth.UserFrom(ctx); ok {
		return id.UserID
	}
	if s, ok := ctx.Value(stateKey{}).(*requestState); ok {
		if u := s.user.Load(); u != nil {
			return *u
		}
	}
	return ""
}

// newRequestID is 26 characters of base32 randomness: unique enough to find one request in
// the logs of many replicas.
func newRequestID() string { return rand.Text() }

// validRequestID accepts an incoming X-Request-Id only when it is short and made of safe
// characters, so a client cannot inject confusing text into the logs.
func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, c := range id {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '-', c == '_', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}

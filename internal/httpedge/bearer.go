package httpedge

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/taskwire/taskwire/internal/auth"
	"github.com/taskwire/taskwire/internal/obs"
)

// TokenVerifier checks a bearer token; *auth.Verifier is one.
type TokenVerifier interface {
	Verify(ctx context.Context, raw string) (auth.Identity, error)
}

// Bearer authenticates requests with a bearer token (RFC 6750) and, for OAuth clients, says
// how to get one: a missing or bad token is answered 401 with a WWW-Authenticate challenge
// naming the protected-resource metadata and the scopes (MCP authorization), and a good
// token that lacks the scope a request needs gets 403 insufficient_scope naming it, so the
// client can step up. The verified user goes into the request context (auth.WithUser).
type Bearer struct {
	// Verifier checks tokens. Nil refuses every token (a dev server without keys).
	Verifier TokenVerifier
	// Realm, when set, is named in every challenge.
	Realm string
	// ResourceMetadata returns the URL of the RFC 9728 metadata for r; nil: the challenge
	// carries no resource_metadata.
	ResourceMetadata func(r *http.Request) string
	// Scopes are all the scopes this resource knows; the 401 challenge lists them, so a
	// client asks for them when it signs in.
	Scopes []string
	// NeededScope returns the scope r needs ("" for none beyond a valid token). It may read
	// the body if it puts back an equivalent one.
	NeededScope func(r *http.Request) string
	// Anonymous returns who a request without any Authorization header acts as, if anyone
	// (loopback dev mode); nil: nobody.
	Anonymous func(r *http.Request) (auth.Identity, bool)
	// Logger records why tokens were refused (never the token); nil: slog.Default().
	Logger *slog.Logger
}

// Wrap puts the authentication in front of next.
func (b Bearer) Wrap(next http.Handler) http.Handler {
	if b.Logger == nil {
		b.Logger = slog.Default()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		header := r.Header.Get("Authorization")
		raw, ok := auth.ParseBearer(header)
		var id auth.Identity
		switch {
		case !ok && header == "" && b.Anonymous != nil:
			if id, ok = b.Anonymous(r); !ok {
				b.unauthorized(w, r, false)
				return
			}
		case !ok:
			b.unauthorized(w, r, header != "")
			return
		case b.Verifier == nil:
			b.unauthorized(w, r, true)
			return
		default:
			var err error
			if id, err = b.Verifier.Verify(r.Context(), raw); err != nil {
				// The reason helps operators, never the caller (it could tune a forgery).
				b.Logger.InfoContext(r.Context(), "rejected bearer token", "error", err, "remote", r.RemoteAddr)
				b.unauthorized(w, r, true)
				return
			}
		}
		obs.SetUser(r.Context(), id.UserID)
		if b.NeededScope != nil {
			if need := b.NeededScope(r); need != "" && !id.HasScope(need) {
				b.forbidden(w, r, need)
				return
			}
		}
		next.ServeHTTP(w, r.WithContext(auth.WithUser(r.Context(), id)))
	})
}

// challenge builds a WWW-Authenticate value from name="value" pairs (empty values left out).
func challenge(pairs ...string) string {
	var parts []string
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			parts = append(parts, fmt.Sprintf("%s=%q", pairs[i], pairs[i+1]))
		}
	}
	return strings.TrimSpace("Bearer " + strings.Join(parts, ", "))
}

func (b Bearer) metadataURL(r *http.Request) string {
	if b.ResourceMetadata == nil {
		return ""
	}
	return b.ResourceMetadata(r)
}

// unauthorized answers 401. badToken says a credential was sent (and refused), which adds
// error="invalid_token" so a client knows to sign in again rather than to add a header.
func (b Bearer) unauthorized(w http.ResponseWriter, r *http.Request, badToken bool) {
	code, msg, errParam := CodeUnauthorized, "this endpoint needs a bearer token: Authorization: Bearer <token>", ""
	if badToken {
		code, msg, errParam = CodeInvalidToken, "the bearer token is malformed, expired, or not issued for this server", "invalid_token"
	}
	w.Header().Set("WWW-Authenticate", challenge("realm", b.Realm, "resource_metadata", b.metadataURL(r),
		"scope", strings.Join(b.Scopes, " "), "error", errParam))
	WriteError(w, http.StatusUnauthorized, code, msg)
}

// forbidden answers 403 insufficient_scope naming the scope the request needs (RFC 6750
// §3.1; MCP step-up authorization), so the client can ask the user for it.
func (b Bearer) forbidden(w http.ResponseWriter, r *http.Request, need string) {
	w.Header().Set("WWW-Authenticate", challenge("error", "insufficient_scope", "scope", need,
		"realm", b.Realm, "resource_metadata", b.metadataURL(r)))
	WriteError(w, http.StatusForbidden, CodeInsufficientScope, "this request needs the scope "+need+", which the token does not grant")
}

// Package auth is the one token contract that mcpserver and chatproxy share: a user is the
// subject of a JWT verified with a shared HS256 secret (BETTER_AUTH_SECRET) and/or the keys of
// a JWKS endpoint (Better Auth's JWT plugin signs with EdDSA; RS256 and ES256 are accepted
// too), with issuer and audience checked when configured. Identity never comes from anything
// a model or a client can write into a request body.
package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"github.com/hashicorp/golang-lru/v2/expirable"
	"golang.org/x/time/rate"
)

// Leeway absorbs clock skew between the token's issuer and us; kept small so an expired
// token stops working almost at once.
const Leeway = 30 * time.Second

// MaxUserIDLength bounds the subject we accept: it is stored with every row the user owns.
const MaxUserIDLength = 255

// jwksAlgorithms are the asymmetric algorithms accepted from JWKS keys. HS256 is accepted only
// with the shared secret, never with a JWKS key, which rules out algorithm confusion.
var jwksAlgorithms = []string{"EdDSA", "RS256", "ES256"}

// Config says which tokens a Verifier accepts. At least one of Secret and JWKSURL is needed.
type Config struct {
	// Secret verifies HS256 tokens (BETTER_AUTH_SECRET). Empty: HS256 is refused.
	Secret []byte
	// JWKSURL is fetched for EdDSA/RS256/ES256 public keys, refreshed hourly and on an
	// unknown key id. Empty: only HS256 is accepted.
	JWKSURL string
	// Issuer, when set, must equal the token's iss.
	Issuer string
	// Audience, when set, must be one of the token's aud values.
	Audience string
	// Audiences are further audiences accepted in place of Audience (a resource known by
	// two names, e.g. MCP_AUDIENCE and its public URL); the token must name at least one.
	Audiences []string
	// HTTPClient fetches the JWKS; nil means a client with a 10 s timeout.
	HTTPClient *http.Client
	// Logger receives JWKS refresh failures; nil means slog.Default().
	Logger *slog.Logger
}

// Identity is who a verified token speaks for.
type Identity struct {
	UserID    string
	ExpiresAt time.Time
	// Scopes are the token's scope claim, split at spaces.
	Scopes []string
	// ScopeLimited is true when the token carried a scope claim: then it grants only Scopes.
	// Tokens without one (HS256 tokens minted with the shared secret, Better Auth session
	// JWTs, the dev user) are first-party credentials and grant every scope.
	ScopeLimited bool
}

// HasScope reports whether the identity may do what scope allows.
func (id Identity) HasScope(scope string) bool {
	return !id.ScopeLimited || slices.Contains(id.Scopes, scope)
}

// ErrInvalidToken is the cause behind every rejected token; callers answer it with 401 and
// never echo the details (they can help an attacker tune forgeries).
var ErrInvalidToken = errors.New("invalid token")

// Verifier checks bearer tokens. It is safe for concurrent use.
type Verifier struct {
	cfg     Config
	parser  *jwt.Parser
	jwks    keyfunc.Keyfunc
	methods map[string]bool
	// verified remembers tokens that passed, by the SHA-256 of the raw token, until they
	// expire: a host sends the same token with every call, and a signature check costs far
	// more than the rest of a small tool call. Failures are never cached.
	verified *expirable.LRU[[sha256.Size]byte, Identity]
}

// Token cache bounds: entries beyond cacheSize evict the least recently used; cacheTTL caps
// how long a token is trusted without a fresh check (e.g. after its key left the JWKS).
const (
	cacheSize = 10_000
	cacheTTL  = 5 * time.Minute
)

// unknownKIDRefresh bounds JWKS refetches for tokens naming a key we do not have: a rotated
// key is picked up at once, while forged key ids cannot turn us into a JWKS flooder.
// unknownKIDWait is the longest a request waits for its turn to refetch.
const (
	unknownKIDRefresh = 10 * time.Second
	unknownKIDWait    = time.Second
)

// NewVerifier builds a Verifier. With a JWKS URL, keys are fetched in the background until ctx
// ends; an unreachable JWKS at start is logged, not fatal, so the services can start before
// the auth server does.
func NewVerifier(ctx context.Context, cfg Config) (*Verifier, error) {
	if len(cfg.Secret) == 0 && cfg.JWKSURL == "" {
		return nil, errors.New("no way to verify tokens: set BETTER_AUTH_SECRET and/or a JWKS URL")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	v := &Verifier{cfg: cfg, methods: map[string]bool{}, verified: expirable.NewLRU[[sha256.Size]byte, Identity](cacheSize, nil, cacheTTL)}
	if len(cfg.Secret) > 0 {
		v.methods["HS256"] = true
	}
	if cfg.JWKSURL != "" {
		client := cfg.HTTPClient
		if client == nil {
			client = &http.Client{Timeout: 10 * time.Second}
		}
		logger := cfg.Logger
		kf, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{cfg.JWKSURL}, keyfunc.Override{
			Client:            client,
			HTTPTimeout:       10 * time.Second,
			RefreshUnknownKID: rate.NewLimiter(rate.Every(unknownKIDRefresh), 1),
			RateLimitWaitMax:  unknownKIDWait,
			RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
				return func(ctx context.Context, err error) {
					logger.WarnContext(ctx, "JWKS refresh failed", "url", u, "error", err)
				}
			},
		})
		if err != nil {
			return nil, fmt.Errorf("set up JWKS %s: %w", cfg.JWKSURL, err)
		}
		v.jwks = kf
		for _, m := range jwksAlgorithms {
			v.methods[m] = true
		}
	}
	valid := make([]string, 0, len(v.methods))
	for m := range v.methods {
		valid = append(valid, m)
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(valid),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(Leeway),
		jwt.WithIssuedAt(),
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if auds := cfg.audiences(); len(auds) > 0 {
		opts = append(opts, jwt.WithAudience(auds...))
	}
	v.parser = jwt.NewParser(opts...)
	return v, nil
}

// audiences are the non-empty accepted audiences.
func (c Config) audiences() []string {
	var out []string
	for _, a := range append([]string{c.Audience}, c.Audiences...) {
		if a != "" && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// claims are the parts of a token we read; scope follows RFC 8693 (space-separated). A nil
// Scope means the claim is absent, which is not the same as an empty one.
type claims struct {
	jwt.RegisteredClaims
	Scope *string `json:"scope,omitempty"`
}

// Verify checks a raw token and returns whose it is. Every failure wraps ErrInvalidToken.
// Tokens that passed are remembered until they expire (at most cacheTTL), so a host that
// sends the same token with every call pays for one signature check.
func (v *Verifier) Verify(ctx context.Context, raw string) (Identity, error) {
	key := sha256.Sum256([]byte(raw))
	if id, ok := v.verified.Get(key); ok {
		if time.Now().Before(id.ExpiresAt) {
			return id, nil
		}
		v.verified.Remove(key)
	}
	id, err := v.verify(ctx, raw)
	if err != nil {
		return Identity{}, err
	}
	v.verified.Add(key, id)
	return id, nil
}

func (v *Verifier) verify(ctx context.Context, raw string) (Identity, error) {
	var c claims
	_, err := v.parser.ParseWithClaims(raw, &c, func(t *jwt.Token) (any, error) {
		// We implement no JWS extension, so a token that says one must be understood
		// cannot be (RFC 7515 §4.1.11).
		if _, ok := t.Header["crit"]; ok {
			return nil, errors.New(`the token's "crit" header names extensions this server does not implement`)
		}
		alg := t.Method.Alg()
		switch {
		case alg == "HS256" && len(v.cfg.Secret) > 0:
			return v.cfg.Secret, nil
		case alg != "HS256" && v.jwks != nil:
			return v.jwks.KeyfuncCtx(ctx)(t)
		}
		return nil, fmt.Errorf("algorithm %s is not accepted here", alg)
	})
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if err := ValidateUserID(c.Subject); err != nil {
		return Identity{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	id := Identity{UserID: c.Subject, ExpiresAt: c.ExpiresAt.Time} // exp is required by the parser
	if c.Scope != nil {
		id.Scopes, id.ScopeLimited = strings.Fields(*c.Scope), true
	}
	return id, nil
}

// ValidateUserID rejects subjects we will not store as an owner: empty or blank, padded with
// white space or invisible characters of any Unicode kind (so "alice" and "alice\u00a0" can
// never be two accounts), overlong, not UTF-8, or holding control characters. The stdio server
// and dev mode apply it to configured users too.
func ValidateUserID(id string) error {
	switch {
	case strings.TrimFunc(id, invisible) == "":
		return errors.New("user id (sub) is empty or blank")
	case len(id) > MaxUserIDLength:
		return fmt.Errorf("user id (sub) is longer than %d bytes", MaxUserIDLength)
	case !utf8.ValidString(id):
		return errors.New("user id (sub) is not valid UTF-8")
	case strings.ContainsFunc(id, unicode.IsControl):
		return errors.New("user id (sub) contains control characters")
	case strings.TrimFunc(id, invisible) != id:
		return errors.New("user id (sub) starts or ends with white space")
	}
	return nil
}

// invisible is white space (NBSP and the ideographic space included) and the format
// characters that render as nothing (zero-width space, byte-order mark).
func invisible(r rune) bool {
	return unicode.IsSpace(r) || unicode.Is(unicode.Cf, r)
}

// MintOptions describe a token to sign with the shared secret.
type MintOptions struct {
	UserID   string
	Audience string // empty: no aud claim
	Issuer   string // empty: no iss claim
	TTL      time.Duration
	Scope    string
	Now      time.Time // zero: time.Now()
}

// Mint signs an HS256 token. It serves `mcpserver token` (a static bearer for hosts that take
// one), chatproxy (a short-lived token for mcpserver's audience on the user's behalf), dev
// mode and tests — all of which share the secret mcpserver verifies with.
func Mint(secret []byte, o MintOptions) (string, error) {
	if len(secret) == 0 {
		return "", errors.New("cannot mint a token without a secret (BETTER_AUTH_SECRET)")
	}
	if err := ValidateUserID(o.UserID); err != nil {
		return "", err
	}
	if o.TTL <= 0 {
		return "", errors.New("token lifetime must be positive")
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	c := claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   o.UserID,
			Issuer:    o.Issuer,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(o.TTL)),
		},
	}
	if o.Scope != "" {
		c.Scope = &o.Scope
	}
	if o.Audience != "" {
		c.Audience = jwt.ClaimStrings{o.Audience}
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(secret)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}

// BearerToken extracts the token from an Authorization header ("Bearer <token>", scheme
// case-insensitive). Tokens are never read from the query string.
func BearerToken(r *http.Request) (string, bool) {
	return ParseBearer(r.Header.Get("Authorization"))
}

// ParseBearer reads an Authorization header value: the scheme "Bearer" (any case), spaces,
// and one token68 (RFC 6750 §2.1); anything else is no bearer token at all.
func ParseBearer(h string) (string, bool) {
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.Trim(token, " \t")
	if token == "" || strings.ContainsFunc(token, notToken68) {
		return "", false
	}
	return token, true
}

// notToken68 reports a character outside token68: ALPHA / DIGIT / "-._~+/" and trailing "=".
func notToken68(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return false
	}
	return !strings.ContainsRune("-._~+/=", r)
}

type userKey struct{}

// WithUser records the authenticated user in ctx, for handlers further down.
func WithUser(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, userKey{}, id)
}

// UserFrom returns the authenticated user recorded by WithUser. Handlers that touch user data
// must fail closed when ok is false.
func UserFrom(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(userKey{}).(Identity)
	return id, ok && id.UserID != ""
}

package mcpclient

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/taskwire/taskwire/internal/auth"
)

// User is who a call is made for: the verified user id and, when the request carried one, the
// user's own bearer token (already verified by the proxy).
type User struct {
	ID    string
	Token string
}

// TokenSource returns the bearer token that makes mcpserver act as user. The model never
// influences it: it comes from the request's verified credentials only.
type TokenSource func(ctx context.Context, user User) (string, error)

// Token lifetimes for minted tokens.
const (
	DefaultMintTTL = 5 * time.Minute
	// renewBefore is how long before expiry a token is no longer handed out, so that it cannot
	// expire in flight (and a little clock skew does not matter).
	renewBefore = time.Minute
	// maxMinted bounds the cache of minted tokens; expired ones are swept when it is reached.
	maxMinted = 10000
)

// TokenConfig says how to obtain mcpserver credentials.
type TokenConfig struct {
	// Audience is the audience mcpserver checks (empty: it checks none). A user's token whose
	// aud contains it is passed through; otherwise a token is minted for it.
	Audience string
	// Secret is the HS256 key mcpserver trusts (BETTER_AUTH_SECRET). Without it, only users'
	// own tokens can be used.
	Secret []byte
	// Issuer is set as iss on minted tokens when mcpserver checks one.
	Issuer string
	// TTL of minted tokens; zero means DefaultMintTTL.
	TTL time.Duration
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// Tokens implements the credential contract of DESIGN.md: the user's own token when its
// audience fits mcpserver's, else a short-lived HS256 token minted for mcpserver's audience
// and cached per user until shortly before it expires. Safe for concurrent use.
type Tokens struct {
	cfg    TokenConfig
	mu     sync.Mutex
	minted map[string]minted
}

type minted struct {
	token   string
	expires time.Time
}

// NewTokens validates cfg and returns a Tokens.
func NewTokens(cfg TokenConfig) (*Tokens, error) {
	if cfg.TTL == 0 {
		cfg.TTL = DefaultMintTTL
	}
	if cfg.TTL <= renewBefore {
		return nil, fmt.Errorf("minted token lifetime %s must be longer than %s", cfg.TTL, renewBefore)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Tokens{cfg: cfg, minted: map[string]minted{}}, nil
}

// Source returns t.Token as a TokenSource.
func (t *Tokens) Source() TokenSource { return t.Token }

// Token returns the bearer token to send to mcpserver for user.
func (t *Tokens) Token(_ context.Context, user User) (string, error) {
	if err := auth.ValidateUserID(user.ID); err != nil {
		return "", fmt.Errorf("credentials for mcpserver: %w", err)
	}
	now := t.cfg.Now()
	if user.Token != "" {
		// A token about to expire is still better than none when we cannot mint.
		if fits, fresh := t.fits(user, now); fits && (fresh || len(t.cfg.Secret) == 0) {
			return user.Token, nil
		}
	}
	if len(t.cfg.Secret) == 0 {
		return "", errors.New("cannot call mcpserver as this user: their token is not for mcpserver's " +
			"audience and BETTER_AUTH_SECRET is not set to mint one")
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if m, ok := t.minted[user.ID]; ok && now.Before(m.expires.Add(-renewBefore)) {
		return m.token, nil
	}
	token, err := auth.Mint(t.cfg.Secret, auth.MintOptions{
		UserID: user.ID, Audience: t.cfg.Audience, Issuer: t.cfg.Issuer, TTL: t.cfg.TTL, Now: now,
	})
	if err != nil {
		return "", fmt.Errorf("mint a token for mcpserver: %w", err)
	}
	if len(t.minted) >= maxMinted {
		for id, m := range t.minted {
			if !now.Before(m.expires.Add(-renewBefore)) {
				delete(t.minted, id)
			}
		}
	}
	t.minted[user.ID] = minted{token: token, expires: now.Add(t.cfg.TTL)}
	return token, nil
}

// fits reports whether the user's own token can go to mcpserver — it speaks for the same user
// and is for mcpserver's audience (when it checks one) — and whether it is fresh, not about to
// expire. The token was verified by the proxy; here it is only read.
func (t *Tokens) fits(user User, now time.Time) (fits, fresh bool) {
	var c jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(user.Token, &c); err != nil {
		return false, false
	}
	if c.Subject != user.ID || (t.cfg.Audience != "" && !slices.Contains(c.Audience, t.cfg.Audience)) {
		return false, false
	}
	return true, c.ExpiresAt == nil || now.Before(c.ExpiresAt.Add(-renewBefore))
}

package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
)

var secret = []byte("test-secret-that-is-long-enough-0123456789")

type signer struct {
	kid    string
	method jwt.SigningMethod
	key    crypto.Signer
}

// jwksServer serves the public halves of keys as a JWKS, as Better Auth's /api/auth/jwks does.
func jwksServer(t testing.TB, keys ...signer) string {
	t.Helper()
	store := jwkset.NewMemoryStorage()
	for _, k := range keys {
		jwk, err := jwkset.NewJWKFromKey(k.key.Public(), jwkset.JWKOptions{
			Metadata: jwkset.JWKMetadataOptions{KID: k.kid, ALG: jwkset.ALG(k.method.Alg()), USE: jwkset.UseSig},
		})
		if err != nil {
			t.Fatalf("make JWK: %v", err)
		}
		if err := store.KeyWrite(context.Background(), jwk); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, err := store.JSONPublic(r.Context())
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(raw)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func sign(t *testing.T, method jwt.SigningMethod, key any, kid string, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return s
}

func claimsFor(sub string, mods ...func(jwt.MapClaims)) jwt.MapClaims {
	now := time.Now()
	c := jwt.MapClaims{"sub": sub, "iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
		"iss": "https://auth.example.com", "aud": []string{"https://tasks.example.com/mcp"}}
	for _, m := range mods {
		m(c)
	}
	return c
}

// noneToken builds an unsigned token with alg "none", which must never be accepted.
func noneToken(t *testing.T, c jwt.MapClaims) string {
	s, err := jwt.NewWithClaims(jwt.SigningMethodNone, c).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVerify(t *testing.T) {
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, strangerKey, _ := ed25519.GenerateKey(rand.Reader)
	jwksURL := jwksServer(t,
		signer{"ed", jwt.SigningMethodEdDSA, edKey},
		signer{"rs", jwt.SigningMethodRS256, rsaKey},
		signer{"ec", jwt.SigningMethodES256, ecKey},
	)
	ctx := t.Context()
	hsOnly, err := NewVerifier(ctx, Config{Secret: secret, Issuer: "https://auth.example.com", Audience: "https://tasks.example.com/mcp"})
	if err != nil {
		t.Fatal(err)
	}
	jwksOnly, err := NewVerifier(ctx, Config{JWKSURL: jwksURL, Issuer: "https://auth.example.com", Audience: "https://tasks.example.com/mcp"})
	if err != nil {
		t.Fatal(err)
	}
	both, err := NewVerifier(ctx, Config{Secret: secret, JWKSURL: jwksURL})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		verifier *Verifier
		token    string
		wantUser string // empty: must be rejected
	}{
		{"hs256 valid", hsOnly, sign(t, jwt.SigningMethodHS256, secret, "", claimsFor("alice")), "alice"},
		{"eddsa via jwks", jwksOnly, sign(t, jwt.SigningMethodEdDSA, edKey, "ed", claimsFor("bob")), "bob"},
		{"rs256 via jwks", jwksOnly, sign(t, jwt.SigningMethodRS256, rsaKey, "rs", claimsFor("carol")), "carol"},
		{"es256 via jwks", jwksOnly, sign(t, jwt.SigningMethodES256, ecKey, "ec", claimsFor("dave")), "dave"},
		{"both configured, hs256", both, sign(t, jwt.SigningMethodHS256, secret, "", claimsFor("erin")), "erin"},
		{"both configured, eddsa", both, sign(t, jwt.SigningMethodEdDSA, edKey, "ed", claimsFor("frank")), "frank"},
		{"within leeway", hsOnly, sign(t, jwt.SigningMethodHS256, secret, "", claimsFor("gina", func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-10 * time.Second).Unix() })), "gina"},

		{"garbage", hsOnly, "not-a-token", ""},
		{"empty", hsOnly, "", ""},
		{"wrong secret", hsOnly, sign(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-xx"), "", claimsFor("alice")), ""},
		{"expired", hsOnly, sign(t, jwt.SigningMethodHS256, secret, "", claimsFor("alice", func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-2 * time.Minute).Unix() })), ""},
		{"no exp", hsOnly, sign(t, jwt.SigningMethodHS256, secret, "", claimsFor("alice", func(c jwt.MapClaims) { delete(c, "exp") })), ""},
		{"issued in the future", hsOnly, sign(t, jwt.SigningMethodHS256, secret, "", claimsFor("alice", func(c jwt.MapClaims) { c["iat"] = time.Now().Add(time.Hour).Unix() })), ""},
		{"wrong audience", hsOnly, sign(t, jwt.SigningMethodHS256, secret, "", claimsFor("alice", func(c jwt.MapClaims) { c["aud"] = "https://other.example.com" })), ""},
		{"no audience", hsOnly, sign(t, jwt.SigningMethodHS256, secret, "", claimsFor("alice", func(c jwt.MapClaims) { delete(c, "aud") })), ""},
		{"wrong issuer", hsOnly, sign(t, jwt.SigningMethodHS256, secret, "", claimsFor("alice", func(c jwt.MapClaims) { c["iss"] = "https://evil.example.com" })), ""},
		{"no subject", hsOnly, sign(t, jwt.SigningMethodHS256, secret, "", claimsFor("")), ""},
		{"control characters in subject", hsOnly, sign(t, jwt.SigningMethodHS256, secret, "", claimsFor("al\nice")), ""},
		{"overlong subject", hsOnly, sign(t, jwt.SigningMethodHS256, secret, "", claimsFor(strings.Repeat("a", MaxUserIDLength+1))), ""},
		{"alg none", both, noneToken(t, claimsFor("alice")), ""},
		{"hs256 against jwks-only", jwksOnly, sign(t, jwt.SigningMethodHS256, secret, "", claimsFor("alice")), ""},
		{"eddsa against secret-only", hsOnly, sign(t, jwt.SigningMethodEdDSA, edKey, "ed", claimsFor("alice")), ""},
		{"unknown signing key", jwksOnly, sign(t, jwt.SigningMethodEdDSA, strangerKey, "ed", claimsFor("alice")), ""},
		{"unlisted algorithm", jwksOnly, sign(t, jwt.SigningMethodHS512, secret, "", claimsFor("alice")), ""},
		// Algorithm confusion: an HS256 token whose HMAC key is the RSA public key must fail.
		{"rsa public key as hmac secret", jwksOnly, sign(t, jwt.SigningMethodHS256, rsaKey.PublicKey.N.Bytes(), "rs", claimsFor("alice")), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := tt.verifier.Verify(ctx, tt.token)
			if tt.wantUser == "" {
				if err == nil {
					t.Fatalf("Verify accepted a bad token as %q", id.UserID)
				}
				if !errors.Is(err, ErrInvalidToken) {
					t.Fatalf("error %v does not wrap ErrInvalidToken", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if id.UserID != tt.wantUser {
				t.Fatalf("user = %q, want %q", id.UserID, tt.wantUser)
			}
		})
	}
}

func TestMintRoundTrip(t *testing.T) {
	v, err := NewVerifier(t.Context(), Config{Secret: secret, Audience: "taskwire-mcp", Issuer: "taskwire"})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := Mint(secret, MintOptions{UserID: "alice", Audience: "taskwire-mcp", Issuer: "taskwire", TTL: time.Minute, Scope: "tasks"})
	if err != nil {
		t.Fatal(err)
	}
	id, err := v.Verify(t.Context(), tok)
	if err != nil {
		t.Fatalf("Verify minted token: %v", err)
	}
	if id.UserID != "alice" || len(id.Scopes) != 1 || id.Scopes[0] != "tasks" {
		t.Fatalf("identity = %+v", id)
	}
	if d := time.Until(id.ExpiresAt); d <= 0 || d > time.Minute {
		t.Fatalf("expiry %v not about a minute away", id.ExpiresAt)
	}

	expired, err := Mint(secret, MintOptions{UserID: "alice", Audience: "taskwire-mcp", Issuer: "taskwire", TTL: time.Minute, Now: time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(t.Context(), expired); err == nil {
		t.Fatal("expired minted token accepted")
	}

	for _, o := range []MintOptions{{UserID: "", TTL: time.Minute}, {UserID: "a", TTL: 0}} {
		if _, err := Mint(secret, o); err == nil {
			t.Errorf("Mint(%+v) succeeded", o)
		}
	}
	if _, err := Mint(nil, MintOptions{UserID: "a", TTL: time.Minute}); err == nil {
		t.Error("Mint without a secret succeeded")
	}
}

func TestNewVerifierNeedsAKey(t *testing.T) {
	if _, err := NewVerifier(t.Context(), Config{}); err == nil {
		t.Fatal("NewVerifier with neither secret nor JWKS succeeded")
	}
}

func TestBearerToken(t *testing.T) {
	tests := []struct {
		header string
		want   string
		ok     bool
	}{
		{"Bearer abc.def.ghi", "abc.def.ghi", true},
		{"bearer abc", "abc", true},
		{"Bearer   abc  ", "abc", true},
		{"Bearer ", "", false},
		{"Basic dXNlcjpwYXNz", "", false},
		{"abc", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodGet, "/?access_token=query-token", nil)
		if tt.header != "" {
			r.Header.Set("Authorization", tt.header)
		}
		got, ok := BearerToken(r)
		if got != tt.want || ok != tt.ok {
			t.Errorf("BearerToken(%q) = %q, %v; want %q, %v", tt.header, got, ok, tt.want, tt.ok)
		}
	}
}

func TestUserFromFailsClosed(t *testing.T) {
	if _, ok := UserFrom(context.Background()); ok {
		t.Fatal("UserFrom on an empty context reported a user")
	}
	if _, ok := UserFrom(WithUser(context.Background(), Identity{})); ok {
		t.Fatal("UserFrom reported a user with an empty id")
	}
	id, ok := UserFrom(WithUser(context.Background(), Identity{UserID: "alice"}))
	if !ok || id.UserID != "alice" {
		t.Fatalf("UserFrom = %+v, %v", id, ok)
	}
}

// Tokens that RFC 7515 or our own identity rules refuse, even though their signature is good.
func TestVerifyRefusesCritAndBlankSubjects(t *testing.T) {
	v, err := NewVerifier(t.Context(), Config{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	withHeader := func(h map[string]any, sub string) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claimsFor(sub))
		for k, val := range h {
			tok.Header[k] = val
		}
		s, err := tok.SignedString(secret)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tests := []struct {
		name  string
		token string
		ok    bool
	}{
		{"plain", withHeader(nil, "alice"), true},
		{"inner space is fine", withHeader(nil, "alice smith"), true},
		{"crit naming an unknown extension", withHeader(map[string]any{"crit": []string{"exp-x"}, "exp-x": 1}, "alice"), false},
		{"crit empty", withHeader(map[string]any{"crit": []string{}}, "alice"), false},
		{"crit b64", withHeader(map[string]any{"crit": []string{"b64"}, "b64": false}, "alice"), false},
		{"spaces only", withHeader(nil, "   "), false},
		{"trailing space", withHeader(nil, "alice "), false},
		{"leading tab", withHeader(nil, "\talice"), false},
		{"nbsp only", withHeader(nil, "\u00a0"), false},
		{"trailing nbsp", withHeader(nil, "alice\u00a0"), false},
		{"ideographic space", withHeader(nil, "\u3000"), false},
		{"leading ideographic space", withHeader(nil, "\u3000alice"), false},
		{"zero-width space", withHeader(nil, "alice\u200b"), false},
		{"byte-order mark", withHeader(nil, "\ufeffalice"), false},
		{"line separator", withHeader(nil, "alice\u2028"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := v.Verify(t.Context(), tt.token)
			if tt.ok != (err == nil) {
				t.Fatalf("Verify = %+v, %v; want ok=%v", id, err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("error %v does not wrap ErrInvalidToken", err)
			}
		})
	}
}

// A token without a scope claim grants everything; one with a claim only what it lists.
func TestScopes(t *testing.T) {
	v, err := NewVerifier(t.Context(), Config{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		scope      any // nil: no claim
		read, writ bool
	}{
		{"no claim", nil, true, true},
		{"read only", "tasks:read", true, false},
		{"both", "tasks:read tasks:write", true, true},
		{"empty claim", "", false, false},
		{"other", "profile email", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := claimsFor("alice")
			if tt.scope != nil {
				c["scope"] = tt.scope
			}
			id, err := v.Verify(t.Context(), sign(t, jwt.SigningMethodHS256, secret, "", c))
			if err != nil {
				t.Fatal(err)
			}
			if id.HasScope("tasks:read") != tt.read || id.HasScope("tasks:write") != tt.writ {
				t.Fatalf("read=%v write=%v, want %v %v (%+v)", id.HasScope("tasks:read"), id.HasScope("tasks:write"), tt.read, tt.writ, id)
			}
		})
	}
}

// The cache serves a good token again without a signature check, but never outlives the
// token, and never remembers a failure.
func TestVerifyCache(t *testing.T) {
	v, err := NewVerifier(t.Context(), Config{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	good := sign(t, jwt.SigningMethodHS256, secret, "", claimsFor("alice"))
	if _, err := v.Verify(t.Context(), good); err != nil {
		t.Fatal(err)
	}
	if v.verified.Len() != 1 {
		t.Fatalf("cache holds %d tokens after one success, want 1", v.verified.Len())
	}
	if _, err := v.Verify(t.Context(), good+"x"); err == nil {
		t.Fatal("tampered token accepted")
	}
	if v.verified.Len() != 1 {
		t.Fatalf("a failure was cached: %d entries", v.verified.Len())
	}
	// An entry whose token has expired is dropped and the token checked afresh (and refused).
	expired := sign(t, jwt.SigningMethodHS256, secret, "", claimsFor("bob", func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Hour).Unix() }))
	v.verified.Add(sha256.Sum256([]byte(expired)), Identity{UserID: "bob", ExpiresAt: time.Now().Add(-time.Second)})
	if _, err := v.Verify(t.Context(), expired); err == nil {
		t.Fatal("expired token served from the cache")
	}
}

// Keys rotate without a restart: a token signed by a key the JWKS did not serve at start is
// accepted once the JWKS serves it (an unknown kid triggers a refetch).
func TestJWKSRotation(t *testing.T) {
	_, oldKey, _ := ed25519.GenerateKey(rand.Reader)
	_, newKey, _ := ed25519.GenerateKey(rand.Reader)
	var mu sync.Mutex
	served := signer{"old", jwt.SigningMethodEdDSA, oldKey}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		k := served
		mu.Unlock()
		jwk, err := jwkset.NewJWKFromKey(k.key.Public(), jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: k.kid, ALG: jwkset.AlgEdDSA, USE: jwkset.UseSig}})
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		store := jwkset.NewMemoryStorage()
		_ = store.KeyWrite(r.Context(), jwk)
		raw, _ := store.JSONPublic(r.Context())
		w.Header().Set("Content-Type", "application/json")
		w.Write(raw)
	}))
	t.Cleanup(srv.Close)
	v, err := NewVerifier(t.Context(), Config{JWKSURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(t.Context(), sign(t, jwt.SigningMethodEdDSA, oldKey, "old", claimsFor("alice"))); err != nil {
		t.Fatalf("old key: %v", err)
	}
	mu.Lock()
	served = signer{"new", jwt.SigningMethodEdDSA, newKey}
	mu.Unlock()
	id, err := v.Verify(t.Context(), sign(t, jwt.SigningMethodEdDSA, newKey, "new", claimsFor("bob")))
	if err != nil || id.UserID != "bob" {
		t.Fatalf("token of the rotated-in key: %+v, %v", id, err)
	}
}

// Verify with a warm cache (a host repeating its token) against a cold check of each token.
func BenchmarkVerify(b *testing.B) {
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	jwksURL := jwksServer(b, signer{"ed", jwt.SigningMethodEdDSA, edKey})
	for _, tc := range []struct {
		name   string
		cfg    Config
		method jwt.SigningMethod
		key    any
		kid    string
	}{
		{"HS256", Config{Secret: secret}, jwt.SigningMethodHS256, secret, ""},
		{"EdDSA", Config{JWKSURL: jwksURL}, jwt.SigningMethodEdDSA, edKey, "ed"},
	} {
		v, err := NewVerifier(b.Context(), tc.cfg)
		if err != nil {
			b.Fatal(err)
		}
		tok := jwt.NewWithClaims(tc.method, claimsFor("alice"))
		if tc.kid != "" {
			tok.Header["kid"] = tc.kid
		}
		raw, err := tok.SignedString(tc.key)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(tc.name+"/cached", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(b.Context(), raw); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(tc.name+"/uncached", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.verify(b.Context(), raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func FuzzParseBearer(f *testing.F) {
	for _, s := range []string{"Bearer abc.def.ghi", "bearer  x ", "Bearer a b", "Basic x", "Bearer", "Bearer \x00", "BEARER a=="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		tok, ok := ParseBearer(h)
		if !ok {
			if tok != "" {
				t.Fatalf("ParseBearer(%q) returned %q without ok", h, tok)
			}
			return
		}
		if tok == "" || strings.ContainsFunc(tok, notToken68) {
			t.Fatalf("ParseBearer(%q) = %q: not a token68", h, tok)
		}
		if !strings.EqualFold(h[:7], "Bearer ") || strings.Trim(h[7:], " \t") != tok {
			t.Fatalf("ParseBearer(%q) = %q: not the whole credential of a Bearer header", h, tok)
		}
	})
}

// A resource known by two names accepts tokens for either, and no others.
func TestAudiences(t *testing.T) {
	v, err := NewVerifier(t.Context(), Config{Secret: secret, Audience: "taskwire-mcp", Audiences: []string{"https://tasks.example.com/mcp", ""}})
	if err != nil {
		t.Fatal(err)
	}
	for aud, ok := range map[string]bool{"taskwire-mcp": true, "https://tasks.example.com/mcp": true, "https://other.example.com/mcp": false, "": false} {
		c := claimsFor("alice", func(c jwt.MapClaims) { c["aud"] = aud })
		if aud == "" {
			delete(c, "aud")
		}
		if _, err := v.Verify(t.Context(), sign(t, jwt.SigningMethodHS256, secret, "", c)); (err == nil) != ok {
			t.Errorf("aud %q: err %v, want accepted=%v", aud, err, ok)
		}
	}
}

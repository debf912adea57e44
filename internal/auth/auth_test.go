package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
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
func jwksServer(t *testing.T, keys ...signer) string {
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

package mcpclient_test

import (
	"strings"
	"testing"
	"time"

	"github.com/taskwire/taskwire/chatproxy/mcpclient"
	"github.com/taskwire/taskwire/internal/auth"
)

func TestTokens(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	verifier, err := auth.NewVerifier(t.Context(), auth.Config{Secret: secret, Audience: audience})
	if err != nil {
		t.Fatal(err)
	}
	own := func(user, aud string, ttl time.Duration) string {
		tok, err := auth.Mint(secret, auth.MintOptions{UserID: user, Audience: aud, TTL: ttl, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	tests := []struct {
		name       string
		cfg        mcpclient.TokenConfig
		user       mcpclient.User
		wantOwn    bool   // the user's own token is passed through
		wantErr    string // substring
		verifiable bool   // the result verifies for mcpserver as the user
	}{
		{name: "own token with mcpserver's audience", cfg: mcpclient.TokenConfig{Audience: audience, Secret: secret},
			user: mcpclient.User{ID: "alice", Token: own("alice", audience, time.Hour)}, wantOwn: true, verifiable: true},
		{name: "own token for another audience: minted", cfg: mcpclient.TokenConfig{Audience: audience, Secret: secret},
			user: mcpclient.User{ID: "alice", Token: own("alice", "web", time.Hour)}, verifiable: true},
		{name: "own token of another user is never used", cfg: mcpclient.TokenConfig{Audience: audience, Secret: secret},
			user: mcpclient.User{ID: "alice", Token: own("mallory", audience, time.Hour)}, verifiable: true},
		{name: "own token about to expire: minted", cfg: mcpclient.TokenConfig{Audience: audience, Secret: secret},
			user: mcpclient.User{ID: "alice", Token: own("alice", audience, 30*time.Second)}, verifiable: true},
		{name: "about to expire but nothing to mint with: own", cfg: mcpclient.TokenConfig{Audience: audience},
			user: mcpclient.User{ID: "alice", Token: own("alice", audience, 30*time.Second)}, wantOwn: true},
		{name: "no token: minted", cfg: mcpclient.TokenConfig{Audience: audience, Secret: secret},
			user: mcpclient.User{ID: "bob"}, verifiable: true},
		{name: "wrong audience and no secret", cfg: mcpclient.TokenConfig{Audience: audience},
			user: mcpclient.User{ID: "alice", Token: own("alice", "web", time.Hour)}, wantErr: "BETTER_AUTH_SECRET"},
		{name: "no audience checked: own token fits", cfg: mcpclient.TokenConfig{Secret: secret},
			user: mcpclient.User{ID: "alice", Token: own("alice", "web", time.Hour)}, wantOwn: true},
		{name: "garbage token: minted", cfg: mcpclient.TokenConfig{Audience: audience, Secret: secret},
			user: mcpclient.User{ID: "alice", Token: "not-a-jwt"}, verifiable: true},
		{name: "bad user id", cfg: mcpclient.TokenConfig{Secret: secret}, user: mcpclient.User{ID: ""}, wantErr: "user id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Now = clock
			tokens, err := mcpclient.NewTokens(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tokens.Token(t.Context(), tt.user)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (got == tt.user.Token) != tt.wantOwn {
				t.Errorf("own token passed = %v, want %v", got == tt.user.Token, tt.wantOwn)
			}
			if tt.verifiable {
				id, err := verifier.Verify(t.Context(), got)
				if err != nil || id.UserID != tt.user.ID {
					t.Errorf("mcpserver would see %q, %v; want %q", id.UserID, err, tt.user.ID)
				}
			}
		})
	}
}

func TestMintedTokensAreCachedUntilNearExpiry(t *testing.T) {
	now := time.Now()
	tokens, err := mcpclient.NewTokens(mcpclient.TokenConfig{Audience: audience, Secret: secret, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	first, err := tokens.Token(t.Context(), mcpclient.User{ID: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(3 * time.Minute)
	if again, _ := tokens.Token(t.Context(), mcpclient.User{ID: "alice"}); again != first {
		t.Error("token re-minted after 3 minutes of 5")
	}
	if bob, _ := tokens.Token(t.Context(), mcpclient.User{ID: "bob"}); bob == first {
		t.Error("bob got alice's token")
	}
	now = now.Add(90 * time.Second)
	if renewed, _ := tokens.Token(t.Context(), mcpclient.User{ID: "alice"}); renewed == first {
		t.Error("token still handed out 30 s before it expires")
	}
}

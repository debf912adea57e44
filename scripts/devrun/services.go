package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/taskwire/taskwire/internal/auth"
)

// This file is the one description of how devrun starts the services: their subcommands,
// environment and health URLs (docs/mcpserver.md and the chatproxy contract are the source).
// Adjust it here when a service's flags or variables change.

// devUser is the user the dev token and the page's dev mode speak for.
const devUser = "dev-user"

// tokenTTL is the dev token's lifetime: long enough to paste into Claude Desktop once.
const tokenTTL = "720h"

// stack is what devrun knows about the running setup.
type stack struct {
	Host          string
	ChatPort      int
	MCPPort       int
	DataDir       string
	BinDir        string
	DatabaseURL   string
	PostgresNote  string // why PostgreSQL's data is not where the user expects, if so
	Secret        string
	User          string
	Token         string
	LLMConfigured bool
	LLMEnv        []string // extra environment for chatproxy (the fake model)

	// The auth service; AuthPort 0 means it is off (-auth=false) and the page uses dev tokens.
	AuthPort       int
	NodeBin        string
	RepoDir        string
	PublicAuth     string // BETTER_AUTH_URL from the environment (a tunnel), else empty
	PublicMCP      string // MCP_PUBLIC_URL from the environment (a tunnel), else empty
	TrustedOrigins string // AUTH_TRUSTED_ORIGINS from the environment, else empty
	ChatToken      string // a dev token for chatproxy's own audience (curl /api/chat) when auth is on
}

func (s stack) ChatURL() string { return "http://" + s.Host + ":" + strconv.Itoa(s.ChatPort) }
func (s stack) MCPBase() string { return "http://" + s.Host + ":" + strconv.Itoa(s.MCPPort) }
func (s stack) MCPURL() string  { return s.MCPBase() + "/mcp" }

// AuthEnabled says whether devrun runs the auth service.
func (s stack) AuthEnabled() bool { return s.AuthPort != 0 }

// AuthBase is where the auth service listens; AuthURL is its public base URL (the issuer of
// every token), which differs only when tunnelled.
func (s stack) AuthBase() string { return "http://" + s.Host + ":" + strconv.Itoa(s.AuthPort) }
func (s stack) AuthURL() string {
	if s.PublicAuth != "" {
		return strings.TrimSuffix(s.PublicAuth, "/")
	}
	return s.AuthBase()
}

// MCPPublicURL is mcpserver's URL as MCP hosts reach it: the audience of its tokens.
func (s stack) MCPPublicURL() string {
	if s.PublicMCP != "" {
		return strings.TrimSuffix(s.PublicMCP, "/")
	}
	return s.MCPURL()
}

// authIssuerEnv is how both Go services verify the auth service's tokens: keys from the local
// JWKS (no tunnel round trip), issuer = the public base URL.
func (s stack) authIssuerEnv() []string {
	if !s.AuthEnabled() {
		return nil
	}
	return []string{"BETTER_AUTH_JWKS_URL=" + s.AuthBase() + "/api/auth/jwks", "BETTER_AUTH_ISSUER=" + s.AuthURL()}
}

func (s stack) authserver() service {
	origins := s.ChatURL()
	if s.TrustedOrigins != "" {
		origins += "," + s.TrustedOrigins
	}
	return service{
		name: "authserver",
		bin:  s.NodeBin,
		args: []string{filepath.Join(s.RepoDir, "authserver", "src", "main.js")},
		env: withEnv(os.Environ(),
			"DATABASE_URL="+s.DatabaseURL,
			"AUTH_HOST="+s.Host,
			"AUTH_PORT="+strconv.Itoa(s.AuthPort),
			"BETTER_AUTH_URL="+s.AuthURL(),
			"BETTER_AUTH_SECRET="+s.Secret,
			"MCP_PUBLIC_URL="+s.MCPPublicURL(),
			"AUTH_TRUSTED_ORIGINS="+origins,
			"ENVIRONMENT=development",
		),
		health: s.AuthBase() + "/health",
	}
}

// service is one binary to run.
type service struct {
	name   string
	bin    string
	args   []string
	env    []string
	health string
}

func (s stack) mcpserver() service {
	svc := service{
		name: "mcpserver",
		bin:  filepath.Join(s.BinDir, "mcpserver"),
		args: []string{"serve"},
		env: withEnv(os.Environ(),
			"DATABASE_URL="+s.DatabaseURL,
			"MCP_HOST="+s.Host,
			"MCP_PORT="+strconv.Itoa(s.MCPPort),
			"BETTER_AUTH_SECRET="+s.Secret,
			// Audience-bound tokens, as in production: mcpserver refuses tokens minted for
			// anything else, and chatproxy mints or forwards tokens for exactly this.
			"MCP_AUDIENCE="+s.MCPPublicURL(),
			"ENVIRONMENT=development",
		),
		health: s.MCPBase() + "/health",
	}
	svc.env = withEnv(svc.env, s.mcpAuthEnv()...)
	return svc
}

// mcpAuthEnv is what mcpserver needs to be an OAuth resource server of the auth service.
func (s stack) mcpAuthEnv() []string {
	if !s.AuthEnabled() {
		return nil
	}
	return append(s.authIssuerEnv(), "MCP_PUBLIC_URL="+s.MCPPublicURL(), "MCP_AUTHORIZATION_SERVERS="+s.AuthURL())
}

func (s stack) chatproxy() service {
	env := withEnv(os.Environ(),
		"DATABASE_URL="+s.DatabaseURL,
		"HOST="+s.Host,
		"PORT="+strconv.Itoa(s.ChatPort),
		"MCP_SERVER_URL="+s.MCPURL(),
		"MCP_AUDIENCE="+s.MCPPublicURL(),
		"BETTER_AUTH_SECRET="+s.Secret,
		"ENVIRONMENT=development",
	)
	if s.AuthEnabled() {
		// The page signs in at the auth service; its session JWTs are for the auth service's
		// own audience, which is therefore chatproxy's.
		env = withEnv(env, append(s.authIssuerEnv(), "BETTER_AUTH_URL="+s.AuthURL(), "CHAT_AUDIENCE="+s.AuthURL(), "DEV_USER=")...)
	} else {
		env = withEnv(env, "DEV_USER="+s.User)
	}
	return service{
		name:   "chatproxy",
		bin:    filepath.Join(s.BinDir, "chatproxy"),
		args:   []string{"serve"},
		env:    withEnv(env, s.LLMEnv...),
		health: s.ChatURL() + "/health",
	}
}

func (s stack) migrateArgs() []string { return []string{"migrate"} }

func (s stack) tokenArgs() []string {
	return []string{"token", "--user", s.User, "--ttl", tokenTTL}
}

// withEnv returns base with each KEY=value of set replacing any earlier KEY.
func withEnv(base []string, set ...string) []string {
	keys := make(map[string]bool, len(set))
	for _, kv := range set {
		k, _, _ := strings.Cut(kv, "=")
		keys[k] = true
	}
	out := make([]string, 0, len(base)+len(set))
	for _, kv := range base {
		if k, _, _ := strings.Cut(kv, "="); !keys[k] {
			out = append(out, kv)
		}
	}
	return append(out, set...)
}

// checkToken makes sure the printed token really works for the dev user, so a newcomer never
// pastes a token that mcpserver will refuse.
func checkToken(ctx context.Context, secret, token, user string) error {
	v, err := auth.NewVerifier(ctx, auth.Config{Secret: []byte(secret)})
	if err != nil {
		return fmt.Errorf("check the dev token: %w", err)
	}
	id, err := v.Verify(ctx, token)
	if err != nil {
		return fmt.Errorf("mcpserver token printed something that is not a valid token: %w", err)
	}
	if id.UserID != user {
		return fmt.Errorf("the dev token is for %q, want %q", id.UserID, user)
	}
	return nil
}

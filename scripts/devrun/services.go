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
}

func (s stack) ChatURL() string { return "http://" + s.Host + ":" + strconv.Itoa(s.ChatPort) }
func (s stack) MCPBase() string { return "http://" + s.Host + ":" + strconv.Itoa(s.MCPPort) }
func (s stack) MCPURL() string  { return s.MCPBase() + "/mcp" }

// service is one binary to run.
type service struct {
	name   string
	bin    string
	args   []string
	env    []string
	health string
}

func (s stack) mcpserver() service {
	return service{
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
			"MCP_AUDIENCE="+s.MCPURL(),
			"ENVIRONMENT=development",
		),
		health: s.MCPBase() + "/health",
	}
}

func (s stack) chatproxy() service {
	env := withEnv(os.Environ(),
		"DATABASE_URL="+s.DatabaseURL,
		"HOST="+s.Host,
		"PORT="+strconv.Itoa(s.ChatPort),
		"MCP_SERVER_URL="+s.MCPURL(),
		"MCP_AUDIENCE="+s.MCPURL(),
		"BETTER_AUTH_SECRET="+s.Secret,
		"DEV_USER="+s.User,
		"ENVIRONMENT=development",
	)
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

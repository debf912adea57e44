package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/taskwire/taskwire/chatproxy/llm"
	"github.com/taskwire/taskwire/chatproxy/web"
	"github.com/taskwire/taskwire/internal/auth"
	"github.com/taskwire/taskwire/internal/loopback"
)

// config is chatproxy's whole configuration, from the environment (README: Configuration).
type config struct {
	Host         string   `env:"HOST" envDefault:"127.0.0.1"`
	Port         string   `env:"PORT" envDefault:"8000"`
	DatabaseURL  string   `env:"DATABASE_URL"`
	MCPServerURL string   `env:"MCP_SERVER_URL" envDefault:"http://localhost:8001/mcp"`
	Secret       string   `env:"BETTER_AUTH_SECRET"`
	JWKSURL      string   `env:"BETTER_AUTH_JWKS_URL"`
	Issuer       string   `env:"BETTER_AUTH_ISSUER"`
	Audience     string   `env:"CHAT_AUDIENCE"`
	MCPAudience  string   `env:"MCP_AUDIENCE"`
	CORSOrigins  []string `env:"CORS_ORIGINS" envDefault:"http://localhost:3000" envSeparator:","`
	Environment  string   `env:"ENVIRONMENT" envDefault:"development"`
	LogLevel     string   `env:"LOG_LEVEL" envDefault:"info"`
	DevUser      string   `env:"DEV_USER"`
	AuthURL      string   `env:"BETTER_AUTH_URL"`
	DomainKey    string   `env:"CHATKIT_DOMAIN_KEY" envDefault:"domain_pk_localhost_dev"`
	MaxSteps     int      `env:"AGENT_MAX_STEPS" envDefault:"8"`
	HistoryChars int      `env:"AGENT_HISTORY_CHARS" envDefault:"60000"`
	// Per-user limits on model turns, per replica (docs/operating.md).
	TurnsPerMinute float64 `env:"CHAT_TURNS_PER_MINUTE" envDefault:"20"`
	TurnBurst      int     `env:"CHAT_TURN_BURST" envDefault:"5"`
	MaxStreams     int     `env:"CHAT_MAX_STREAMS" envDefault:"3"`
	// ShutdownTimeout is how long a drain waits after SIGTERM for requests to finish.
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"25s"`
	LLM             llm.Config
}

// minSecretBytes matches mcpserver's rule: shorter HS256 keys are within brute-force reach.
const minSecretBytes = 32

// check validates what serve needs, naming the variable at fault.
func (c config) check() error {
	switch {
	case c.DatabaseURL == "":
		return errors.New("DATABASE_URL is required (e.g. postgres://user:pass@localhost:5432/taskwire)")
	case c.Secret == "" && c.JWKSURL == "":
		return errors.New("set BETTER_AUTH_SECRET and/or BETTER_AUTH_JWKS_URL so tokens can be verified")
	case c.Secret != "" && len(c.Secret) < minSecretBytes:
		return fmt.Errorf("BETTER_AUTH_SECRET must be at least %d characters", minSecretBytes)
	case c.MaxSteps < 1 || c.MaxSteps > 50:
		return fmt.Errorf("AGENT_MAX_STEPS must be between 1 and 50, got %d", c.MaxSteps)
	case c.HistoryChars < 1000:
		return fmt.Errorf("AGENT_HISTORY_CHARS must be at least 1000, got %d", c.HistoryChars)
	case c.AuthURL != "" && !web.IsOrigin(c.AuthURL):
		return fmt.Errorf("BETTER_AUTH_URL must be an origin such as https://auth.example.com (no path), got %q", c.AuthURL)
	case c.TurnsPerMinute <= 0:
		return fmt.Errorf("CHAT_TURNS_PER_MINUTE must be a positive number, got %v", c.TurnsPerMinute)
	case c.TurnBurst < 1:
		return fmt.Errorf("CHAT_TURN_BURST must be at least 1, got %d", c.TurnBurst)
	case c.MaxStreams < 1:
		return fmt.Errorf("CHAT_MAX_STREAMS must be at least 1, got %d", c.MaxStreams)
	case c.ShutdownTimeout <= 0:
		return fmt.Errorf("SHUTDOWN_TIMEOUT must be a positive duration such as 25s, got %s", c.ShutdownTimeout)
	}
	if _, err := c.LLM.Providers(); err != nil {
		return err
	}
	if c.DevUser != "" {
		if !loopback.Host(c.Host) {
			return fmt.Errorf("DEV_USER (dev mode hands out tokens) needs HOST to be a loopback address such as 127.0.0.1, got %q", c.Host)
		}
		if c.Environment == "production" {
			return errors.New("DEV_USER (dev mode) cannot be used with ENVIRONMENT=production")
		}
		if c.Secret == "" {
			return errors.New("DEV_USER needs BETTER_AUTH_SECRET to sign dev tokens")
		}
		if err := auth.ValidateUserID(c.DevUser); err != nil {
			return fmt.Errorf("DEV_USER: %w", err)
		}
	}
	return nil
}

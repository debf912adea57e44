package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/taskwire/taskwire/internal/auth"
	"github.com/taskwire/taskwire/internal/envconf"
	"github.com/taskwire/taskwire/internal/loopback"
	"github.com/taskwire/taskwire/internal/obs"
)

// Each subcommand reads only the settings it needs, so that `mcpserver token` works without
// a database and `healthcheck` without secrets.

type logConfig struct {
	Level       string `env:"LOG_LEVEL" envDefault:"info"`
	Environment string `env:"ENVIRONMENT" envDefault:"development"`
}

type dbConfig struct {
	URL string `env:"DATABASE_URL,required,notEmpty"`
}

type authConfig struct {
	Secret   string `env:"BETTER_AUTH_SECRET"`
	JWKSURL  string `env:"BETTER_AUTH_JWKS_URL"`
	Issuer   string `env:"BETTER_AUTH_ISSUER"`
	Audience string `env:"MCP_AUDIENCE"`
}

type httpConfig struct {
	Host                 string   `env:"MCP_HOST" envDefault:"127.0.0.1"`
	Port                 string   `env:"MCP_PORT" envDefault:"8001"`
	PublicURL            string   `env:"MCP_PUBLIC_URL"`
	AuthorizationServers []string `env:"MCP_AUTHORIZATION_SERVERS" envSeparator:","`
	AllowedOrigins       []string `env:"MCP_ALLOWED_ORIGINS" envSeparator:","`
	DevUser              string   `env:"MCP_DEV_USER"`
	// RateLimit and RateBurst bound each user's tool calls per second, per replica.
	RateLimit float64 `env:"MCP_RATE_LIMIT" envDefault:"20"`
	RateBurst int     `env:"MCP_RATE_BURST" envDefault:"40"`
	// ShutdownTimeout is how long a drain waits for calls in flight after SIGTERM.
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"25s"`
}

// minSecretBytes is the HS256 key size below which brute force becomes thinkable.
const minSecretBytes = 32

func parse[T any](environ []string) (T, error) {
	return envconf.Parse[T](environ)
}

// newLogger logs JSON to stderr only (stdout belongs to the stdio protocol and to `token`),
// with the request id and user of every record.
func newLogger(c logConfig, stderr io.Writer) (*slog.Logger, error) {
	logger, err := obs.NewLogger(stderr, c.Level, "mcpserver")
	if err != nil {
		return nil, err // obs names LOG_LEVEL and the accepted values
	}
	return logger, nil
}

func (c authConfig) check() error {
	if c.Secret != "" && len(c.Secret) < minSecretBytes {
		return fmt.Errorf("BETTER_AUTH_SECRET must be at least %d characters", minSecretBytes)
	}
	return nil
}

// verifier builds the token verifier, or returns nil when no way to verify is configured
// (allowed only in dev mode, which the caller checks).
func (c authConfig) verifier(ctx context.Context, logger *slog.Logger, publicURL string) (*auth.Verifier, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	if c.Secret == "" && c.JWKSURL == "" {
		return nil, nil
	}
	v, err := auth.NewVerifier(ctx, auth.Config{
		Secret:   []byte(c.Secret),
		JWKSURL:  c.JWKSURL,
		Issuer:   c.Issuer,
		Audience: c.Audience,
		// OAuth clients ask for tokens whose audience is the public URL (RFC 8707).
		Audiences: []string{publicURL},
		Logger:    logger,
	})
	if err != nil {
		return nil, fmt.Errorf("BETTER_AUTH_JWKS_URL: %w", err)
	}
	return v, nil
}

// check validates the HTTP settings against the auth ones.
func (c httpConfig) check(a authConfig, environment string) error {
	if _, err := c.port(); err != nil {
		return err
	}
	switch {
	case c.RateLimit <= 0:
		return fmt.Errorf("MCP_RATE_LIMIT must be a positive number of tool calls per second, got %v", c.RateLimit)
	case c.RateBurst < 1:
		return fmt.Errorf("MCP_RATE_BURST must be at least 1, got %d", c.RateBurst)
	case c.ShutdownTimeout <= 0:
		return fmt.Errorf("SHUTDOWN_TIMEOUT must be a positive duration such as 25s, got %s", c.ShutdownTimeout)
	}
	if c.DevUser != "" {
		if !loopback.Host(c.Host) {
			return fmt.Errorf("MCP_DEV_USER (dev mode: requests without a token act as that user) needs MCP_HOST to be a loopback address such as 127.0.0.1, got %q", c.Host)
		}
		if environment == "production" {
			return errors.New("MCP_DEV_USER (dev mode) cannot be used with ENVIRONMENT=production")
		}
		if err := auth.ValidateUserID(c.DevUser); err != nil {
			return fmt.Errorf("MCP_DEV_USER: %w", err)
		}
	} else if a.Secret == "" && a.JWKSURL == "" {
		return errors.New("no way to verify tokens: set BETTER_AUTH_SECRET and/or BETTER_AUTH_JWKS_URL (or MCP_DEV_USER for a loopback-only dev server)")
	}
	return nil
}

// port is MCP_PORT as a number; 0 picks a free port (the log says which).
func (c httpConfig) port() (string, error) {
	n, err := strconv.Atoi(c.Port)
	if err != nil || n < 0 || n > 65535 {
		return "", fmt.Errorf("MCP_PORT must be a TCP port number (0–65535), got %q", c.Port)
	}
	return strconv.Itoa(n), nil
}

// authorizationServers are the issuers listed in the protected-resource metadata: the
// configured ones, else the token issuer.
func (c httpConfig) authorizationServers(a authConfig) []string {
	var out []string
	for _, s := range c.AuthorizationServers {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	if len(out) == 0 && a.Issuer != "" {
		out = []string{a.Issuer}
	}
	return out
}

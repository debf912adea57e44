// Command mcpserver is taskwire's task MCP server: the five task tools over streamable HTTP
// (serve, the default) or stdio, on PostgreSQL. See docs/mcpserver.md.
//
//	mcpserver [serve]                 HTTP at MCP_HOST:MCP_PORT (/mcp, /health, /ready, RFC 9728 metadata)
//	mcpserver stdio --user ID         stdio for one local user (or TASKWIRE_USER)
//	mcpserver token --user ID [--ttl D]  print a bearer token signed with BETTER_AUTH_SECRET
//	mcpserver migrate                 apply database migrations and exit
//	mcpserver healthcheck             exit 0 when the local server's /health answers 200
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/caarlos0/env/v11"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/taskwire/taskwire/db"
	"github.com/taskwire/taskwire/internal/auth"
	"github.com/taskwire/taskwire/internal/healthcheck"
	"github.com/taskwire/taskwire/internal/httpedge"
	"github.com/taskwire/taskwire/internal/obs"
	"github.com/taskwire/taskwire/mcpserver/mcphttp"
	"github.com/taskwire/taskwire/mcpserver/taskstore"
	"github.com/taskwire/taskwire/mcpserver/tasktools"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Environ(), os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage: mcpserver [serve | stdio --user ID | token --user ID [--ttl D] | migrate | healthcheck]`

// run executes one subcommand and returns the process exit code.
func run(ctx context.Context, args, environ []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	lc, err := parse[logConfig](environ)
	if err != nil {
		fmt.Fprintln(stderr, "mcpserver:", err)
		return 2
	}
	logger, err := newLogger(lc, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "mcpserver:", err)
		return 2
	}
	switch cmd {
	case "serve":
		err = serve(ctx, environ, lc, logger)
	case "stdio":
		err = stdio(ctx, args, environ, stdin, stdout, logger)
	case "token":
		err = token(args, environ, stdout)
	case "migrate":
		err = migrate(ctx, environ, logger)
	case "healthcheck":
		err = check(ctx, environ)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "mcpserver: unknown command %q\n%s\n", cmd, usage)
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "mcpserver:", err)
		return 1
	}
	return 0
}

func serve(ctx context.Context, environ []string, lc logConfig, logger *slog.Logger) error {
	ac, err := parse[authConfig](environ)
	if err != nil {
		return err
	}
	hc, err := parse[httpConfig](environ)
	if err != nil {
		return err
	}
	if err := hc.check(ac, lc.Environment); err != nil {
		return err
	}
	verifier, err := ac.verifier(ctx, logger, hc.PublicURL)
	if err != nil {
		return err
	}
	// The gate learns of an outage from the pool itself, so tool calls answer 503 from the
	// first refused connection on rather than from the next ping.
	gate := httpedge.NewDBGate(nil, logger)
	pool, err := connect(ctx, environ, logger, db.ReportUnavailable(gate.Report))
	if err != nil {
		return err
	}
	defer pool.Close()
	gate.DB = pool
	gateCtx, stopGate := context.WithCancel(ctx)
	defer stopGate()
	go gate.Run(gateCtx)
	health := &httpedge.Health{}
	handler, err := mcphttp.NewHandler(mcphttp.Config{
		Pool:                 pool,
		Verifier:             verifier,
		ResourceURL:          hc.PublicURL,
		AuthorizationServers: hc.authorizationServers(ac),
		AllowedOrigins:       hc.AllowedOrigins,
		DevUser:              hc.DevUser,
		Logger:               logger,
		Metrics:              obs.NewRegistry(),
		Version:              version,
		Environment:          lc.Environment,
		Health:               health,
		Gate:                 gate,
		RateLimit:            hc.RateLimit,
		RateBurst:            hc.RateBurst,
	})
	if err != nil {
		return err
	}
	port, _ := hc.port() // checked above
	ln, err := net.Listen("tcp", net.JoinHostPort(hc.Host, port))
	if err != nil {
		return fmt.Errorf("listen on MCP_HOST:MCP_PORT: %w", err)
	}
	logger.InfoContext(ctx, "mcpserver listening", "addr", ln.Addr().String(), "mcp", "http://"+ln.Addr().String()+mcphttp.MCPPath,
		"version", version, "dev_mode", hc.DevUser != "", "rate_limit", hc.RateLimit, "rate_burst", hc.RateBurst)
	if hc.DevUser != "" {
		logger.WarnContext(ctx, "dev mode: requests without a token act as "+hc.DevUser)
	}
	if verifier != nil && ac.Audience == "" && hc.PublicURL == "" {
		logger.WarnContext(ctx, "neither MCP_AUDIENCE nor MCP_PUBLIC_URL is set: tokens are accepted whatever their audience; set MCP_PUBLIC_URL to this server's public /mcp URL")
	}
	go taskstore.New(pool).RunPurger(ctx, time.Hour, logger) // erases trash older than 30 days
	// Tool calls in flight finish during the drain; none of them streams for long, so a
	// whole answer gets a minute to be read.
	return httpedge.Server{Handler: handler, Logger: logger, Health: health, ShutdownTimeout: hc.ShutdownTimeout,
		WriteTimeout: time.Minute}.Serve(ctx, ln)
}

func stdio(ctx context.Context, args, environ []string, stdin io.Reader, stdout io.Writer, logger *slog.Logger) error {
	fs := flag.NewFlagSet("stdio", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	user := fs.String("user", env.ToMap(environ)["TASKWIRE_USER"], "the user whose tasks this process serves (default $TASKWIRE_USER)")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("stdio: %w\nusage: mcpserver stdio --user ID", err)
	}
	if *user == "" {
		return errors.New("stdio needs a user: --user ID or TASKWIRE_USER")
	}
	if err := auth.ValidateUserID(*user); err != nil {
		return fmt.Errorf("--user / TASKWIRE_USER: %w", err)
	}
	pool, err := connect(ctx, environ, logger)
	if err != nil {
		return err
	}
	defer pool.Close()
	logger.Info("mcpserver serving stdio", "user", *user, "version", version)
	return tasktools.ServeStdio(ctx, pool, *user, stdin, stdout, logger, version)
}

// connect opens DATABASE_URL and brings the schema up to date: every command that touches
// tasks does both, so a fresh database works on first start, and replicas starting together
// wait for each other on the migration lock.
func connect(ctx context.Context, environ []string, logger *slog.Logger, opts ...db.Option) (*pgxpool.Pool, error) {
	dc, err := parse[dbConfig](environ)
	if err != nil {
		return nil, err
	}
	pool, err := db.Open(ctx, dc.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	if err := db.Migrate(ctx, pool, logger); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

func migrate(ctx context.Context, environ []string, logger *slog.Logger) error {
	pool, err := connect(ctx, environ, logger)
	if err != nil {
		return err
	}
	pool.Close()
	logger.Info("database schema is up to date")
	return nil
}

// token prints a bearer token for hosts that take a static one (mcp-remote --header, the
// OpenAI Responses mcp tool, the Inspector). It carries the configured issuer and audience
// (MCP_AUDIENCE, else MCP_PUBLIC_URL), so this server's own verifier accepts it.
func token(args, environ []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	user := fs.String("user", "", "the user the token speaks for")
	ttl := fs.Duration("ttl", 24*time.Hour, "how long the token is valid")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("token: %w\nusage: mcpserver token --user ID [--ttl 24h]", err)
	}
	if *user == "" {
		return errors.New("token needs --user ID: the user the token speaks for")
	}
	ac, err := parse[authConfig](environ)
	if err != nil {
		return err
	}
	if err := ac.check(); err != nil {
		return err
	}
	if ac.Secret == "" {
		return errors.New("token needs BETTER_AUTH_SECRET, the key it signs with")
	}
	hc, err := parse[httpConfig](environ)
	if err != nil {
		return err
	}
	audience := ac.Audience
	if audience == "" {
		audience = hc.PublicURL // what the server accepts besides MCP_AUDIENCE
	}
	tok, err := auth.Mint([]byte(ac.Secret), auth.MintOptions{UserID: *user, Audience: audience, Issuer: ac.Issuer, TTL: *ttl})
	if err != nil {
		return fmt.Errorf("token: %w", err)
	}
	_, err = fmt.Fprintln(stdout, tok)
	return err
}

// check is the container HEALTHCHECK: GET /health on the local listener.
func check(ctx context.Context, environ []string) error {
	hc, err := parse[httpConfig](environ)
	if err != nil {
		return err
	}
	host := hc.Host
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	port, err := hc.port()
	if err != nil {
		return err
	}
	url := "http://" + net.JoinHostPort(host, port) + mcphttp.HealthPath
	return healthcheck.Check(ctx, url, 5*time.Second)
}

// Command chatproxy is taskwire's chat server: the ChatKit protocol for the browser, threads
// and items in PostgreSQL, a model loop against any OpenAI-compatible LLM, and every task
// operation handed to mcpserver over MCP as the same user.
//
//	chatproxy [serve]       HTTP at HOST:PORT (/chatkit, /api/chat, /api/tasks, /health, /ready, /metrics, /)
//	chatproxy healthcheck   exit 0 when the local server's /health answers 200
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/taskwire/taskwire/chatproxy/agent"
	"github.com/taskwire/taskwire/chatproxy/chatapi"
	"github.com/taskwire/taskwire/chatproxy/chatkit"
	"github.com/taskwire/taskwire/chatproxy/chatstore"
	"github.com/taskwire/taskwire/chatproxy/llm"
	"github.com/taskwire/taskwire/chatproxy/mcpclient"
	"github.com/taskwire/taskwire/chatproxy/proxyhttp"
	"github.com/taskwire/taskwire/chatproxy/web"
	"github.com/taskwire/taskwire/db"
	"github.com/taskwire/taskwire/internal/auth"
	"github.com/taskwire/taskwire/internal/envconf"
	"github.com/taskwire/taskwire/internal/healthcheck"
	"github.com/taskwire/taskwire/internal/httpedge"
	"github.com/taskwire/taskwire/internal/obs"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = "usage: chatproxy [serve | healthcheck]"

// run executes one subcommand and returns the process exit code.
func run(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 {
		cmd = args[0]
	}
	cfg, err := envconf.Parse[config](environ)
	if err != nil {
		fmt.Fprintln(stderr, "chatproxy: configuration:", err)
		return 2
	}
	switch cmd {
	case "serve":
		err = serve(ctx, cfg, stderr)
	case "healthcheck":
		err = healthcheck.Check(ctx, "http://"+net.JoinHostPort(cfg.Host, cfg.Port)+"/health", 3*time.Second)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "chatproxy: unknown command %q\n%s\n", cmd, usage)
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "chatproxy:", err)
		return 1
	}
	return 0
}

// serve wires the dependencies, serves until ctx ends, then shuts down gracefully.
func serve(ctx context.Context, cfg config, stderr io.Writer) error {
	if err := cfg.check(); err != nil {
		return err
	}
	logger, err := obs.NewLogger(stderr, cfg.LogLevel, "chatproxy")
	if err != nil {
		return fmt.Errorf("LOG_LEVEL: %w", err)
	}
	gate := httpedge.NewDBGate(nil, logger)
	pool, err := db.Open(ctx, cfg.DatabaseURL, db.ReportUnavailable(gate.Report))
	if err != nil {
		return fmt.Errorf("DATABASE_URL: %w", err)
	}
	defer pool.Close()
	gate.DB = pool
	gateCtx, stopGate := context.WithCancel(ctx)
	defer stopGate()
	go gate.Run(gateCtx)
	if err := db.Migrate(ctx, pool, logger); err != nil {
		return err
	}
	verifier, err := auth.NewVerifier(ctx, auth.Config{
		Secret: []byte(cfg.Secret), JWKSURL: cfg.JWKSURL, Issuer: cfg.Issuer, Audience: cfg.Audience, Logger: logger,
	})
	if err != nil {
		return fmt.Errorf("BETTER_AUTH_SECRET / BETTER_AUTH_JWKS_URL: %w", err)
	}

	reg := obs.NewRegistry()
	reg.MustRegister(obs.NewPoolCollector(pool))
	model, err := llm.New(cfg.LLM, llm.WithLogger(logger))
	if err != nil {
		return err
	}
	if !model.Configured() {
		logger.WarnContext(ctx, "no language model configured; chat turns will answer with an error until one is", "help", llm.ErrNotConfigured.Error())
	}
	tokens, err := mcpclient.NewTokens(mcpclient.TokenConfig{Audience: cfg.MCPAudience, Secret: []byte(cfg.Secret), Issuer: cfg.Issuer})
	if err != nil {
		return fmt.Errorf("mcpserver credentials: %w", err)
	}
	tools, err := mcpclient.New(mcpclient.Config{
		URL: cfg.MCPServerURL, Tokens: tokens.Source(),
		HTTPClient: &http.Client{Timeout: 60 * time.Second, Transport: obs.Transport(nil)},
	})
	if err != nil {
		return fmt.Errorf("MCP_SERVER_URL: %w", err)
	}
	defer tools.Close()

	assistant := agent.New(agent.Config{
		LLM: model, MCP: tools, Logger: logger,
		MaxSteps: cfg.MaxSteps, HistoryBudget: cfg.HistoryChars,
		LLMMetrics: obs.NewLLMMetrics(reg), ToolMetrics: obs.NewMCPClientMetrics(reg),
	})
	chat, err := chatkit.NewServer(chatkit.Options{Store: chatstore.New(pool, chatstore.Options{}), Responder: assistant, Logger: logger})
	if err != nil {
		return err
	}
	health := &httpedge.Health{}
	routes, err := proxyhttp.New(proxyhttp.Options{
		Verifier: verifier, ChatKit: chat, DB: pool, CORSOrigins: cfg.CORSOrigins,
		Version: version, Environment: cfg.Environment, Logger: logger,
		Health: health, Gate: gate,
		Limits: proxyhttp.Limits{TurnsPerMinute: cfg.TurnsPerMinute, TurnBurst: cfg.TurnBurst, MaxStreams: cfg.MaxStreams},
	})
	if err != nil {
		return fmt.Errorf("CORS_ORIGINS: %w", err)
	}
	chatapi.Mount(routes, chatapi.Config{
		ChatKit: chat, MCP: tools, ToolCalls: func(items []chatkit.Item) any { return agent.ToolCalls(items) },
		DevUser: cfg.DevUser, Secret: []byte(cfg.Secret), Audience: cfg.Audience, Issuer: cfg.Issuer, Logger: logger,
	})
	routes.Public("GET /metrics", obs.MetricsHandler(reg))
	routes.Public("GET /", web.Handler(web.Config{
		// With an auth service the page signs users in; the dev token is only its fallback.
		DomainKey: cfg.DomainKey, DevMode: cfg.DevUser != "" && cfg.AuthURL == "", AuthURL: cfg.AuthURL,
		LLMConfigured: model.Configured(), LLMHelp: llm.ErrNotConfigured.Error(),
	}))

	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.Host, cfg.Port))
	if err != nil {
		return fmt.Errorf("listen on HOST:PORT %s: %w", net.JoinHostPort(cfg.Host, cfg.Port), err)
	}
	logger.InfoContext(ctx, "chatproxy listening", "addr", "http://"+ln.Addr().String(), "mcp_server", cfg.MCPServerURL,
		"dev_user", cfg.DevUser, "version", version)
	// On SIGTERM open streams end at once with a final event, their text so far stored
	// (chatkit), rather than being cut off at the deadline.
	return httpedge.Server{
		Handler: obs.NewHTTP(reg, logger).Middleware(routes), Logger: logger, Health: health,
		CancelOnDrain: true, ShutdownTimeout: cfg.ShutdownTimeout,
	}.Serve(ctx, ln)
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// options are devrun's command line. Service settings (PORT, MCP_PORT, DATABASE_URL,
// BETTER_AUTH_SECRET, the LLM variables) come from the environment, as for the services.
type options struct {
	dataDir   string
	pgPort    int
	ephemeral bool
	fakeLLM   bool
	readyFile string
	auth      bool
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("devrun", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.dataDir, "data", ".data", "directory for PostgreSQL data, the dev secret and the built binaries (kept across runs)")
	fs.IntVar(&o.pgPort, "pg-port", 5433, "port of the private PostgreSQL on 127.0.0.1 (so psql can reach it)")
	fs.BoolVar(&o.ephemeral, "ephemeral", false, "throwaway run for tests: temporary data, random free ports, everything removed at exit")
	fs.BoolVar(&o.fakeLLM, "fake-llm", false, "answer chat with a built-in rule-based fake model instead of a real LLM (tests, demos)")
	fs.StringVar(&o.readyFile, "ready-file", "", "write the URLs and token as JSON to this file once everything is up (for scripts)")
	fs.BoolVar(&o.auth, "auth", true, "run the auth service (Node, Better Auth): sign-up on the page and OAuth for MCP hosts; -auth=false keeps the loopback dev token only")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseOptions(args, stderr)
	if err != nil {
		return 2
	}
	out := newPrefixer(stdout)
	if err := start(ctx, o, out, stdout); err != nil {
		fmt.Fprintln(stderr, "devrun:", err)
		return 1
	}
	return 0
}

// start brings the stack up, prints the banner, waits for Ctrl-C (or a service dying) and
// tears everything down in reverse order.
func start(ctx context.Context, o options, out *prefixer, stdout io.Writer) (err error) {
	if _, err := os.Stat("go.mod"); err != nil {
		return errors.New("run me from the repository root (make run)")
	}
	var cleanups []func()
	defer func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}()

	s := stack{Host: "127.0.0.1", User: devUser}
	if o.ephemeral {
		dir, err := os.MkdirTemp("", "taskwire-devrun-")
		if err != nil {
			return fmt.Errorf("make temporary data dir: %w", err)
		}
		// PostgreSQL runs as postgres when we are root and must be able to enter the dir.
		if err := os.Chmod(dir, 0o755); err != nil {
			return fmt.Errorf("open up %s: %w", dir, err)
		}
		cleanups = append(cleanups, func() { os.RemoveAll(dir) })
		o.dataDir, o.pgPort = dir, 0
		if s.ChatPort, err = freePort(); err != nil {
			return err
		}
		if s.MCPPort, err = freePort(); err != nil {
			return err
		}
		if o.auth {
			if s.AuthPort, err = freePort(); err != nil {
				return err
			}
		}
	} else {
		if s.ChatPort, err = envPort("PORT", 8000); err != nil {
			return err
		}
		if s.MCPPort, err = envPort("MCP_PORT", 8001); err != nil {
			return err
		}
		ports := []namedPort{{"PORT (chatproxy)", s.ChatPort}, {"MCP_PORT (mcpserver)", s.MCPPort}}
		if o.auth {
			if s.AuthPort, err = envPort("AUTH_PORT", 8002); err != nil {
				return err
			}
			ports = append(ports, namedPort{"AUTH_PORT (auth service)", s.AuthPort})
		}
		for _, p := range ports {
			if err := checkPortFree(s.Host, p.port); err != nil {
				return fmt.Errorf("%s: %w — is another `make run` still running? Stop it, or set %s to a free port", p.name, err, strings.Fields(p.name)[0])
			}
		}
	}
	dataDir, err := filepath.Abs(o.dataDir)
	if err != nil {
		return fmt.Errorf("resolve data dir: %w", err)
	}
	s.DataDir, s.BinDir = dataDir, filepath.Join(dataDir, "bin")
	if err := os.MkdirAll(s.BinDir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", s.BinDir, err)
	}

	s.Secret = os.Getenv("BETTER_AUTH_SECRET")
	if s.Secret == "" {
		if s.Secret, err = loadOrCreateSecret(filepath.Join(dataDir, "dev-secret")); err != nil {
			return err
		}
	}

	s.DatabaseURL = os.Getenv("DATABASE_URL")
	if s.DatabaseURL == "" {
		db, err := startPostgres(ctx, filepath.Join(dataDir, "postgres"), o.pgPort, o.ephemeral, out.writer("postgres"))
		if err != nil {
			return err
		}
		cleanups = append(cleanups, db.stop)
		s.DatabaseURL, s.PostgresNote = db.url, db.note
	}

	if o.fakeLLM {
		baseURL, stop, err := startFakeLLM()
		if err != nil {
			return err
		}
		cleanups = append(cleanups, stop)
		s.LLMEnv = []string{"OPENAI_BASE_URL=" + baseURL, "OPENAI_API_KEY=fake", "LLM_MODEL=" + fakeModel}
	}
	s.LLMConfigured = o.fakeLLM || llmConfiguredInEnv()

	if s.AuthEnabled() {
		if s.RepoDir, err = os.Getwd(); err != nil {
			return fmt.Errorf("find the repository: %w", err)
		}
		s.PublicAuth, s.PublicMCP, s.TrustedOrigins = os.Getenv("BETTER_AUTH_URL"), os.Getenv("MCP_PUBLIC_URL"), os.Getenv("AUTH_TRUSTED_ORIGINS")
		// A Node fetched from npm is a tool, not data: ephemeral runs keep it in the repository's
		// .data too, so tests do not download it every time.
		nodeDir := dataDir
		if o.ephemeral {
			nodeDir = filepath.Join(s.RepoDir, ".data")
		}
		if s.NodeBin, err = findNode(ctx, nodeDir, out.writer("devrun")); err != nil {
			return err
		}
		if err := npmCI(ctx, s.NodeBin, filepath.Join(s.RepoDir, "authserver"), out.writer("npm")); err != nil {
			return err
		}
	}

	fmt.Fprintln(out.writer("devrun"), "building mcpserver and chatproxy into", s.BinDir)
	if err := runCommand(ctx, out.writer("build"), nil, "go", "build", "-o", s.BinDir+string(filepath.Separator), "./mcpserver", "./chatproxy"); err != nil {
		return fmt.Errorf("build the services: %w", err)
	}
	mcp := s.mcpserver()
	if err := runCommand(ctx, out.writer(mcp.name), mcp.env, mcp.bin, s.migrateArgs()...); err != nil {
		return fmt.Errorf("apply the schema (mcpserver migrate): %w", err)
	}

	var procs []*process
	cleanups = append(cleanups, func() {
		for i := len(procs) - 1; i >= 0; i-- {
			procs[i].stop(15 * time.Second)
		}
	})
	services := []service{mcp, s.chatproxy()}
	if s.AuthEnabled() {
		// First, so the Go services find its JWKS at once.
		services = append([]service{s.authserver()}, services...)
	}
	for _, svc := range services {
		p, err := startProcess(svc, out.writer(svc.name))
		if err != nil {
			return err
		}
		procs = append(procs, p)
		if err := p.waitHealthy(ctx, svc.health, 60*time.Second); err != nil {
			return err
		}
	}

	if s.Token, err = captureCommand(ctx, mcp.env, mcp.bin, s.tokenArgs()...); err != nil {
		return fmt.Errorf("mint a dev token (mcpserver %s): %w", strings.Join(s.tokenArgs(), " "), err)
	}
	if err := checkToken(ctx, s.Secret, s.Token, s.User); err != nil {
		return err
	}
	if s.AuthEnabled() {
		// chatproxy checks its own audience (the auth service's), so curl needs a token for it.
		if s.ChatToken, err = captureCommand(ctx, withEnv(mcp.env, "MCP_AUDIENCE="+s.AuthURL()), mcp.bin, s.tokenArgs()...); err != nil {
			return fmt.Errorf("mint a dev token for chatproxy: %w", err)
		}
	}
	if o.readyFile != "" {
		if err := writeReadyFile(o.readyFile, s); err != nil {
			return err
		}
	}
	if err := renderBanner(stdout, s); err != nil {
		return err
	}

	select {
	case <-ctx.Done():
		fmt.Fprintln(out.writer("devrun"), "stopping…")
		return nil
	case p := <-firstExit(procs):
		return fmt.Errorf("%s exited unexpectedly: %v", p.name, p.err())
	}
}

// namedPort is a port devrun wants, named by its variable for the error message.
type namedPort struct {
	name string
	port int
}

// envPort reads a port from the environment, with a default.
func envPort(name string, def int) (int, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	p, err := strconv.Atoi(v)
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("%s=%q is not a port number", name, v)
	}
	return p, nil
}

func checkPortFree(host string, port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("port %d is in use", port)
	}
	return l.Close()
}

// freePort asks the kernel for a free loopback port. Another process could take it before
// the service binds it; on a test machine that race is negligible.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func llmConfiguredInEnv() bool {
	for _, k := range []string{"OPENAI_API_KEY", "GEMINI_API_KEY", "OPENAI_BASE_URL"} {
		if os.Getenv(k) != "" {
			return true
		}
	}
	return false
}

// runCommand runs a command to completion with its output prefixed. env nil means ours.
func runCommand(ctx context.Context, out io.Writer, env []string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w", filepath.Base(name), strings.Join(args, " "), err)
	}
	return nil
}

// captureCommand runs a command and returns the last non-empty line of its standard output.
func captureCommand(ctx context.Context, env []string, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	lines := strings.Fields(strings.TrimSpace(string(b)))
	if len(lines) == 0 {
		return "", errors.New("it printed nothing")
	}
	return lines[len(lines)-1], nil
}

// readyInfo is what -ready-file receives: enough for a test script to drive the stack.
type readyInfo struct {
	ChatURL     string `json:"chat_url"`
	MCPURL      string `json:"mcp_url"`
	AuthURL     string `json:"auth_url,omitempty"`
	Token       string `json:"token"`
	User        string `json:"user"`
	DatabaseURL string `json:"database_url"`
}

func writeReadyFile(path string, s stack) error {
	info := readyInfo{ChatURL: s.ChatURL(), MCPURL: s.MCPURL(), Token: s.Token, User: s.User, DatabaseURL: s.DatabaseURL}
	if s.AuthEnabled() {
		info.AuthURL = s.AuthURL()
	}
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return fmt.Errorf("encode ready file: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("write ready file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil { // readers never see half a file
		return fmt.Errorf("write ready file: %w", err)
	}
	return nil
}

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/taskwire/taskwire/chatproxy/llm/llmtest"
	"github.com/taskwire/taskwire/internal/pgcluster"
)

// secret signs the HS256 tokens of the test users; both services accept them.
const secret = "chaos-secret-chaos-secret-chaos-secret-0123456789"

// proc is one started service process, logging to a file in the work directory.
type proc struct {
	name string
	bin  string
	env  []string
	port int
	log  string
	cmd  *exec.Cmd
	done chan struct{}
}

func (p *proc) url() string { return fmt.Sprintf("http://127.0.0.1:%d", p.port) }

func (p *proc) start() error {
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	p.cmd = exec.Command(p.bin, "serve")
	p.cmd.Env = append(os.Environ(), p.env...)
	p.cmd.Stdout, p.cmd.Stderr = f, f
	if err := p.cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	p.done = make(chan struct{})
	go func() { _ = p.cmd.Wait(); f.Close(); close(p.done) }()
	return nil
}

// stop sends sig and waits up to limit for the exit; past it the process is killed.
func (p *proc) stop(sig syscall.Signal, limit time.Duration) (exited bool) {
	if p.cmd == nil || p.cmd.Process == nil {
		return true
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
		return true
	case <-time.After(limit):
		_ = p.cmd.Process.Kill()
		<-p.done
		return false
	}
}

// stack is everything the suite runs: PostgreSQL, two replicas of each Go service, the fake
// model and haproxy in front of the replicas.
type stack struct {
	dir       string
	pg        *pgcluster.Cluster
	pgOpts    pgcluster.Options
	dbURL     string
	mcp       []*proc
	chat      []*proc
	haproxy   *exec.Cmd
	readyPath string // what haproxy checks
	mcpLB     string // haproxy frontends
	chatLB    string
	modelURL  string
	model     *http.Server
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func startStack(ctx context.Context, dir, mcpBin, chatBin string) (*stack, error) {
	s := &stack{dir: dir}
	pgPort, err := freePort()
	if err != nil {
		return nil, err
	}
	s.pgOpts = pgcluster.Options{Dir: filepath.Join(dir, "pg"), Port: pgPort, Ephemeral: true, Log: io.Discard}
	if s.pg, err = pgcluster.Start(ctx, s.pgOpts); err != nil {
		return nil, fmt.Errorf("start PostgreSQL: %w", err)
	}
	s.dbURL = s.pg.URL("postgres")
	if err := s.startModel(); err != nil {
		return s, err
	}
	ports := make([]int, 6)
	for i := range ports {
		if ports[i], err = freePort(); err != nil {
			return s, err
		}
	}
	s.mcpLB = fmt.Sprintf("http://127.0.0.1:%d", ports[4])
	s.chatLB = fmt.Sprintf("http://127.0.0.1:%d", ports[5])
	for i := range 2 {
		s.mcp = append(s.mcp, &proc{name: fmt.Sprintf("mcpserver-%d", i+1), bin: mcpBin, port: ports[i],
			log: filepath.Join(dir, fmt.Sprintf("mcpserver-%d.log", i+1)),
			env: []string{"MCP_HOST=127.0.0.1", fmt.Sprintf("MCP_PORT=%d", ports[i]), "DATABASE_URL=" + s.dbURL,
				"BETTER_AUTH_SECRET=" + secret, "LOG_LEVEL=warn", "SHUTDOWN_TIMEOUT=10s"}})
		s.chat = append(s.chat, &proc{name: fmt.Sprintf("chatproxy-%d", i+1), bin: chatBin, port: ports[2+i],
			log: filepath.Join(dir, fmt.Sprintf("chatproxy-%d.log", i+1)),
			env: []string{"HOST=127.0.0.1", fmt.Sprintf("PORT=%d", ports[2+i]), "DATABASE_URL=" + s.dbURL,
				"BETTER_AUTH_SECRET=" + secret, "LOG_LEVEL=warn", "MCP_SERVER_URL=" + s.mcpLB + "/mcp",
				"OPENAI_BASE_URL=" + s.modelURL, "OPENAI_API_KEY=fake", "LLM_MODEL=fake-model",
				"LLM_MAX_RETRIES=0", "SHUTDOWN_TIMEOUT=10s"}})
	}
	// All four at the same moment, on the empty database: the migration lock must sort it out.
	for _, p := range append(append([]*proc{}, s.mcp...), s.chat...) {
		if err := p.start(); err != nil {
			return s, err
		}
	}
	for _, p := range append(append([]*proc{}, s.mcp...), s.chat...) {
		if err := waitHealthy(ctx, p, 60*time.Second); err != nil {
			return s, err
		}
	}
	// The readiness endpoint: /ready where the services have it, else /health (a build from
	// before /ready existed), so that the rest of the suite still runs.
	s.readyPath = "/ready"
	if code, _ := getStatus(ctx, s.mcp[0].url()+"/ready"); code == http.StatusNotFound {
		s.readyPath = "/health"
		fmt.Println("note: mcpserver has no /ready; haproxy checks /health")
	}
	if err := s.startHAProxy(ctx, ports[4], ports[5]); err != nil {
		return s, err
	}
	return s, nil
}

// waitHealthy polls /health until 200 or the process exits or the limit passes.
func waitHealthy(ctx context.Context, p *proc, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			return fmt.Errorf("%s exited at start; see %s", p.name, p.log)
		default:
		}
		if code, _ := getStatus(ctx, p.url()+"/health"); code == http.StatusOK {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s: /health not 200 within %s; see %s", p.name, limit, p.log)
}

func getStatus(ctx context.Context, url string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// haproxyConfig balances round-robin, marks each answer with the replica that served it
// (X-Served-By), and takes a replica out while its /ready fails — as deploy/haproxy does.
func (s *stack) haproxyConfig(mcpPort, chatPort int) string {
	var b strings.Builder
	b.WriteString(`global
    maxconn 4096
defaults
    mode http
    retries 2
    option redispatch
    timeout connect 2s
    timeout http-request 10s
    timeout client 60s
    timeout server 60s
    default-server check inter 500ms fall 1 rise 2
`)
	backend := func(name string, port int, procs []*proc) {
		fmt.Fprintf(&b, "frontend %s\n    bind 127.0.0.1:%d\n    default_backend %s_servers\n", name, port, name)
		fmt.Fprintf(&b, "backend %s_servers\n    balance roundrobin\n    option httpchk GET %s\n    http-check expect status 200\n", name, s.readyPath)
		b.WriteString("    http-response set-header X-Served-By %s\n")
		for _, p := range procs {
			fmt.Fprintf(&b, "    server %s 127.0.0.1:%d\n", p.name, p.port)
		}
	}
	backend("mcp", mcpPort, s.mcp)
	backend("chat", chatPort, s.chat)
	return b.String()
}

func (s *stack) startHAProxy(ctx context.Context, mcpPort, chatPort int) error {
	cfg := filepath.Join(s.dir, "haproxy.cfg")
	if err := os.WriteFile(cfg, []byte(s.haproxyConfig(mcpPort, chatPort)), 0o644); err != nil {
		return err
	}
	var out bytes.Buffer
	check := exec.CommandContext(ctx, "haproxy", "-c", "-f", cfg)
	check.Stdout, check.Stderr = &out, &out
	if err := check.Run(); err != nil {
		return fmt.Errorf("haproxy config: %v\n%s", err, out.String())
	}
	log, err := os.Create(filepath.Join(s.dir, "haproxy.log"))
	if err != nil {
		return err
	}
	s.haproxy = exec.Command("haproxy", "-db", "-f", cfg)
	s.haproxy.Stdout, s.haproxy.Stderr = log, log
	if err := s.haproxy.Start(); err != nil {
		return fmt.Errorf("start haproxy: %w", err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		c1, _ := getStatus(ctx, s.mcpLB+"/health")
		c2, _ := getStatus(ctx, s.chatLB+"/health")
		if c1 == http.StatusOK && c2 == http.StatusOK {
			time.Sleep(1500 * time.Millisecond) // let every server pass its first checks
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("haproxy did not answer within 15 s; see %s", log.Name())
}

// startModel serves the fake model: the rule-based fake of chatproxy/llm/llmtest, except that a
// message asking for a "slow story" streams forty words, one every 100 ms, so that a turn can
// be interrupted half-way.
func (s *stack) startModel() error {
	rules := llmtest.NewRules(llmtest.OpenAI)
	words := strings.Repeat("word ", 40)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		r.Body = io.NopCloser(bytes.NewReader(body))
		if !bytes.Contains(body, []byte("slow story")) || !bytes.Contains(body, []byte(`"stream":true`)) ||
			bytes.Contains(body, []byte(`"role":"assistant"`)) {
			rules.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		flusher, _ := w.(http.Flusher)
		for _, c := range llmtest.Chunks(llmtest.OpenAI, llmtest.Text(words), 5) {
			if _, err := fmt.Fprintf(w, "data: %s\n\n", c); err != nil {
				return
			}
			flusher.Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
		fmt.Fprint(w, "data: [DONE]\n\n")
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	s.model = &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.model.Serve(l) }()
	s.modelURL = "http://" + l.Addr().String() + "/v1"
	return nil
}

// close stops everything that was started, whatever state it is in.
func (s *stack) close() {
	if s.haproxy != nil && s.haproxy.Process != nil {
		_ = s.haproxy.Process.Kill()
		_ = s.haproxy.Wait()
	}
	for _, p := range append(append([]*proc{}, s.chat...), s.mcp...) {
		p.stop(syscall.SIGKILL, 5*time.Second)
	}
	if s.model != nil {
		_ = s.model.Close()
	}
	if s.pg != nil {
		_ = s.pg.Stop(context.Background(), true)
	}
}

// pgclusterStart starts the stack's PostgreSQL again on the same data and port.
func pgclusterStart(ctx context.Context, s *stack) (*pgcluster.Cluster, error) {
	return pgcluster.Start(ctx, s.pgOpts)
}

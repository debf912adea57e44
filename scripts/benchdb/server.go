package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// pprofSource is compiled into mcpserver only for a -profile run (through go build
// -overlay, so the repository's server never carries it): it serves net/http/pprof on the
// loopback address in BENCHDB_PPROF_ADDR.
const pprofSource = `package main

import (
	"net/http"
	_ "net/http/pprof"
	"os"
)

func init() {
	if addr := os.Getenv("BENCHDB_PPROF_ADDR"); addr != "" {
		go func() { _ = http.ListenAndServe(addr, nil) }()
	}
}
`

// buildServer builds ./mcpserver into dir, with the pprof listener when profile is set.
func buildServer(ctx context.Context, dir string, profile bool) (string, error) {
	bin := filepath.Join(dir, "mcpserver")
	args := []string{"build", "-o", bin}
	if profile {
		src := filepath.Join(dir, "pprof.go")
		if err := os.WriteFile(src, []byte(pprofSource), 0o644); err != nil {
			return "", err
		}
		target, err := filepath.Abs(filepath.Join("mcpserver", "zz_benchdb_pprof.go"))
		if err != nil {
			return "", err
		}
		overlay, _ := json.Marshal(map[string]map[string]string{"Replace": {target: src}})
		ov := filepath.Join(dir, "overlay.json")
		if err := os.WriteFile(ov, overlay, 0o644); err != nil {
			return "", err
		}
		args = append(args, "-overlay", ov)
	}
	cmd := exec.CommandContext(ctx, "go", append(args, "./mcpserver")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./mcpserver (run benchdb from the repository root): %w: %s", err, out)
	}
	return bin, nil
}

// server is a running mcpserver process.
type server struct {
	cmd    *exec.Cmd
	addr   string
	exited chan error
}

// startServer runs `bin serve` with env and waits until /health answers 200.
func startServer(ctx context.Context, bin string, env []string, addr, logFile string) (*server, error) {
	log, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("start mcpserver: %w", err)
	}
	s := &server{cmd: cmd, addr: addr, exited: make(chan error, 1)}
	go func() { s.exited <- cmd.Wait(); log.Close() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case err := <-s.exited:
			return nil, fmt.Errorf("mcpserver exited at start (%v); its log: %s", err, readTail(logFile))
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("mcpserver did not become healthy in 30s; its log: %s", readTail(logFile))
		}
	}
}

// memory reads the process's peak and current resident set (kB) from /proc.
func (s *server) memory() (peak, current int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, _ := strings.Cut(sc.Text(), ":")
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		switch name {
		case "VmHWM":
			peak = kb
		case "VmRSS":
			current = kb
		}
	}
	if peak == 0 {
		return 0, 0, errors.New("no VmHWM in /proc status")
	}
	return peak, current, sc.Err()
}

// stop ends the server with SIGTERM, and kills it if it has not exited in 30 s.
func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// fetchProfile saves a pprof profile from the server's pprof listener to file.
func fetchProfile(ctx context.Context, pprofAddr, path, file string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+pprofAddr+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("fetch %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fetch %s: HTTP %d", path, resp.StatusCode)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// freeAddr is a loopback address with a port nobody listens on right now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func readTail(file string) string {
	b, _ := os.ReadFile(file)
	return tail(string(b), 2000)
}

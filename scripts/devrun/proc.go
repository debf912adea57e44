package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/taskwire/taskwire/internal/healthcheck"
)

// prefixer interleaves the output of several children line by line, each line marked with
// its source ("[mcpserver] ..."), so two services' logs stay readable in one terminal.
type prefixer struct {
	mu  sync.Mutex
	out io.Writer
}

func newPrefixer(out io.Writer) *prefixer { return &prefixer{out: out} }

// writer returns an io.Writer whose complete lines go out prefixed with [name].
func (p *prefixer) writer(name string) io.Writer {
	return &prefixWriter{p: p, prefix: []byte("[" + name + "] ")}
}

type prefixWriter struct {
	p       *prefixer
	prefix  []byte
	partial []byte
}

func (w *prefixWriter) Write(b []byte) (int, error) {
	n := len(b)
	w.partial = append(w.partial, b...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		line := w.partial[:i+1]
		w.p.mu.Lock()
		_, err := w.p.out.Write(append(append([]byte{}, w.prefix...), line...))
		w.p.mu.Unlock()
		if err != nil {
			return n, err
		}
		w.partial = w.partial[i+1:]
	}
	return n, nil
}

// process is a running service.
type process struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	werr error
}

// startProcess starts svc in its own process group: a Ctrl-C in the terminal reaches devrun
// only, which then stops the services in order (chatproxy before mcpserver before PostgreSQL).
func startProcess(svc service, out io.Writer) (*process, error) {
	cmd := exec.Command(svc.bin, svc.args...)
	cmd.Env = svc.env
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", svc.name, err)
	}
	p := &process{name: svc.name, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.werr = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *process) err() error {
	<-p.done
	return p.werr
}

// stop asks the service to shut down (SIGTERM, which both services handle gracefully) and
// kills it if it has not exited after grace.
func (p *process) stop(grace time.Duration) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// waitHealthy polls url until it answers 200, the process dies, or the timeout passes.
func (p *process) waitHealthy(ctx context.Context, url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := healthcheck.Check(ctx, url, 2*time.Second)
		if err == nil {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited during start-up (%v); its output is above", p.name, p.werr)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not become healthy within %s: %w", p.name, timeout, err)
		}
	}
}

// firstExit delivers the first of procs to exit.
func firstExit(procs []*process) <-chan *process {
	ch := make(chan *process, len(procs))
	for _, p := range procs {
		go func() {
			<-p.done
			ch <- p
		}()
	}
	return ch
}

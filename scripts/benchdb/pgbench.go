package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// pgbenchScript is the ceiling's transaction: on a client's first transaction it prepares
// the statement (the exact text sqlc generated), then every transaction executes it for a
// random user of the pool. pgbench's own -M prepared cannot be used: it sends variables as
// text and has no way to bind NULL, which every "option not given" argument is. A named
// server-side prepared statement executed with real NULLs is what pgx's statement cache
// does, plan choice (custom or generic) included.
func pgbenchScript(q query, stmt string, users int, values map[string]string) (string, error) {
	exec, err := q.execute(stmt, values)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("\\if :prepared = 0\n")
	b.WriteString(q.prepare(stmt) + "\n")
	b.WriteString("\\set prepared 1\n\\endif\n")
	fmt.Fprintf(&b, "\\set uid random(0, %d)\n", users-1)
	b.WriteString(exec + "\n")
	return b.String(), nil
}

// pgbench runs one ceiling point: script at concurrency c for d over TCP, with a log of
// every transaction's latency.
type pgbench struct {
	bin, host, port, user, dbname, dir string
	postmaster                         int // for the cluster's CPU time
}

var tpsLine = regexp.MustCompile(`(?m)^tps = ([0-9.]+) \(without initial connection time\)`)

func (p pgbench) run(ctx context.Context, script string, c int, d time.Duration) (point, error) {
	dir, err := os.MkdirTemp(p.dir, "pgbench-")
	if err != nil {
		return point{}, err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "script.sql")
	if err := os.WriteFile(file, []byte(script), 0o644); err != nil {
		return point{}, err
	}
	secs := max(1, int((d+time.Second-1)/time.Second))
	args := []string{"-n", "-M", "simple", "-h", p.host, "-p", p.port, "-U", p.user,
		"-c", strconv.Itoa(c), "-j", strconv.Itoa(clientThreads(c)), "-T", strconv.Itoa(secs),
		"-D", "prepared=0", "-f", file, "-l", "--log-prefix", filepath.Join(dir, "txlog"), p.dbname}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(secs)*time.Second+time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.bin, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	pg0, err := postgresCPU(p.postmaster)
	if err != nil {
		return point{}, err
	}
	if err := cmd.Run(); err != nil {
		return point{}, fmt.Errorf("pgbench: %w: %s", err, tail(out.String(), 2000))
	}
	time.Sleep(100 * time.Millisecond) // pgbench's backends exit and are reaped
	pg1, err := postgresCPU(p.postmaster)
	if err != nil {
		return point{}, err
	}
	m := tpsLine.FindStringSubmatch(out.String())
	if m == nil {
		return point{}, fmt.Errorf("pgbench printed no tps: %s", tail(out.String(), 2000))
	}
	if strings.Contains(out.String(), "number of failed transactions: ") && !strings.Contains(out.String(), "number of failed transactions: 0 ") {
		return point{}, fmt.Errorf("pgbench had failed transactions: %s", tail(out.String(), 2000))
	}
	tps, _ := strconv.ParseFloat(m[1], 64)
	lat, err := readTxLogs(dir)
	if err != nil {
		return point{}, err
	}
	pt := newPoint(lat, 0)
	pt.rate = tps
	pt.cpu = cpuUse{postgres: pg1 - pg0, driver: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}
	return pt, nil
}

// readTxLogs reads pgbench's per-transaction logs ("client tx latency_us script epoch us").
func readTxLogs(dir string) ([]time.Duration, error) {
	files, _ := filepath.Glob(filepath.Join(dir, "txlog.*"))
	if len(files) == 0 {
		return nil, fmt.Errorf("pgbench wrote no transaction log in %s", dir)
	}
	var out []time.Duration
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 3 {
				continue
			}
			us, err := strconv.ParseInt(fields[2], 10, 64)
			if err != nil {
				fh.Close()
				return nil, fmt.Errorf("pgbench log %s: %q: %w", f, sc.Text(), err)
			}
			out = append(out, time.Duration(us)*time.Microsecond)
		}
		fh.Close()
		if err := sc.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// findPgbench finds pgbench next to the server binaries or on PATH, installing Debian's
// postgresql-contrib (which brings it) when it is missing and we may.
func findPgbench(ctx context.Context, bindir string, log io.Writer) (string, error) {
	find := func() (string, bool) {
		if p := filepath.Join(bindir, "pgbench"); isFile(p) {
			return p, true
		}
		p, err := exec.LookPath("pgbench")
		return p, err == nil
	}
	if p, ok := find(); ok {
		return p, nil
	}
	if _, err := exec.LookPath("apt-get"); err != nil || os.Geteuid() != 0 {
		return "", errors.New("pgbench not found: install it (Debian: apt-get install postgresql-contrib)")
	}
	fmt.Fprintln(log, "benchdb: installing Debian's postgresql-contrib for pgbench")
	cmd := exec.CommandContext(ctx, "apt-get", "install", "-y", "--no-install-recommends", "postgresql-contrib")
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("apt-get install postgresql-contrib: %w", err)
	}
	if p, ok := find(); ok {
		return p, nil
	}
	return "", errors.New("postgresql-contrib was installed but pgbench is still not found")
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// Package pgcluster runs a private PostgreSQL server from the machine's own binaries, for the
// test harness and for `make run` on a machine with no database configured. It installs
// Debian's postgresql package when the binaries are missing and it runs as root, and it runs
// the server as the postgres user when started by root, because PostgreSQL refuses root.
package pgcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Options says where and how a cluster runs.
type Options struct {
	// Dir holds the data directory; it is created and initialised when empty, and reused
	// (with its data) when it already holds a cluster.
	Dir string
	// Port, when non-zero, makes the server listen on 127.0.0.1:Port. When zero it listens
	// only on a unix socket inside Dir, so parallel test clusters never collide on a port.
	Port int
	// Ephemeral trades durability for speed (no fsync), for throwaway test clusters.
	Ephemeral bool
	// Log receives the output of initdb and of a package install; nil discards it.
	Log io.Writer
}

// Cluster is a running server started by Start.
type Cluster struct {
	opts   Options
	bindir string
	runAs  string // user to run the server binaries as, when we are root
}

// Start initialises (if needed) and starts a cluster, waiting until it accepts connections.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("resolve cluster dir: %w", err)
	}
	opts.Dir = dir
	bindir, err := EnsureBinaries(ctx, opts.Log)
	if err != nil {
		return nil, err
	}
	c := &Cluster{opts: opts, bindir: bindir}
	if os.Geteuid() == 0 {
		c.runAs = "postgres"
		if _, err := user.Lookup(c.runAs); err != nil {
			return nil, fmt.Errorf("running as root needs a %q user to run PostgreSQL as (apt-get install postgresql creates it): %w", c.runAs, err)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create cluster dir: %w", err)
	}
	if err := c.chown(dir); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(c.dataDir(), "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		if err := c.initdb(ctx); err != nil {
			return nil, err
		}
	}
	// A server left running by a killed earlier run holds the data directory: stop it first.
	if _, err := os.Stat(filepath.Join(c.dataDir(), "postmaster.pid")); err == nil {
		_ = c.pgctl(ctx, "stop", "-m", "fast")
	}
	if err := c.pgctl(ctx, "start", "-w", "-t", "60", "-l", c.LogFile(), "-o", c.serverFlags()); err != nil {
		return nil, fmt.Errorf("start PostgreSQL (log: %s): %w", c.LogFile(), err)
	}
	return c, nil
}

// URL is a connection URL for database dbname as the cluster's superuser.
func (c *Cluster) URL(dbname string) string {
	u := url.URL{Scheme: "postgres", User: url.User("postgres"), Path: "/" + dbname}
	q := url.Values{}
	if c.opts.Port != 0 {
		u.Host = "127.0.0.1:" + strconv.Itoa(c.opts.Port)
	} else {
		q.Set("host", c.opts.Dir)
	}
	q.Set("sslmode", "disable")
	u.RawQuery = q.Encode()
	return u.String()
}

// LogFile is the server's log, worth reading when something fails.
func (c *Cluster) LogFile() string { return filepath.Join(c.opts.Dir, "server.log") }

// Stop shuts the server down. Fast waits for nothing but is a clean shutdown; a throwaway
// cluster may use immediate instead.
func (c *Cluster) Stop(ctx context.Context, immediate bool) error {
	mode := "fast"
	if immediate {
		mode = "immediate"
	}
	if err := c.pgctl(ctx, "stop", "-w", "-m", mode); err != nil {
		return fmt.Errorf("stop PostgreSQL: %w", err)
	}
	return nil
}

func (c *Cluster) dataDir() string { return filepath.Join(c.opts.Dir, "data") }

func (c *Cluster) serverFlags() string {
	flags := []string{"-k", c.opts.Dir, "-c", "listen_addresses=''"}
	if c.opts.Port != 0 {
		flags = []string{"-k", c.opts.Dir, "-c", "listen_addresses=127.0.0.1", "-p", strconv.Itoa(c.opts.Port)}
	}
	flags = append(flags, "-c", "max_connections=200")
	if c.opts.Ephemeral {
		flags = append(flags, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	return strings.Join(flags, " ")
}

func (c *Cluster) initdb(ctx context.Context) error {
	args := []string{"-D", c.dataDir(), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C"}
	if c.opts.Ephemeral {
		args = append(args, "--no-sync")
	}
	if err := c.run(ctx, c.opts.Log, "initdb", args...); err != nil {
		return fmt.Errorf("initdb in %s: %w", c.dataDir(), err)
	}
	return nil
}

func (c *Cluster) pgctl(ctx context.Context, args ...string) error {
	return c.run(ctx, c.opts.Log, "pg_ctl", append([]string{"-D", c.dataDir()}, args...)...)
}

// run runs a PostgreSQL binary, as the postgres user when we are root, and returns its output
// in the error when it fails.
func (c *Cluster) run(ctx context.Context, log io.Writer, name string, args ...string) error {
	bin := filepath.Join(c.bindir, name)
	cmd := exec.CommandContext(ctx, bin, args...)
	if c.runAs != "" {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", c.runAs, "--", bin}, args...)...)
	}
	var out bytes.Buffer
	cmd.Stdout = io.MultiWriter(&out, log)
	cmd.Stderr = cmd.Stdout
	// pg_ctl start leaves the server running with our stdout open unless it is detached;
	// WaitDelay keeps Wait from blocking on the server's inherited pipes.
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil && !errors.Is(err, exec.ErrWaitDelay) {
		return fmt.Errorf("%s: %w: %s", name, err, strings.TrimSpace(out.String()))
	}
	return nil
}

func (c *Cluster) chown(dir string) error {
	if c.runAs == "" {
		return nil
	}
	u, err := user.Lookup(c.runAs)
	if err != nil {
		return fmt.Errorf("look up %s: %w", c.runAs, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		return fmt.Errorf("hand %s to %s: %w", dir, c.runAs, err)
	}
	return nil
}

// EnsureBinaries finds the directory holding initdb and pg_ctl, installing Debian's
// postgresql package first when they are missing and we may (root with apt-get).
func EnsureBinaries(ctx context.Context, log io.Writer) (string, error) {
	if dir, ok := findBinaries(); ok {
		return dir, nil
	}
	if _, err := exec.LookPath("apt-get"); err != nil || os.Geteuid() != 0 {
		return "", errors.New("PostgreSQL server binaries (initdb, pg_ctl) not found: install PostgreSQL (Debian: apt-get install postgresql) or set TEST_DATABASE_URL / DATABASE_URL to an existing server")
	}
	fmt.Fprintln(log, "pgcluster: installing Debian's postgresql package")
	for _, args := range [][]string{{"update"}, {"install", "-y", "--no-install-recommends", "postgresql"}} {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("apt-get %s: %w", args[0], err)
		}
	}
	if dir, ok := findBinaries(); ok {
		return dir, nil
	}
	return "", errors.New("postgresql was installed but initdb and pg_ctl are still not found")
}

// findBinaries prefers the newest /usr/lib/postgresql/N/bin (Debian keeps initdb and pg_ctl
// off PATH), then PATH.
func findBinaries() (string, bool) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "pg_ctl")) {
			return d, true
		}
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			d := filepath.Dir(real)
			if isExec(filepath.Join(d, "initdb")) {
				return d, true
			}
		}
	}
	return "", false
}

func version(bindir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(bindir)))
	return n
}

func isExec(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// Command benchdb measures mcpserver against the ceiling its database sets: PostgreSQL
// running the exact SQL of add_task and list_tasks (read from the sqlc output in db/ at run
// time) under pgbench, then mcpserver — the built binary, over loopback HTTP, verifying a
// real token per simulated user — under the same concurrency, in interleaved repetitions
// (ceiling, server, ceiling, server …), on one throwaway PostgreSQL. It prints a Markdown
// table of rates, latencies and the server's share of the ceiling, and the server's peak RSS.
//
//	make bench-db                       # or: go run ./scripts/benchdb -h
//
// Everything runs on 127.0.0.1 and stops by itself; run it from the repository root.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/taskwire/taskwire/internal/auth"
	"github.com/taskwire/taskwire/internal/pgcluster"
	"github.com/taskwire/taskwire/mcpserver/taskstore"
)

// seededTasks is how many tasks each list user has: list_tasks' default page.
const seededTasks = taskstore.DefaultLimit

// workload is one tool measured on both sides. values are the SQL expressions pgbench binds
// to the statement's parameters, by sqlc field name; :uid is pgbench's random user. They
// are the values the store sends for the tool call in args: parameters left out are the
// options not given, which the store sends as NULL.
type workload struct {
	tool   string
	method string // the sqlc method in db/*.sql.go that the tool runs
	users  string // prefix of the user pool
	args   string
	values map[string]string
}

var workloads = []workload{
	{
		tool: "add_task", method: "InsertTask", users: "add-",
		args: `{"title":"Buy groceries","priority":"high","tags":["home"]}`,
		values: map[string]string{
			"UserID": "'add-' || :uid", "Title": "'Buy groceries'", "Description": "''",
			"DueDate": "NULL", "Priority": "'high'", "Tags": "'{home}'",
		},
	},
	{
		tool: "list_tasks", method: "ListTasksByCreated", users: "list-",
		args: `{}`, // the first page: taskstore.DefaultLimit tasks, by task number
		values: map[string]string{
			// What the store sends for a first page without filters: not the trash (its
			// cutoff unused), no date bounds ("today" unused), after task 0.
			"UserID": "'list-' || :uid", "Trash": "false", "TrashCutoff": "'0001-01-01 00:00:00+00'",
			"Now": "now()", "TodayStart": "now()", "AfterTaskID": "0",
			// The store asks for one row more than the page, to know whether another follows.
			"RowLimit": strconv.Itoa(taskstore.DefaultLimit + 1),
		},
	},
}

const (
	secret   = "benchdb-secret-0123456789-0123456789-abcdef"
	issuer   = "http://127.0.0.1:8002"
	maxPoint = 2 * time.Minute
)

type config struct {
	duration    time.Duration
	reps        int
	concurrency []int
	users       int
	tools       []string
	mcpserver   string
	profile     string
	logLevel    string
	dbParams    string
	serverEnv   []string
}

func parseConfig(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("benchdb", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: go run ./scripts/benchdb [flags]   (from the repository root)\n\n"+
			"Runs a throwaway PostgreSQL on loopback, pgbench with the exact SQL of the tools as the\n"+
			"ceiling, and mcpserver under the same concurrency, interleaved; prints a Markdown table.\n\nflags:")
		fs.PrintDefaults()
	}
	c := config{}
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "length of each point, at most "+maxPoint.String())
	fs.IntVar(&c.reps, "reps", 3, "repetitions of each point (ceiling and server alternate); the table shows the median, so one disturbed repetition does not move it")
	conc := fs.String("concurrency", "1,8,32", "comma-separated concurrency levels (connections of pgbench, callers of mcpserver)")
	fs.IntVar(&c.users, "users", 1000, "simulated users per tool, each with its own token; list users have "+strconv.Itoa(seededTasks)+" tasks each")
	tools := fs.String("tools", "add_task,list_tasks", "tools to measure")
	fs.StringVar(&c.mcpserver, "mcpserver", "", "mcpserver binary to measure (default: go build ./mcpserver)")
	fs.StringVar(&c.profile, "profile", "", "directory for pprof profiles of the server (CPU at the highest concurrency, heap, allocs); builds mcpserver with a pprof listener")
	fs.StringVar(&c.logLevel, "log-level", "warn", "mcpserver's LOG_LEVEL (info adds an audit line per call)")
	serverEnv := fs.String("server-env", "", "extra environment for mcpserver, comma-separated KEY=VALUE pairs, to try runtime settings, e.g. GOGC=200")
	fs.StringVar(&c.dbParams, "db-params", "", "extra query parameters for mcpserver's DATABASE_URL, to try pool settings, e.g. pool_max_conns=8")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for s := range strings.SplitSeq(*conc, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > 256 {
			return c, fmt.Errorf("-concurrency: %q is not a whole number from 1 to 256", s)
		}
		c.concurrency = append(c.concurrency, n)
	}
	if *serverEnv != "" {
		for kv := range strings.SplitSeq(*serverEnv, ",") {
			if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
				return c, fmt.Errorf("-server-env: %q is not KEY=VALUE", kv)
			}
			c.serverEnv = append(c.serverEnv, kv)
		}
	}
	for t := range strings.SplitSeq(*tools, ",") {
		if !slices.ContainsFunc(workloads, func(w workload) bool { return w.tool == t }) {
			return c, fmt.Errorf("-tools: unknown tool %q (known: add_task, list_tasks)", t)
		}
		c.tools = append(c.tools, t)
	}
	switch {
	case c.duration < time.Second || c.duration > maxPoint:
		return c, fmt.Errorf("-duration must be from 1s to %s, got %s", maxPoint, c.duration)
	case c.reps < 1 || c.reps > 10:
		return c, fmt.Errorf("-reps must be from 1 to 10, got %d", c.reps)
	case c.users < 1 || c.users > 100000:
		return c, fmt.Errorf("-users must be from 1 to 100000, got %d", c.users)
	}
	if c.profile != "" && c.mcpserver != "" {
		return c, errors.New("-profile builds its own mcpserver: leave -mcpserver out")
	}
	return c, nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, err := parseConfig(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "benchdb:", err)
		return 2
	}
	if err := bench(ctx, c, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "benchdb:", err)
		return 1
	}
	return 0
}

func bench(ctx context.Context, c config, stdout, progress io.Writer) error {
	logf := func(format string, a ...any) { fmt.Fprintf(progress, "benchdb: "+format+"\n", a...) }
	var chosen []workload
	queries := map[string]query{}
	for _, w := range workloads {
		if !slices.Contains(c.tools, w.tool) {
			continue
		}
		q, err := loadQuery("db", w.method)
		if err != nil {
			return fmt.Errorf("%s: %w", w.tool, err)
		}
		if _, err := q.execute("check", w.values); err != nil {
			return fmt.Errorf("%s: %w", w.tool, err)
		}
		chosen = append(chosen, w)
		queries[w.tool] = q
	}

	work, err := os.MkdirTemp("", "benchdb-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bin := c.mcpserver
	if bin == "" {
		logf("building mcpserver")
		if bin, err = buildServer(ctx, work, c.profile != ""); err != nil {
			return err
		}
	}

	// PostgreSQL on a loopback port, so pgbench and mcpserver both reach it over TCP.
	pgAddr, err := freeAddr()
	if err != nil {
		return err
	}
	_, pgPort, _ := strings.Cut(pgAddr, ":")
	port, _ := strconv.Atoi(pgPort)
	pgDir, err := os.MkdirTemp("/tmp", "benchdb-pg-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(pgDir)
	logf("starting PostgreSQL on %s", pgAddr)
	cluster, err := pgcluster.Start(ctx, pgcluster.Options{Dir: pgDir, Port: port, Ephemeral: true})
	if err != nil {
		return err
	}
	defer func() { _ = cluster.Stop(context.Background(), true) }()
	bindir, err := pgcluster.EnsureBinaries(ctx, io.Discard)
	if err != nil {
		return err
	}
	pgbenchBin, err := findPgbench(ctx, bindir, progress)
	if err != nil {
		return err
	}
	if err := execSQL(ctx, cluster.URL("postgres"), "CREATE DATABASE bench"); err != nil {
		return err
	}
	dbURL := cluster.URL("bench")

	srvAddr, err := freeAddr()
	if err != nil {
		return err
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"DATABASE_URL=" + dbURL + "&" + c.dbParams,
		"BETTER_AUTH_SECRET=" + secret,
		"BETTER_AUTH_ISSUER=" + issuer,
		"MCP_AUDIENCE=http://" + srvAddr + "/mcp",
		"MCP_HOST=127.0.0.1",
		"MCP_PORT=" + srvAddr[strings.LastIndex(srvAddr, ":")+1:],
		"LOG_LEVEL=" + c.logLevel,
		"ENVIRONMENT=benchmark",
		"BENCHDB_USERS=" + strconv.Itoa(c.users), // for the reference server (./floor)
	}
	env = append(env, c.serverEnv...)
	pprofAddr := ""
	if c.profile != "" {
		if pprofAddr, err = freeAddr(); err != nil {
			return err
		}
		env = append(env, "BENCHDB_PPROF_ADDR="+pprofAddr)
		if err := os.MkdirAll(c.profile, 0o755); err != nil {
			return err
		}
	}
	migrate := exec.CommandContext(ctx, bin, "migrate")
	migrate.Env = env
	if out, err := migrate.CombinedOutput(); err != nil {
		return fmt.Errorf("mcpserver migrate: %w: %s", err, out)
	}
	logf("seeding %d users with %d tasks each", c.users, seededTasks)
	if err := seed(ctx, dbURL, c.users); err != nil {
		return err
	}
	logf("starting mcpserver on %s", srvAddr)
	srv, err := startServer(ctx, bin, env, srvAddr, filepath.Join(work, "mcpserver.log"))
	if err != nil {
		return err
	}
	defer srv.stop()

	postmaster, err := postmasterPID(filepath.Join(pgDir, "data"))
	if err != nil {
		return err
	}
	pg := pgbench{bin: pgbenchBin, host: "127.0.0.1", port: pgPort, user: "postgres", dbname: "bench", dir: work, postmaster: postmaster}
	// serverCPU is what the server side has used so far: the cluster, mcpserver, this client.
	serverCPU := func() (cpuUse, error) {
		pgc, err := postgresCPU(postmaster)
		if err != nil {
			return cpuUse{}, err
		}
		_, srvc, err := procStat(srv.cmd.Process.Pid, false)
		return cpuUse{postgres: pgc, driver: srvc, client: selfCPU()}, err
	}
	type side struct {
		script string
		reqs   requests
	}
	sides := map[string]side{}
	for _, w := range chosen {
		script, err := pgbenchScript(queries[w.tool], strings.TrimSuffix(w.tool, "_task")+"_stmt", c.users, w.values)
		if err != nil {
			return err
		}
		tokens := make([]string, c.users)
		for i := range tokens {
			if tokens[i], err = auth.Mint([]byte(secret), auth.MintOptions{
				UserID: w.users + strconv.Itoa(i), Audience: "http://" + srvAddr + "/mcp", Issuer: issuer, TTL: time.Hour,
			}); err != nil {
				return err
			}
		}
		sides[w.tool] = side{script, newRequests(srvAddr, tokens, w.tool, w.args)}
	}

	// Warm both sides once: connections, prepared statements, the buffer cache.
	for _, w := range chosen {
		if _, err := pg.run(ctx, sides[w.tool].script, 4, time.Second); err != nil {
			return fmt.Errorf("%s warm-up (pgbench): %w", w.tool, err)
		}
		if _, err := drive(ctx, srvAddr, sides[w.tool].reqs, 4, 2*time.Second); err != nil {
			return fmt.Errorf("%s warm-up (mcpserver): %w; server log: %s", w.tool, err, readTail(filepath.Join(work, "mcpserver.log")))
		}
	}

	load0 := loadavg()
	var rows []row
	top := slices.Max(c.concurrency)
	for _, w := range chosen {
		// As pgbench does before a run: the rows the last workload added are vacuumed and
		// analyzed now, not by autovacuum in the middle of this one's points.
		if err := execSQL(ctx, dbURL, "VACUUM ANALYZE tasks"); err != nil {
			return fmt.Errorf("%s: vacuum: %w", w.tool, err)
		}
		for _, conc := range c.concurrency {
			r := row{workload: w.tool, concurrency: conc}
			for rep := range c.reps {
				cp, err := pg.run(ctx, sides[w.tool].script, conc, c.duration)
				if err != nil {
					return fmt.Errorf("%s c=%d: %w", w.tool, conc, err)
				}
				r.ceiling = append(r.ceiling, cp)
				var profiled chan error
				if pprofAddr != "" && rep == 0 && conc == top {
					profiled = make(chan error, 1)
					secs := max(1, int(c.duration/time.Second)-1)
					file := filepath.Join(c.profile, "cpu-"+w.tool+".pprof")
					go func() {
						profiled <- fetchProfile(ctx, pprofAddr, "/debug/pprof/profile?seconds="+strconv.Itoa(secs), file)
					}()
				}
				cpu0, err := serverCPU()
				if err != nil {
					return err
				}
				sp, err := drive(ctx, srvAddr, sides[w.tool].reqs, conc, c.duration)
				if err != nil {
					return fmt.Errorf("%s c=%d (mcpserver): %w; server log: %s", w.tool, conc, err, readTail(filepath.Join(work, "mcpserver.log")))
				}
				cpu1, err := serverCPU()
				if err != nil {
					return err
				}
				sp.cpu = cpu1.sub(cpu0)
				if profiled != nil {
					if err := <-profiled; err != nil {
						return err
					}
				}
				r.server = append(r.server, sp)
				logf("%-10s c=%-3d rep %d: pgbench %8.0f tps (p50 %s, p99 %s, CPU %s/tx) | mcpserver %8.0f calls/s (p50 %s, p99 %s, CPU %s/call)",
					w.tool, conc, rep+1, cp.rate, ms(cp.p50), ms(cp.p99), us(cp.perCall().total()), sp.rate, ms(sp.p50), ms(sp.p99), us(sp.perCall().total()))
			}
			rows = append(rows, r)
		}
	}
	peak, current, err := srv.memory()
	if err != nil {
		return err
	}
	if pprofAddr != "" {
		for _, p := range []string{"heap", "allocs"} {
			if err := fetchProfile(ctx, pprofAddr, "/debug/pprof/"+p, filepath.Join(c.profile, p+".pprof")); err != nil {
				return err
			}
		}
	}

	fmt.Fprintf(stdout, "%s, %d CPUs (%s), %s, %s; mcpserver %s; %s per point, median of %d, interleaved; load average before %s, after %s\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), runtime.NumCPU(), cpuModel(), pgVersion(ctx, dbURL), runtime.Version(),
		serverSettings(c.serverEnv), c.duration, c.reps, load0, loadavg())
	writeTable(stdout, rows)
	fmt.Fprintln(stdout)
	writeCPUTable(stdout, rows)
	fmt.Fprintf(stdout, "\nmcpserver RSS: peak %.1f MB (VmHWM, after concurrency %d), now %.1f MB\n",
		float64(peak)/1024, top, float64(current)/1024)
	return nil
}

// seed gives every list user seededTasks tasks, in one statement, and analyzes the tables.
func seed(ctx context.Context, dbURL string, users int) error {
	n := strconv.Itoa(users)
	return execSQL(ctx, dbURL,
		`INSERT INTO tasks (user_id, task_id, title, description, priority, tags)
		 SELECT 'list-' || u, t, 'task ' || t, CASE WHEN t % 3 = 0 THEN 'some notes' ELSE '' END,
		        (ARRAY['none','low','medium','high'])[1 + t % 4], ARRAY['home']
		 FROM generate_series(0, `+n+` - 1) AS u, generate_series(1, `+strconv.Itoa(seededTasks)+`) AS t`,
		`INSERT INTO task_counters (user_id, last_task_id)
		 SELECT 'list-' || u, `+strconv.Itoa(seededTasks)+` FROM generate_series(0, `+n+` - 1) AS u`,
		"ANALYZE")
}

func execSQL(ctx context.Context, dbURL string, stmts ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer conn.Close(context.Background())
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("%.60s…: %w", s, err)
		}
	}
	return nil
}

func pgVersion(ctx context.Context, dbURL string) string {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return "PostgreSQL ?"
	}
	defer conn.Close(context.Background())
	var v string
	_ = conn.QueryRow(ctx, "SHOW server_version").Scan(&v)
	return "PostgreSQL " + strings.Fields(v + " ?")[0]
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for line := range strings.SplitSeq(string(b), "\n") {
		if name, value, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(name) == "model name" {
			return strings.TrimSpace(value)
		}
	}
	return runtime.GOARCH
}

// serverSettings describes the server's runtime for the report's header line: on every CPU
// unless -server-env set GOMAXPROCS, and whatever else -server-env set.
func serverSettings(env []string) string {
	if !slices.ContainsFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "GOMAXPROCS=") }) {
		env = append([]string{"every CPU"}, env...)
	}
	return strings.Join(env, ", ")
}

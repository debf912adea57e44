package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/taskwire/taskwire/internal/auth"
	"github.com/taskwire/taskwire/internal/loopback"
)

// maxDuration bounds a run: this is a measurement, not a soak test.
const maxDuration = 2 * time.Minute

// callTimeout ends one stuck call without ending the run.
const callTimeout = 10 * time.Second

// ops are the operations -mix may weigh, each one MCP tool.
var ops = map[string]string{
	"add":      "add_task",
	"list":     "list_tasks",
	"complete": "complete_task",
	"update":   "update_task",
}

// config is a validated set of flags.
type config struct {
	url         string
	secret      []byte
	audience    string
	issuer      string
	users       int
	concurrency int
	duration    time.Duration
	requests    int64
	mix         []weighted
}

type weighted struct {
	op     string
	weight int
}

// parseConfig reads the flags (with the secret, audience and issuer defaulting to mcpserver's
// own environment names) and refuses anything but a loopback target.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: go run ./scripts/load [flags]\n\nDrives a running mcpserver (loopback only) with tool calls from many users and reports\nthroughput and latency per tool. Stops at -duration or after -requests calls, whichever comes first.\n\nflags:")
		fs.PrintDefaults()
	}
	target := fs.String("url", "http://127.0.0.1:8001/mcp", "MCP endpoint of a running mcpserver; must be a loopback address")
	// Environment defaults are read after parsing, so -h never prints a secret.
	secret := fs.String("secret", "", "HS256 secret the server verifies tokens with (default $BETTER_AUTH_SECRET)")
	audience := fs.String("audience", "", "token audience, if the server checks one (default $MCP_AUDIENCE)")
	issuer := fs.String("issuer", "", "token issuer, if the server checks one (default $BETTER_AUTH_ISSUER)")
	users := fs.Int("users", 50, "distinct users, each with its own token")
	concurrency := fs.Int("concurrency", 32, "calls in flight at once")
	duration := fs.Duration("duration", 20*time.Second, "how long to run, at most "+maxDuration.String())
	requests := fs.Int64("requests", 0, "stop after this many calls (0: only -duration limits the run)")
	mix := fs.String("mix", "add=30,list=60,complete=10", "relative weights of the operations: add, list, complete, update")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	orEnv := func(v *string, name string) string {
		if *v == "" {
			return getenv(name)
		}
		return *v
	}
	c := config{url: *target, secret: []byte(orEnv(secret, "BETTER_AUTH_SECRET")),
		audience: orEnv(audience, "MCP_AUDIENCE"), issuer: orEnv(issuer, "BETTER_AUTH_ISSUER"),
		users: *users, concurrency: *concurrency, duration: *duration, requests: *requests}
	u, err := url.Parse(c.url)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return config{}, fmt.Errorf("-url %q is not an http(s) URL", c.url)
	case !loopback.Host(u.Host):
		return config{}, fmt.Errorf("-url %q: load may only target a loopback address (127.0.0.1, ::1, localhost)", c.url)
	case len(c.secret) == 0:
		return config{}, errors.New("-secret (or BETTER_AUTH_SECRET) is required to mint the users' tokens")
	case c.users < 1:
		return config{}, fmt.Errorf("-users must be at least 1, got %d", c.users)
	case c.concurrency < 1 || c.concurrency > 1024:
		return config{}, fmt.Errorf("-concurrency must be between 1 and 1024, got %d", c.concurrency)
	case c.duration <= 0 || c.duration > maxDuration:
		return config{}, fmt.Errorf("-duration must be positive and at most %s, got %s", maxDuration, c.duration)
	case c.requests < 0:
		return config{}, fmt.Errorf("-requests must not be negative, got %d", c.requests)
	}
	if c.mix, err = parseMix(*mix); err != nil {
		return config{}, fmt.Errorf("-mix: %w", err)
	}
	return c, nil
}

// parseMix reads "add=30,list=60,complete=10".
func parseMix(s string) ([]weighted, error) {
	var out []weighted
	total := 0
	for part := range strings.SplitSeq(s, ",") {
		name, w, ok := strings.Cut(strings.TrimSpace(part), "=")
		n, err := strconv.Atoi(w)
		if !ok || err != nil || n < 0 {
			return nil, fmt.Errorf("%q is not op=weight with a whole weight ≥ 0", part)
		}
		if _, known := ops[name]; !known {
			return nil, fmt.Errorf("unknown operation %q (known: add, list, complete, update)", name)
		}
		if slices.ContainsFunc(out, func(x weighted) bool { return x.op == name }) {
			return nil, fmt.Errorf("operation %q given twice", name)
		}
		out = append(out, weighted{name, n})
		total += n
	}
	if total == 0 {
		return nil, errors.New("the weights add up to zero")
	}
	return out, nil
}

func (c config) pick(r *rand.Rand) string {
	total := 0
	for _, w := range c.mix {
		total += w.weight
	}
	n := r.IntN(total)
	for _, w := range c.mix {
		if n < w.weight {
			return w.op
		}
		n -= w.weight
	}
	panic("unreachable: n < total")
}

// run is the whole command: flags → load → report → exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	c, err := parseConfig(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "load:", err)
		return 2
	}
	rep, err := load(ctx, c)
	if err != nil {
		fmt.Fprintln(stderr, "load:", err)
		return 1
	}
	rep.write(stdout, c)
	if rep.errors() > 0 {
		return 1
	}
	return 0
}

// user is one simulated person: a token and the highest task number known to exist.
type user struct {
	id      string
	header  map[string]string
	maxTask atomic.Int64
}

type userKey struct{}

// load runs the workers until the duration or request budget is spent. Calls in flight at
// the deadline finish and count; a run interrupted through ctx reports what it did.
func load(ctx context.Context, c config) (*report, error) {
	// A fresh set of users per run, so numbers from one run do not depend on the last.
	prefix := fmt.Sprintf("load-%08x-", rand.Uint32())
	users := make([]*user, c.users)
	for i := range users {
		id := prefix + strconv.Itoa(i)
		tok, err := auth.Mint(c.secret, auth.MintOptions{UserID: id, Audience: c.audience, Issuer: c.issuer, TTL: c.duration + 5*time.Minute})
		if err != nil {
			return nil, fmt.Errorf("mint token for %s: %w", id, err)
		}
		users[i] = &user{id: id, header: map[string]string{"Authorization": "Bearer " + tok}}
	}
	httpClient := &http.Client{Transport: &http.Transport{
		MaxIdleConns:        c.concurrency,
		MaxIdleConnsPerHost: c.concurrency,
		IdleConnTimeout:     30 * time.Second,
	}}
	defer httpClient.CloseIdleConnections()

	clients := make([]*client.Client, c.concurrency)
	for i := range clients {
		cl, err := connect(ctx, c.url, httpClient, users[i%len(users)])
		if err != nil {
			return nil, err
		}
		defer cl.Close()
		clients[i] = cl
	}

	var issued atomic.Int64
	deadline := time.Now().Add(c.duration)
	results := make([]*report, c.concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for i, cl := range clients {
		results[i] = newReport()
		wg.Go(func() {
			w := worker{c: c, cl: cl, users: users, rep: results[i], rnd: rand.New(rand.NewPCG(uint64(i), uint64(start.UnixNano())))}
			for ctx.Err() == nil && time.Now().Before(deadline) {
				if c.requests > 0 && issued.Add(1) > c.requests {
					return
				}
				w.one(ctx)
			}
		})
	}
	wg.Wait()
	total := newReport()
	total.elapsed = time.Since(start)
	for _, r := range results {
		total.merge(r)
	}
	return total, nil
}

// connect opens one MCP client; the token of each call comes from the user in its context.
func connect(ctx context.Context, target string, hc *http.Client, first *user) (*client.Client, error) {
	cl, err := client.NewStreamableHttpClient(target,
		transport.WithHTTPBasicClient(hc),
		transport.WithHTTPHeaderFunc(func(ctx context.Context) map[string]string {
			if u, ok := ctx.Value(userKey{}).(*user); ok {
				return u.header
			}
			return nil
		}))
	if err != nil {
		return nil, fmt.Errorf("create MCP client: %w", err)
	}
	ctx = context.WithValue(ctx, userKey{}, first)
	if err := cl.Start(ctx); err != nil {
		return nil, fmt.Errorf("start MCP client: %w", err)
	}
	if _, err := cl.Initialize(ctx, mcp.InitializeRequest{Params: mcp.InitializeParams{
		ClientInfo: mcp.Implementation{Name: "taskwire-load", Version: "1"},
	}}); err != nil {
		cl.Close()
		return nil, fmt.Errorf("initialize against %s: %w", target, err)
	}
	return cl, nil
}

type worker struct {
	c     config
	cl    *client.Client
	users []*user
	rep   *report
	rnd   *rand.Rand
}

// listVariants are the list_tasks calls a worker picks from: the default page, filters the
// indexes serve (status), and ones they cannot fully serve (search, tag, other sorts).
var listVariants = []map[string]any{
	{},
	{"status": "pending", "limit": 20},
	{"status": "completed", "limit": 20},
	{"sort": "due", "limit": 10},
	{"sort": "priority", "tag": "load", "limit": 20},
	{"query": "task 1", "limit": 10},
}

var priorities = []string{"none", "low", "medium", "high"}

// one makes one call as a random user and records its latency and outcome.
func (w *worker) one(ctx context.Context) {
	u := w.users[w.rnd.IntN(len(w.users))]
	op := w.c.pick(w.rnd)
	known := u.maxTask.Load()
	if (op == "complete" || op == "update") && known == 0 {
		op = "add" // nothing to address yet
	}
	var args map[string]any
	switch op {
	case "add":
		args = map[string]any{"title": "load task " + strconv.Itoa(w.rnd.IntN(1000)),
			"priority": priorities[w.rnd.IntN(len(priorities))], "tags": []string{"load"}}
		if w.rnd.IntN(2) == 0 {
			args["due"] = time.Now().AddDate(0, 0, w.rnd.IntN(60)-30).Format(time.DateOnly)
		}
	case "list":
		args = listVariants[w.rnd.IntN(len(listVariants))]
	case "complete":
		args = map[string]any{"task_id": 1 + w.rnd.Int64N(known), "completed": w.rnd.IntN(4) != 0}
	case "update":
		args = map[string]any{"task_id": 1 + w.rnd.Int64N(known), "priority": priorities[w.rnd.IntN(len(priorities))]}
	}
	tool := ops[op]
	callCtx, cancel := context.WithTimeout(context.WithValue(ctx, userKey{}, u), callTimeout)
	defer cancel()
	begin := time.Now()
	res, err := w.cl.CallTool(callCtx, mcp.CallToolRequest{Params: mcp.CallToolParams{Name: tool, Arguments: args}})
	took := time.Since(begin)
	if ctx.Err() != nil {
		return // interrupted: neither a result nor an error of the server
	}
	w.rep.latency[tool] = append(w.rep.latency[tool], took)
	switch {
	case err != nil:
		w.rep.fail(classify(err), err.Error())
	case res.IsError:
		w.rep.fail("tool_error:"+tool, resultText(res))
	case op == "add":
		var t struct {
			TaskID int64 `json:"task_id"`
		}
		if json.Unmarshal(res.RawStructuredContent, &t) != nil || t.TaskID < 1 {
			w.rep.fail("bad_result:"+tool, string(res.RawStructuredContent))
			return
		}
		for cur := u.maxTask.Load(); t.TaskID > cur && !u.maxTask.CompareAndSwap(cur, t.TaskID); cur = u.maxTask.Load() {
		}
	}
}

func classify(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, transport.ErrAuthorizationRequired), errors.Is(err, transport.ErrUnauthorized):
		return "unauthorized"
	default:
		return "transport"
	}
}

func resultText(res *mcp.CallToolResult) string {
	for _, c := range res.Content {
		if t, ok := mcp.AsTextContent(c); ok {
			return t.Text
		}
	}
	return "(no text)"
}

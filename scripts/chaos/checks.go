package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// check is one verdict line of the report.
type check struct {
	name   string
	ok     bool
	detail string
}

// suite runs the checks against one stack and collects verdicts and figures.
type suite struct {
	s       *stack
	checks  []check
	figures [][2]string
}

func (u *suite) verdict(name string, ok bool, format string, args ...any) {
	u.checks = append(u.checks, check{name, ok, fmt.Sprintf(format, args...)})
	mark := "PASS"
	if !ok {
		mark = "FAIL"
	}
	fmt.Printf("%s  %s: %s\n", mark, name, fmt.Sprintf(format, args...))
}

func (u *suite) figure(name, value string) { u.figures = append(u.figures, [2]string{name, value}) }

// titleCounts counts, per title, the stored tasks whose user id starts with user and whose
// title starts with prefix.
func (u *suite) titleCounts(ctx context.Context, user, prefix string) (map[string]int, error) {
	conn, err := pgx.Connect(ctx, u.s.dbURL)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT title, count(*) FROM tasks WHERE starts_with(user_id, $1) AND starts_with(title, $2) GROUP BY title`, user, prefix)
	if err != nil {
		return nil, err
	}
	counts := map[string]int{}
	for rows.Next() {
		var t string
		var n int
		if err := rows.Scan(&t, &n); err != nil {
			return nil, err
		}
		counts[t] = n
	}
	return counts, rows.Err()
}

func (u *suite) rowCount(ctx context.Context, table, user string) (int, error) {
	conn, err := pgx.Connect(ctx, u.s.dbURL)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var n int
	err = conn.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{table}.Sanitize()+" WHERE user_id = $1", user).Scan(&n)
	return n, err
}

// addLoad calls add_task with unique titles from workers until stop closes, and returns every
// result by title. Each worker is its own user (user-N), so that the load stays under the
// per-user rate limit and only the fault under test makes calls fail.
type loadResult struct {
	title string
	r     result
	at    time.Time
}

func addLoad(ctx context.Context, base, user, prefix string, workers int, pause time.Duration, stop <-chan struct{}) []loadResult {
	var mu sync.Mutex
	var out []loadResult
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			tok := token(fmt.Sprintf("%s-%d", user, w))
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				title := fmt.Sprintf("%s-%d-%d", prefix, w, i)
				r := callTool(ctx, base, tok, "add_task", map[string]any{"title": title})
				mu.Lock()
				out = append(out, loadResult{title, r, time.Now()})
				mu.Unlock()
				time.Sleep(pause)
			}
		})
	}
	wg.Wait()
	return out
}

// startLoad runs the steady load of the fault checks through haproxy — 8 users, each about
// 15 add_task calls a second — and returns the function that stops it and hands back every
// result.
func (u *suite) startLoad(ctx context.Context, user, prefix string) (finish func() []loadResult) {
	stop := make(chan struct{})
	done := make(chan []loadResult, 1)
	go func() { done <- addLoad(ctx, u.s.mcpLB, user, prefix, 8, 60*time.Millisecond, stop) }()
	return func() []loadResult {
		close(stop)
		return <-done
	}
}

// verifyExactlyOnce checks that every acknowledged title is stored exactly once and that no
// title is stored twice.
func (u *suite) verifyExactlyOnce(ctx context.Context, user, prefix string, calls []loadResult) (acked, missing, dup int, err error) {
	counts, err := u.titleCounts(ctx, user, prefix)
	if err != nil {
		return 0, 0, 0, err
	}
	for _, c := range calls {
		if c.r.out == okCall {
			acked++
			if counts[c.title] == 0 {
				missing++
			}
		}
	}
	for _, n := range counts {
		if n > 1 {
			dup++
		}
	}
	return acked, missing, dup, nil
}

func tally(calls []loadResult) map[outcome]int {
	m := map[outcome]int{}
	for _, c := range calls {
		m[c.r.out]++
	}
	return m
}

func tallyString(m map[outcome]int) string {
	var parts []string
	for o, n := range m {
		parts = append(parts, fmt.Sprintf("%s=%d", o, n))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// a. Replicas started together on an empty database; consecutive requests spread over them.
func (u *suite) replicas(ctx context.Context) {
	tok := token("chaos-spread")
	seen := map[string]bool{}
	ok := true
	for i := range 6 {
		r := callTool(ctx, u.s.mcpLB, tok, "add_task", map[string]any{"title": fmt.Sprintf("spread-%d", i)})
		seen[r.replica] = true
		if r.out != okCall {
			ok = false
			u.verdict("a. MCP flow across replicas", false, "add_task %d: %s", i, describe(r))
			break
		}
	}
	r := callTool(ctx, u.s.mcpLB, tok, "list_tasks", map[string]any{})
	tasks, _ := r.structured["tasks"].([]any)
	if ok {
		u.verdict("a. MCP flow across replicas", r.out == okCall && len(tasks) == 6 && len(seen) == 2,
			"6 add_task + list_tasks through haproxy, served by %d replicas %v, list shows %d tasks", len(seen), keys(seen), len(tasks))
	}

	tok = token("chaos-chat")
	seen = map[string]bool{}
	cr, evs := chatkit(ctx, u.s.chatLB, tok, "threads.create", userInput("Add a task to buy milk"))
	seen[cr.replica] = true
	tid := threadID(evs)
	var got []string
	for range 3 {
		r, _ := chatkit(ctx, u.s.chatLB, tok, "items.list", map[string]any{"thread_id": tid})
		seen[r.replica] = true
		got = append(got, fmt.Sprintf("%d", r.status))
		if r.status != http.StatusOK || !bytes.Contains(r.body, []byte("buy milk")) {
			ok = false
		}
	}
	tasks2, _ := callTool(ctx, u.s.mcpLB, tok, "list_tasks", map[string]any{}).structured["tasks"].([]any)
	u.verdict("a. ChatKit flow across replicas", cr.status == http.StatusOK && tid != "" && ok && len(seen) == 2 && len(tasks2) == 1,
		"threads.create (thread %q, %d events) then items.list ×3 %v, served by %v; the model's add_task stored %d task", tid, len(evs), got, keys(seen), len(tasks2))
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// b. PostgreSQL restarted under a steady add_task load.
func (u *suite) pgRestart(ctx context.Context) {
	const user = "chaos-pg"
	finish := u.startLoad(ctx, user, "pg")
	time.Sleep(2 * time.Second)
	downAt := time.Now()
	if err := u.s.pg.Stop(ctx, false); err != nil {
		u.verdict("b. PostgreSQL restart", false, "stop PostgreSQL: %v", err)
		finish()
		return
	}
	time.Sleep(2 * time.Second)
	pg, err := pgclusterStart(ctx, u.s)
	upAt := time.Now()
	if err != nil {
		u.verdict("b. PostgreSQL restart", false, "start PostgreSQL again: %v", err)
		finish()
		return
	}
	u.s.pg = pg
	time.Sleep(4 * time.Second)
	calls := finish()

	var during []loadResult
	recovery := time.Duration(-1)
	for _, c := range calls {
		if c.at.After(downAt) && c.at.Before(upAt) {
			during = append(during, c)
		}
	}
	sort.Slice(calls, func(i, j int) bool { return calls[i].at.Before(calls[j].at) })
	lastFail := time.Time{}
	for _, c := range calls {
		if c.at.After(downAt) && c.r.out != okCall {
			lastFail = c.at
		}
	}
	if !lastFail.IsZero() {
		recovery = max(0, lastFail.Sub(upAt))
	}
	dirty, hung, sample := 0, 0, ""
	for _, c := range during {
		switch {
		case c.r.out == timedOut:
			hung++
		case c.r.out != okCall && !c.r.out.clean():
			dirty++
			if sample == "" {
				sample = "; first: " + describe(c.r)
			}
		}
	}
	acked, missing, dup, err := u.verifyExactlyOnce(ctx, user, "pg-", calls)
	if err != nil {
		u.verdict("b. PostgreSQL restart", false, "read back: %v", err)
		return
	}
	outage := tally(during)
	u.figure("PostgreSQL restart: calls during the 2 s outage", tallyString(outage))
	u.figure("PostgreSQL restart: acknowledged / missing / stored twice", fmt.Sprintf("%d / %d / %d", acked, missing, dup))
	u.figure("PostgreSQL restart: recovery after it accepted connections", fmt.Sprintf("%.2f s", recovery.Seconds()))
	u.verdict("b. no acknowledged write lost, none doubled", missing == 0 && dup == 0 && acked > 0,
		"%d acknowledged, %d missing, %d stored twice", acked, missing, dup)
	u.verdict("b. outage calls failed cleanly (503/JSON-RPC/refused), none hung [edge]", len(during) > 0 && dirty == 0 && hung == 0,
		"during the outage: %s%s", tallyString(outage), sample)
	u.verdict("b. recovered within 5 s", recovery < 5*time.Second,
		"last failure %.2f s after PostgreSQL was back", recovery.Seconds())
}

// c. SIGTERM to one mcpserver replica under load, and to the chatproxy of a streaming turn.
func (u *suite) sigterm(ctx context.Context) {
	const user = "chaos-term"
	finish := u.startLoad(ctx, user, "term")
	time.Sleep(1500 * time.Millisecond)
	victim := u.s.mcp[0]
	t0 := time.Now()
	exited := victim.stop(syscall.SIGTERM, 15*time.Second)
	exitAfter := time.Since(t0)
	time.Sleep(time.Second)
	calls := finish()
	acked, missing, dup, err := u.verifyExactlyOnce(ctx, user, "term-", calls)
	if err != nil {
		u.verdict("c. mcpserver SIGTERM", false, "read back: %v", err)
		return
	}
	t := tally(calls)
	failed := len(calls) - t[okCall]
	u.figure("mcpserver SIGTERM under load: calls", tallyString(t))
	u.figure("mcpserver SIGTERM: exit after signal", fmt.Sprintf("%.2f s", exitAfter.Seconds()))
	u.verdict("c. mcpserver SIGTERM: no acknowledged write lost, in-flight calls completed", exited && acked > 0 && missing == 0 && dup == 0 && t[serverError] == 0 && t[timedOut] == 0 && t[toolError] == 0,
		"exited=%v in %.2f s; %d acknowledged, %d missing, %d twice; %d of %d calls failed (%s)", exited, exitAfter.Seconds(), acked, missing, dup, failed, len(calls), tallyString(t))
	if err := victim.start(); err == nil {
		_ = waitHealthy(ctx, victim, 30*time.Second)
	}

	// A streaming turn on one chatproxy, SIGTERM to it half-way.
	const chatUser = "chaos-stream"
	ctok := token(chatUser)
	target := u.s.chat[0]
	body := []byte(`{"type":"threads.create","params":{"input":{"content":[{"type":"input_text","text":"Tell me a slow story"}],"attachments":[],"inference_options":{}}}}`)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, target.url()+"/chatkit", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+ctok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		u.verdict("c. chatproxy SIGTERM mid-stream: consistent thread", false, "start stream: %v", err)
		return
	}
	type streamEnd struct {
		evs []map[string]any
		err error
	}
	ended := make(chan streamEnd, 1)
	go func() {
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		ended <- streamEnd{events(data), err}
	}()
	time.Sleep(1500 * time.Millisecond) // ~15 of 40 words
	exited = target.stop(syscall.SIGTERM, 15*time.Second)
	var se streamEnd
	select {
	case se = <-ended:
	case <-time.After(10 * time.Second):
		se.err = fmt.Errorf("the stream did not end within 10 s of the drain")
	}
	tid := threadID(se.evs)
	lastType := ""
	if n := len(se.evs); n > 0 {
		lastType, _ = se.evs[n-1]["type"].(string)
	}
	other := u.s.chat[1]
	r, _ := chatkit(ctx, other.url(), ctok, "items.list", map[string]any{"thread_id": tid, "order": "asc", "limit": 50})
	items := itemsOf(r.body)
	stored := ""
	if n := len(items); n > 0 && items[n-1]["type"] == "assistant_message" {
		stored = assistantText(items[n-1])
	}
	u.figure("chatproxy SIGTERM mid-stream: stored assistant text", fmt.Sprintf("%d of 200 characters", len(stored)))
	u.verdict("c. chatproxy SIGTERM mid-stream: final event, thread loads, partial text stored [edge]",
		exited && tid != "" && r.status == http.StatusOK && stored != "" && (lastType == "thread.item.done" || lastType == "error"),
		"exited=%v; stream err=%v, %d events, last %q; items.list on the other replica: HTTP %d, %d items, last assistant text %d chars", exited, se.err, len(se.evs), lastType, r.status, len(items), len(stored))
	if err := target.start(); err == nil {
		_ = waitHealthy(ctx, target, 30*time.Second)
	}
	time.Sleep(time.Second) // haproxy's checks bring the replicas back
}

// itemsOf reads the items of an items.list answer ({"data":[…],"has_more":…}).
func itemsOf(body []byte) []map[string]any {
	var page struct {
		Data []map[string]any `json:"data"`
	}
	_ = json.Unmarshal(body, &page)
	return page.Data
}

func assistantText(item map[string]any) string {
	var b strings.Builder
	content, _ := item["content"].([]any)
	for _, c := range content {
		if m, ok := c.(map[string]any); ok {
			s, _ := m["text"].(string)
			b.WriteString(s)
		}
	}
	return b.String()
}

// d. A flood from one user: 429s for them, a second user's latency barely moves.
func (u *suite) flood(ctx context.Context) {
	tokA, tokB := token("chaos-flood-a"), token("chaos-flood-b")
	probe := func(n int) []time.Duration {
		var ds []time.Duration
		for range n {
			r := callTool(ctx, u.s.mcpLB, tokB, "list_tasks", map[string]any{"limit": 5})
			if r.out == okCall {
				ds = append(ds, r.dur)
			}
			time.Sleep(20 * time.Millisecond)
		}
		return ds
	}
	idle := probe(30)
	stop := make(chan struct{})
	var mu sync.Mutex
	counts := map[outcome]int{}
	retryAfterOK := true
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				r := callTool(ctx, u.s.mcpLB, tokA, "list_tasks", map[string]any{"limit": 5})
				mu.Lock()
				counts[r.out]++
				if r.out == limited && (r.retryAfter == "" || !bytes.Contains(r.body, []byte("rate limit exceeded"))) {
					retryAfterOK = false
				}
				mu.Unlock()
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	busy := probe(30)
	close(stop)
	wg.Wait()
	p50i, p50b := median(idle), median(busy)
	u.figure("Flood (16 connections, one user, 3 s): answers", tallyString(counts))
	u.figure("Second user's median latency idle → during flood", fmt.Sprintf("%.1f ms → %.1f ms (%.1f×)", ms(p50i), ms(p50b), float64(p50b)/float64(max(p50i, 1))))
	u.verdict("d. flood gets 429 + Retry-After + JSON-RPC body; second user unaffected [edge]",
		counts[limited] > 0 && retryAfterOK && len(busy) == 30 && counts[serverError] == 0,
		"flooder: %s; second user %d/30 ok, median %.1f ms idle, %.1f ms during flood", tallyString(counts), len(busy), ms(p50i), ms(p50b))
}

// chatFlood opens more chat turns than CHAT_TURN_BURST allows (5 per replica by default, so
// 16 over two replicas), four at a time: the excess must get 429 + Retry-After.
func (u *suite) chatFlood(ctx context.Context) {
	tok := token("chaos-chat-flood")
	var mu sync.Mutex
	counts := map[outcome]int{}
	retryAfterOK := true
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i := range 16 {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			r, _ := chatkit(ctx, u.s.chatLB, tok, "threads.create", userInput(fmt.Sprintf("Add a task to buy item %d", i)))
			mu.Lock()
			defer mu.Unlock()
			counts[r.out]++
			if r.out == limited && r.retryAfter == "" {
				retryAfterOK = false
			}
		})
	}
	wg.Wait()
	u.figure("Chat flood (16 turns, one user, 4 at a time): answers", tallyString(counts))
	u.verdict("d. chat turns over the limit get 429 + Retry-After [edge]", counts[limited] > 0 && retryAfterOK && counts[serverError] == 0,
		"%s", tallyString(counts))
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// e. Slowloris: connections dribbling headers and bodies at each service while normal
// requests keep being answered.
func (u *suite) slowloris(ctx context.Context) {
	for _, target := range []struct {
		name, base, path string
		normal           func() result
	}{
		{"mcpserver", u.s.mcp[1].url(), "/mcp", func() result {
			return callTool(ctx, u.s.mcp[1].url(), token("chaos-slow"), "list_tasks", map[string]any{"limit": 1})
		}},
		{"chatproxy", u.s.chat[1].url(), "/chatkit", func() result {
			r, _ := chatkit(ctx, u.s.chat[1].url(), token("chaos-slow"), "threads.list", map[string]any{"limit": 1})
			return r
		}},
	} {
		const headerConns, bodyConns = 150, 50
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var closedByServer, opened sync.Map
		addr := strings.TrimPrefix(target.base, "http://")
		tok := token("chaos-slow")
		for i := range headerConns + bodyConns {
			wg.Go(func() {
				c, err := net.DialTimeout("tcp", addr, 2*time.Second)
				if err != nil {
					return
				}
				defer c.Close()
				opened.Store(i, true)
				var head string
				var drip []byte
				if i < headerConns {
					head = "GET /health HTTP/1.1\r\nHost: x\r\n"
					drip = []byte("X-a: b\r\n")
				} else {
					head = fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{", target.path, tok)
					drip = []byte(" ")
				}
				if _, err := c.Write([]byte(head)); err != nil {
					closedByServer.Store(i, true)
					return
				}
				for {
					select {
					case <-stop:
						return
					case <-time.After(500 * time.Millisecond):
					}
					if _, err := c.Write(drip); err != nil {
						closedByServer.Store(i, true)
						return
					}
				}
			})
		}
		time.Sleep(500 * time.Millisecond)
		var normal []result
		end := time.Now().Add(5 * time.Second)
		for time.Now().Before(end) {
			normal = append(normal, target.normal())
			time.Sleep(100 * time.Millisecond)
		}
		close(stop)
		wg.Wait()
		okCount, slowest := 0, time.Duration(0)
		for _, r := range normal {
			if r.out == okCall && r.status == http.StatusOK {
				okCount++
			}
			slowest = max(slowest, r.dur)
		}
		n := 0
		opened.Range(func(any, any) bool { n++; return true })
		c := 0
		closedByServer.Range(func(any, any) bool { c++; return true })
		u.figure("Slowloris on "+target.name+": normal requests ok / slowest", fmt.Sprintf("%d/%d, %.0f ms (%d slow connections open, %d closed by the server within 5 s)", okCount, len(normal), ms(slowest), n, c))
		u.verdict("e. slowloris on "+target.name+": normal requests keep succeeding", okCount == len(normal) && len(normal) > 10 && slowest < 2*time.Second,
			"%d/%d ok, slowest %.0f ms, with %d slow connections", okCount, len(normal), ms(slowest), n)
	}
}

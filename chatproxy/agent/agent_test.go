package agent_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/taskwire/taskwire/chatproxy/agent"
	"github.com/taskwire/taskwire/chatproxy/chatkit"
	"github.com/taskwire/taskwire/chatproxy/chatkit/chatkittest"
	"github.com/taskwire/taskwire/chatproxy/llm"
	"github.com/taskwire/taskwire/chatproxy/llm/llmtest"
	"github.com/taskwire/taskwire/chatproxy/mcpclient"
	"github.com/taskwire/taskwire/internal/auth"
	"github.com/taskwire/taskwire/internal/obs"
	"github.com/taskwire/taskwire/internal/pgtest"
	"github.com/taskwire/taskwire/mcpserver/mcphttp"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// taskServer is the real mcpserver on its own database, on an address that survives a
// restart (so a test can take it down and bring it back).
type taskServer struct {
	t       *testing.T
	handler http.Handler
	addr    string
	Pool    *pgxpool.Pool

	mu  sync.Mutex
	srv *httptest.Server
}

func startTaskServer(t *testing.T) *taskServer {
	t.Helper()
	v, err := auth.NewVerifier(t.Context(), auth.Config{Secret: chatkittest.Secret})
	if err != nil {
		t.Fatal(err)
	}
	pool := pgtest.Pool(t)
	h, err := mcphttp.NewHandler(mcphttp.Config{Pool: pool, Verifier: v, Logger: quiet, Version: "test", Environment: "test"})
	if err != nil {
		t.Fatal(err)
	}
	ts := &taskServer{t: t, handler: h, Pool: pool}
	ts.Start()
	t.Cleanup(ts.Stop)
	return ts
}

// URL is the MCP endpoint.
func (ts *taskServer) URL() string { return "http://" + ts.addr + mcphttp.MCPPath }

// Start (re)starts the server on its address.
func (ts *taskServer) Start() {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	addr := ts.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		ts.t.Fatalf("listen for mcpserver: %v", err)
	}
	ts.addr = l.Addr().String()
	ts.srv = &httptest.Server{Listener: l, Config: &http.Server{Handler: ts.handler}}
	ts.srv.Start()
}

// Stop takes the server down: connections are refused until Start.
func (ts *taskServer) Stop() {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.srv != nil {
		ts.srv.Close()
		ts.srv = nil
	}
}

// stack is the whole path of a turn: HTTP → chatkit → agent → fake model and real mcpserver.
type stack struct {
	env   *chatkittest.Env
	model *llmtest.Server
	tasks *taskServer
	mcp   *mcpclient.Client
	reg   *prometheus.Registry
	locks *chatkittest.ReleaseCounter // how each turn gave its thread back
}

type opts struct {
	shape    llmtest.Shape
	maxSteps int
	budget   int
	noModel  bool
	// mcpURL, if set, is the MCP server the agent uses instead of the real mcpserver.
	mcpURL string
}

func newStack(t *testing.T, o opts, script ...llmtest.Response) *stack {
	t.Helper()
	if o.shape == "" {
		o.shape = llmtest.OpenAI
	}
	st := &stack{model: llmtest.New(o.shape, script...), tasks: startTaskServer(t), reg: prometheus.NewRegistry()}
	// Titles are non-streamed requests: a second fake answers them, so that they never take
	// a scripted answer meant for a turn.
	titles := llmtest.New(o.shape)
	titles.SetResponder(func(llmtest.Request) llmtest.Response { return llmtest.Text("Shopping list") })
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if bytes.Contains(body, []byte(`"stream":true`)) {
			st.model.ServeHTTP(w, r)
			return
		}
		titles.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	cfg := llm.Config{BaseURL: front.URL + "/v1", Model: "fake-model", MaxRetries: 2, RetryDelay: time.Millisecond}
	if o.noModel {
		cfg = llm.Config{}
	}
	client, err := llm.New(cfg, llm.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := mcpclient.NewTokens(mcpclient.TokenConfig{Secret: chatkittest.Secret})
	if err != nil {
		t.Fatal(err)
	}
	mcpURL := st.tasks.URL()
	if o.mcpURL != "" {
		mcpURL = o.mcpURL
	}
	st.mcp, err = mcpclient.New(mcpclient.Config{URL: mcpURL, Tokens: tokens.Source(), HTTPClient: &http.Client{Timeout: 5 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.mcp.Close() })
	a := agent.New(agent.Config{
		LLM: client, MCP: st.mcp, Logger: quiet, MaxSteps: o.maxSteps, HistoryBudget: o.budget,
		LLMMetrics: obs.NewLLMMetrics(st.reg), ToolMetrics: obs.NewMCPClientMetrics(st.reg),
		Now: func() time.Time { return time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC) },
	})
	st.locks = &chatkittest.ReleaseCounter{}
	st.env = chatkittest.NewEnv(t, a, chatkittest.EnvOptions{
		WrapStore: func(s chatkit.Store) chatkit.Store { st.locks.Store = s; return st.locks },
	})
	return st
}

// streamed returns the model requests of the turns' steps (title requests go elsewhere).
func (st *stack) streamed() []llmtest.Request { return st.model.Requests() }

// callTool calls an mcpserver tool directly as user.
func (st *stack) callTool(t *testing.T, user, name, args string) mcpclient.Result {
	t.Helper()
	res, err := st.mcp.CallTool(t.Context(), mcpclient.User{ID: user}, name, json.RawMessage(args))
	if err != nil {
		t.Fatalf("%s as %s: %v", name, user, err)
	}
	return res
}

type taskRow struct {
	User, Title string
	ID          int
	Completed   bool
}

// taskRows reads mcpserver's database behind its back.
func (st *stack) taskRows(t *testing.T) []taskRow {
	t.Helper()
	rows, err := st.tasks.Pool.Query(t.Context(), `SELECT user_id, task_id, title, completed FROM tasks ORDER BY user_id, task_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []taskRow
	for rows.Next() {
		var r taskRow
		if err := rows.Scan(&r.User, &r.ID, &r.Title, &r.Completed); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func ofType(events []map[string]any, typ string) []map[string]any {
	var out []map[string]any
	for _, ev := range events {
		if ev["type"] == typ {
			out = append(out, ev)
		}
	}
	return out
}

// doneItems returns the items of thread.item.done events of one item type.
func doneItems(events []map[string]any, itemType string) []map[string]any {
	var out []map[string]any
	for _, ev := range ofType(events, "thread.item.done") {
		if item := ev["item"].(map[string]any); item["type"] == itemType {
			out = append(out, item)
		}
	}
	return out
}

// taskTitles lists the titles of the finished workflows' tasks and checks they all completed.
func taskTitles(t *testing.T, events []map[string]any) []string {
	t.Helper()
	var out []string
	for _, wf := range doneItems(events, "workflow") {
		for _, task := range wf["workflow"].(map[string]any)["tasks"].([]any) {
			task := task.(map[string]any)
			if task["status_indicator"] != "complete" {
				t.Errorf("workflow task %v is not complete", task)
			}
			out = append(out, task["title"].(string))
		}
	}
	return out
}

// effects returns the task_ids of every tasks.changed effect.
func effects(events []map[string]any) [][]float64 {
	var out [][]float64
	for _, ev := range ofType(events, "client_effect") {
		if ev["name"] != agent.EffectTasksChanged {
			continue
		}
		var ids []float64
		for _, id := range ev["data"].(map[string]any)["task_ids"].([]any) {
			ids = append(ids, id.(float64))
		}
		out = append(out, ids)
	}
	return out
}

func assistantTexts(events []map[string]any) []string {
	var out []string
	for _, item := range doneItems(events, "assistant_message") {
		out = append(out, chatkittest.ItemText(item))
	}
	return out
}

func errorEvents(events []map[string]any) []map[string]any { return ofType(events, "error") }

func toolMessages(r llmtest.Request) []llmtest.Message {
	var out []llmtest.Message
	for _, m := range r.Messages {
		if m.Role == "tool" {
			out = append(out, m)
		}
	}
	return out
}

func call(name, args string) llmtest.Call { return llmtest.Call{Name: name, Arguments: args} }

// TestAddTaskEachShape: the design's first example, in each provider's chunk shape, then a
// second turn whose model input must carry the first turn's messages and tool results (for
// Gemini, with the call's thought signature, which the fake insists on).
func TestAddTaskEachShape(t *testing.T) {
	for _, shape := range []llmtest.Shape{llmtest.OpenAI, llmtest.Gemini, llmtest.Ollama} {
		t.Run(string(shape), func(t *testing.T) {
			t.Parallel()
			st := newStack(t, opts{shape: shape},
				llmtest.ToolCalls(call("add_task", `{"title":"Buy milk"}`)),
				llmtest.Text("Added “Buy milk” as task 1."),
				llmtest.Text("You added task 1, Buy milk."),
			)
			thread, events := st.env.CreateThread(t, "alice", "add a task to buy milk")

			if e := errorEvents(events); len(e) > 0 {
				t.Fatalf("error events: %v", e)
			}
			// mcpserver did the work, for alice only.
			if got, want := st.taskRows(t), []taskRow{{User: "alice", ID: 1, Title: "Buy milk"}}; !slices.Equal(got, want) {
				t.Fatalf("tasks in mcpserver's database = %+v, want %+v", got, want)
			}
			if res := st.callTool(t, "bob", "list_tasks", `{}`); !strings.Contains(string(res.Structured), `"tasks":[]`) {
				t.Errorf("bob sees %s, want no tasks", res.Structured)
			}
			// The stream: a workflow with the call, tasks.changed, the answer, the title.
			if got := taskTitles(t, events); !slices.Equal(got, []string{"Added ‘Buy milk’"}) {
				t.Errorf("workflow tasks = %q", got)
			}
			if got := effects(events); !slices.EqualFunc(got, [][]float64{{1}}, slices.Equal) {
				t.Errorf("tasks.changed effects = %v, want [[1]]", got)
			}
			if got := assistantTexts(events); !slices.Equal(got, []string{"Added “Buy milk” as task 1."}) {
				t.Errorf("assistant messages = %q", got)
			}
			updated := ofType(events, "thread.updated")
			if len(updated) != 1 || updated[0]["thread"].(map[string]any)["title"] != "Shopping list" {
				t.Errorf("thread.updated = %v, want the title from the model", updated)
			}
			// The second model request carries the tool result.
			reqs := st.streamed()
			if len(reqs) != 2 {
				t.Fatalf("%d streamed model requests, want 2", len(reqs))
			}
			tm := toolMessages(reqs[1])
			if len(tm) != 1 || !strings.Contains(tm[0].Content, `"title":"Buy milk"`) || !strings.Contains(tm[0].Content, `"task_id":1`) {
				t.Fatalf("tool messages of the second request = %+v", tm)
			}
			if reqs[0].Messages[0].Role != "system" || !strings.Contains(reqs[0].Messages[0].Content, "2026-03-14") {
				t.Errorf("first message is not a system prompt with today's date: %+v", reqs[0].Messages[0])
			}
			if !reqs[0].HasTool("add_task") || !reqs[0].HasTool("list_tasks") {
				t.Errorf("mcpserver's tools were not offered: %+v", reqs[0].Tools)
			}

			// Turn two: the history includes turn one's messages, call and result.
			events = st.env.AddMessage(t, "alice", thread, "what did I just add?")
			if e := errorEvents(events); len(e) > 0 {
				t.Fatalf("error events on turn two: %v", e)
			}
			reqs = st.streamed()
			if len(reqs) != 3 {
				t.Fatalf("%d streamed requests after turn two, want 3", len(reqs))
			}
			var roles []string
			for _, m := range reqs[2].Messages {
				roles = append(roles, m.Role)
			}
			if want := []string{"system", "user", "assistant", "tool", "assistant", "user"}; !slices.Equal(roles, want) {
				t.Fatalf("turn two roles = %v, want %v", roles, want)
			}
			m := reqs[2].Messages
			if m[1].Content != "add a task to buy milk" || m[2].ToolCalls[0].Function.Name != "add_task" ||
				m[3].ToolCallID != m[2].ToolCalls[0].ID || !strings.Contains(m[3].Content, "Buy milk") ||
				m[4].Content != "Added “Buy milk” as task 1." || m[5].Content != "what did I just add?" {
				t.Errorf("turn two history = %+v", m)
			}
			if shape == llmtest.Gemini && !strings.Contains(string(m[2].ToolCalls[0].ExtraContent), "sig-") {
				t.Errorf("Gemini's thought signature was not replayed: %s", m[2].ToolCalls[0].ExtraContent)
			}
			if got := counter(t, st.reg, "taskwire_proxy_mcp_tool_calls_total", "ok", "add_task"); got != 1 {
				t.Errorf("tool metric add_task ok = %v, want 1", got)
			}
		})
	}
}

// counter reads one series of a counter in reg (0 when absent); labels are the label values
// in the order of the label names, sorted (as Gather returns them).
func counter(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			var vals []string
			for _, l := range m.GetLabel() {
				vals = append(vals, l.GetValue())
			}
			if slices.Equal(vals, labels) {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// frameReader reads SSE frames one at a time, for a test that acts in the middle of a stream.
type frameReader struct{ sc *bufio.Scanner }

func newFrameReader(r io.Reader) *frameReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 4<<20)
	return &frameReader{sc: sc}
}

func (f *frameReader) next() (map[string]any, error) {
	for f.sc.Scan() {
		if data, ok := strings.CutPrefix(f.sc.Text(), "data: "); ok {
			return chatkittest.ParseEvent([]byte(data))
		}
	}
	if err := f.sc.Err(); err != nil {
		return nil, err
	}
	return nil, io.EOF
}

// TestParallelAndMultiStep: two add_task calls in one step both land; then a turn that lists
// and completes, in one workflow.
func TestParallelAndMultiStep(t *testing.T) {
	t.Parallel()
	st := newStack(t, opts{shape: llmtest.Ollama}, // Ollama: parallel calls all at index 0
		llmtest.ToolCalls(call("add_task", `{"title":"Buy milk"}`), call("add_task", `{"title":"Call mom"}`)),
		llmtest.Text("Added both."),
		llmtest.ToolCalls(call("list_tasks", `{}`)),
		llmtest.ToolCalls(call("complete_task", `{"task_id":2}`)),
		llmtest.Text("Task 2 (Call mom) is done."),
	)
	thread, events := st.env.CreateThread(t, "alice", "add buy milk and call mom")
	titles := taskTitles(t, events)
	slices.Sort(titles)
	if !slices.Equal(titles, []string{"Added ‘Buy milk’", "Added ‘Call mom’"}) {
		t.Errorf("workflow tasks = %q", titles)
	}
	if got := effects(events); len(got) != 1 || len(got[0]) != 2 {
		t.Errorf("tasks.changed = %v, want one effect with both tasks", got)
	}
	if got := st.taskRows(t); len(got) != 2 {
		t.Fatalf("tasks = %+v, want 2", got)
	}
	if tm := toolMessages(st.streamed()[1]); len(tm) != 2 || tm[0].ToolCallID == tm[1].ToolCallID {
		t.Fatalf("second request's tool messages = %+v, want two distinct results", tm)
	}

	events = st.env.AddMessage(t, "alice", thread, "I called mom")
	if got := taskTitles(t, events); !slices.Equal(got, []string{"Listed 2 tasks", "Completed task 2"}) {
		t.Errorf("workflow tasks = %q, want list then complete in one workflow", got)
	}
	if n := len(doneItems(events, "workflow")); n != 1 {
		t.Errorf("%d workflows, want 1 for consecutive tool steps", n)
	}
	if got := effects(events); !slices.EqualFunc(got, [][]float64{{2}}, slices.Equal) {
		t.Errorf("tasks.changed = %v, want [[2]] (listing changes nothing)", got)
	}
	// One widget: the list, showing task 2 as the turn left it.
	if got := checkedRows(widgetOf(t, events)); !maps.Equal(got, map[string]bool{"task-1": false, "task-2": true}) {
		t.Errorf("widget checkboxes = %v, want task 2 ticked", got)
	}
	rows := st.taskRows(t)
	if !rows[1].Completed || rows[0].Completed {
		t.Errorf("tasks = %+v, want only task 2 completed", rows)
	}
}

// TestLastAnswerGivesTheThreadBack: a turn's final answer is stored as the thread is given
// back (one round trip), unless the thread still needs its title, which is made after the
// answer; either way the stream ends with the answer stored.
func TestLastAnswerGivesTheThreadBack(t *testing.T) {
	t.Parallel()
	st := newStack(t, opts{},
		llmtest.Text("Nothing to do yet."),
		llmtest.ToolCalls(call("add_task", `{"title":"Buy milk"}`)),
		llmtest.Text("Added Buy milk."),
	)
	thread, events := st.env.CreateThread(t, "alice", "what do I have to do?")
	if n := st.locks.ReleasesWith.Load(); n != 0 {
		t.Errorf("first turn: the answer gave the thread back (%d), but the title comes after it", n)
	}
	if len(ofType(events, "thread.updated")) != 1 {
		t.Errorf("first turn: no title (thread.updated) after the answer")
	}
	events = st.env.AddMessage(t, "alice", thread, "add buy milk")
	if n := st.locks.ReleasesWith.Load(); n != 1 {
		t.Errorf("second turn: ReleaseWith calls = %d, want 1 (the answer)", n)
	}
	if errs := errorEvents(events); len(errs) != 0 {
		t.Fatalf("second turn: %v", errs)
	}
	last := events[len(events)-1]
	if last["type"] != "thread.item.done" || last["item"].(map[string]any)["type"] != "assistant_message" {
		t.Errorf("second turn ends with %v, want the answer's thread.item.done", last)
	}
	var stored []string
	for _, it := range st.env.Items(t, "alice", thread) {
		if it["type"] == "assistant_message" {
			stored = append(stored, it["content"].([]any)[0].(map[string]any)["text"].(string))
		}
	}
	if want := []string{"Nothing to do yet.", "Added Buy milk."}; !slices.Equal(stored, want) {
		t.Errorf("stored answers %q, want %q", stored, want)
	}
}

// TestToolError: a failing call goes back to the model as its result; the workflow says so,
// nothing claims a change and no widget is drawn (golden transcript).
func TestToolError(t *testing.T) {
	t.Parallel()
	st := newStack(t, opts{},
		llmtest.ToolCalls(call("complete_task", `{"task_id":999}`)),
		llmtest.Text("There is no task 999."),
	)
	var tr chatkittest.Transcript
	tr.Exchange(t, st.env, "alice", chatkittest.Req("threads.create", map[string]any{"input": chatkittest.Input("complete task 999")}))
	tr.Check(t, "tool_error", *update)
	tm := toolMessages(st.streamed()[1])
	if len(tm) != 1 || !strings.HasPrefix(tm[0].Content, "Error") || !strings.Contains(tm[0].Content, "999") {
		t.Fatalf("the model did not get the error: %+v", tm)
	}
}

// TestAddTaskTranscript: adding a task shows the workflow, a one-task widget, the answer,
// tasks.changed and the title, in that order (golden transcript).
func TestAddTaskTranscript(t *testing.T) {
	t.Parallel()
	st := newStack(t, opts{},
		llmtest.ToolCalls(call("add_task", `{"title":"Buy milk","due":"2026-03-15","priority":"high"}`)),
		llmtest.Text("Added “Buy milk” for tomorrow."),
	)
	var tr chatkittest.Transcript
	tr.Exchange(t, st.env, "alice", chatkittest.Req("threads.create", map[string]any{"input": chatkittest.Input("add buy milk for tomorrow, high priority")}))
	tr.Check(t, "add_task", *update)
}

// TestStepLimit: a model that never stops calling tools is stopped with a clear message, and
// the thread stays usable.
func TestStepLimit(t *testing.T) {
	t.Parallel()
	st := newStack(t, opts{maxSteps: 2},
		llmtest.ToolCalls(call("list_tasks", `{}`)),
		llmtest.ToolCalls(call("list_tasks", `{}`)),
		llmtest.Text("Hello again."),
	)
	thread, events := st.env.CreateThread(t, "alice", "list my tasks forever")
	texts := assistantTexts(events)
	if len(texts) != 1 || !strings.Contains(texts[0], "stopped after 2 steps") {
		t.Fatalf("assistant messages = %q, want the step-limit message", texts)
	}
	if n := len(st.streamed()); n != 2 {
		t.Fatalf("%d model calls, want 2", n)
	}
	events = st.env.AddMessage(t, "alice", thread, "hi")
	if got := assistantTexts(events); !slices.Equal(got, []string{"Hello again."}) {
		t.Fatalf("next turn: %q (error events %v)", got, errorEvents(events))
	}
}

// TestModelFaults: each failure ends with an error event or recovers, and leaves a thread
// the next turn can use (the fake rejects malformed histories).
func TestModelFaults(t *testing.T) {
	long := "This answer is long enough to be cut in the middle of streaming."
	cases := []struct {
		name      string
		script    []llmtest.Response
		wantText  string // the first turn's stored answer ("" none)
		wantError string // substring of the error event ("" none)
	}{
		{"429 then success", []llmtest.Response{llmtest.Status(429), llmtest.Text("Hello.")}, "Hello.", ""},
		{"500 every time", []llmtest.Response{llmtest.Status(500), llmtest.Status(500), llmtest.Status(500)}, "", "unavailable"},
		{"cut mid-stream", []llmtest.Response{llmtest.Text(long).CutAfter(4)}, "This answer is lo", "broke off"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			st := newStack(t, opts{}, append(c.script, llmtest.Text("Recovered."))...)
			thread, events := st.env.CreateThread(t, "alice", "hello")
			errs := errorEvents(events)
			switch {
			case c.wantError == "" && len(errs) > 0:
				t.Fatalf("unexpected error events %v", errs)
			case c.wantError != "" && (len(errs) != 1 || !strings.Contains(errs[0]["message"].(string), c.wantError)):
				t.Fatalf("error events = %v, want one saying %q", errs, c.wantError)
			}
			items := st.env.Items(t, "alice", thread)
			if items[0]["type"] != "user_message" || chatkittest.ItemText(items[0]) != "hello" {
				t.Fatalf("the user's message is not stored first: %v", items)
			}
			var stored string
			for _, it := range items[1:] {
				if it["type"] == "assistant_message" {
					stored = chatkittest.ItemText(it)
				}
			}
			if (c.wantText == "") != (stored == "") || !strings.HasPrefix(stored, c.wantText) {
				t.Errorf("stored answer = %q, want it to start with %q", stored, c.wantText)
			}
			events = st.env.AddMessage(t, "alice", thread, "again")
			if got := assistantTexts(events); !slices.Equal(got, []string{"Recovered."}) {
				t.Fatalf("next turn = %q (errors %v)", got, errorEvents(events))
			}
		})
	}
}

// TestNoModel: without a model the turn ends with an error naming the variables to set
// (golden transcript).
func TestNoModel(t *testing.T) {
	t.Parallel()
	st := newStack(t, opts{noModel: true})
	var tr chatkittest.Transcript
	tr.Exchange(t, st.env, "alice", chatkittest.Req("threads.create", map[string]any{"input": chatkittest.Input("hello")}))
	tr.Check(t, "no_model", *update)
}

// TestMCPServerDown: mcpserver unreachable at the start of a turn, then in the middle of one.
// Each time the user's message stays, and the thread works once mcpserver is back.
func TestMCPServerDown(t *testing.T) {
	t.Parallel()
	st := newStack(t, opts{},
		// Turn 2 (retry, mcpserver back): add.
		llmtest.ToolCalls(call("add_task", `{"title":"Buy milk"}`)),
		llmtest.Text("Added."),
		// Turn 3: mcpserver goes down between tools/list (cached) and the call.
		llmtest.ToolCalls(call("add_task", `{"title":"Walk dog"}`)),
		// Turn 4: back again.
		llmtest.ToolCalls(call("add_task", `{"title":"Walk dog"}`)),
		llmtest.Text("Added it this time."),
	)
	st.tasks.Stop()
	thread, events := st.env.CreateThread(t, "alice", "add a task to buy milk")
	errs := errorEvents(events)
	if len(errs) != 1 || !strings.Contains(errs[0]["message"].(string), "task service is unavailable") {
		t.Fatalf("error events = %v, want the task service message", errs)
	}
	if n := len(st.model.Requests()); n != 0 {
		t.Errorf("%d model requests while mcpserver was down, want 0", n)
	}
	items := st.env.Items(t, "alice", thread)
	if len(items) != 1 || items[0]["type"] != "user_message" {
		t.Fatalf("items = %v, want just the user's message", items)
	}

	st.tasks.Start()
	r := st.env.Do(t, "alice", chatkittest.Req("threads.retry_after_item", map[string]any{"thread_id": thread, "item_id": items[0]["id"]}))
	if errs := errorEvents(r.Events); len(errs) > 0 || !slices.Equal(assistantTexts(r.Events), []string{"Added."}) {
		t.Fatalf("retry: %s", r.Raw)
	}

	st.tasks.Stop()
	events = st.env.AddMessage(t, "alice", thread, "add a task to walk the dog")
	errs = errorEvents(events)
	if len(errs) != 1 || !strings.Contains(errs[0]["message"].(string), "task service is unavailable") {
		t.Fatalf("mid-turn: error events = %v", errs)
	}
	if got := taskTitles(t, events); !slices.Equal(got, []string{"Couldn't add ‘Walk dog’"}) {
		t.Errorf("mid-turn workflow = %q", got)
	}

	st.tasks.Start()
	events = st.env.AddMessage(t, "alice", thread, "try again please")
	if got := assistantTexts(events); !slices.Equal(got, []string{"Added it this time."}) {
		t.Fatalf("after recovery: %q (errors %v)", got, errorEvents(events))
	}
	rows := st.taskRows(t)
	if len(rows) != 2 || rows[0].Title != "Buy milk" || rows[1].Title != "Walk dog" {
		t.Fatalf("tasks = %+v", rows)
	}
	// The failed call is part of the history, marked as not carried out.
	last := st.streamed()[len(st.streamed())-2]
	var sawFailure bool
	for _, m := range toolMessages(last) {
		sawFailure = sawFailure || strings.Contains(m.Content, "not carried out")
	}
	if !sawFailure {
		t.Errorf("the model was not told the earlier call failed: %+v", toolMessages(last))
	}
}

// TestClientDisconnect: the user leaves while the model is still answering after a tool call.
// The model request is cancelled (else the thread would stay locked and the next turn would
// wait for the fake's minute-long delay), what was done is kept, and the thread goes on.
func TestClientDisconnect(t *testing.T) {
	t.Parallel()
	st := newStack(t, opts{},
		llmtest.ToolCalls(call("add_task", `{"title":"Buy milk"}`)),
		llmtest.Text("never sent").After(10*time.Minute),
		llmtest.Text("Still here."),
	)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	resp := st.env.Post(t, ctx, "alice", chatkittest.Req("threads.create", map[string]any{"input": chatkittest.Input("add a task to buy milk")}))
	thread := ""
	dec := newFrameReader(resp.Body)
	for {
		ev, err := dec.next()
		if err != nil {
			t.Fatalf("stream ended before tasks.changed: %v", err)
		}
		if ev["type"] == "thread.created" {
			thread = ev["thread"].(map[string]any)["id"].(string)
		}
		if ev["type"] == "client_effect" {
			break
		}
	}
	// Leave only once the model is busy with the delayed answer.
	for deadline := time.Now().Add(10 * time.Second); len(st.model.Requests()) < 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the second model request never came")
		}
	}
	cancel()
	resp.Body.Close()

	events := st.env.AddMessage(t, "alice", thread, "are you there?")
	if got := assistantTexts(events); !slices.Equal(got, []string{"Still here."}) {
		t.Fatalf("next turn = %q (errors %v)", got, errorEvents(events))
	}
	if rows := st.taskRows(t); len(rows) != 1 {
		t.Errorf("tasks = %+v, want the one added before the disconnect", rows)
	}
	last := st.streamed()[len(st.streamed())-1]
	var sawCall, sawNote bool
	for _, m := range last.Messages {
		sawCall = sawCall || (m.Role == "tool" && strings.Contains(m.Content, "Buy milk"))
		sawNote = sawNote || strings.Contains(m.Content, "stopped the previous response")
	}
	if !sawCall || !sawNote {
		t.Errorf("history after disconnect lacks the tool result (%v) or the stop note (%v): %+v", sawCall, sawNote, last.Messages)
	}
}

// TestToolCallsForAPI: a turn run without SSE (as POST /api/chat does) reports its calls.
func TestToolCallsForAPI(t *testing.T) {
	t.Parallel()
	st := newStack(t, opts{},
		llmtest.ToolCalls(call("add_task", `{"title":"Buy milk"}`), call("complete_task", `{"task_id":7}`)),
		llmtest.Text("Added task 1; there is no task 7."),
	)
	var col chatkit.Collector
	req := &chatkit.CreateThreadRequest{Input: chatkit.UserMessageInput{Content: []chatkit.UserContent{{Type: chatkit.ContentInputText, Text: "add a task to buy milk and complete 7"}}}}
	if err := st.env.Server.Stream(t.Context(), chatkit.Caller{UserID: "alice"}, req, &col); err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(agent.ToolCalls(col.HiddenItems))
	if err != nil {
		t.Fatal(err)
	}
	var calls []map[string]any
	_ = json.Unmarshal(got, &calls)
	if len(calls) != 2 || calls[0]["name"] != "add_task" || calls[0]["arguments"].(map[string]any)["title"] != "Buy milk" ||
		calls[0]["result"].(map[string]any)["task_id"] != float64(1) {
		t.Fatalf("tool calls = %s", got)
	}
	if calls[1]["is_error"] != true || !strings.HasPrefix(calls[1]["result"].(string), "Error") {
		t.Errorf("failed call = %v", calls[1])
	}
	if col.AssistantText() != "Added task 1; there is no task 7." {
		t.Errorf("assistant text = %q", col.AssistantText())
	}
}

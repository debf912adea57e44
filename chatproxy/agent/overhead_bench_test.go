package agent_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/taskwire/taskwire/chatproxy/agent"
	"github.com/taskwire/taskwire/chatproxy/chatkit/chatkittest"
	"github.com/taskwire/taskwire/chatproxy/llm"
	"github.com/taskwire/taskwire/chatproxy/llm/llmtest"
	"github.com/taskwire/taskwire/chatproxy/mcpclient"
	"github.com/taskwire/taskwire/internal/auth"
	"github.com/taskwire/taskwire/internal/pgtest"
	"github.com/taskwire/taskwire/mcpserver/mcphttp"
)

// overheadAnswer is the model's reply in BenchmarkTurnOverhead: a short answer in a few
// chunks, as a model streams it.
const overheadAnswer = "You have no tasks yet. Tell me what you need to do and I will add it to your list."

// turnsPerThread bounds the history a measured turn loads, as in a real conversation.
const turnsPerThread = 16

// BenchmarkTurnOverhead measures what chatproxy adds to a turn with an instant
// OpenAI-compatible model (llmtest): "model-direct" streams the answer from the model with
// the same llm client; "chatproxy" posts a ChatKit user message over HTTP and reads the SSE
// stream, through authentication, the thread store in PostgreSQL, the history, the agent and
// the event encoding. first-token-ns is the time to the first text (the first text delta
// event through chatproxy), turn-ns the time to the end of the answer (the end of the
// stream). chatproxy's overhead is the difference between the two runs.
func BenchmarkTurnOverhead(b *testing.B) {
	model := llmtest.New(llmtest.OpenAI)
	var (
		mu   sync.Mutex
		last []llmtest.Message // the conversation of the model's latest request
	)
	model.SetResponder(func(r llmtest.Request) llmtest.Response {
		mu.Lock()
		last = r.Messages
		mu.Unlock()
		return llmtest.Text(overheadAnswer)
	})
	client, err := llm.New(llm.Config{BaseURL: model.Start(b), Model: "fake-model"}, llm.WithLogger(quiet))
	if err != nil {
		b.Fatal(err)
	}
	v, err := auth.NewVerifier(context.Background(), auth.Config{Secret: chatkittest.Secret})
	if err != nil {
		b.Fatal(err)
	}
	tasks, err := mcphttp.NewHandler(mcphttp.Config{Pool: pgtest.Pool(b), Verifier: v, Logger: quiet, Version: "bench", Environment: "bench", RateLimit: math.Inf(1)})
	if err != nil {
		b.Fatal(err)
	}
	taskSrv := httptest.NewServer(tasks)
	b.Cleanup(taskSrv.Close)
	tokens, err := mcpclient.NewTokens(mcpclient.TokenConfig{Secret: chatkittest.Secret})
	if err != nil {
		b.Fatal(err)
	}
	mc, err := mcpclient.New(mcpclient.Config{URL: taskSrv.URL + mcphttp.MCPPath, Tokens: tokens.Source(), HTTPClient: &http.Client{Timeout: 5 * time.Second}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = mc.Close() })
	env := chatkittest.NewEnv(b, agent.New(agent.Config{LLM: client, MCP: mc, Logger: quiet}), chatkittest.EnvOptions{})

	const user = "bench-overhead"
	token := chatkittest.Token(b, user)
	tools, err := mc.Tools(context.Background(), mcpclient.User{ID: user})
	if err != nil {
		b.Fatal(err)
	}
	defs, err := mcpclient.OpenAITools(tools)
	if err != nil {
		b.Fatal(err)
	}
	// turn runs the n-th turn through chatproxy: a new thread every turnsPerThread turns.
	var thread string
	turn := func(b *testing.B, n int) (first, whole time.Duration) {
		if n%turnsPerThread == 0 {
			thread, _ = env.CreateThread(b, user, "Show me all my tasks")
		}
		body, _ := json.Marshal(chatkittest.Req("threads.add_user_message",
			map[string]any{"thread_id": thread, "input": chatkittest.Input("Show me all my tasks")}))
		first, whole, err := turnOverHTTP(env, token, body)
		if err != nil {
			b.Fatal(err)
		}
		return first, whole
	}
	// The direct calls send the model what chatproxy sends it, conversation for conversation
	// (the system prompt and the history of one thread's turns, recorded here): the time the
	// model takes to read a longer request is the model's, not chatproxy's.
	direct := make([][]llm.Message, turnsPerThread)
	for n := range direct {
		turn(b, n)
		mu.Lock()
		for _, m := range last {
			direct[n] = append(direct[n], llm.Message{Role: m.Role, Content: m.Content})
		}
		mu.Unlock()
	}

	b.Run("model-direct", func(b *testing.B) {
		var first, whole time.Duration
		n := 0
		for b.Loop() {
			req := llm.Request{Tools: defs, Messages: direct[n%len(direct)]}
			n++
			t0 := time.Now()
			var firstAt time.Duration
			turn, err := client.Stream(context.Background(), req, func(string) error {
				if firstAt == 0 {
					firstAt = time.Since(t0)
				}
				return nil
			})
			if err != nil || turn.Text != overheadAnswer {
				b.Fatalf("stream: %v (%q)", err, turn.Text)
			}
			first, whole = first+firstAt, whole+time.Since(t0)
		}
		b.ReportMetric(float64(first.Nanoseconds())/float64(b.N), "first-token-ns")
		b.ReportMetric(float64(whole.Nanoseconds())/float64(b.N), "turn-ns")
	})

	b.Run("chatproxy", func(b *testing.B) {
		var first, whole time.Duration
		n := 0
		for b.Loop() {
			firstAt, wholeAt := turn(b, n)
			n++
			first, whole = first+firstAt, whole+wholeAt
		}
		b.ReportMetric(float64(first.Nanoseconds())/float64(b.N), "first-token-ns")
		b.ReportMetric(float64(whole.Nanoseconds())/float64(b.N), "turn-ns")
	})
}

// turnOverHTTP posts a ChatKit request and reads its stream to the end, returning when the
// first assistant text delta arrived and when the stream ended. It checks the answer's text
// after that, so the client's own JSON parsing (in the same process, on the same cores) is
// not counted as the server's time.
func turnOverHTTP(env *chatkittest.Env, token string, body []byte) (first, whole time.Duration, err error) {
	t0 := time.Now()
	req, err := http.NewRequest(http.MethodPost, env.URL+"/chatkit", bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := env.HTTP.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("POST /chatkit: HTTP %d", resp.StatusCode)
	}
	var deltas [][]byte
	// The scanner's own 4 KiB buffer holds every frame of this answer (it grows up to 1 MiB
	// for a longer one): a 64 KiB buffer per turn made the client, which runs in the same
	// process, add GC work to the measured server.
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.Contains(line, []byte(`"assistant_message.content_part.text_delta"`)) {
			continue
		}
		if first == 0 {
			first = time.Since(t0)
		}
		deltas = append(deltas, bytes.Clone(bytes.TrimPrefix(line, []byte("data: "))))
	}
	if err := sc.Err(); err != nil {
		return 0, 0, err
	}
	whole = time.Since(t0)
	var text strings.Builder
	for _, d := range deltas {
		ev, err := chatkittest.ParseEvent(d)
		if err != nil {
			return 0, 0, err
		}
		text.WriteString(ev["update"].(map[string]any)["delta"].(string))
	}
	if text.String() != overheadAnswer {
		return 0, 0, fmt.Errorf("the stream's text is %q, want %q", text.String(), overheadAnswer)
	}
	return first, whole, nil
}

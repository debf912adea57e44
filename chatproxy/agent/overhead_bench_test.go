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
	model.SetResponder(func(llmtest.Request) llmtest.Response { return llmtest.Text(overheadAnswer) })
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
	tools, err := mc.Tools(context.Background(), mcpclient.User{ID: user})
	if err != nil {
		b.Fatal(err)
	}
	defs, err := mcpclient.OpenAITools(tools)
	if err != nil {
		b.Fatal(err)
	}
	// The direct call sends what a first turn sends: a system prompt, the message, the tools.
	direct := llm.Request{Tools: defs, Messages: []llm.Message{
		{Role: llm.RoleSystem, Content: "You manage the user's tasks with the tools you have."},
		{Role: llm.RoleUser, Content: "Show me all my tasks"},
	}}

	b.Run("model-direct", func(b *testing.B) {
		var first, whole time.Duration
		for b.Loop() {
			t0 := time.Now()
			var firstAt time.Duration
			turn, err := client.Stream(context.Background(), direct, func(string) error {
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
		token := chatkittest.Token(b, user)
		var first, whole time.Duration
		thread, turns := "", 0
		for b.Loop() {
			if turns%turnsPerThread == 0 {
				thread, _ = env.CreateThread(b, user, "Show me all my tasks")
			}
			turns++
			body, _ := json.Marshal(chatkittest.Req("threads.add_user_message",
				map[string]any{"thread_id": thread, "input": chatkittest.Input("Show me all my tasks")}))
			firstAt, wholeAt, err := turnOverHTTP(env, token, body)
			if err != nil {
				b.Fatal(err)
			}
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

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/taskwire/taskwire/internal/auth"
)

// outcome is how one call ended, from the client's side.
type outcome string

const (
	okCall      outcome = "ok"
	toolError   outcome = "200 tool error"
	rpcError    outcome = "JSON-RPC error"
	unavailable outcome = "503"
	limited     outcome = "429"
	refused     outcome = "connection error"
	timedOut    outcome = "timeout"
	clientError outcome = "4xx"
	serverError outcome = "5xx"
)

// clean says whether a failure is one a client can recognise as "retry later".
func (o outcome) clean() bool {
	return o == rpcError || o == unavailable || o == limited || o == refused
}

type result struct {
	out        outcome
	status     int
	replica    string // X-Served-By
	retryAfter string
	dur        time.Duration
	body       []byte
	structured map[string]any // a tool's structuredContent
	text       string         // a tool error's text
}

// callTimeout bounds every call: a call still open after it counts as a hang.
const callTimeout = 8 * time.Second

var (
	rpcID  atomic.Int64
	client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
)

func token(user string) string {
	t, err := auth.Mint([]byte(secret), auth.MintOptions{UserID: user, TTL: time.Hour})
	if err != nil {
		panic(err)
	}
	return t
}

// post sends one request and reads the whole answer within callTimeout.
func post(ctx context.Context, url, tok string, body []byte, header map[string]string) result {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return result{out: clientError}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return result{out: timedOut, dur: time.Since(start)}
		}
		return result{out: refused, dur: time.Since(start)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	r := result{status: resp.StatusCode, replica: resp.Header.Get("X-Served-By"), retryAfter: resp.Header.Get("Retry-After"), dur: time.Since(start), body: data}
	switch {
	case err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		r.out = timedOut
	case err != nil:
		r.out = refused
	case resp.StatusCode == http.StatusServiceUnavailable:
		r.out = unavailable
	case resp.StatusCode == http.StatusTooManyRequests:
		r.out = limited
	case resp.StatusCode >= 500:
		r.out = serverError
	case resp.StatusCode >= 400:
		r.out = clientError
	default:
		r.out = okCall
	}
	return r
}

// rpcBody is a JSON-RPC request.
func rpcBody(method string, params any) []byte {
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": rpcID.Add(1), "method": method, "params": params})
	return b
}

// callTool calls an MCP tool over streamable HTTP (stateless: no session needed).
func callTool(ctx context.Context, base, tok, name string, args any) result {
	return mcpRaw(ctx, base, tok, rpcBody("tools/call", map[string]any{"name": name, "arguments": args}))
}

// mcpRaw posts a raw JSON-RPC body to base/mcp and classifies the answer.
func mcpRaw(ctx context.Context, base, tok string, body []byte) result {
	r := post(ctx, base+"/mcp", tok, body, nil)
	if r.out != okCall { // the status already says it (503, 429, 4xx, 5xx, no answer)
		return r
	}
	msg := lastJSON(r.body)
	var m struct {
		Error  *json.RawMessage `json:"error"`
		Result *struct {
			IsError           bool           `json:"isError"`
			StructuredContent map[string]any `json:"structuredContent"`
			Content           []struct {
				Text string `json:"text"`
			} `json:"content"`
		} `json:"result"`
	}
	if err := json.Unmarshal(msg, &m); err != nil {
		r.out = serverError // a 200 that is not JSON-RPC
		return r
	}
	switch {
	case m.Error != nil:
		r.out = rpcError
	case m.Result == nil:
		r.out = serverError
	case m.Result.IsError:
		r.out = toolError
		if len(m.Result.Content) > 0 {
			r.text = m.Result.Content[0].Text
		}
	default:
		r.structured = m.Result.StructuredContent
	}
	return r
}

// lastJSON is the body itself, or the last "data:" line of an SSE body.
func lastJSON(body []byte) []byte {
	if bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
		return body
	}
	var last []byte
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 8<<20)
	for sc.Scan() {
		if d, ok := bytes.CutPrefix(sc.Bytes(), []byte("data:")); ok {
			last = append([]byte(nil), bytes.TrimSpace(d)...)
		}
	}
	return last
}

// chatkit posts one ChatKit request; streamed answers are read to the end and returned as
// their events.
func chatkit(ctx context.Context, base, tok string, typ string, params any) (result, []map[string]any) {
	body, _ := json.Marshal(map[string]any{"type": typ, "params": params})
	r := post(ctx, base+"/chatkit", tok, body, nil)
	return r, events(r.body)
}

func events(body []byte) []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(string(body), "\n") {
		if d, ok := strings.CutPrefix(line, "data: "); ok {
			var e map[string]any
			if json.Unmarshal([]byte(d), &e) == nil {
				out = append(out, e)
			}
		}
	}
	return out
}

func userInput(text string) map[string]any {
	return map[string]any{"input": map[string]any{
		"content":     []any{map[string]any{"type": "input_text", "text": text}},
		"attachments": []any{}, "inference_options": map[string]any{},
	}}
}

// threadID finds the id in a stream's thread.created event.
func threadID(evs []map[string]any) string {
	for _, e := range evs {
		if e["type"] == "thread.created" {
			if t, ok := e["thread"].(map[string]any); ok {
				id, _ := t["id"].(string)
				return id
			}
		}
	}
	return ""
}

func describe(r result) string {
	s := fmt.Sprintf("%s (HTTP %d", r.out, r.status)
	if r.replica != "" {
		s += " from " + r.replica
	}
	body := string(r.body)
	if len(body) > 160 {
		body = body[:160] + "…"
	}
	return s + "): " + strings.TrimSpace(body)
}

package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode"
)

// maxErrorBody bounds how much of an error response we read (go-openai reads it whole).
const maxErrorBody = 64 << 10

// geminiSkipSignature is the placeholder Google documents for tool calls that have no thought
// signature of their own (history from another provider); without one Gemini 3 answers 400
// "Function call is missing a thought_signature".
var geminiSkipSignature = json.RawMessage(`{"google":{"thought_signature":"skip_thought_signature_validator"}}`)

type extrasKey struct{}

// withExtras records, for the HTTP layer, the `extra_content` to echo on each earlier tool call
// (go-openai's ToolCall has no field for it). OpenAI gets none: it never sends any and is
// strict about request fields. Gemini (directly, or a "gemini" model behind a proxy such as
// LiteLLM or OpenRouter) gets the placeholder on the first call of any assistant message that
// has no signature at all.
func withExtras(ctx context.Context, b *backend, msgs []Message) context.Context {
	if b.Kind == KindOpenAI {
		return ctx
	}
	var extras map[string]json.RawMessage
	for _, m := range msgs {
		signed := false
		for _, tc := range m.ToolCalls {
			if len(tc.ProviderExtra) > 0 {
				signed = true
				if extras == nil {
					extras = map[string]json.RawMessage{}
				}
				extras[tc.ID] = tc.ProviderExtra
			}
		}
		if !signed && len(m.ToolCalls) > 0 && b.isGemini() {
			if extras == nil {
				extras = map[string]json.RawMessage{}
			}
			extras[m.ToolCalls[0].ID] = geminiSkipSignature
		}
	}
	if extras == nil {
		return ctx
	}
	return context.WithValue(ctx, extrasKey{}, extras)
}

// doer sits between go-openai and the HTTP client: it adds the tool-call extras to the request
// body and bounds error bodies.
type doer struct{ next *http.Client }

func (d *doer) Do(req *http.Request) (*http.Response, error) {
	if extras, ok := req.Context().Value(extrasKey{}).(map[string]json.RawMessage); ok && req.Body != nil {
		body, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("read request body: %w", err)
		}
		if body, err = injectExtras(body, extras); err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	resp, err := d.next.Do(req)
	if err == nil && resp.StatusCode >= 400 {
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.LimitReader(resp.Body, maxErrorBody), resp.Body}
	}
	return resp, err
}

// injectExtras sets "extra_content" on the tool calls of the body's messages whose ids have
// extras, leaving every other byte of the request as go-openai wrote it.
func injectExtras(body []byte, extras map[string]json.RawMessage) ([]byte, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("patch request body: %w", err)
	}
	var msgs []map[string]json.RawMessage
	if err := json.Unmarshal(doc["messages"], &msgs); err != nil {
		return nil, fmt.Errorf("patch request messages: %w", err)
	}
	var err error
	for _, m := range msgs {
		raw, ok := m["tool_calls"]
		if !ok {
			continue
		}
		var calls []map[string]json.RawMessage
		if err := json.Unmarshal(raw, &calls); err != nil {
			return nil, fmt.Errorf("patch request tool calls: %w", err)
		}
		for _, c := range calls {
			var id string
			_ = json.Unmarshal(c["id"], &id)
			if e, ok := extras[id]; ok {
				c["extra_content"] = e
			}
		}
		if m["tool_calls"], err = json.Marshal(calls); err != nil {
			return nil, err
		}
	}
	if doc["messages"], err = json.Marshal(msgs); err != nil {
		return nil, err
	}
	return json.Marshal(doc)
}

func trimLeftSpace(s string) string { return strings.TrimLeftFunc(s, unicode.IsSpace) }

func (b *backend) isGemini() bool {
	return b.Kind == KindGemini || strings.Contains(strings.ToLower(b.Model), "gemini")
}

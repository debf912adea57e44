// Package llmtest is a fake OpenAI-compatible Chat Completions server for tests and demos: the
// LLM is the one thing taskwire fakes, at its HTTP boundary. It streams scripted answers in the
// chunk shapes of real providers (OpenAI, Gemini, Ollama — with their quirks), records every
// request so tests can assert what the model was given, and scripts faults: HTTP errors, a cut
// connection mid-stream, a delay before the first token. A rule-based responder drives a real
// page without a real model ("add a task to buy milk" → add_task{title:"buy milk"}).
package llmtest

import (
	"encoding/json"
	"time"
)

// Shape is the chunk layout of a provider.
type Shape string

// The provider shapes the server can stream.
const (
	// OpenAI: role chunk; each call's first fragment has index, id, type and name, later ones
	// only index and a slice of arguments; finish_reason "tool_calls"; a usage-only chunk with
	// empty choices when stream_options.include_usage is set.
	OpenAI Shape = "openai"
	// Gemini: whole calls in one chunk, index left out (even calls) or null (odd calls), a thought
	// signature in extra_content on the first call, finish_reason "stop" even on tool turns,
	// usage on the last chunk. Requests replaying a call without a signature get 400, as
	// Gemini 3 answers.
	Gemini Shape = "gemini"
	// Ollama: empty-content chunks, every parallel call at index 0 with its own id, arguments
	// whole, no type.
	Ollama Shape = "ollama"
)

// Call is a tool call to answer with. An empty ID gets a generated one.
type Call struct {
	ID        string
	Name      string
	Arguments string // JSON text; empty means "{}"
}

// Response is one scripted answer: text, tool calls, or a fault. Build it with Text, ToolCalls
// or Status, and add faults with the methods below.
type Response struct {
	Text      string
	ToolCalls []Call
	// Status, when not zero, is answered instead of a completion, with an OpenAI error body.
	Status int
	msg    string
	// delay is waited after the headers and before the first chunk (or before Status).
	delay time.Duration
	// cut, when set, drops the connection after cutAfter chunks.
	cut      bool
	cutAfter int
	// errorEvent is sent as a `data: {"error":…}` line after errorAfter chunks (as OpenRouter
	// does after HTTP 200).
	errorEvent string
	errorAfter int
}

// Text answers with plain text.
func Text(s string) Response { return Response{Text: s} }

// ToolCalls answers with calls (parallel when several).
func ToolCalls(calls ...Call) Response { return Response{ToolCalls: calls} }

// Status answers with an HTTP error (429 comes with Retry-After: 0).
func Status(code int) Response { return Response{Status: code} }

// After delays the first token (or the error status) by d.
func (r Response) After(d time.Duration) Response { r.delay = d; return r }

// CutAfter drops the connection after n chunks (0: right after the headers).
func (r Response) CutAfter(n int) Response { r.cut, r.cutAfter = true, n; return r }

// ErrorEventAfter sends a mid-stream error event with message after n chunks.
func (r Response) ErrorEventAfter(n int, message string) Response {
	r.errorEvent, r.errorAfter = message, n
	return r
}

// Request is what the server received.
type Request struct {
	Path          string
	Authorization string // the Authorization header, so tests can check which key was sent
	Model         string
	Stream        bool
	IncludeUsage  bool
	Messages      []Message
	Tools         []Tool
	Body          json.RawMessage
}

// LastUser returns the content of the last user message ("" if none).
func (r Request) LastUser() string {
	for i := len(r.Messages) - 1; i >= 0; i-- {
		if r.Messages[i].Role == "user" {
			return r.Messages[i].Content
		}
	}
	return ""
}

// HasTool reports whether the request offered a tool of that name.
func (r Request) HasTool(name string) bool {
	for _, t := range r.Tools {
		if t.Name == name {
			return true
		}
	}
	return false
}

// Message is one received message.
type Message struct {
	Role       string         `json:"role"`
	Content    string         `json:"content"`
	Name       string         `json:"name"`
	ToolCallID string         `json:"tool_call_id"`
	ToolCalls  []ReceivedCall `json:"tool_calls"`
}

// ReceivedCall is a tool call replayed in a request's history.
type ReceivedCall struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
	ExtraContent json.RawMessage `json:"extra_content"`
}

// Tool is one received function definition.
type Tool struct {
	Name        string
	Description string
	Parameters  json.RawMessage
}

package llm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// Roles of a chat message, as the Chat Completions API names them.
const (
	RoleSystem    = "system"
	RoleUser      = "user"
	RoleAssistant = "assistant"
	RoleTool      = "tool"
)

// Message is one entry of the model input. It is our own type rather than go-openai's so that
// the history a caller stores (JSON tags below) carries what go-openai cannot: the provider
// extras of tool calls that must be echoed on later turns (Gemini 3 thought signatures).
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content,omitempty"`
	// ToolCalls are the calls an assistant message made (Role == RoleAssistant).
	ToolCalls []ToolCall `json:"tool_calls,omitempty"`
	// ToolCallID links a tool result (Role == RoleTool) to the call it answers.
	ToolCallID string `json:"tool_call_id,omitempty"`
	// Name is the tool's name on a tool result; some providers map results by name.
	Name string `json:"name,omitempty"`
}

// ToolCall is one complete function call the model asked for.
type ToolCall struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Arguments is the JSON text the model produced; "{}" when it sent none. It may be
	// invalid JSON: check Validate before running the call.
	Arguments string `json:"arguments"`
	// ProviderExtra is the call's `extra_content` as the provider sent it (Gemini's thought
	// signature). Store it with the call: it is echoed back to providers that need it.
	ProviderExtra json.RawMessage `json:"provider_extra,omitempty"`
}

// Validate says whether the call can be run: it needs a name and a JSON object as arguments.
// A failure is meant to go back to the model as the tool's result, so that it can correct
// itself, rather than fail the turn.
func (c ToolCall) Validate() error {
	if c.Name == "" {
		return errors.New("the tool call has no function name")
	}
	args := bytes.TrimSpace([]byte(c.Arguments))
	if !json.Valid(args) {
		return fmt.Errorf("the arguments of %s are not valid JSON: %.200q", c.Name, c.Arguments)
	}
	if len(args) == 0 || args[0] != '{' {
		return fmt.Errorf("the arguments of %s must be a JSON object", c.Name)
	}
	return nil
}

// Request is one model call: the conversation so far and the tools the model may call.
type Request struct {
	Messages []Message
	// Tools are function definitions, e.g. from mcpclient.OpenAITools.
	Tools []openai.Tool
	// MaxTokens bounds the completion (max_completion_tokens); 0 leaves it to the provider.
	MaxTokens int
}

// Usage is the token count a provider reported for one call.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// Turn is what the model answered in one call.
type Turn struct {
	// Text is the assistant's text, without leading whitespace.
	Text string
	// ToolCalls are the complete calls, in the order the model started them. Decide "run tools"
	// from len(ToolCalls) > 0, never from FinishReason: Gemini ends tool turns with "stop".
	ToolCalls []ToolCall
	// FinishReason is the provider's last finish_reason ("stop", "tool_calls", "length", …).
	FinishReason string
	// Usage is nil when the provider reported none.
	Usage *Usage
	// Provider and Model say who answered (the fallback, perhaps).
	Provider string
	Model    string
	// TimeToFirstToken runs from the start of the successful attempt to its first text or
	// tool-call fragment; zero for non-streaming calls.
	TimeToFirstToken time.Duration
	// Attempts counts HTTP requests made for this turn, over all providers.
	Attempts int
}

// AssistantMessage is the history entry for this turn, to send back on the next call.
func (t Turn) AssistantMessage() Message {
	return Message{Role: RoleAssistant, Content: t.Text, ToolCalls: t.ToolCalls}
}

// emptyToolResult stands in for an empty tool result: go-openai drops an empty content field,
// and some providers reject a tool message without one.
const emptyToolResult = "(no output)"

// toOpenAI converts the history into go-openai messages. Tool calls get an explicit type
// "function" (Ollama omits it in deltas, and go-openai would send "type":"").
func toOpenAI(msgs []Message) []openai.ChatCompletionMessage {
	out := make([]openai.ChatCompletionMessage, len(msgs))
	for i, m := range msgs {
		o := openai.ChatCompletionMessage{Role: m.Role, Content: m.Content, ToolCallID: m.ToolCallID, Name: m.Name}
		if m.Role == RoleTool && o.Content == "" {
			o.Content = emptyToolResult
		}
		if len(m.ToolCalls) > 0 {
			o.ToolCalls = make([]openai.ToolCall, len(m.ToolCalls))
			for j, c := range m.ToolCalls {
				args := c.Arguments
				if args == "" {
					args = "{}"
				}
				o.ToolCalls[j] = openai.ToolCall{
					ID:       c.ID,
					Type:     openai.ToolTypeFunction,
					Function: openai.FunctionCall{Name: c.Name, Arguments: args},
				}
			}
		}
		out[i] = o
	}
	return out
}

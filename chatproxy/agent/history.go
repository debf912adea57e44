package agent

import (
	"encoding/json"
	"strings"

	"github.com/taskwire/taskwire/chatproxy/chatkit"
	"github.com/taskwire/taskwire/chatproxy/llm"
)

// toolStepType marks the hidden items this package stores, so that other hidden context is
// never mistaken for tool calls.
const toolStepType = "tool_calls"

// toolStep is the content of the hidden item stored after each model step that called tools:
// the calls exactly as the model made them (with provider extras such as Gemini's thought
// signatures, which must be replayed) and what each returned. One item per step keeps a call
// and its result together, so trimming history can never separate them.
type toolStep struct {
	Type  string    `json:"type"`
	Calls []toolRun `json:"calls"`
}

// toolRun is one call and its result.
type toolRun struct {
	ID            string          `json:"id"`
	Name          string          `json:"name"`
	Arguments     string          `json:"arguments"`
	ProviderExtra json.RawMessage `json:"provider_extra,omitempty"`
	// Result is the tool message the model was given.
	Result string `json:"result"`
	// Structured is mcpserver's structuredContent, when it sent one.
	Structured json.RawMessage `json:"structured,omitempty"`
	IsError    bool            `json:"is_error,omitempty"`
}

func (t toolRun) call() llm.ToolCall {
	return llm.ToolCall{ID: t.ID, Name: t.Name, Arguments: t.Arguments, ProviderExtra: t.ProviderExtra}
}

func (t toolRun) message() llm.Message {
	return llm.Message{Role: llm.RoleTool, ToolCallID: t.ID, Name: t.Name, Content: t.Result}
}

// decodeToolStep returns the step stored in item, or false if item is not one.
func decodeToolStep(item chatkit.Item) (toolStep, bool) {
	h, ok := item.(*chatkit.HiddenContextItem)
	if !ok {
		return toolStep{}, false
	}
	var step toolStep
	if json.Unmarshal(h.Content, &step) != nil || step.Type != toolStepType || len(step.Calls) == 0 {
		return toolStep{}, false
	}
	return step, true
}

// ToolCallRecord is one tool call of a turn as POST /api/chat reports it.
type ToolCallRecord struct {
	Name string `json:"name"`
	// Arguments is the JSON object the model sent (a JSON string if it was not valid JSON).
	Arguments json.RawMessage `json:"arguments"`
	// Result is mcpserver's structuredContent, or the result text as a JSON string (tool
	// errors: "Error: …").
	Result json.RawMessage `json:"result"`
	// IsError is true when the call failed (tool error, bad arguments, mcpserver down).
	IsError bool `json:"is_error,omitempty"`
}

// ToolCalls lists the tool calls stored in items (e.g. a chatkit.Collector's HiddenItems),
// in order; other items are ignored.
func ToolCalls(items []chatkit.Item) []ToolCallRecord {
	out := []ToolCallRecord{}
	for _, item := range items {
		step, ok := decodeToolStep(item)
		if !ok {
			continue
		}
		for _, c := range step.Calls {
			rec := ToolCallRecord{Name: c.Name, Arguments: json.RawMessage(c.Arguments), Result: c.Structured, IsError: c.IsError}
			if !json.Valid(rec.Arguments) {
				rec.Arguments, _ = json.Marshal(c.Arguments)
			}
			if len(rec.Result) == 0 || c.IsError {
				rec.Result, _ = json.Marshal(c.Result)
			}
			out = append(out, rec)
		}
	}
	return out
}

// hiddenNote wraps context the user did not write, so the model does not take it for a
// request.
func hiddenNote(text string) llm.Message {
	return llm.Message{Role: llm.RoleUser, Content: "<HiddenContext>\nContext for you, not written by the user:\n" + text + "\n</HiddenContext>"}
}

// historyMessages converts stored items (oldest first) into model messages: user and
// assistant messages, our tool steps as an assistant message with tool_calls followed by one
// tool message per call, and other hidden context as a note. Workflows are skipped: they are
// the visible copy of the tool steps.
func historyMessages(items []chatkit.Item) []llm.Message {
	var out []llm.Message
	for _, item := range items {
		switch it := item.(type) {
		case *chatkit.UserMessageItem:
			text := it.Text()
			if it.QuotedText != nil && *it.QuotedText != "" {
				text = "> " + strings.ReplaceAll(*it.QuotedText, "\n", "\n> ") + "\n\n" + text
			}
			out = append(out, llm.Message{Role: llm.RoleUser, Content: text})
		case *chatkit.AssistantMessageItem:
			out = append(out, llm.Message{Role: llm.RoleAssistant, Content: it.Text()})
		case *chatkit.HiddenContextItem:
			if _, ok := decodeWidgetState(it); ok {
				continue // the tool step before it told the model what the widget shows
			}
			step, ok := decodeToolStep(it)
			if !ok {
				out = append(out, hiddenNote(string(it.Content)))
				continue
			}
			calls := make([]llm.ToolCall, len(step.Calls))
			for i, c := range step.Calls {
				calls[i] = c.call()
			}
			// Text the model wrote in the same step was stored as the visible message just
			// before: give the calls to that message rather than inventing a second one.
			if n := len(out); n > 0 && out[n-1].Role == llm.RoleAssistant && len(out[n-1].ToolCalls) == 0 {
				out[n-1].ToolCalls = calls
			} else {
				out = append(out, llm.Message{Role: llm.RoleAssistant, ToolCalls: calls})
			}
			for _, c := range step.Calls {
				out = append(out, c.message())
			}
		case *chatkit.SDKHiddenContextItem:
			out = append(out, hiddenNote(it.Content))
		}
	}
	return out
}

// trimHistory drops the oldest messages until the rest fit in budget characters. An assistant
// message with tool calls and its tool messages go together, and the newest message (the
// user's input) is always kept. The result never starts with a tool message or an assistant
// message, which strict providers reject.
func trimHistory(msgs []llm.Message, budget int) []llm.Message {
	total := 0
	for _, m := range msgs {
		total += size(m)
	}
	start := 0
	for start < len(msgs)-1 && (total > budget || msgs[start].Role != llm.RoleUser) {
		// Drop one unit: a message and, for tool calls, the results that follow it.
		end := start + 1
		for end < len(msgs)-1 && msgs[end].Role == llm.RoleTool {
			end++
		}
		for _, m := range msgs[start:end] {
			total -= size(m)
		}
		start = end
	}
	return msgs[start:]
}

func size(m llm.Message) int {
	n := len(m.Content)
	for _, c := range m.ToolCalls {
		n += len(c.Name) + len(c.Arguments)
	}
	return n
}

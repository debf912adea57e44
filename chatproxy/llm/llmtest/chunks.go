package llmtest

import (
	"encoding/json"
	"fmt"
)

// DefaultSplit is how many bytes of text or arguments go into one chunk by default.
const DefaultSplit = 7

// Chunks renders r as the JSON payloads of the `data:` lines a provider of that shape would
// stream (without [DONE]), splitting text and arguments every split bytes (≤ 0: DefaultSplit).
// Tests and benchmarks of the accumulator feed them straight in.
func Chunks(shape Shape, r Response, split int) [][]byte {
	return render(shape, "fake-model", r, split, true)
}

type obj = map[string]any

func render(shape Shape, model string, r Response, split int, usage bool) [][]byte {
	if split <= 0 {
		split = DefaultSplit
	}
	calls := withIDs(shape, r.ToolCalls)
	var out [][]byte
	add := func(choices []obj, extra obj) {
		c := obj{"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1, "model": model, "choices": choices}
		for k, v := range extra {
			c[k] = v
		}
		b, err := json.Marshal(c)
		if err != nil {
			panic(err) // only our own maps are marshalled
		}
		out = append(out, b)
	}
	delta := func(d obj, finish any) []obj {
		return []obj{{"index": 0, "delta": d, "finish_reason": finish}}
	}
	finish := "stop"
	if len(calls) > 0 && shape != Gemini {
		finish = "tool_calls"
	}
	u := obj{"prompt_tokens": 50, "completion_tokens": (len(r.Text) + 3) / 4, "total_tokens": 50 + (len(r.Text)+3)/4}

	switch shape {
	case Gemini:
		for i, p := range pieces(r.Text, split*3) {
			d := obj{"content": p}
			if i == 0 {
				d["role"] = "assistant"
			}
			add(delta(d, nil), nil)
		}
		if len(calls) > 0 {
			tcs := make([]obj, len(calls))
			for i, c := range calls {
				tc := obj{"id": c.ID, "type": "function", "function": obj{"name": c.Name, "arguments": c.Arguments}}
				if i%2 == 1 {
					tc["index"] = nil
				}
				if i == 0 {
					tc["extra_content"] = obj{"google": obj{"thought_signature": "sig-" + c.ID}}
				}
				tcs[i] = tc
			}
			add(delta(obj{"role": "assistant", "tool_calls": tcs}, nil), nil)
		}
		add(delta(obj{}, finish), obj{"usage": u})
		return out
	case Ollama:
		add(delta(obj{"role": "assistant", "content": ""}, nil), nil)
		for _, p := range pieces(r.Text, split) {
			add(delta(obj{"role": "assistant", "content": p}, nil), nil)
		}
		for _, c := range calls {
			add(delta(obj{"role": "assistant", "content": "", "tool_calls": []obj{{
				"id": c.ID, "index": 0, "function": obj{"name": c.Name, "arguments": c.Arguments},
			}}}, nil), nil)
		}
		add(delta(obj{"role": "assistant", "content": ""}, finish), nil)
	default: // OpenAI
		add(delta(obj{"role": "assistant", "content": ""}, nil), nil)
		for _, p := range pieces(r.Text, split) {
			add(delta(obj{"content": p}, nil), nil)
		}
		for i, c := range calls {
			add(delta(obj{"tool_calls": []obj{{
				"index": i, "id": c.ID, "type": "function", "function": obj{"name": c.Name, "arguments": ""},
			}}}, nil), nil)
			for _, p := range pieces(c.Arguments, split) {
				add(delta(obj{"tool_calls": []obj{{"index": i, "function": obj{"arguments": p}}}}, nil), nil)
			}
		}
		add(delta(obj{}, finish), nil)
	}
	if usage {
		add([]obj{}, obj{"usage": u})
	}
	return out
}

// completion renders r as a non-streamed chat.completion.
func completion(shape Shape, model string, r Response) []byte {
	calls := withIDs(shape, r.ToolCalls)
	msg := obj{"role": "assistant", "content": r.Text}
	finish := "stop"
	if len(calls) > 0 {
		tcs := make([]obj, len(calls))
		for i, c := range calls {
			tcs[i] = obj{"id": c.ID, "type": "function", "function": obj{"name": c.Name, "arguments": c.Arguments}}
		}
		msg["tool_calls"] = tcs
		if shape != Gemini {
			finish = "tool_calls"
		}
	}
	b, err := json.Marshal(obj{
		"id": "chatcmpl-fake", "object": "chat.completion", "created": 1, "model": model,
		"choices": []obj{{"index": 0, "message": msg, "finish_reason": finish}},
		"usage":   obj{"prompt_tokens": 50, "completion_tokens": 10, "total_tokens": 60},
	})
	if err != nil {
		panic(err)
	}
	return b
}

// withIDs fills in ids and empty arguments the way the shape's provider would.
func withIDs(shape Shape, calls []Call) []Call {
	out := make([]Call, len(calls))
	for i, c := range calls {
		if c.ID == "" {
			if shape == Gemini {
				c.ID = fmt.Sprintf("function-call-%d", i+1)
			} else {
				c.ID = fmt.Sprintf("call_fake%d", i+1)
			}
		}
		if c.Arguments == "" {
			c.Arguments = "{}"
		}
		out[i] = c
	}
	return out
}

// pieces splits s every n bytes, never inside a UTF-8 sequence.
func pieces(s string, n int) []string {
	var out []string
	for len(s) > 0 {
		end := min(n, len(s))
		for end < len(s) && !isRuneStart(s[end]) {
			end++
		}
		out = append(out, s[:end])
		s = s[end:]
	}
	return out
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

package llm

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// chunk is one streamed chat.completion.chunk. It is decoded from the raw bytes (RecvRaw)
// rather than through go-openai's struct, which drops `extra_content` (Gemini's thought
// signature) and cannot take arguments sent as a JSON object.
type chunk struct {
	Choices []struct {
		Index int `json:"index"`
		Delta struct {
			Content   string         `json:"content"`
			Refusal   string         `json:"refusal"`
			ToolCalls []toolFragment `json:"tool_calls"`
		} `json:"delta"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Usage *Usage `json:"usage"`
}

// toolFragment is one piece of a streamed tool call. Index is nil when the provider omits it
// or sends null (Gemini).
type toolFragment struct {
	Index    *int   `json:"index"`
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string  `json:"name"`
		Arguments argText `json:"arguments"`
	} `json:"function"`
	ExtraContent json.RawMessage `json:"extra_content"`
}

// argText is the raw JSON of a fragment's arguments: the JSON string OpenAI specifies, or a
// bare JSON object as some OpenAI-compatible servers send. It aliases the chunk being decoded
// (no copy), so it is consumed within Add.
type argText []byte

func (a *argText) UnmarshalJSON(b []byte) error {
	*a = b
	return nil
}

// appendTo appends the arguments text to dst: a string unescaped, null as nothing, anything
// else (an object) verbatim. json.Unmarshal has already checked that the token is valid.
func (a argText) appendTo(dst []byte) []byte {
	switch {
	case len(a) < 2 || string(a) == "null":
		return dst
	case a[0] != '"':
		return append(dst, a...)
	}
	s := a[1 : len(a)-1]
	for {
		i := bytes.IndexByte(s, '\\')
		if i < 0 {
			return append(dst, s...)
		}
		dst = append(dst, s[:i]...)
		s = s[i:]
		n := 2
		switch s[1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := hex4(s[2:6])
			n = 6
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if len(s) >= 12 && s[6] == '\\' && s[7] == 'u' {
					r2 = hex4(s[8:12])
				}
				if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
					r, n = d, 12
				} else {
					r = utf8.RuneError
				}
			}
			dst = utf8.AppendRune(dst, r)
		default: // " \ /
			dst = append(dst, s[1])
		}
		s = s[n:]
	}
}

func hex4(b []byte) rune {
	var r rune
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		default:
			c -= 'A' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// slot is one tool call being assembled.
type slot struct {
	id, name string
	args     []byte
	extra    json.RawMessage
}

// complete reports whether the arguments so far already form a whole JSON value, so that a
// new fragment carrying a name must be another call (servers that send each call whole).
func (s *slot) complete() bool {
	return len(s.args) > 0 && json.Valid(s.args)
}

// indexSlot maps a provider's tool-call index to the slot it currently means.
type indexSlot struct{ index, slot int }

// Accumulator assembles a streamed completion — text and tool calls — from raw chunks, in
// every provider shape we know (see docs/llm.md): OpenAI's (index + id on the first fragment,
// arguments in pieces), Gemini's (index missing or null, whole calls in one chunk, "stop" on
// tool turns), Ollama's (parallel calls all at index 0 with distinct ids), usage-only and
// empty-choices chunks. The zero value is ready to use; it is not safe for concurrent use.
type Accumulator struct {
	text    []byte
	slots   []slot
	byIndex []indexSlot
	finish  string
	usage   *Usage
	c       chunk
}

// Reset empties the accumulator for another stream, keeping its buffers.
func (a *Accumulator) Reset() {
	a.text = a.text[:0]
	a.slots = a.slots[:0]
	a.byIndex = a.byIndex[:0]
	a.finish = ""
	a.usage = nil
}

// Add folds in one raw chunk (the JSON after "data: "). It returns the text to show now
// (leading whitespace of the message is held back and dropped) and whether the chunk carried
// output — text or a tool-call fragment — which is what "first token" means for retries.
func (a *Accumulator) Add(raw []byte) (text string, output bool, err error) {
	c := &a.c
	c.Choices, c.Usage = c.Choices[:0], nil
	if err := json.Unmarshal(raw, c); err != nil {
		return "", false, fmt.Errorf("decode stream chunk: %w", err)
	}
	if c.Usage != nil {
		a.usage = c.Usage
	}
	for i := range c.Choices {
		ch := &c.Choices[i]
		if ch.Index == 0 { // we ask for one choice; ignore any other
			if ch.FinishReason != "" {
				a.finish = ch.FinishReason
			}
			for j := range ch.Delta.ToolCalls {
				a.addFragment(&ch.Delta.ToolCalls[j])
				output = true
			}
			for _, s := range [...]string{ch.Delta.Content, ch.Delta.Refusal} {
				if len(a.text) == 0 {
					s = trimLeftSpace(s)
				}
				if s != "" {
					a.text = append(a.text, s...)
					text += s
					output = true
				}
			}
		}
		// json.Unmarshal decodes into reused slice elements without zeroing them.
		clear(ch.Delta.ToolCalls)
		ch.Delta.ToolCalls = ch.Delta.ToolCalls[:0]
		ch.Index, ch.Delta.Content, ch.Delta.Refusal, ch.FinishReason = 0, "", "", ""
	}
	return text, output, nil
}

// addFragment applies the rules in docs/llm.md ("Provider quirks handled"): ID, type and name are
// set-once and only arguments are appended. The slot a fragment belongs to is the one its
// index points at, else the one with its id, else the most recent; a fragment that carries an
// id or a name opens a new slot instead when it cannot belong to that one (isAnotherCall).
func (a *Accumulator) addFragment(f *toolFragment) {
	cur := -1
	if f.Index != nil {
		cur = a.slotForIndex(*f.Index)
		// Arguments are never appended to a call that is already whole: an index that points
		// back at one was reused (Ollama) for the call begun most recently.
		if last := len(a.slots) - 1; cur >= 0 && cur != last && a.slots[cur].complete() {
			cur = last
		}
	}
	if cur < 0 && f.ID != "" {
		cur = a.slotForID(f.ID)
		if cur < 0 {
			cur = a.newSlot()
		}
	}
	if cur < 0 {
		cur = len(a.slots) - 1
	}
	if cur < 0 || ((f.ID != "" || f.Function.Name != "") && a.slots[cur].isAnotherCall(f)) {
		cur = a.newSlot()
	}
	if f.Index != nil {
		a.setIndex(*f.Index, cur)
	}
	s := &a.slots[cur]
	if s.id == "" {
		s.id = f.ID
	}
	if s.name == "" {
		s.name = f.Function.Name
	}
	if s.extra == nil && len(f.ExtraContent) > 0 && string(f.ExtraContent) != "null" {
		s.extra = append(json.RawMessage(nil), f.ExtraContent...)
	}
	s.args = f.Function.Arguments.appendTo(s.args)
}

// isAnotherCall reports whether fragment f, which carries an id or a name, starts a call other
// than s: a different id (Ollama reuses index 0 for parallel calls), a different name, or
// nothing contradicting s but s's arguments already whole (servers that send calls whole and
// without ids).
func (s *slot) isAnotherCall(f *toolFragment) bool {
	switch {
	case f.ID != "" && s.id != "":
		return f.ID != s.id
	case f.Function.Name != "" && s.name != "" && f.Function.Name != s.name:
		return true
	}
	return s.complete()
}

// newSlot opens a slot, reusing an argument buffer left from an earlier stream.
func (a *Accumulator) newSlot() int {
	n := len(a.slots)
	if n < cap(a.slots) {
		a.slots = a.slots[:n+1]
		a.slots[n] = slot{args: a.slots[n].args[:0]}
	} else {
		a.slots = append(a.slots, slot{})
	}
	return n
}

func (a *Accumulator) slotForIndex(index int) int {
	for _, p := range a.byIndex {
		if p.index == index {
			return p.slot
		}
	}
	return -1
}

func (a *Accumulator) setIndex(index, slot int) {
	for i := range a.byIndex {
		if a.byIndex[i].index == index {
			a.byIndex[i].slot = slot
			return
		}
	}
	a.byIndex = append(a.byIndex, indexSlot{index, slot})
}

func (a *Accumulator) slotForID(id string) int {
	for i := range a.slots {
		if a.slots[i].id == id {
			return i
		}
	}
	return -1
}

// Turn returns what was accumulated: text with trailing whitespace kept, and the tool calls,
// each with an id (generated when the provider sent none or repeated one) and "{}" for empty
// arguments. Fragments that never said which function they call are kept too (Validate fails
// for them), so the model hears about its malformed call instead of it vanishing.
func (a *Accumulator) Turn() Turn {
	t := Turn{Text: string(a.text), FinishReason: a.finish, Usage: a.usage}
	if len(a.slots) == 0 {
		return t
	}
	t.ToolCalls = make([]ToolCall, 0, len(a.slots))
	seen := make(map[string]bool, len(a.slots))
	for i := range a.slots {
		s := &a.slots[i]
		args := bytes.TrimSpace(s.args)
		if s.name == "" && len(args) == 0 {
			continue
		}
		id := s.id
		if id == "" || seen[id] {
			id = NewCallID()
		}
		seen[id] = true
		c := ToolCall{ID: id, Name: s.name, Arguments: string(args), ProviderExtra: s.extra}
		if c.Arguments == "" {
			c.Arguments = "{}"
		}
		t.ToolCalls = append(t.ToolCalls, c)
	}
	return t
}

// NewCallID makes an id for a tool call that came without one: tool results are matched to
// calls by id, so every call needs a unique one.
func NewCallID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return "call_" + hex.EncodeToString(b[:])
}

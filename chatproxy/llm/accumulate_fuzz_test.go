package llm_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/taskwire/taskwire/chatproxy/llm"
	"github.com/taskwire/taskwire/chatproxy/llm/llmtest"
)

// Fuzz flags: how the generated stream departs from OpenAI's textbook shape.
const (
	omitFirstIndex = 1 << iota // first fragment of a call has no index
	omitContIndex              // continuation fragments have no index
	nullIndex                  // an omitted index is sent as null rather than left out
	omitIDs                    // no call ids (they must be generated)
	repeatHeader               // id and name repeated on every fragment
	indexZero                  // every call at index 0 (Ollama)
	groupFragments             // several fragments in one chunk
	noise                      // empty/whitespace content, empty choices, usage-only chunks
	sameNames                  // every call calls the same function
)

// FuzzAccumulator: random splits of the arguments, omitted or null indexes, missing or repeated
// ids, Ollama's index 0 and noise chunks must reassemble exactly the calls that were sent.
func FuzzAccumulator(f *testing.F) {
	f.Add("Buy milk", []byte{3, 1, 7, 2}, uint16(0), uint8(2))
	f.Add("Call “Mum” ☎ \\ \"quoted\"", []byte{1}, uint16(omitFirstIndex|omitContIndex|nullIndex), uint8(3))
	f.Add("x", []byte{5, 5}, uint16(omitContIndex), uint8(1))
	f.Add("report", []byte{2, 9}, uint16(indexZero|omitIDs|sameNames), uint8(3))
	f.Add("groceries", []byte{4}, uint16(repeatHeader|groupFragments|noise), uint8(2))
	f.Add("", []byte{}, uint16(0xffff), uint8(3))
	f.Add("a\x00b\xff", []byte{1, 2, 3}, uint16(omitFirstIndex|noise|omitIDs), uint8(2))
	f.Fuzz(func(t *testing.T, title string, splits []byte, flags uint16, n uint8) {
		calls := fuzzCalls(title, flags, int(n%3)+1)
		chunks := fuzzChunks(calls, splits, flags)
		turn, text := feed(t, chunks)
		if text != "" || turn.Text != "" {
			t.Errorf("text = %q, want none from whitespace noise", turn.Text)
		}
		want := calls
		if flags&omitIDs != 0 {
			want = make([]llm.ToolCall, len(calls))
			for i, c := range calls {
				want[i] = llm.ToolCall{ID: "*", Name: c.Name, Arguments: c.Arguments}
			}
		}
		checkCalls(t, want, turn.ToolCalls)
	})
}

func fuzzCalls(title string, flags uint16, n int) []llm.ToolCall {
	names := []string{"add_task", "complete_task", "list_tasks"}
	calls := make([]llm.ToolCall, n)
	for i := range calls {
		args, _ := json.Marshal(map[string]any{"title": title, "n": i})
		name := names[i%len(names)]
		if flags&sameNames != 0 {
			name = names[0]
		}
		calls[i] = llm.ToolCall{ID: fmt.Sprintf("call_%d", i), Name: name, Arguments: string(args)}
	}
	return calls
}

type obj = map[string]any

// fuzzChunks streams the calls one after another, each split into argument pieces whose
// lengths cycle through splits.
func fuzzChunks(calls []llm.ToolCall, splits []byte, flags uint16) [][]byte {
	var chunks [][]byte
	emit := func(delta obj) {
		b, _ := json.Marshal(obj{"choices": []obj{{"index": 0, "delta": delta}}})
		chunks = append(chunks, b)
	}
	if flags&noise != 0 {
		chunks = append(chunks, []byte(`{"choices":[]}`))
		emit(obj{"role": "assistant", "content": ""})
		emit(obj{"content": " \n"})
	}
	var pending []obj
	flush := func() {
		if len(pending) > 0 {
			emit(obj{"tool_calls": pending})
			pending = nil
		}
	}
	k := 0
	for i, c := range calls {
		index := i
		if flags&indexZero != 0 {
			index = 0
		}
		args := c.Arguments
		first := true
		for first || args != "" {
			size := 1 + int(splitAt(splits, k))%16
			k++
			size = min(size, len(args))
			for size < len(args) && !utf8.RuneStart(args[size]) {
				size++ // a JSON string cannot carry half a character
			}
			piece := args[:size]
			args = args[size:]
			frag := obj{"function": obj{"arguments": piece}}
			if first || flags&repeatHeader != 0 {
				frag["function"].(obj)["name"] = c.Name
				frag["type"] = "function"
				if flags&omitIDs == 0 {
					frag["id"] = c.ID
				}
			}
			omit := (first && flags&omitFirstIndex != 0) || (!first && flags&omitContIndex != 0)
			switch {
			case !omit:
				frag["index"] = index
			case flags&nullIndex != 0:
				frag["index"] = nil
			}
			pending = append(pending, frag)
			if flags&groupFragments == 0 || k%3 == 0 {
				flush()
			}
			if flags&noise != 0 && k%5 == 0 {
				flush()
				emit(obj{"content": ""})
			}
			first = false
		}
	}
	flush()
	if flags&noise != 0 {
		chunks = append(chunks, []byte(`{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`))
	}
	return chunks
}

func splitAt(splits []byte, k int) byte {
	if len(splits) == 0 {
		return 6
	}
	return splits[k%len(splits)]
}

// BenchmarkAccumulator measures a realistic streamed turn: a sentence of text split the way
// OpenAI streams tokens, then two parallel tool calls with arguments in small fragments.
func BenchmarkAccumulator(b *testing.B) {
	resp := llmtest.ToolCalls(
		llmtest.Call{ID: "call_1", Name: "add_task", Arguments: `{"title":"Buy oat milk and bread","description":"From the corner shop, before Friday","due":"2026-11-27","priority":"high","tags":["home","errands"]}`},
		llmtest.Call{ID: "call_2", Name: "complete_task", Arguments: `{"task_id":12,"completed":true}`},
	)
	resp.Text = strings.Repeat("Sure — I'll add that to your list and mark the report as done. ", 4)
	chunks := llmtest.Chunks(llmtest.OpenAI, resp, 4)
	var bytes int64
	for _, c := range chunks {
		bytes += int64(len(c))
	}
	b.SetBytes(bytes)
	b.ReportAllocs()
	var acc llm.Accumulator
	for b.Loop() {
		acc.Reset()
		for _, c := range chunks {
			if _, _, err := acc.Add(c); err != nil {
				b.Fatal(err)
			}
		}
		if t := acc.Turn(); len(t.ToolCalls) != 2 {
			b.Fatalf("got %d calls", len(t.ToolCalls))
		}
	}
	b.ReportMetric(float64(len(chunks)), "chunks/op")
}

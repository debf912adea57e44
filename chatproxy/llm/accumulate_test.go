package llm_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/taskwire/taskwire/chatproxy/llm"
	"github.com/taskwire/taskwire/chatproxy/llm/llmtest"
)

// feed runs raw chunks through a fresh accumulator and returns the turn and the streamed text.
func feed(t testing.TB, chunks [][]byte) (llm.Turn, string) {
	t.Helper()
	var acc llm.Accumulator
	var streamed strings.Builder
	for _, c := range chunks {
		text, _, err := acc.Add(c)
		if err != nil {
			t.Fatalf("Add(%s): %v", c, err)
		}
		streamed.WriteString(text)
	}
	return acc.Turn(), streamed.String()
}

func TestAccumulatorProviderShapes(t *testing.T) {
	parallel := llmtest.ToolCalls(
		llmtest.Call{ID: "call_a", Name: "add_task", Arguments: `{"title":"Buy milk","tags":["home","errands"]}`},
		llmtest.Call{ID: "call_b", Name: "add_task", Arguments: `{"title":"Call “Mum” ☎"}`},
		llmtest.Call{ID: "call_c", Name: "list_tasks", Arguments: `{}`},
	)
	withText := parallel
	withText.Text = "Let me add those."
	want := func() []llm.ToolCall {
		return []llm.ToolCall{
			{ID: "call_a", Name: "add_task", Arguments: `{"title":"Buy milk","tags":["home","errands"]}`},
			{ID: "call_b", Name: "add_task", Arguments: `{"title":"Call “Mum” ☎"}`},
			{ID: "call_c", Name: "list_tasks", Arguments: `{}`},
		}
	}
	for _, shape := range []llmtest.Shape{llmtest.OpenAI, llmtest.Gemini, llmtest.Ollama} {
		for _, split := range []int{1, 3, 7, 1000} {
			tests := []struct {
				name       string
				resp       llmtest.Response
				wantText   string
				wantCalls  []llm.ToolCall
				wantFinish string
			}{
				{"text", llmtest.Text("Hello — you have 2 tasks."), "Hello — you have 2 tasks.", nil, "stop"},
				{"parallel calls", parallel, "", want(), map[llmtest.Shape]string{llmtest.Gemini: "stop"}[shape]},
				{"text and calls", withText, "Let me add those.", want(), ""},
			}
			for _, tt := range tests {
				t.Run(string(shape)+"/"+tt.name+"/split"+itoa(split), func(t *testing.T) {
					turn, streamed := feed(t, llmtest.Chunks(shape, tt.resp, split))
					if turn.Text != tt.wantText || streamed != tt.wantText {
						t.Errorf("text = %q, streamed %q; want %q", turn.Text, streamed, tt.wantText)
					}
					if diff := cmp.Diff(tt.wantCalls, turn.ToolCalls, cmpopts.IgnoreFields(llm.ToolCall{}, "ProviderExtra"), cmpopts.EquateEmpty()); diff != "" {
						t.Errorf("tool calls (-want +got):\n%s", diff)
					}
					if tt.wantFinish != "" && turn.FinishReason != tt.wantFinish {
						t.Errorf("finish = %q, want %q", turn.FinishReason, tt.wantFinish)
					}
					if turn.Usage == nil || turn.Usage.TotalTokens == 0 {
						t.Errorf("usage = %+v, want the usage the stream reported", turn.Usage)
					}
					for _, c := range turn.ToolCalls {
						if err := c.Validate(); err != nil {
							t.Errorf("Validate(%+v) = %v", c, err)
						}
					}
					if shape == llmtest.Gemini && len(turn.ToolCalls) > 0 {
						if got := string(turn.ToolCalls[0].ProviderExtra); !strings.Contains(got, "thought_signature") {
							t.Errorf("first call's extra = %s, want the thought signature kept", got)
						}
					}
				})
			}
		}
	}
}

// TestAccumulatorQuirks feeds hand-written chunks for each quirk listed in
// docs/llm.md under "Provider quirks handled".
func TestAccumulatorQuirks(t *testing.T) {
	tests := []struct {
		name      string
		chunks    []string
		wantText  string
		wantCalls []llm.ToolCall // ID "*" means "generated"
		wantUsage bool
	}{
		{
			name: "azure empty choices first, usage-only last",
			chunks: []string{
				`{"choices":[],"prompt_filter_results":[{"prompt_index":0}]}`,
				`{"choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"}}]}`,
				`{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`,
				`{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}`,
			},
			wantText: "Hi", wantUsage: true,
		},
		{
			name: "whitespace and empty deltas before a tool call",
			chunks: []string{
				`{"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}`,
				`{"choices":[{"index":0,"delta":{"content":"\n\n "}}]}`,
				`{"choices":[{"index":0,"delta":{"content":null,"tool_calls":[{"index":0,"id":"c1","type":"function","function":{"name":"list_tasks","arguments":""}}]}}]}`,
				`{"choices":[{"index":0,"delta":{"content":" "},"finish_reason":"tool_calls"}]}`,
			},
			wantCalls: []llm.ToolCall{{ID: "c1", Name: "list_tasks", Arguments: "{}"}},
		},
		{
			name: "gemini null index, arguments in pieces",
			chunks: []string{
				`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":null,"id":"g1","type":"function","function":{"name":"add_task","arguments":"{\"ti"}}]}}]}`,
				`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":null,"function":{"arguments":"tle\":\"x\"}"}}]}}]}`,
				`{"choices":[{"index":0,"delta":{"tool_calls":[{"id":"g2","function":{"name":"list_tasks","arguments":"{}"}}]}}]}`,
				`{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`,
			},
			wantCalls: []llm.ToolCall{{ID: "g1", Name: "add_task", Arguments: `{"title":"x"}`}, {ID: "g2", Name: "list_tasks", Arguments: "{}"}},
			wantUsage: true,
		},
		{
			name: "ollama parallel calls at index 0 with distinct ids",
			chunks: []string{
				`{"choices":[{"index":0,"delta":{"role":"assistant","content":"","tool_calls":[{"id":"o1","index":0,"function":{"name":"add_task","arguments":"{\"title\":\"a\"}"}}]}}]}`,
				`{"choices":[{"index":0,"delta":{"role":"assistant","content":"","tool_calls":[{"id":"o2","index":0,"function":{"name":"add_task","arguments":"{\"title\":\"b\"}"}}]}}]}`,
				`{"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":"tool_calls"}]}`,
			},
			wantCalls: []llm.ToolCall{{ID: "o1", Name: "add_task", Arguments: `{"title":"a"}`}, {ID: "o2", Name: "add_task", Arguments: `{"title":"b"}`}},
		},
		{
			name: "id and name repeated on every fragment",
			chunks: []string{
				`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"r1","type":"function","function":{"name":"add_task","arguments":"{\"title\":"}}]}}]}`,
				`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"r1","type":"function","function":{"name":"add_task","arguments":"\"y\"}"}}]}}]}`,
			},
			wantCalls: []llm.ToolCall{{ID: "r1", Name: "add_task", Arguments: `{"title":"y"}`}},
		},
		{
			name: "no ids, same name twice at index 0, whole arguments",
			chunks: []string{
				`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"name":"complete_task","arguments":"{\"task_id\":1}"}}]}}]}`,
				`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"name":"complete_task","arguments":"{\"task_id\":2}"}}]}}]}`,
			},
			wantCalls: []llm.ToolCall{{ID: "*", Name: "complete_task", Arguments: `{"task_id":1}`}, {ID: "*", Name: "complete_task", Arguments: `{"task_id":2}`}},
		},
		{
			name: "escapes in arguments: unicode, surrogate pair, slash, backslash, tab",
			chunks: []string{
				`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"e1","type":"function","function":{"name":"add_task","arguments":"{\"t\":\"\u00e9\ud83d\ude00"}}]}}]}`,
				`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\/\\\t\"}\n"}}]}}]}`,
			},
			wantCalls: []llm.ToolCall{{ID: "e1", Name: "add_task", Arguments: `{"t":"é😀/\` + "\t" + `"}`}},
		},
		{
			name: "arguments sent as a JSON object, type missing",
			chunks: []string{
				`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"j1","function":{"name":"add_task","arguments":{"title":"z"}}}]}}]}`,
			},
			wantCalls: []llm.ToolCall{{ID: "j1", Name: "add_task", Arguments: `{"title":"z"}`}},
		},
		{
			name: "text then a call in the same chunk, and a second choice ignored",
			chunks: []string{
				`{"choices":[{"index":0,"delta":{"content":"On it.","tool_calls":[{"index":0,"id":"t1","type":"function","function":{"name":"list_tasks"}}]}},{"index":1,"delta":{"content":"other"}}]}`,
			},
			wantText:  "On it.",
			wantCalls: []llm.ToolCall{{ID: "t1", Name: "list_tasks", Arguments: "{}"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := make([][]byte, len(tt.chunks))
			for i, c := range tt.chunks {
				raw[i] = []byte(c)
			}
			turn, _ := feed(t, raw)
			if turn.Text != tt.wantText {
				t.Errorf("text = %q, want %q", turn.Text, tt.wantText)
			}
			if (turn.Usage != nil) != tt.wantUsage {
				t.Errorf("usage = %+v, want present=%v", turn.Usage, tt.wantUsage)
			}
			checkCalls(t, tt.wantCalls, turn.ToolCalls)
		})
	}
}

// checkCalls compares calls; a wanted ID of "*" accepts any generated id, which must be unique.
func checkCalls(t *testing.T, want, got []llm.ToolCall) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d calls %+v, want %d %+v", len(got), got, len(want), want)
	}
	seen := map[string]bool{}
	for i := range want {
		if seen[got[i].ID] || got[i].ID == "" {
			t.Errorf("call %d id %q is empty or repeated", i, got[i].ID)
		}
		seen[got[i].ID] = true
		if want[i].ID == "*" {
			if !strings.HasPrefix(got[i].ID, "call_") {
				t.Errorf("call %d id %q, want a generated call_ id", i, got[i].ID)
			}
			want[i].ID = got[i].ID
		}
		g := got[i]
		if g.ID != want[i].ID || g.Name != want[i].Name || g.Arguments != want[i].Arguments {
			t.Errorf("call %d = %+v, want %+v", i, g, want[i])
		}
	}
}

func TestToolCallValidate(t *testing.T) {
	tests := []struct {
		call llm.ToolCall
		ok   bool
	}{
		{llm.ToolCall{Name: "add_task", Arguments: `{"title":"x"}`}, true},
		{llm.ToolCall{Name: "add_task", Arguments: ` {} `}, true},
		{llm.ToolCall{Name: "", Arguments: `{}`}, false},
		{llm.ToolCall{Name: "add_task", Arguments: `{"title":`}, false},
		{llm.ToolCall{Name: "add_task", Arguments: `[1]`}, false},
		{llm.ToolCall{Name: "add_task", Arguments: `"x"`}, false},
	}
	for _, tt := range tests {
		if err := tt.call.Validate(); (err == nil) != tt.ok {
			t.Errorf("Validate(%+v) = %v, want ok=%v", tt.call, err, tt.ok)
		}
	}
}

func TestAccumulatorRejectsGarbage(t *testing.T) {
	var acc llm.Accumulator
	if _, _, err := acc.Add([]byte(`{"choices":[{"delta":`)); err == nil {
		t.Fatal("Add of a truncated chunk succeeded")
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

package llm_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	openai "github.com/sashabaranov/go-openai"

	"github.com/taskwire/taskwire/chatproxy/llm"
	"github.com/taskwire/taskwire/chatproxy/llm/llmtest"
)

var update = flag.Bool("update", false, "rewrite golden files")

// schemaFixtures are the tools whose schemas the provider tests send: mcpserver's real tools
// (from its own golden file, so a new tool or field is covered at once) and edge cases.
func schemaFixtures(t *testing.T) []openai.Tool {
	t.Helper()
	var real, cases []struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		InputSchema json.RawMessage `json:"inputSchema"` // mcpserver's golden file
		Parameters  json.RawMessage `json:"parameters"`  // cases.json
	}
	readJSON(t, filepath.Join("..", "..", "mcpserver", "tasktools", "testdata", "tools.golden.json"), &real)
	readJSON(t, filepath.Join("testdata", "schema", "cases.json"), &cases)
	var tools []openai.Tool
	for _, r := range real {
		tools = append(tools, tool(r.Name, r.Description, r.InputSchema))
	}
	for _, c := range cases {
		tools = append(tools, tool(c.Name, c.Description, c.Parameters))
	}
	return tools
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func tool(name, description string, params json.RawMessage) openai.Tool {
	return openai.Tool{Type: openai.ToolTypeFunction, Function: &openai.FunctionDefinition{Name: name, Description: description, Parameters: params}}
}

// TestToolSchemasPerProvider sends the fixtures through a real Client to the fake provider,
// once per provider, and compares the function definitions that arrived with a golden file
// per provider. Gemini's must also pass the fake's check of what Gemini accepts, which the
// unadapted schemas fail (so the check can fail).
func TestToolSchemasPerProvider(t *testing.T) {
	tools := schemaFixtures(t)
	before, err := json.Marshal(tools)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		provider string
		shape    llmtest.Shape
		model    string
		gemini   bool
	}{
		{"openai", llmtest.OpenAI, "gpt-test", false},
		{"compatible", llmtest.Ollama, "qwen3:8b", false},
		{"gemini", llmtest.Gemini, "gemini-test", true},
	}
	for _, tt := range tests {
		t.Run(tt.provider, func(t *testing.T) {
			fake := llmtest.New(tt.shape, llmtest.Text("ok"))
			c := newClient(t, llm.Config{BaseURL: fake.Start(t), Model: tt.model})
			req := llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "hi"}}, Tools: tools}
			if _, err := c.Stream(t.Context(), req, nil); err != nil {
				t.Fatal(err)
			}
			sent := fake.Requests()[0].Tools
			if len(sent) != len(tools) {
				t.Fatalf("%d tools arrived, want %d", len(sent), len(tools))
			}
			var buf bytes.Buffer
			buf.WriteString("[\n")
			for i, s := range sent {
				if tt.gemini {
					if err := llmtest.CheckGeminiSchema(s.Parameters); err != nil {
						t.Errorf("%s: Gemini would refuse the adapted schema: %v", s.Name, err)
					}
				}
				var pretty bytes.Buffer
				if err := json.Indent(&pretty, s.Parameters, "  ", "  "); err != nil {
					t.Fatal(err)
				}
				if i > 0 {
					buf.WriteString(",\n")
				}
				buf.WriteString(`  {"name": "` + s.Name + `", "parameters": ` + pretty.String() + "}")
			}
			buf.WriteString("\n]\n")
			golden := filepath.Join("testdata", "schema", tt.provider+".golden.json")
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), buf.String()); diff != "" {
				t.Errorf("schemas sent to %s differ from %s (-want +got):\n%s", tt.provider, golden, diff)
			}
		})
	}
	after, err := json.Marshal(tools)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("adapting the schemas changed the shared tool definitions")
	}
}

// TestGeminiCheckRefusesRawSchemas proves the oracle above can fail: every fixture that uses a
// construct Gemini refuses is refused before adaptation.
func TestGeminiCheckRefusesRawSchemas(t *testing.T) {
	refused := 0
	for _, tl := range schemaFixtures(t) {
		if llmtest.CheckGeminiSchema(tl.Function.Parameters.(json.RawMessage)) != nil {
			refused++
		}
	}
	if want := len(schemaFixtures(t)); refused != want {
		t.Errorf("the Gemini check refused %d of %d unadapted fixtures, want all", refused, want)
	}
}

func TestGeminiParameters(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"nil stays nil", `null`, `null`},
		{"no arguments become null", `{"type":"object","properties":{},"additionalProperties":false}`, `null`},
		{"nullable string", `{"type":"object","properties":{"a":{"type":["string","null"]}}}`, `{"properties":{"a":{"nullable":true,"type":"string"}},"type":"object"}`},
		{"anyOf with null", `{"type":"object","properties":{"a":{"anyOf":[{"type":"integer","minimum":1},{"type":"null"}],"description":"d"}}}`, `{"properties":{"a":{"description":"d","minimum":1,"nullable":true,"type":"integer"}},"type":"object"}`},
		{"const", `{"type":"object","properties":{"a":{"const":"x"}}}`, `{"properties":{"a":{"enum":["x"]}},"type":"object"}`},
		{"numeric enum", `{"type":"object","properties":{"a":{"type":"integer","enum":[1,2]}}}`, `{"properties":{"a":{"description":"One of: 1, 2.","type":"integer"}},"type":"object"}`},
		{"unknown keys dropped", `{"$schema":"x","type":"object","properties":{"a":{"type":"string","format":"email","examples":["e"]}},"required":["a","b"],"additionalProperties":false}`, `{"properties":{"a":{"type":"string"}},"required":["a"],"type":"object"}`},
		{"not an object", `[1]`, ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := llm.GeminiParameters(json.RawMessage(tt.in))
			if tt.want == "" {
				if err == nil {
					t.Fatalf("accepted %s", tt.in)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, err := json.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.want {
				t.Errorf("got  %s\nwant %s", b, tt.want)
			}
		})
	}
}

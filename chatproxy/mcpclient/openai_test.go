package mcpclient_test

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/taskwire/taskwire/chatproxy/mcpclient"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestOpenAITools converts the toy server's tools as listed over MCP (the real wire path) and
// compares the function definitions the model will see with a golden file.
func TestOpenAITools(t *testing.T) {
	toy := startToy(t)
	c := newClient(t, toy.URL, 0)
	tools, err := c.Tools(t.Context(), mcpclient.User{ID: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	raw := mcp.NewToolWithRawSchema("raw_no_properties", "Raw schema without properties.", json.RawMessage(`{"type":"object"}`))
	tools = append(tools, raw)
	defs, err := mcpclient.OpenAITools(tools)
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(defs, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "openai_tools.golden.json")
	if *update {
		if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)+"\n"); diff != "" {
		t.Errorf("tool definitions differ from %s (-want +got):\n%s", golden, diff)
	}
}

func TestOpenAIToolsRejectsBadSchema(t *testing.T) {
	bad := mcp.NewToolWithRawSchema("bad", "", json.RawMessage(`[1,2]`))
	if _, err := mcpclient.OpenAITools([]mcp.Tool{bad}); err == nil {
		t.Error("a non-object schema was accepted")
	}
}

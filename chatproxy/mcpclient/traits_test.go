package mcpclient_test

import (
	"encoding/json"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/taskwire/taskwire/chatproxy/mcpclient"
)

// TestTraits reads traits from definitions as they arrive over the wire (encoded by the
// server, decoded by the client), for both schema forms mcp-go may decode into.
func TestTraits(t *testing.T) {
	task := `{"type":"object","properties":{"task_id":{"type":"integer"},"title":{"type":"string"}}}`
	list := `{"type":"object","properties":{"tasks":{"type":"array","items":` + task + `},"next_cursor":{"type":"string"}}}`
	withZone := `{"type":"object","properties":{"title":{"type":"string"},"timezone":{"type":"string"}}}`
	tests := []struct {
		name   string
		tool   mcp.Tool
		traits mcpclient.Traits
	}{
		{"a list", mcp.NewTool("list", mcp.WithReadOnlyHintAnnotation(true), mcp.WithRawOutputSchema(json.RawMessage(list))),
			mcpclient.Traits{ReadOnly: true, ReturnsList: true}},
		{"a changed task", mcp.NewTool("add", mcp.WithReadOnlyHintAnnotation(false), mcp.WithRawOutputSchema(json.RawMessage(task))),
			mcpclient.Traits{ReturnsTask: true}},
		{"no annotations means it changes things", mcp.NewTool("plain"), mcpclient.Traits{}},
		{"tasks that are not an array", mcp.NewTool("odd", mcp.WithRawOutputSchema(json.RawMessage(`{"type":"object","properties":{"tasks":{"type":"integer"}}}`))),
			mcpclient.Traits{}},
		{"a timezone argument", mcp.NewToolWithRawSchema("zoned", "", json.RawMessage(withZone)), mcpclient.Traits{TakesTimezone: true}},
		{"a timezone argument, struct schema", mcp.NewTool("zoned2", mcp.WithString("timezone")), mcpclient.Traits{TakesTimezone: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wire, err := json.Marshal(tt.tool)
			if err != nil {
				t.Fatal(err)
			}
			var got mcp.Tool
			if err := json.Unmarshal(wire, &got); err != nil {
				t.Fatal(err)
			}
			if tr := mcpclient.TraitsOf(got); tr != tt.traits {
				t.Errorf("TraitsOf(%s) = %+v, want %+v", wire, tr, tt.traits)
			}
			c := mcpclient.NewCatalog([]mcp.Tool{got})
			if !c.Has(tt.tool.Name) || c.Has("missing") {
				t.Errorf("catalog membership wrong: %v", c)
			}
		})
	}
}

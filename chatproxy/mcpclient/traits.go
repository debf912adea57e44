package mcpclient

import (
	"encoding/json"

	"github.com/mark3labs/mcp-go/mcp"
)

// Traits are what chatproxy reads from a tool's definition instead of keeping tables of tool
// names, so that a tool mcpserver adds or renames is handled by what it declares.
type Traits struct {
	// ReadOnly is the readOnlyHint annotation. MCP's default is false, so a tool that says
	// nothing is taken to change tasks.
	ReadOnly bool
	// ReturnsList: the output schema has a "tasks" array property (a page of tasks).
	ReturnsList bool
	// ReturnsTask: the output schema has "task_id" and "title" properties (one task).
	ReturnsTask bool
	// TakesTimezone: the input schema has a "timezone" property, which the proxy fills in
	// with the browser's zone when the model leaves it out.
	TakesTimezone bool
}

// Catalog is the traits of every tool mcpserver lists, by name.
type Catalog map[string]Traits

// NewCatalog reads the traits of tools.
func NewCatalog(tools []mcp.Tool) Catalog {
	c := make(Catalog, len(tools))
	for _, t := range tools {
		c[t.Name] = TraitsOf(t)
	}
	return c
}

// Has reports whether mcpserver offers the tool.
func (c Catalog) Has(name string) bool {
	_, ok := c[name]
	return ok
}

// TraitsOf reads one tool's traits.
func TraitsOf(t mcp.Tool) Traits {
	out := schemaProperties(t.RawOutputSchema, t.OutputSchema)
	in := schemaProperties(t.RawInputSchema, t.InputSchema)
	tr := Traits{
		ReadOnly:      t.Annotations.ReadOnlyHint != nil && *t.Annotations.ReadOnlyHint,
		ReturnsTask:   out["task_id"] != nil && out["title"] != nil,
		TakesTimezone: in["timezone"] != nil,
	}
	if tasks := out["tasks"]; tasks != nil {
		var p struct {
			Type any `json:"type"`
		}
		tr.ReturnsList = json.Unmarshal(tasks, &p) == nil && p.Type == "array"
	}
	return tr
}

// schemaProperties returns the top-level properties of a JSON schema given either raw or
// as mcp-go's struct (whichever the definition was decoded into); nil when there are none.
func schemaProperties(raw json.RawMessage, structured any) map[string]json.RawMessage {
	if len(raw) == 0 {
		b, err := json.Marshal(structured)
		if err != nil {
			return nil
		}
		raw = b
	}
	var s struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if json.Unmarshal(raw, &s) != nil {
		return nil
	}
	return s.Properties
}

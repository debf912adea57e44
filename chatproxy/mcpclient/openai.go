package mcpclient

import (
	"encoding/json"
	"fmt"

	"github.com/mark3labs/mcp-go/mcp"
	openai "github.com/sashabaranov/go-openai"
)

// OpenAITools converts MCP tool definitions into Chat Completions function tools: the name,
// the description, and the input schema as the parameters. An object schema always gets a
// "properties" member, which OpenAI requires even when a tool takes no arguments.
func OpenAITools(tools []mcp.Tool) ([]openai.Tool, error) {
	out := make([]openai.Tool, 0, len(tools))
	for _, t := range tools {
		schema, err := inputSchema(t)
		if err != nil {
			return nil, fmt.Errorf("tool %s: %w", t.Name, err)
		}
		out = append(out, openai.Tool{Type: openai.ToolTypeFunction, Function: &openai.FunctionDefinition{
			Name:        t.Name,
			Description: t.Description,
			Parameters:  schema,
		}})
	}
	return out, nil
}

func inputSchema(t mcp.Tool) (json.RawMessage, error) {
	raw := t.RawInputSchema
	if raw == nil {
		b, err := json.Marshal(t.InputSchema)
		if err != nil {
			return nil, fmt.Errorf("encode input schema: %w", err)
		}
		raw = b
	}
	var schema map[string]json.RawMessage
	if err := json.Unmarshal(raw, &schema); err != nil {
		return nil, fmt.Errorf("input schema is not a JSON object: %w", err)
	}
	if _, ok := schema["type"]; !ok {
		schema["type"] = json.RawMessage(`"object"`)
	}
	if p, ok := schema["properties"]; !ok || string(p) == "null" {
		schema["properties"] = json.RawMessage(`{}`)
	}
	return json.Marshal(schema)
}

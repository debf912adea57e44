package mcphttp_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/taskwire/taskwire/mcpserver/mcphttp"
)

// TestAppCapability: the server advertises the MCP Apps extension with its MIME type, and
// resources.
func TestAppCapability(t *testing.T) {
	t.Parallel()
	// Raw HTTP, to see the capabilities exactly as sent.
	srv := newServer(t, nil)
	r := post(t, srv.URL+mcphttp.MCPPath, initializeBody, bearer(tokenFor(t, "alice")))
	var init struct {
		Result struct {
			Capabilities struct {
				Resources  map[string]any            `json:"resources"`
				Extensions map[string]map[string]any `json:"extensions"`
			} `json:"capabilities"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(r.body), &init); err != nil {
		t.Fatalf("initialize: %d %s", r.status, r.body)
	}
	caps := init.Result.Capabilities
	if caps.Resources == nil {
		t.Errorf("no resources capability: %s", r.body)
	}
	ui, ok := caps.Extensions["io.modelcontextprotocol/ui"]
	if !ok || fmt.Sprint(ui["mimeTypes"]) != "[text/html;profile=mcp-app]" {
		t.Errorf("extensions = %v, want io.modelcontextprotocol/ui with mimeTypes [text/html;profile=mcp-app]", caps.Extensions)
	}
}

// TestUnknownResource: reading a resource that does not exist is a JSON-RPC error naming the
// URI, with the code of the client's protocol era; a resource is never answered with empty
// contents. Other errors stay as they were.
func TestUnknownResource(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	tok := tokenFor(t, "alice")
	const modernMeta = `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},` +
		`"io.modelcontextprotocol/clientInfo":{"name":"t","version":"1"}}`
	tests := []struct {
		name     string
		body     string
		headers  map[string]string
		wantCode int
		wantURI  string // "" = no data wanted
	}{
		{
			name:     "2025-11-25 unknown ui:// resource",
			body:     `{"jsonrpc":"2.0","id":7,"method":"resources/read","params":{"uri":"ui://taskwire/tasks-0000000000000000.html"}}`,
			headers:  map[string]string{"MCP-Protocol-Version": "2025-11-25"},
			wantCode: mcp.RESOURCE_NOT_FOUND,
			wantURI:  "ui://taskwire/tasks-0000000000000000.html",
		},
		{
			name: "2026-07-28 unknown resource",
			body: `{"jsonrpc":"2.0","id":7,"method":"resources/read","params":{"uri":"test://nope",` + modernMeta + `}}`,
			headers: map[string]string{"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "resources/read",
				"Mcp-Name": "test://nope"},
			wantCode: mcp.INVALID_PARAMS,
			wantURI:  "test://nope",
		},
		{
			name: "2026-07-28 header mismatch stays a header error",
			body: `{"jsonrpc":"2.0","id":7,"method":"resources/read","params":{"uri":"test://nope",` + modernMeta + `}}`,
			headers: map[string]string{"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "resources/read",
				"Mcp-Name": "test://other"},
			wantCode: -32020,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			headers := bearer(tok)
			for k, v := range tc.headers {
				headers[k] = v
			}
			r := post(t, srv.URL+mcphttp.MCPPath, tc.body, headers)
			var msg struct {
				ID     int             `json:"id"`
				Result json.RawMessage `json:"result"`
				Error  struct {
					Code int `json:"code"`
					Data *struct {
						URI string `json:"uri"`
					} `json:"data"`
				} `json:"error"`
			}
			if err := json.Unmarshal([]byte(r.body), &msg); err != nil {
				t.Fatalf("%d %q: %v", r.status, r.body, err)
			}
			if msg.Result != nil || msg.ID != 7 || msg.Error.Code != tc.wantCode {
				t.Fatalf("answer %d %s, want error %d for id 7", r.status, r.body, tc.wantCode)
			}
			switch {
			case tc.wantURI == "" && msg.Error.Data != nil && msg.Error.Data.URI != "":
				t.Errorf("data.uri added to an error that is not resource-not-found: %s", r.body)
			case tc.wantURI != "" && (msg.Error.Data == nil || msg.Error.Data.URI != tc.wantURI):
				t.Errorf("error data = %s, want uri %q", r.body, tc.wantURI)
			}
		})
	}
}

package tasktools_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/taskwire/taskwire/mcpserver/tasktools"
)

// wantUIMeta is the resource's _meta.ui: no outside domain of any kind, and a border.
var wantUIMeta = map[string]any{
	"csp": map[string]any{
		"connectDomains": []any{}, "resourceDomains": []any{}, "frameDomains": []any{}, "baseUriDomains": []any{},
	},
	"prefersBorder": true,
}

// uiMeta decodes the "ui" member of a _meta value, whatever Go type carries it.
func uiMeta(t *testing.T, meta any) map[string]any {
	t.Helper()
	var m struct {
		UI map[string]any `json:"ui"`
	}
	if err := json.Unmarshal([]byte(mustMarshal(t, meta)), &m); err != nil {
		t.Fatalf("_meta %v: %v", meta, err)
	}
	return m.UI
}

// TestAppResource: the app is one resource, listed and readable with the MCP Apps MIME
// type and metadata, and its URI is the hash of exactly the HTML that resources/read
// serves, so the URI changes whenever the page does (and only then).
func TestAppResource(t *testing.T) {
	t.Parallel()
	c := connect(t, newServer(t, nil), "alice")
	ctx := context.Background()

	list, err := c.ListResources(ctx, mcp.ListResourcesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Resources) != 1 {
		t.Fatalf("resources/list: %d resources, want the app only: %+v", len(list.Resources), list.Resources)
	}
	res := list.Resources[0]
	if res.URI != tasktools.AppURI || res.MIMEType != "text/html;profile=mcp-app" || res.Name == "" || res.Description == "" {
		t.Errorf("listed resource = %+v", res)
	}
	if diff := cmp.Diff(wantUIMeta, uiMeta(t, res.Meta)); diff != "" {
		t.Errorf("resources/list _meta.ui (-want +got):\n%s", diff)
	}

	read, err := c.ReadResource(ctx, mcp.ReadResourceRequest{Params: mcp.ReadResourceParams{URI: tasktools.AppURI}})
	if err != nil {
		t.Fatal(err)
	}
	if len(read.Contents) != 1 {
		t.Fatalf("resources/read: %d contents, want 1", len(read.Contents))
	}
	content, ok := read.Contents[0].(mcp.TextResourceContents)
	if !ok {
		t.Fatalf("contents are %T, want text", read.Contents[0])
	}
	if content.URI != tasktools.AppURI || content.MIMEType != "text/html;profile=mcp-app" {
		t.Errorf("read contents uri=%q mimeType=%q", content.URI, content.MIMEType)
	}
	if diff := cmp.Diff(wantUIMeta, uiMeta(t, content.Meta)); diff != "" {
		t.Errorf("resources/read _meta.ui (-want +got):\n%s", diff)
	}

	html := content.Text
	sum := sha256.Sum256([]byte(html))
	if want := "ui://taskwire/tasks-" + hex.EncodeToString(sum[:8]) + ".html"; tasktools.AppURI != want {
		t.Errorf("AppURI = %q, want %q (the hash of the served HTML)", tasktools.AppURI, want)
	}
	if !strings.HasPrefix(strings.ToLower(html), "<!doctype html>") {
		t.Errorf("the app is not an HTML5 document: %.60q", html)
	}
	// Self-contained: nothing is loaded from anywhere (the CSP allows no domain anyway).
	if loads := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?\s*(https?:)?//|@import|url\(\s*["']?https?:`).FindString(html); loads != "" {
		t.Errorf("the app loads something from outside: %q", loads)
	}
}

// TestAppToolMeta: every tool whose result is a task or a list of tasks points at the app,
// in both spellings hosts read; tool results themselves carry nothing new.
func TestAppToolMeta(t *testing.T) {
	t.Parallel()
	c := connect(t, newServer(t, nil), "alice")
	tools, err := c.ListTools(context.Background(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(tools.Tools) == 0 {
		t.Fatal("no tools")
	}
	for _, tool := range tools.Tools {
		props := tool.OutputSchema.Properties
		_, list := props["tasks"]
		_, id := props["task_id"]
		_, title := props["title"]
		if !list && !(id && title) {
			if tool.Meta != nil {
				t.Errorf("%s returns no task but has _meta %v", tool.Name, tool.Meta.AdditionalFields)
			}
			continue
		}
		if tool.Meta == nil {
			t.Errorf("%s returns tasks but has no _meta", tool.Name)
			continue
		}
		if got := uiMeta(t, tool.Meta)["resourceUri"]; got != tasktools.AppURI {
			t.Errorf("%s _meta.ui.resourceUri = %v, want %s", tool.Name, got, tasktools.AppURI)
		}
		if got := tool.Meta.AdditionalFields["ui/resourceUri"]; got != tasktools.AppURI {
			t.Errorf("%s _meta[\"ui/resourceUri\"] = %v, want %s", tool.Name, got, tasktools.AppURI)
		}
	}
	for _, name := range []string{"list_tasks", "add_task", "complete_task", "update_task"} {
		if i := indexOfTool(tools.Tools, name); i < 0 || tools.Tools[i].Meta == nil {
			t.Errorf("%s does not point at the app", name)
		}
	}

	if res := call(t, c, "list_tasks", nil); res.Meta != nil {
		for k := range res.Meta.AdditionalFields {
			if strings.HasPrefix(k, "ui") {
				t.Errorf("list_tasks result has _meta %q: results must stay as they were", k)
			}
		}
	}
}

func indexOfTool(tools []mcp.Tool, name string) int {
	for i, tool := range tools {
		if tool.Name == name {
			return i
		}
	}
	return -1
}

// TestAppCapability: the server advertises the MCP Apps extension with its MIME type, and
// resources.
func TestAppCapability(t *testing.T) {
	t.Parallel()
	// Raw HTTP, to see the capabilities exactly as sent.
	srv := newServer(t, nil)
	r := post(t, srv.URL+tasktools.MCPPath, initializeBody, bearer(tokenFor(t, "alice")))
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
	if !ok || mustMarshal(t, ui["mimeTypes"]) != `["text/html;profile=mcp-app"]` {
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
			r := post(t, srv.URL+tasktools.MCPPath, tc.body, headers)
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

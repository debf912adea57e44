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

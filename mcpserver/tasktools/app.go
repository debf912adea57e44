package tasktools

import (
	"context"
	"crypto/sha256"
	_ "embed" // the app's HTML lives in the binary
	"encoding/hex"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// The task-list MCP App (the io.modelcontextprotocol/ui extension, "MCP Apps"): hosts that
// support it — Claude, ChatGPT, VS Code and others — render ui/tasks.html in a sandboxed
// iframe next to the result of a task tool, hand it that result, and pass the tool calls it
// makes (tick, rename, delete, load more) back to this server as the same user. Hosts
// without the extension see the same tools and results as before; only tools/list gains
// _meta. docs/mcp-app.md describes the protocol as this file follows it.

// appExtension is the extension identifier advertised in the server capabilities.
const appExtension = "io.modelcontextprotocol/ui"

// appMIMEType marks a resource as an MCP App's HTML.
const appMIMEType = "text/html;profile=mcp-app"

// appCacheTTL is how long hosts may reuse a resources/read answer. The URI names the
// content's hash, so an answer for it never goes stale.
const appCacheTTL = 24 * time.Hour

//go:embed ui/tasks.html
var appHTML string

// AppURI is the ui:// address of the task-list app. It carries a hash of the HTML, so a
// host that caches resources by URI fetches the new page as soon as it changes.
var AppURI = appURI(appHTML)

func appURI(html string) string {
	sum := sha256.Sum256([]byte(html))
	return "ui://taskwire/tasks-" + hex.EncodeToString(sum[:8]) + ".html"
}

// appResourceMeta is the resource's _meta.ui: a deny-by-default Content Security Policy
// (the page is self-contained: no network, no outside scripts, styles, fonts or frames)
// and a request for the host's border, which sets the list apart from the chat.
func appResourceMeta() map[string]any {
	none := []string{}
	return map[string]any{"ui": map[string]any{
		"csp": map[string]any{
			"connectDomains":  none,
			"resourceDomains": none,
			"frameDomains":    none,
			"baseUriDomains":  none,
		},
		"prefersBorder": true,
	}}
}

// appToolMeta is the _meta that points a tool at the app, for tools whose results the app
// can draw: a list (an output schema with a "tasks" array) or one task ("task_id" and
// "title"). The shape of the output decides, not the tool's name, so tools added later
// get the app when it can show their results. The flat "ui/resourceUri" key is the
// extension's older spelling, which hosts still read.
func appToolMeta(output schema) *mcp.Meta {
	props, _ := output["properties"].(schema)
	tasks, _ := props["tasks"].(schema)
	_, hasID := props["task_id"]
	_, hasTitle := props["title"]
	if tasks["type"] != "array" && !(hasID && hasTitle) {
		return nil
	}
	return mcp.NewMetaFromMap(map[string]any{
		"ui":             map[string]any{"resourceUri": AppURI},
		"ui/resourceUri": AppURI,
	})
}

// addApp serves the app from s: the ui:// resource in resources/list and resources/read,
// and the extension in the capabilities. The options are applied to the built server so
// that NewMCPServer's own option list stays about the tools; taskwire advertises no other
// extension, which WithExtensions would replace.
func addApp(s *server.MCPServer) {
	server.WithExtensions(map[string]any{appExtension: map[string]any{"mimeTypes": []string{appMIMEType}}})(s)
	server.WithMethodCacheHints(mcp.MethodResourcesRead, appCacheTTL.Milliseconds(), mcp.CacheScopePublic)(s)
	s.AddResource(mcp.Resource{
		URI:         AppURI,
		Name:        "task-list",
		Title:       "Task list",
		Description: "An interactive list of the user's tasks: tick, rename and delete them in place.",
		MIMEType:    appMIMEType,
		Meta:        mcp.NewMetaFromMap(appResourceMeta()),
	}, readApp)
}

func readApp(_ context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
	return []mcp.ResourceContents{mcp.TextResourceContents{
		URI:      req.Params.URI,
		MIMEType: appMIMEType,
		Text:     appHTML,
		Meta:     appResourceMeta(),
	}}, nil
}

package tasktools

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed" // the app's HTML lives in the binary
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
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

// ResourceNotFoundData names the URI in the error that resources/read of an unknown
// resource gets ({"uri": …} as the error's data, as the MCP specification shows it), so a
// client can tell which of several reads failed. mcp-go v1.2.1 picks the right code per
// protocol era (-32002, or -32602 from 2026-07-28 on) but sends no data, and offers no
// hook to add it, so the JSON answer is completed here. Every other request passes
// straight through.
func ResourceNotFoundData(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		uri := unknownResourceRead(r)
		if uri == "" {
			next.ServeHTTP(w, r)
			return
		}
		buf := &bufferedResponse{header: w.Header()}
		next.ServeHTTP(buf, r)
		body := buf.body.Bytes()
		if strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
			body = withErrorURI(body, uri)
			w.Header().Del("Content-Length")
		}
		if buf.status != 0 {
			w.WriteHeader(buf.status)
		}
		_, _ = w.Write(body)
	})
}

// unknownResourceRead returns the URI of a resources/read request for a resource this
// server does not have, or "". It reads the (already size-limited) body and puts it back
// for the MCP handler, read error included.
func unknownResourceRead(r *http.Request) string {
	if r.Method != http.MethodPost {
		return ""
	}
	if m := r.Header.Get(mcp.HeaderMethod); m != "" && m != string(mcp.MethodResourcesRead) {
		return ""
	}
	body, err := io.ReadAll(r.Body)
	r.Body = &replayBody{Reader: bytes.NewReader(body), err: err}
	var msg struct {
		Method string `json:"method"`
		Params struct {
			URI string `json:"uri"`
		} `json:"params"`
	}
	if err != nil || json.Unmarshal(body, &msg) != nil || msg.Method != string(mcp.MethodResourcesRead) || msg.Params.URI == AppURI {
		return ""
	}
	return msg.Params.URI
}

// withErrorURI adds {"uri": uri} as the data of a resource-not-found JSON-RPC error that
// has none; any other message comes back unchanged.
func withErrorURI(body []byte, uri string) []byte {
	var msg map[string]json.RawMessage
	var rpcErr map[string]json.RawMessage
	if json.Unmarshal(body, &msg) != nil || json.Unmarshal(msg["error"], &rpcErr) != nil {
		return body
	}
	var code int
	if _, hasData := rpcErr["data"]; hasData || json.Unmarshal(rpcErr["code"], &code) != nil ||
		(code != mcp.RESOURCE_NOT_FOUND && code != mcp.INVALID_PARAMS) {
		return body
	}
	rpcErr["data"], _ = json.Marshal(map[string]string{"uri": uri})
	msg["error"], _ = json.Marshal(rpcErr)
	out, err := json.Marshal(msg)
	if err != nil {
		return body
	}
	return append(out, '\n')
}

// replayBody hands out a body that was read ahead, then the error that reading ended with.
type replayBody struct {
	io.Reader
	err error
}

func (b *replayBody) Read(p []byte) (int, error) {
	n, err := b.Reader.Read(p)
	if err == io.EOF && b.err != nil {
		err = b.err
	}
	return n, err
}

func (b *replayBody) Close() error { return nil }

// bufferedResponse holds a response's status and body until they may be rewritten; the
// headers go to the real writer directly.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) { return b.body.Write(p) }

// Flush lets mcp-go treat the buffer as a streaming writer; the body goes out at the end.
func (b *bufferedResponse) Flush() {}

package mcphttp

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
)

// resourceNotFoundData names the URI in the error that resources/read of an unknown
// resource gets ({"uri": …} as the error's data, as the MCP specification shows it), so a
// client can tell which of several reads failed. mcp-go v1.2.1 picks the right code per
// protocol era (-32002, or -32602 from 2026-07-28 on) but sends no data, and offers no
// hook to add it, so the JSON answer is completed here. Every other request passes
// straight through.
func (h *httpHandler) resourceNotFoundData(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := peeked(r)
		if c.method != string(mcp.MethodResourcesRead) || c.uri == "" || h.knownResource(c.uri) {
			next.ServeHTTP(w, r)
			return
		}
		held := holdResponse()
		defer held.release()
		next.ServeHTTP(held, r)
		if strings.HasPrefix(held.header.Get("Content-Type"), "application/json") {
			body := withErrorURI(held.body.Bytes(), c.uri)
			held.body.Reset()
			held.body.Write(body)
			held.header.Del("Content-Length")
		}
		held.sendTo(w)
	})
}

// knownResource reports whether the server lists uri in resources/list (templates are not
// used here).
func (h *httpHandler) knownResource(uri string) bool {
	_, ok := h.tools.ListResources()[uri]
	return ok
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

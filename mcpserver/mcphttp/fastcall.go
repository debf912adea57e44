package mcphttp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/taskwire/taskwire/internal/httpedge"
	"github.com/taskwire/taskwire/internal/jsonstr"
	"github.com/taskwire/taskwire/mcpserver/tasktools"
)

// fastToolCalls answers tools/call requests of the 2025 protocol versions — what MCP hosts
// send today — without mcp-go's dispatch and transport: it runs the tool's handler from
// the request peekCalls decoded (directCall) and writes the JSON-RPC response itself.
//
// Why: mcp-go decodes each body three more times (the message, its protocol probe, the
// typed request, whose arguments it also decodes into a map no handler here reads), and its
// transport encodes a tool result through three nested json.Marshaler layers (the
// response, CallToolResult.MarshalJSON, the structured content), each of which
// encoding/json validates and compacts again; it also creates a session with a goroutine and
// channels per request, which a stateless call never uses. Together that was most of
// mcpserver's own CPU time per call, several times what PostgreSQL spends on the query.
//
// What mcp-go's dispatch does for such a call this does too: it looks the tool up (an
// unknown one goes to mcp-go, which answers it), calls the handler, turns a panic into the
// error mcp-go's WithRecovery makes of it (tasktools configures no other tool middleware)
// and a handler error into a JSON-RPC internal error. The bytes on the wire are the same
// as mcp-go's (TestFastToolCallsMatchMCPGo). Everything else goes to next unchanged: other
// methods, batches, notifications, tools/call requests that are not a directCall, tools
// with task support, protocol version 2026-07-28 (its header rules and status mapping are
// mcp-go's), requests carrying a session id, and unsupported versions (mcp-go's 400). Tool
// handlers here see no http.Header on the request, no parsed Arguments (RawArguments only)
// and no client session; none of ours reads them.
func fastToolCalls(tools map[string]*server.ServerTool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := peeked(r)
		var tool *server.ServerTool
		if c.direct.ok && r.Header.Get(server.HeaderKeySessionID) == "" && // direct: a POST peekCalls decoded
			r.Header.Get("Last-Event-ID") == "" && legacyVersion(r.Header.Get(mcp.HeaderProtocolVersion)) &&
			isJSON(r.Header.Get("Content-Type")) {
			tool = tools[c.tool]
		}
		if tool == nil || tool.Tool.Execution != nil {
			next.ServeHTTP(w, r)
			return
		}
		// The database gate holds the answer until the call ends: encode it there, once.
		var buf *bytes.Buffer
		held, isHeld := w.(*heldResponse)
		if isHeld {
			buf = &held.body
		} else {
			buf = bufPool.Get().(*bytes.Buffer)
			buf.Reset()
			defer putBuf(buf)
		}
		if err := encodeResponse(buf, runTool(r.Context(), tool, c)); err != nil {
			buf.Reset()
			httpedge.WriteError(w, http.StatusInternalServerError, "internal_error", "the response could not be encoded")
			return
		}
		// With the length known, a large answer goes out as one body rather than in chunks.
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
		w.WriteHeader(http.StatusOK)
		if !isHeld {
			_, _ = w.Write(buf.Bytes())
		}
	})
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// putBuf returns buf to bufPool unless it grew past maxHeldReuse (one huge answer is not
// kept in memory).
func putBuf(buf *bytes.Buffer) {
	if buf.Cap() <= maxHeldReuse {
		bufPool.Put(buf)
	}
}

// runTool calls tool's handler for c as mcp-go's dispatch would and returns the response.
func runTool(ctx context.Context, tool *server.ServerTool, c call) mcp.JSONRPCMessage {
	req := mcp.CallToolRequest{Request: mcp.Request{Method: string(mcp.MethodToolsCall)}}
	req.Params.Name, req.Params.Meta, req.Params.RawArguments = c.tool, c.direct.meta, c.direct.args
	res, err := callRecovered(ctx, tool.Handler, req)
	switch {
	case err != nil:
		return mcp.NewJSONRPCError(c.direct.id, mcp.INTERNAL_ERROR, err.Error(), nil)
	case res == nil:
		return mcp.NewJSONRPCError(c.direct.id, mcp.INTERNAL_ERROR, fmt.Sprintf("tool '%s' handler returned no result", c.tool), nil)
	}
	return mcp.NewJSONRPCResultResponse(c.direct.id, res)
}

// callRecovered calls h, turning a panic into the error mcp-go's WithRecovery returns.
func callRecovered(ctx context.Context, h server.ToolHandlerFunc, req mcp.CallToolRequest) (res *mcp.CallToolResult, err error) {
	defer func() {
		if p := recover(); p != nil {
			res, err = nil, fmt.Errorf("panic recovered in %s tool handler: %v", req.Params.Name, p)
		}
	}()
	return h(ctx, req)
}

func isJSON(contentType string) bool {
	if contentType == "application/json" {
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/json"
}

// legacyVersion: no MCP-Protocol-Version header, or a supported one from before 2026-07-28.
func legacyVersion(v string) bool {
	return v == "" || (mcp.IsValidProtocolVersion(v) && !mcp.IsModernProtocol(v))
}

// encodeResponse writes resp as json.NewEncoder(w).Encode(resp) would, which is what mcp-go
// does, but encodes a plain tool result — text blocks and structured content — by hand, so
// that each byte is encoded once.
func encodeResponse(buf *bytes.Buffer, resp mcp.JSONRPCMessage) error {
	r, ok := resp.(mcp.JSONRPCResponse)
	var res *mcp.CallToolResult
	if ok {
		switch v := r.Result.(type) {
		case *mcp.CallToolResult:
			res = v
		case mcp.CallToolResult:
			res = &v
		}
	}
	if res == nil || !plainResult(res) {
		return json.NewEncoder(buf).Encode(resp)
	}
	id, err := json.Marshal(r.ID)
	if err != nil {
		return err
	}
	buf.WriteString(`{"jsonrpc":`)
	writeString(buf, r.JSONRPC)
	buf.WriteString(`,"id":`)
	buf.Write(id)
	buf.WriteString(`,"result":{"content":[`)
	for i, c := range res.Content {
		if i > 0 {
			buf.WriteByte(',')
		}
		t := c.(mcp.TextContent) // plainResult checked
		buf.WriteString(`{"type":`)
		writeString(buf, t.Type)
		buf.WriteString(`,"text":`)
		writeString(buf, t.Text)
		buf.WriteByte('}')
	}
	buf.WriteByte(']')
	if res.IsError {
		buf.WriteString(`,"isError":true`)
	}
	switch sc := res.StructuredContent.(type) {
	case nil:
	case tasktools.EncodedJSON:
		buf.WriteString(`,"structuredContent":`)
		buf.Write(sc)
	case json.RawMessage:
		buf.WriteString(`,"structuredContent":`)
		if err := compactHTML(buf, sc); err != nil {
			return err
		}
	}
	buf.WriteString("}}\n")
	return nil
}

// plainResult reports whether res holds only what encodeResponse writes by hand: text
// blocks without annotations or _meta, and structured content that is absent or already
// JSON. Anything else is encoded by encoding/json, as mcp-go does.
func plainResult(res *mcp.CallToolResult) bool {
	if res.Meta != nil || res.ResultType != "" || len(res.InputRequests) > 0 || res.RequestState != "" || len(res.RawStructuredContent) > 0 {
		return false
	}
	for _, c := range res.Content {
		t, ok := c.(mcp.TextContent)
		if !ok || t.Annotations != nil || t.Meta != nil {
			return false
		}
	}
	switch sc := res.StructuredContent.(type) {
	case nil:
		return true
	case tasktools.EncodedJSON:
		return len(sc) > 0
	case json.RawMessage:
		return len(sc) > 0
	}
	return false
}

// writeString writes s as a JSON string exactly as encoding/json does by default.
func writeString(buf *bytes.Buffer, s string) {
	buf.Grow(len(s) + len(s)/4 + 2) // a text block of JSON: about one quote in eight bytes
	buf.Write(jsonstr.Append(buf.AvailableBuffer(), s, jsonstr.HTML))
}

// compactHTML writes raw JSON as encoding/json writes a json.Marshaler's output: compacted,
// with HTML characters escaped.
func compactHTML(buf *bytes.Buffer, raw []byte) error {
	start := buf.Len()
	if err := json.Compact(buf, raw); err != nil {
		return err
	}
	if bytes.ContainsAny(buf.Bytes()[start:], "<>&\u2028\u2029") {
		escaped := new(bytes.Buffer)
		json.HTMLEscape(escaped, buf.Bytes()[start:])
		buf.Truncate(start)
		buf.Write(escaped.Bytes())
	}
	return nil
}

package mcphttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/taskwire/taskwire/internal/auth"
	"github.com/taskwire/taskwire/internal/httpedge"
	"github.com/taskwire/taskwire/internal/jsonstr"
)

// call is what the edge needs to know of a JSON-RPC message before mcp-go sees it.
type call struct {
	id     json.RawMessage // null when absent
	method string
	tool   string // params.name of a tools/call; "" when absent or not a string
	uri    string // params.uri of a resources/read; "" when absent or not a string
	// direct is set (ok) when the message is a tools/call that fastToolCalls may run itself.
	direct directCall
}

// directCall is a tools/call request that mcp-go would hand straight to the tool's handler:
// JSON-RPC 2.0, a string or number id, params with nothing but name, arguments and a _meta
// that names no 2026-07-28 protocol version and asks for nothing but progress; not a task,
// not the answer to an input request.
type directCall struct {
	ok   bool
	id   mcp.RequestId
	args json.RawMessage
	meta *mcp.Meta
}

// peekCall reads the method and tool name of one JSON-RPC message the way mcp-go will (the
// same encoding/json rules: case-insensitive keys, the last duplicate wins). A body that is
// not one JSON object — a batch, which mcp-go refuses, or garbage — gives ok false; it
// needs no more than a valid token, and mcp-go answers it with an error. This is the one
// decoding of a tools/call the fast path needs (see directCall).
func peekCall(body []byte) (c call, ok bool) {
	var msg struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Method  string          `json:"method"`
		Params  json.RawMessage `json:"params"`
		Result  json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		return call{id: json.RawMessage("null")}, false
	}
	c = call{id: msg.ID, method: msg.Method}
	if len(c.id) == 0 {
		c.id = json.RawMessage("null")
	}
	switch c.method {
	case string(mcp.MethodToolsCall):
		var p struct {
			Name           string          `json:"name"`
			Arguments      json.RawMessage `json:"arguments"`
			Meta           *mcp.Meta       `json:"_meta"`
			Task           json.RawMessage `json:"task"`
			InputResponses json.RawMessage `json:"inputResponses"`
			RequestState   json.RawMessage `json:"requestState"`
		}
		err := json.Unmarshal(msg.Params, &p) // a missing or non-string name: unknown tool
		c.tool = p.Name
		if err == nil && msg.JSONRPC == mcp.JSONRPC_VERSION && len(msg.Result) == 0 &&
			len(p.Task) == 0 && len(p.InputResponses) == 0 && len(p.RequestState) == 0 &&
			(p.Meta == nil || len(p.Meta.AdditionalFields) == 0) {
			if id, ok := requestID(msg.ID); ok {
				c.direct = directCall{ok: true, id: id, args: p.Arguments, meta: p.Meta}
			}
		}
	case string(mcp.MethodResourcesRead):
		var p struct {
			URI string `json:"uri"`
		}
		_ = json.Unmarshal(msg.Params, &p) // mcp-go answers a missing URI itself
		c.uri = p.URI
	}
	return c, true
}

// requestID decodes a request id as mcp-go does (into an interface: a string or a float64),
// refusing the absent, null and non-scalar ids mcp-go treats otherwise. raw is one valid
// JSON value (the message has been decoded): a string without escapes is its bytes, and a
// number is what strconv.ParseFloat makes of it, as in encoding/json.
func requestID(raw json.RawMessage) (mcp.RequestId, bool) {
	if len(raw) == 0 {
		return mcp.RequestId{}, false
	}
	if raw[0] == '"' {
		if s, ok := jsonstr.Unquoted(raw); ok {
			return mcp.NewRequestId(string(s)), true
		}
	}
	switch {
	case raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9'):
		f, err := strconv.ParseFloat(string(raw), 64)
		return mcp.NewRequestId(f), err == nil
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return mcp.RequestId{}, false
	}
	if s, ok := v.(string); ok {
		return mcp.NewRequestId(s), true
	}
	return mcp.RequestId{}, false
}

type callKey struct{}

// readBody hands a body that has been read on as a reader again, in one allocation.
type readBody struct{ bytes.Reader }

func (readBody) Close() error { return nil }

// peekCalls reads the (size-limited) body once, notes the call in the context and hands
// the same bytes on. A body over the limit is answered 413 here.
func peekCalls(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				httpedge.WriteError(w, http.StatusRequestEntityTooLarge, httpedge.CodeTooLarge,
					fmt.Sprintf("request bodies are limited to %d bytes", MaxBodyBytes))
				return
			}
			httpedge.WriteError(w, http.StatusBadRequest, "invalid_request", "could not read the request body")
			return
		}
		if !utf8.Valid(body) {
			// encoding/json would hand the tools U+FFFD in place of each bad byte and they
			// would store it: refuse the message as unparsable instead.
			writeRPCError(w, http.StatusBadRequest, json.RawMessage("null"), mcp.PARSE_ERROR, "parse error: the request body is not valid UTF-8", nil)
			return
		}
		rb := new(readBody)
		rb.Reset(body)
		r.Body = rb
		c, _ := peekCall(body)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), callKey{}, c)))
	})
}

// peeked returns the message peekCalls read (a null id and no method when there is none).
func peeked(r *http.Request) call {
	if c, ok := r.Context().Value(callKey{}).(call); ok {
		return c
	}
	return call{id: json.RawMessage("null")}
}

// toolCall returns the tools/call the request carries, if it is one.
func toolCall(r *http.Request) (call, bool) {
	c := peeked(r)
	return c, c.method == string(mcp.MethodToolsCall)
}

// neededScope derives the scope of a request from the called tool's annotations:
// readOnlyHint → tasks:read, anything else → tasks:write. Other methods, and calls of tools
// that do not exist (mcp-go answers those), need only a valid token.
func (h *httpHandler) neededScope(r *http.Request) string {
	c, ok := toolCall(r)
	if !ok {
		return ""
	}
	tool := h.toolSet[c.tool]
	switch {
	case tool == nil:
		return ""
	case tool.Tool.Annotations.ReadOnlyHint != nil && *tool.Tool.Annotations.ReadOnlyHint:
		return ScopeRead
	}
	return ScopeWrite
}

// limitCalls holds each user to the tool-call rate: over it, 429 with Retry-After and a
// JSON-RPC error whose data says when to retry. Other methods are not counted.
func (h *httpHandler) limitCalls(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, isCall := toolCall(r)
		id, _ := auth.UserFrom(r.Context())
		if isCall {
			if ok, wait := h.limiter.Allow(id.UserID, 1); !ok {
				writeRetryableRPC(w, http.StatusTooManyRequests, c.id, "rate limit exceeded", wait)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// refuseWhileDBDown answers tool calls with 503, Retry-After and a JSON-RPC error while the
// gate is closed: a signal clients retry on, where a tool error would read as bad arguments.
// A call that fails because the database went away while it ran gets the same answer in
// place of its tool error (its answer is held back until the call ends to allow that).
func (h *httpHandler) refuseWhileDBDown(next http.Handler) http.Handler {
	if h.cfg.Gate == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, isCall := toolCall(r)
		switch {
		case !isCall:
			next.ServeHTTP(w, r)
			return
		case h.cfg.Gate.Down():
			writeUnavailable(w, c.id)
			return
		}
		ctx, dbFailed := httpedge.WatchUnavailable(r.Context())
		held := holdResponse()
		defer held.release()
		next.ServeHTTP(held, r.WithContext(ctx))
		if dbFailed() && held.failed() {
			writeUnavailable(w, c.id)
			return
		}
		held.sendTo(w)
	})
}

func writeUnavailable(w http.ResponseWriter, id json.RawMessage) {
	writeRetryableRPC(w, http.StatusServiceUnavailable, id, "service unavailable: the database is unreachable, try again shortly", time.Second)
}

// heldResponse keeps a tool call's answer until the call has ended.
type heldResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

// heldResponses are reused: a list's answer is tens of kilobytes, grown anew for each call
// otherwise.
var heldResponses = sync.Pool{New: func() any { return &heldResponse{header: http.Header{}} }}

// holdResponse returns an empty heldResponse; release it when its answer has been sent.
func holdResponse() *heldResponse {
	return heldResponses.Get().(*heldResponse)
}

// maxHeldReuse bounds the answers kept for reuse, so one huge answer does not stay in memory.
const maxHeldReuse = 256 << 10

func (h *heldResponse) release() {
	if h.body.Cap() > maxHeldReuse {
		return
	}
	clear(h.header)
	h.status = 0
	h.body.Reset()
	heldResponses.Put(h)
}

func (h *heldResponse) Header() http.Header { return h.header }

func (h *heldResponse) WriteHeader(status int) {
	if h.status == 0 {
		h.status = status
	}
}

func (h *heldResponse) Write(b []byte) (int, error) { return h.body.Write(b) }

// Flush is a no-op: the answer goes out whole in sendTo.
func (h *heldResponse) Flush() {}

// failed reports whether the answer is a JSON-RPC error or a tool error (isError). A
// successful call stays a success even if the database failed on the way (the write may
// have been made), so a client never repeats a write that happened.
func (h *heldResponse) failed() bool {
	var msg struct {
		Result *struct {
			IsError bool `json:"isError"`
		} `json:"result"`
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(h.body.Bytes(), &msg) != nil {
		return h.status >= 400
	}
	return len(msg.Error) > 0 || (msg.Result != nil && msg.Result.IsError)
}

func (h *heldResponse) sendTo(w http.ResponseWriter) {
	for k, v := range h.header {
		w.Header()[k] = v
	}
	if h.status != 0 {
		w.WriteHeader(h.status)
	}
	_, _ = w.Write(h.body.Bytes())
}

// rpcErrorCode is the JSON-RPC server error used for retryable refusals.
const rpcErrorCode = -32000

// writeRetryableRPC answers a JSON-RPC request the client should repeat after wait: the
// HTTP status and Retry-After for HTTP-aware clients, the JSON-RPC error (data.retry_after
// in seconds) for the MCP layer.
func writeRetryableRPC(w http.ResponseWriter, status int, id json.RawMessage, message string, wait time.Duration) {
	secs := httpedge.RetryAfterSeconds(wait)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeRPCError(w, status, id, rpcErrorCode, message, map[string]int{"retry_after": secs})
}

// writeRPCError answers with HTTP status and a JSON-RPC error object (data omitted when nil).
func writeRPCError(w http.ResponseWriter, status int, id json.RawMessage, code int, message string, data any) {
	e := map[string]any{"code": code, "message": message}
	if data != nil {
		e["data"] = data
	}
	httpedge.WriteJSON(w, status, map[string]any{"jsonrpc": "2.0", "id": id, "error": e})
}

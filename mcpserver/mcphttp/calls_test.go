package mcphttp

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mark3labs/mcp-go/mcp"
)

// FuzzPeekCall: the peek never panics, and for any body mcp-go would accept as one message,
// it reads the same method and tool name as encoding/json does into mcp-go's shapes.
func FuzzPeekCall(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add_task","arguments":{}}}`,
		`{"jsonrpc":"2.0","id":"a","METHOD":"tools/call","params":{"NAME":"list_tasks"}}`,
		`{"method":"tools/call","params":{"name":1}}`,
		`{"method":"tools/call","params":null}`,
		`{"method":"tools/call","method":"ping"}`,
		`[{"method":"tools/call"}]`,
		`{"method":"tools/call","params":{"name":"a\u0000b"}}`,
		`nul`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c, ok := peekCall(body)
		if len(c.id) == 0 {
			t.Fatal("empty id: the JSON-RPC error would be invalid")
		}
		var msg struct {
			Method string `json:"method"`
			Params struct {
				Name string `json:"name"`
			} `json:"params"`
		}
		if err := json.Unmarshal(body, &msg); err != nil {
			return // mcp-go refuses the message too: the scope does not matter
		}
		if !ok || c.method != msg.Method {
			t.Fatalf("peek %+v (ok=%v), encoding/json reads method %q", c, ok, msg.Method)
		}
		if msg.Method == "tools/call" && c.tool != msg.Params.Name {
			t.Fatalf("peek tool %q, encoding/json reads %q", c.tool, msg.Params.Name)
		}
	})
}

// FuzzRequestID holds the id decoding of the fast path to encoding/json's, which mcp-go
// uses: the same value for every string or number id, and a refusal for everything else.
func FuzzRequestID(f *testing.F) {
	for _, s := range []string{`1`, `-0`, `1.5e3`, `12345678901234567890`, `1e400`, `"abc"`, `"a\"b"`,
		`"\u00e9"`, `"<&>"`, `""`, `null`, `true`, `{}`, `[1]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if !utf8.ValidString(raw) || !json.Valid([]byte(raw)) || strings.Trim(raw, " \t\r\n") != raw {
			return // peekCalls refuses the first, the message decoding the second; a decoded id has no blanks around it
		}
		var v any
		err := json.Unmarshal([]byte(raw), &v)
		want, wantOK := mcp.RequestId{}, false
		switch v.(type) {
		case string, float64:
			want, wantOK = mcp.NewRequestId(v), err == nil
		}
		got, ok := requestID(json.RawMessage(raw))
		if ok != wantOK || (ok && got.Value() != want.Value()) {
			t.Fatalf("requestID(%s) = %v, %v; encoding/json: %v, %v", raw, got.Value(), ok, want.Value(), wantOK)
		}
	})
}

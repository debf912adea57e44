package tasktools_test

import (
	"context"
	"encoding/json"
	"math"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/taskwire/taskwire/internal/pgtest"
	"github.com/taskwire/taskwire/mcpserver/mcphttp"
	"github.com/taskwire/taskwire/mcpserver/mcphttp/mcphttptest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

const toolsListBody = `{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{}}`

var quiet = mcphttptest.Quiet

// newServer starts mcpserver's HTTP handler on a fresh database; change may adjust the
// configuration first. Benchmarks drive one user far past the per-user rate limit.
func newServer(t testing.TB, change func(*mcphttp.Config)) *httptest.Server {
	return mcphttptest.NewServer(t, func(c *mcphttp.Config) {
		c.RateLimit = math.Inf(1)
		if change != nil {
			change(c)
		}
	})
}

func tokenFor(t testing.TB, user string) string { return mcphttptest.Token(t, user) }

// connect opens an MCP session as user over streamable HTTP with the mcp-go client.
func connect(t *testing.T, srv *httptest.Server, user string, opts ...client.ClientOption) *client.Client {
	t.Helper()
	c, err := client.NewStreamableHttpClient(srv.URL+mcphttp.MCPPath,
		transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + tokenFor(t, user)}))
	if err != nil {
		t.Fatal(err)
	}
	return start(t, c, opts...)
}

func start(t *testing.T, c *client.Client, opts ...client.ClientOption) *client.Client {
	t.Helper()
	ctx := context.Background()
	for _, o := range opts {
		o(c)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.Initialize(ctx, mcp.InitializeRequest{Params: mcp.InitializeParams{
		ClientInfo: mcp.Implementation{Name: "tasktools-test", Version: "1"},
	}}); err != nil {
		t.Fatalf("initialize: %v", err)
	}
	return c
}

// call invokes a tool and fails the test on a protocol error (tool errors are results).
func call(t *testing.T, c *client.Client, name string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	res, err := c.CallTool(context.Background(), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: name, Arguments: args}})
	if err != nil {
		t.Fatalf("%s(%v): %v", name, args, err)
	}
	return res
}

// text is the single text block of a result.
func text(t *testing.T, res *mcp.CallToolResult) string {
	t.Helper()
	if len(res.Content) != 1 {
		t.Fatalf("want one content block, got %d: %+v", len(res.Content), res.Content)
	}
	tc, ok := mcp.AsTextContent(res.Content[0])
	if !ok {
		t.Fatalf("content is %T, not text", res.Content[0])
	}
	return tc.Text
}

// success decodes a successful result's structuredContent into out, after checking that
// the text block carries the same JSON.
func success(t *testing.T, res *mcp.CallToolResult, out any) {
	t.Helper()
	if res.IsError {
		t.Fatalf("tool error: %s", text(t, res))
	}
	raw := res.RawStructuredContent
	if len(raw) == 0 || raw[0] != '{' {
		t.Fatalf("structuredContent is not an object: %s", raw)
	}
	var fromText, fromStructured any
	if err := json.Unmarshal([]byte(text(t, res)), &fromText); err != nil {
		t.Fatalf("text block is not JSON: %v", err)
	}
	if err := json.Unmarshal(raw, &fromStructured); err != nil {
		t.Fatal(err)
	}
	if a, b := mustMarshal(t, fromText), mustMarshal(t, fromStructured); a != b {
		t.Errorf("text block differs from structuredContent:\n%s\n%s", a, b)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatalf("decode structuredContent: %v", err)
	}
}

// toolError returns the message of a result that must be a tool error.
func toolError(t *testing.T, res *mcp.CallToolResult) string {
	t.Helper()
	if !res.IsError {
		t.Fatalf("want a tool error, got success: %s", text(t, res))
	}
	return text(t, res)
}

func mustMarshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

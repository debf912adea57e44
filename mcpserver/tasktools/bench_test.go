package tasktools_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/taskwire/taskwire/mcpserver/mcphttp"
)

// toolCalls are the bodies the benchmarks post: one legacy-era tools/call each (a stateless
// server needs no initialize first). list_tasks/50 is a full default page, where encoding
// the result weighs most.
var toolCalls = []struct{ bench, name, args string }{
	{"add_task", "add_task", `{"title":"Buy groceries","priority":"high","tags":["home"],"due":"2030-01-02"}`},
	{"list_tasks", "list_tasks", `{"status":"pending","limit":20}`},
	{"list_tasks/50", "list_tasks", `{}`},
	{"complete_task", "complete_task", `{"task_id":1}`},
}

// BenchmarkServeToolCall measures the server side of one tools/call in process, without a
// network or a client, so allocs/op are the server's own.
func BenchmarkServeToolCall(b *testing.B) {
	h := newServer(b, nil).Config.Handler // the whole /mcp stack, served in process
	body := func(name, args string) string {
		return fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":%q,"arguments":%s}}`, name, args)
	}
	serve := func(b *testing.B, header http.Header, body string) {
		req := httptest.NewRequest(http.MethodPost, mcphttp.MCPPath, strings.NewReader(body))
		req.Header = header.Clone()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		// Bytes, not String: a copy of the body would count as the server's allocations.
		if rec.Code != http.StatusOK || bytes.Contains(rec.Body.Bytes(), []byte(`"isError":true`)) {
			b.Fatalf("%d %s", rec.Code, rec.Body.String())
		}
	}
	for _, tc := range toolCalls {
		// Each benchmark has its own user; the ones that read start with 60 tasks.
		header := http.Header{
			"Authorization": {"Bearer " + tokenFor(b, "bench-serve-"+tc.bench)},
			"Content-Type":  {"application/json"},
			"Accept":        {"application/json, text/event-stream"},
		}
		if tc.name != "add_task" {
			for range 60 {
				serve(b, header, body("add_task", toolCalls[0].args))
			}
		}
		call := body(tc.name, tc.args)
		b.Run(tc.bench, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				serve(b, header, call)
			}
		})
	}
}

// BenchmarkClientToolCall is a tool call as an MCP host makes it: the mcp-go streamable
// HTTP client over a loopback connection; the parallel run spreads calls over users.
func BenchmarkClientToolCall(b *testing.B) {
	srv := newServer(b, nil)
	var users atomic.Int64
	newClient := func(b *testing.B, user string) *client.Client {
		if user == "" {
			user = fmt.Sprintf("bench-client-%d", users.Add(1))
		}
		tok := tokenFor(b, user)
		c, err := client.NewStreamableHttpClient(srv.URL+mcphttp.MCPPath,
			transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + tok}))
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		if err := c.Start(ctx); err != nil {
			b.Fatal(err)
		}
		if _, err := c.Initialize(ctx, mcp.InitializeRequest{Params: mcp.InitializeParams{
			ClientInfo: mcp.Implementation{Name: "bench", Version: "1"},
		}}); err != nil {
			b.Fatal(err)
		}
		return c
	}
	callOnce := func(c *client.Client, name string, args map[string]any) error {
		res, err := c.CallTool(context.Background(), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: name, Arguments: args}})
		if err == nil && res.IsError {
			err = fmt.Errorf("tool error: %+v", res.Content)
		}
		return err
	}
	// list_tasks reads one user's 60 tasks; add_task writes for a new user per client.
	const lister = "bench-lister"
	seed := newClient(b, lister)
	for i := range 60 {
		if err := callOnce(seed, "add_task", map[string]any{"title": fmt.Sprintf("task %d", i)}); err != nil {
			b.Fatal(err)
		}
	}
	seed.Close()
	for _, tc := range []struct {
		name, user string
		args       map[string]any
	}{
		{"add_task", "", map[string]any{"title": "Buy groceries", "priority": "high", "tags": []string{"home"}}},
		{"list_tasks", lister, map[string]any{"status": "pending", "limit": 20}},
	} {
		b.Run(tc.name+"/serial", func(b *testing.B) {
			c := newClient(b, tc.user)
			defer c.Close()
			b.ReportAllocs()
			for b.Loop() {
				if err := callOnce(c, tc.name, tc.args); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(tc.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				c := newClient(b, tc.user)
				defer c.Close()
				for pb.Next() {
					if err := callOnce(c, tc.name, tc.args); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

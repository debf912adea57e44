package mcphttp_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/taskwire/taskwire/internal/obs"
	"github.com/taskwire/taskwire/mcpserver/mcphttp"
)

// With a registry, tool calls are counted by tool and outcome, requests by route, and the
// numbers are served at /metrics — the operator's view of "what are models doing to us".
func TestMetrics(t *testing.T) {
	t.Parallel()
	reg := obs.NewRegistry()
	srv := newServer(t, func(c *mcphttp.Config) { c.Metrics = reg })
	tok := bearer(tokenFor(t, "alice"))
	post(t, srv.URL+mcphttp.MCPPath, toolCall("add_task", map[string]any{"title": "Buy milk"}), tok)
	post(t, srv.URL+mcphttp.MCPPath, toolCall("add_task", map[string]any{"title": "Call mom"}), tok)
	if r := post(t, srv.URL+mcphttp.MCPPath, toolCall("complete_task", map[string]any{"task_id": 99}), tok); !strings.Contains(r.body, `"isError":true`) {
		t.Fatalf("completing a missing task: %s", r.body)
	}

	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d", resp.StatusCode)

	}
	for _, want := range []string{
		`taskwire_mcp_tool_calls_total{outcome="ok",tool="add_task"} 2`,
		`taskwire_mcp_tool_calls_total{outcome="tool_error",tool="complete_task"} 1`,
		`taskwire_http_requests_total{route="/mcp",status="200"}`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if n := testutil.CollectAndCount(reg, "taskwire_db_pool_max_conns"); n == 0 {
		t.Error("no database pool metrics")
	}
}

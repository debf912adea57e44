package agent_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/taskwire/taskwire/chatproxy/agent"
	"github.com/taskwire/taskwire/chatproxy/chatkit"
	"github.com/taskwire/taskwire/chatproxy/llm/llmtest"
)

// TestTimezoneInjected: a tool whose input schema has a timezone property gets the browser's
// zone when the model left it out, keeps the model's own value otherwise, and a tool without
// the property gets nothing added — all read from tools/list, with no list of tool names.
func TestTimezoneInjected(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []string
	record := func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		raw, _ := json.Marshal(req.GetArguments())
		mu.Lock()
		got = append(got, req.Params.Name+" "+string(raw))
		mu.Unlock()
		return mcp.NewToolResultText("ok"), nil
	}
	s := server.NewMCPServer("toy", "1", server.WithToolCapabilities(false))
	s.AddTool(mcp.NewTool("plan_day", mcp.WithString("title"), mcp.WithString("timezone")), record)
	s.AddTool(mcp.NewTool("plain", mcp.WithString("title")), record)
	toy := httptest.NewServer(server.NewStreamableHTTPServer(s, server.WithStateLess(true)))
	t.Cleanup(toy.Close)

	st := newStack(t, opts{mcpURL: toy.URL + "/mcp"},
		llmtest.ToolCalls(call("plan_day", `{"title":"a"}`), call("plan_day", `{"title":"b","timezone":"Asia/Tokyo"}`), call("plain", `{"title":"c"}`)),
		llmtest.Text("Done."),
	)
	header := http.Header{}
	header.Set(agent.TimezoneHeader, "Pacific/Auckland")
	var events chatkit.Collector
	err := st.env.Server.Stream(t.Context(), chatkit.Caller{UserID: "alice", Header: header},
		&chatkit.CreateThreadRequest{Input: chatkit.TextInput("plan my day")}, &events)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(got)
	want := []string{
		`plain {"title":"c"}`,
		`plan_day {"timezone":"Asia/Tokyo","title":"b"}`,
		`plan_day {"timezone":"Pacific/Auckland","title":"a"}`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("calls = %q, want %q", got, want)
	}
}

package mcphttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/taskwire/taskwire/internal/auth"
	"github.com/taskwire/taskwire/internal/pgtest"
	"github.com/taskwire/taskwire/mcpserver/taskstore"
	"github.com/taskwire/taskwire/mcpserver/tasktools"
)

// fastPair is the same MCP server behind mcp-go's streamable HTTP handler alone and behind
// peekCalls and fastToolCalls, both acting for one user; handedOn counts the requests the
// fast path passed to mcp-go. Besides the task tools the server has three that misbehave —
// one panics, one fails, one returns nothing — to hold the fast path's dispatch to mcp-go's.
func fastPair(t testing.TB) (plain, fast http.Handler, handedOn *atomic.Int64) {
	t.Helper()
	s := tasktools.NewMCPServer(taskstore.New(pgtest.Pool(t)), slog.New(slog.NewTextHandler(io.Discard, nil)), "test", nil)
	s.AddTool(mcp.NewTool("panics"), func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		panic("boom <&>")
	})
	s.AddTool(mcp.NewTool("fails"), func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return nil, errors.New("the store went away")
	})
	s.AddTool(mcp.NewTool("returns_nothing"), func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return nil, nil
	})
	streamable := server.NewStreamableHTTPServer(s, server.WithStateLess(true), server.WithDisableStreaming(true),
		server.WithDisableLocalhostProtection(true))
	asUser := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.ServeHTTP(w, r.WithContext(auth.WithUser(r.Context(), auth.Identity{UserID: "fast-user"})))
		})
	}
	handedOn = new(atomic.Int64)
	counted := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handedOn.Add(1)
		streamable.ServeHTTP(w, r)
	})
	return asUser(streamable), asUser(peekCalls(fastToolCalls(s.ListTools(), counted))), handedOn
}

type exchange struct {
	status int
	ctype  string
	body   string
}

func post(h http.Handler, header http.Header, body string) exchange {
	req := httptest.NewRequest(http.MethodPost, MCPPath, strings.NewReader(body))
	req.Header = header.Clone()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return exchange{rec.Code, rec.Header().Get("Content-Type"), rec.Body.String()}
}

func callBody(id, name, args string) string {
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"method":"tools/call","params":{"name":%q,"arguments":%s}}`, id, name, args)
}

// Two adds differ in their task numbers and timestamps; everything else must match.
var (
	timestamps = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z`)
	taskIDs    = regexp.MustCompile(`task_id\\?":\d+`)
)

// TestFastToolCallsMatchMCPGo sends each request through mcp-go alone and through the fast
// path and requires the same status, content type and bytes, for results the fast path
// writes itself and for everything it hands on.
func TestFastToolCallsMatchMCPGo(t *testing.T) {
	plain, fast, handedOn := fastPair(t)
	header := http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json, text/event-stream"}}
	for i := range 3 {
		// HTML characters, quotes, a line separator and non-ASCII text: the escapes must match.
		args := fmt.Sprintf(`{"title":"<b>Tom & \"Jerry\"</b> \u2028 %d","description":"naïve café — 東京","priority":"high","tags":["home"],"due":"2030-01-02"}`, i)
		if got := post(plain, header, callBody("1", "add_task", args)); got.status != http.StatusOK || strings.Contains(got.body, `"isError":true`) {
			t.Fatalf("seed: %+v", got)
		}
	}
	modern := header.Clone()
	modern.Set(mcp.HeaderProtocolVersion, mcp.ProtocolVersion20260728)
	oldVersion := header.Clone()
	oldVersion.Set(mcp.HeaderProtocolVersion, "2025-06-18")
	badVersion := header.Clone()
	badVersion.Set(mcp.HeaderProtocolVersion, "1999-01-01")
	for _, tc := range []struct {
		name   string
		header http.Header
		body   string
		fast   bool // whether the fast path writes the answer itself
	}{
		{"list", header, callBody("7", "list_tasks", `{}`), true},
		{"list with a version header", oldVersion, callBody(`"abc"`, "list_tasks", `{"limit":2}`), true},
		{"list, next page", header, callBody("8", "list_tasks", `{"limit":1}`), true},
		{"add", header, callBody("9", "add_task", `{"title":"x <y> & z"}`), true},
		{"complete twice is the same", header, callBody("10", "complete_task", `{"task_id":1}`), true},
		{"tool error", header, callBody("11", "complete_task", `{"task_id":999}`), true},
		{"bad arguments", header, callBody("12", "add_task", `{"title":5}`), true},
		{"arguments not an object", header, callBody("16", "list_tasks", `[1]`), true},
		{"arguments null", header, callBody("17", "list_tasks", `null`), true},
		{"no arguments", header, `{"jsonrpc":"2.0","id":18,"method":"tools/call","params":{"name":"list_tasks"}}`, true},
		{"keys in other cases", header, `{"JSONRPC":"2.0","Id":19,"METHOD":"tools/call","Params":{"NAME":"list_tasks","Arguments":{"limit":1}}}`, true},
		{"fractional id", header, callBody("1.5", "list_tasks", `{"limit":1}`), true},
		{"large id", header, callBody("12345678901234567890", "list_tasks", `{"limit":1}`), true},
		{"exponent id", header, callBody("-2e3", "list_tasks", `{"limit":1}`), true},
		{"id with HTML characters", header, callBody(`"<a&b>\u2028"`, "list_tasks", `{"limit":1}`), true},
		{"progress token", header, `{"jsonrpc":"2.0","id":20,"method":"tools/call","params":{"name":"list_tasks","_meta":{"progressToken":"p1"}}}`, true},
		{"handler panics", header, callBody("21", "panics", `{}`), true},
		{"handler fails", header, callBody("22", "fails", `{}`), true},
		{"handler returns nothing", header, callBody("23", "returns_nothing", `{}`), true},
		{"unknown tool", header, callBody("13", "no_such_tool", `{}`), false},
		{"a call with a result", header, `{"jsonrpc":"2.0","id":5,"method":"tools/call","result":{}}`, false},
		{"boolean id", header, callBody("true", "list_tasks", `{}`), false},
		{"null id", header, callBody("null", "list_tasks", `{}`), false},
		{"JSON-RPC 1.0", header, `{"jsonrpc":"1.0","id":24,"method":"tools/call","params":{"name":"list_tasks"}}`, false},
		{"task-augmented", header, `{"jsonrpc":"2.0","id":25,"method":"tools/call","params":{"name":"list_tasks","task":{"ttl":1000}}}`, false},
		{"modern _meta", header, `{"jsonrpc":"2.0","id":26,"method":"tools/call","params":{"name":"list_tasks","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`, false},
		{"_meta not an object", header, `{"jsonrpc":"2.0","id":27,"method":"tools/call","params":{"name":"list_tasks","_meta":"x"}}`, false},
		{"tools/list", header, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, false},
		{"notification", header, `{"jsonrpc":"2.0","method":"notifications/initialized"}`, false},
		{"batch", header, "[" + callBody("1", "list_tasks", `{}`) + "]", false},
		{"not JSON", header, `{"jsonrpc":`, false},
		{"modern era", modern, callBody("14", "list_tasks", `{}`), false},
		{"unsupported version", badVersion, callBody("15", "list_tasks", `{}`), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := post(plain, tc.header, tc.body)
			before := handedOn.Load()
			got := post(fast, tc.header, tc.body)
			if direct := handedOn.Load() == before; direct != tc.fast {
				t.Errorf("fast path answered = %v, want %v", direct, tc.fast)
			}
			norm := func(e exchange) exchange {
				e.body = taskIDs.ReplaceAllString(timestamps.ReplaceAllString(e.body, "T"), "task_id")
				return e
			}
			if tc.name == "add" {
				want, got = norm(want), norm(got)
			}
			if diff := cmp.Diff(want, got, cmp.AllowUnexported(exchange{})); diff != "" {
				t.Errorf("fast path differs from mcp-go (-mcp-go +fast):\n%s", diff)
			}
		})
	}
}

// TestEncodeResponseStructuredKinds checks the hand encoder against encoding/json for each
// kind of structured content it accepts.
func TestEncodeResponseStructuredKinds(t *testing.T) {
	raw := []byte(`{"a": "<x> & y",  "b": [1, 2]}`) // not compact, HTML not escaped
	marshaled, _ := json.Marshal(map[string]any{"a": "<x> & y", "b": []int{1, 2}})
	for _, tc := range []struct {
		name string
		sc   any
	}{
		{"none", nil},
		{"raw", json.RawMessage(raw)},
		{"encoded", tasktools.EncodedJSON(marshaled)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := &mcp.CallToolResult{Content: []mcp.Content{mcp.NewTextContent("a\tb <c>"), mcp.NewTextContent("")}, StructuredContent: tc.sc, IsError: tc.sc == nil}
			resp := mcp.NewJSONRPCResultResponse(mcp.NewRequestId(int64(3)), res)
			var want, got bytes.Buffer
			if err := json.NewEncoder(&want).Encode(resp); err != nil {
				t.Fatal(err)
			}
			if err := encodeResponse(&got, resp); err != nil {
				t.Fatal(err)
			}
			if want.String() != got.String() {
				t.Errorf("got  %s\nwant %s", got.String(), want.String())
			}
		})
	}
}

func BenchmarkEncodeToolResult(b *testing.B) {
	p := taskstore.Page{}
	for i := range taskstore.DefaultLimit {
		p.Tasks = append(p.Tasks, taskstore.Task{TaskID: int64(i + 1), Title: fmt.Sprintf("task %d", i), Description: "some notes", Priority: "high", Tags: []string{"home"}})
	}
	out, _ := json.Marshal(p)
	for _, tc := range []struct {
		name string
		sc   any
		fast bool
	}{
		{"mcp-go", json.RawMessage(out), false},
		{"fast/raw", json.RawMessage(out), true},
		{"fast/encoded", tasktools.EncodedJSON(out), true},
	} {
		resp := mcp.NewJSONRPCResultResponse(mcp.NewRequestId(int64(1)), &mcp.CallToolResult{
			Content: []mcp.Content{mcp.NewTextContent(string(out))}, StructuredContent: tc.sc})
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(out)))
			var buf bytes.Buffer
			for b.Loop() {
				buf.Reset()
				if tc.fast {
					_ = encodeResponse(&buf, resp)
				} else {
					_ = json.NewEncoder(&buf).Encode(resp)
				}
			}
		})
	}
}

// BenchmarkToolCallPaths serves tools/call in process through mcp-go alone and through the
// fast path, for one user with a full first page of tasks, and reports the process's CPU
// time per call (cpu-ns/op) besides wall time: on a shared machine CPU time is the steadier
// figure, and PostgreSQL's share of the call is not in it.
func BenchmarkToolCallPaths(b *testing.B) {
	plain, fast, _ := fastPair(b)
	header := http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json, text/event-stream"}}
	for i := range taskstore.DefaultLimit {
		if got := post(plain, header, callBody("1", "add_task", fmt.Sprintf(`{"title":"task %d","priority":"high","tags":["home"]}`, i))); got.status != http.StatusOK {
			b.Fatal(got)
		}
	}
	for _, tool := range []struct{ name, args string }{
		{"add_task", `{"title":"Buy groceries","priority":"high","tags":["home"]}`},
		{"list_tasks", `{"limit":50}`},
	} {
		for _, path := range []struct {
			name string
			h    http.Handler
		}{{"mcp-go", plain}, {"fast", fast}} {
			b.Run(tool.name+"/"+path.name, func(b *testing.B) {
				body := callBody("1", tool.name, tool.args)
				b.ReportAllocs()
				start := cpuTime()
				for b.Loop() {
					if got := post(path.h, header, body); got.status != http.StatusOK || strings.Contains(got.body, `"isError":true`) {
						b.Fatal(got)
					}
				}
				b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// FuzzWriteString holds the hand-written string encoder to encoding/json's output.
func FuzzWriteString(f *testing.F) {
	for _, s := range []string{
		"", `{"tasks":[{"title":"a \"b\" \\ c","d":"café 東京"}]}`, "<b>&</b>", "tab\there", "line\u2028sep",
		"para\u2029sep", "bad \xff utf-8", "\x00\x1f\x7f", `\u003c already escaped`, "emoji 😀",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		var got bytes.Buffer
		writeString(&got, s)
		if got.String() != string(want) {
			t.Errorf("writeString(%q) = %s, encoding/json: %s", s, got.String(), want)
		}
	})
}

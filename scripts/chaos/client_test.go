package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestMCPOutcome checks how the suite classifies answers, since its verdicts rest on it: a
// 200 tool error must never pass for a clean, retryable failure.
func TestMCPOutcome(t *testing.T) {
	tests := []struct {
		name   string
		status int
		ctype  string
		body   string
		want   outcome
	}{
		{"result", 200, "application/json", `{"jsonrpc":"2.0","id":1,"result":{"structuredContent":{"task_id":1}}}`, okCall},
		{"result over SSE", 200, "text/event-stream", "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n", okCall},
		{"tool error", 200, "application/json", `{"jsonrpc":"2.0","id":1,"result":{"isError":true,"content":[{"type":"text","text":"try again later"}]}}`, toolError},
		{"JSON-RPC error", 200, "application/json", `{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"unavailable"}}`, rpcError},
		{"503", 503, "application/json", `{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"unavailable"}}`, unavailable},
		{"429", 429, "application/json", `{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"rate limit exceeded"}}`, limited},
		{"400", 400, "application/json", `{"error":"bad"}`, clientError},
		{"500", 500, "text/plain", `boom`, serverError},
		{"200 that is not JSON-RPC", 200, "text/html", `<html>`, serverError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tt.ctype)
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			r := callTool(t.Context(), srv.URL, "tok", "add_task", map[string]any{"title": "x"})
			if r.out != tt.want {
				t.Errorf("outcome %q, want %q (%s)", r.out, tt.want, describe(r))
			}
			if clean := r.out.clean(); clean != (tt.want == rpcError || tt.want == unavailable || tt.want == limited) {
				t.Errorf("%q counted clean=%v", r.out, clean)
			}
		})
	}
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	if r := callTool(t.Context(), srv.URL, "tok", "add_task", nil); r.out != refused {
		t.Errorf("a closed port gave %q, want %q", r.out, refused)
	}
}

package obs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/taskwire/taskwire/internal/auth"
	"github.com/taskwire/taskwire/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// fakeAuth stands in for a service's auth middleware: it trusts any bearer token as user
// "alice" and records the user the way services are told to (auth.WithUser + SetUser).
func fakeAuth(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, ok := auth.BearerToken(r); !ok {
			http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		ctx := auth.WithUser(r.Context(), auth.Identity{UserID: "alice"})
		SetUser(ctx, "alice")
		next(w, r.WithContext(ctx))
	}
}

type testService struct {
	logs *bytes.Buffer
	reg  *prometheus.Registry
	http *HTTP
	srv  http.Handler
}

func newTestService(t *testing.T) *testService {
	t.Helper()
	var logs bytes.Buffer
	log, err := NewLogger(&logs, "debug", "test")
	if err != nil {
		t.Fatal(err)
	}
	reg := NewRegistry()
	h := NewHTTP(reg, log)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/tasks", fakeAuth(func(w http.ResponseWriter, r *http.Request) {
		log.InfoContext(r.Context(), "listing tasks")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, `{"tasks":[]}`)
	}))
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "item "+r.PathValue("id"))
	})
	mux.HandleFunc("POST /boom", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	})
	return &testService{logs: &logs, reg: reg, http: h, srv: h.Middleware(mux)}
}

func (s *testService) do(t *testing.T, method, target string, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	s.srv.ServeHTTP(rec, req)
	return rec
}

func (s *testService) records(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	dec := json.NewDecoder(bytes.NewReader(s.logs.Bytes()))
	for dec.More() {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("log is not JSON lines: %v\n%s", err, s.logs)
		}
		out = append(out, m)
	}
	return out
}

func TestLogRecordsCarryRequestAndUserButNeverTheToken(t *testing.T) {
	const token = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXBheWxvYWQ.sig-very-secret"
	tests := []struct {
		name     string
		inID     string
		wantSame bool
	}{
		{"propagates a well-formed id", "req-42_abc.def:1", true},
		{"replaces a missing id", "", false},
		{"replaces an id with unsafe characters", "evil\"id\nINFO fake", false},
		{"replaces an overlong id", strings.Repeat("a", 129), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestService(t)
			h := http.Header{"Authorization": {"Bearer " + token}, "Cookie": {"session=" + token}}
			if tc.inID != "" {
				h.Set(RequestIDHeader, tc.inID)
			}
			rec := s.do(t, "GET", "/api/tasks?token="+token+"&status=open", h)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d", rec.Code)
			}
			gotID := rec.Header().Get(RequestIDHeader)
			if tc.wantSame && gotID != tc.inID {
				t.Fatalf("X-Request-Id = %q, want propagated %q", gotID, tc.inID)
			}
			if !tc.wantSame && (gotID == tc.inID || !validRequestID(gotID) || len(gotID) != 26) {
				t.Fatalf("X-Request-Id = %q, want a fresh 26-character id", gotID)
			}
			if strings.Contains(s.logs.String(), "very-secret") || strings.Contains(s.logs.String(), "c2VjcmV0") {
				t.Fatalf("log contains the token:\n%s", s.logs)
			}
			recs := s.records(t)
			if len(recs) != 2 {
				t.Fatalf("want 2 records (handler + access), got %d:\n%s", len(recs), s.logs)
			}
			for _, r := range recs {
				if r["request_id"] != gotID || r["user_id"] != "alice" || r["service"] != "test" {
					t.Errorf("record lacks ids: %v", r)
				}
			}
			access := recs[1]
			want := map[string]any{"msg": "http request", "method": "GET", "route": "GET /api/tasks",
				"path": "/api/tasks", "status": float64(200), "bytes": float64(len(`{"tasks":[]}`))}
			for k, v := range want {
				if access[k] != v {
					t.Errorf("access log %s = %v, want %v", k, access[k], v)
				}
			}
			if _, ok := access["duration_ms"].(float64); !ok {
				t.Errorf("access log has no duration_ms: %v", access)
			}
		})
	}
}

func TestLoggerRedactsSecretAttributes(t *testing.T) {
	var buf bytes.Buffer
	log, err := NewLogger(&buf, "info", "test")
	if err != nil {
		t.Fatal(err)
	}
	log.Info("careless", "token", "tok-123", "Authorization", "Bearer tok-456", "api_key", "sk-789", "tokens", 12)
	out := buf.String()
	for _, secret := range []string{"tok-123", "tok-456", "sk-789"} {
		if strings.Contains(out, secret) {
			t.Errorf("log leaks %q: %s", secret, out)
		}
	}
	if !strings.Contains(out, `"tokens":12`) {
		t.Errorf("a token count is not a secret and must stay: %s", out)
	}
}

func TestLoggerLevelAndContextOutsideRequests(t *testing.T) {
	var buf bytes.Buffer
	log, err := NewLogger(&buf, "WARNING", "test")
	if err != nil {
		t.Fatal(err)
	}
	ctx := WithRequestID(context.Background(), "job-1")
	log.InfoContext(ctx, "dropped at warn level")
	log.WarnContext(ctx, "kept")
	if strings.Contains(buf.String(), "dropped") || !strings.Contains(buf.String(), `"request_id":"job-1"`) {
		t.Fatalf("unexpected output: %s", buf.String())
	}
	if strings.Contains(buf.String(), "user_id") {
		t.Fatalf("no user was set, yet a user_id was logged: %s", buf.String())
	}
}

func TestParseLevel(t *testing.T) {
	tests := []struct {
		in      string
		want    slog.Level
		wantErr bool
	}{
		{"", slog.LevelInfo, false},
		{"debug", slog.LevelDebug, false},
		{"INFO", slog.LevelInfo, false},
		{"warn", slog.LevelWarn, false},
		{"Warning", slog.LevelWarn, false},
		{"error", slog.LevelError, false},
		{"verbose", 0, true},
	}
	for _, tc := range tests {
		got, err := ParseLevel(tc.in)
		if (err != nil) != tc.wantErr || (!tc.wantErr && got != tc.want) {
			t.Errorf("ParseLevel(%q) = %v, %v; want %v, err=%v", tc.in, got, err, tc.want, tc.wantErr)
		}
		if err != nil && !strings.Contains(err.Error(), "LOG_LEVEL") {
			t.Errorf("error %q does not name LOG_LEVEL", err)
		}
	}
}

func TestHTTPMetricsUseRoutePatterns(t *testing.T) {
	s := newTestService(t)
	s.do(t, "GET", "/items/1", nil)
	s.do(t, "GET", "/items/2", nil)
	s.do(t, "GET", "/api/tasks", nil) // no token: 401
	s.do(t, "POST", "/boom", nil)
	s.do(t, "GET", "/random/scanner/path", nil)
	s.do(t, "DELETE", "/items/3", nil) // 405: matched no pattern

	tests := []struct {
		route, status string
		want          float64
	}{
		{"GET /items/{id}", "200", 2},
		{"GET /api/tasks", "401", 1},
		{"POST /boom", "500", 1},
		{"unmatched", "404", 1},
		{"unmatched", "405", 1},
	}
	for _, tc := range tests {
		if got := testutil.ToFloat64(s.http.requests.WithLabelValues(tc.route, tc.status)); got != tc.want {
			t.Errorf("requests{route=%q,status=%q} = %v, want %v", tc.route, tc.status, got, tc.want)
		}
	}
	if n := testutil.CollectAndCount(s.http.requests); n != len(tests) {
		t.Errorf("%d request series, want %d: raw paths must never become labels", n, len(tests))
	}
	if got := histogramCount(t, s.reg, "taskwire_http_request_duration_seconds", "route", "GET /items/{id}"); got != 2 {
		t.Errorf("latency observations for GET /items/{id} = %d, want 2", got)
	}
	if !strings.Contains(s.logs.String(), `"level":"ERROR","msg":"http request"`) {
		t.Errorf("a 500 must be logged at error level:\n%s", s.logs)
	}
}

func TestMetricsHandlerServesTheServiceRegistry(t *testing.T) {
	s := newTestService(t)
	s.do(t, "GET", "/items/1", nil)
	rec := httptest.NewRecorder()
	MetricsHandler(s.reg).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{`taskwire_http_requests_total{route="GET /items/{id}",status="200"} 1`, "go_goroutines", "process_cpu_seconds_total"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	lint(t, s.reg)
}

func TestMiddlewareKeepsStreamingWorking(t *testing.T) {
	var logs bytes.Buffer
	log, _ := NewLogger(&logs, "info", "test")
	h := NewHTTP(NewRegistry(), log)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /chatkit", func(w http.ResponseWriter, r *http.Request) {
		f, ok := w.(http.Flusher)
		if !ok {
			t.Error("the middleware's writer hides http.Flusher")
			return
		}
		if err := http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
			t.Errorf("ResponseController cannot reach the real writer: %v", err)
		}
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: one\n\n")
		f.Flush()
		_, _ = io.WriteString(w, "data: two\n\n")
	})
	srv := httptest.NewServer(h.Middleware(mux))
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/chatkit", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "data: one\n\ndata: two\n\n" {
		t.Fatalf("body %q", body)
	}
	if got := testutil.ToFloat64(h.requests.WithLabelValues("POST /chatkit", "200")); got != 1 {
		t.Fatalf("streamed request counted %v times", got)
	}
}

func TestTransportPropagatesRequestID(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get(RequestIDHeader))
	}))
	defer srv.Close()
	client := &http.Client{Transport: Transport(nil)}
	for _, tc := range []struct{ ctxID, header string }{{"from-ctx", ""}, {"from-ctx", "explicit"}, {"", ""}} {
		ctx := context.Background()
		if tc.ctxID != "" {
			ctx = WithRequestID(ctx, tc.ctxID)
		}
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
		if tc.header != "" {
			req.Header.Set(RequestIDHeader, tc.header)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if tc.header == "" && req.Header.Get(RequestIDHeader) != "" {
			t.Fatal("Transport modified the caller's request")
		}
	}
	want := []string{"from-ctx", "explicit", ""}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("X-Request-Id seen by server = %q, want %q", got, want)
	}
}

func TestToolMetrics(t *testing.T) {
	tests := []struct {
		name string
		new  func(prometheus.Registerer) *ToolMetrics
		prom string
	}{
		{"server", NewToolMetrics, "taskwire_mcp_tool_calls_total"},
		{"proxy client", NewMCPClientMetrics, "taskwire_proxy_mcp_tool_calls_total"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			m := tc.new(reg)
			m.Observe("add_task", OutcomeOK, 3*time.Millisecond)
			m.Observe("add_task", OutcomeOK, 4*time.Millisecond)
			m.Observe("complete_task", OutcomeToolError, time.Millisecond)
			if got := testutil.ToFloat64(m.calls.WithLabelValues("add_task", OutcomeOK)); got != 2 {
				t.Errorf("add_task ok = %v, want 2", got)
			}
			if got := testutil.ToFloat64(m.calls.WithLabelValues("complete_task", OutcomeToolError)); got != 1 {
				t.Errorf("complete_task tool_error = %v, want 1", got)
			}
			if got := histogramCount(t, reg, strings.TrimSuffix(tc.prom, "_calls_total")+"_duration_seconds", "tool", "add_task"); got != 2 {
				t.Errorf("add_task latency observations = %d, want 2", got)
			}
			// Names a model made up must not grow the series without bound.
			for i := range 100 {
				m.Observe(fmt.Sprintf("made_up_%d", i), OutcomeError, time.Millisecond)
			}
			if n := testutil.CollectAndCount(m.calls); n > maxToolLabels+2 {
				t.Errorf("%d series after 100 made-up names, want at most %d", n, maxToolLabels+2)
			}
			if got := testutil.ToFloat64(m.calls.WithLabelValues(otherLabel, OutcomeError)); got == 0 {
				t.Error("overflowing names are not counted under \"other\"")
			}
			lint(t, reg)
		})
	}
}

func TestLLMMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewLLMMetrics(reg)
	m.Observe(LLMCall{Provider: "openai", Model: "gpt-4.1-mini", Outcome: OutcomeOK, Latency: 2 * time.Second,
		TimeToFirstToken: 300 * time.Millisecond, PromptTokens: 120, CompletionTokens: 30})
	m.Observe(LLMCall{Provider: "openai", Model: "gpt-4.1-mini", Outcome: OutcomeError, Latency: time.Second})

	if got := testutil.ToFloat64(m.tokens.WithLabelValues("openai", "gpt-4.1-mini", "prompt")); got != 120 {
		t.Errorf("prompt tokens = %v, want 120", got)
	}
	if got := testutil.ToFloat64(m.tokens.WithLabelValues("openai", "gpt-4.1-mini", "completion")); got != 30 {
		t.Errorf("completion tokens = %v, want 30", got)
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues("openai", "gpt-4.1-mini", OutcomeError)); got != 1 {
		t.Errorf("error requests = %v, want 1", got)
	}
	if got := histogramCount(t, reg, "taskwire_llm_request_duration_seconds", "model", "gpt-4.1-mini"); got != 2 {
		t.Errorf("latency observations = %d, want 2", got)
	}
	if got := histogramCount(t, reg, "taskwire_llm_time_to_first_token_seconds", "model", "gpt-4.1-mini"); got != 1 {
		t.Errorf("TTFT observations = %d, want 1 (a request with no token has no TTFT)", got)
	}
	lint(t, reg)
}

func TestPoolCollectorReadsARealPool(t *testing.T) {
	pool := pgtest.Pool(t)
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewPoolCollector(pool))
	conn, err := pool.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()

	got := gatherValues(t, reg)
	want := map[string]float64{
		"taskwire_db_pool_acquired_conns": 1,
		"taskwire_db_pool_max_conns":      float64(pool.Config().MaxConns),
	}
	for name, v := range want {
		if got[name] != v {
			t.Errorf("%s = %v, want %v", name, got[name], v)
		}
	}
	if got["taskwire_db_pool_total_conns"] < 1 || got["taskwire_db_pool_acquires_total"] < 1 || got["taskwire_db_pool_new_conns_total"] < 1 {
		t.Errorf("counters do not reflect the acquire: %v", got)
	}
	if len(got) != len(poolMetrics) {
		t.Errorf("%d pool metrics, want %d", len(got), len(poolMetrics))
	}
	lint(t, reg)
}

// gatherValues maps each unlabelled gauge or counter of reg to its value.
func gatherValues(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch {
			case m.GetGauge() != nil:
				out[mf.GetName()] = m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				out[mf.GetName()] = m.GetCounter().GetValue()
			}
		}
	}
	return out
}

// histogramCount is the number of observations of histogram name in the series whose label
// key has value val.
func histogramCount(t *testing.T, reg *prometheus.Registry, name, key, val string) uint64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == key && l.GetValue() == val {
					return m.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	return 0
}

// lint fails the test on any problem promlint finds (naming, units, help text).
func lint(t *testing.T, reg *prometheus.Registry) {
	t.Helper()
	problems, err := testutil.GatherAndLint(reg)
	if err != nil || len(problems) > 0 {
		t.Errorf("metrics lint: %v %v", err, problems)
	}
}

package obs

import (
	"net/http"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewRegistry is a service's own registry with the Go runtime, process and build-info
// collectors. Services register their metrics on it and serve it with MetricsHandler; the
// global default registry is never used.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector(),
	)
	return reg
}

// MetricsHandler serves reg in the Prometheus exposition format (GET /metrics).
func MetricsHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}

// Outcomes of a tool call, the values of the outcome label.
const (
	OutcomeOK        = "ok"         // the tool did its work
	OutcomeToolError = "tool_error" // the tool answered with an error result (bad input, not found)
	OutcomeError     = "error"      // the call itself failed (transport, timeout, internal error)
)

// otherLabel replaces label values beyond a labelGuard's limit.
const otherLabel = "other"

// labelGuard bounds the distinct values of a label whose values come from outside — a tool
// name a model made up, a model name from configuration — so no input can grow the number of
// time series without bound.
type labelGuard struct {
	mu   sync.Mutex
	max  int
	seen map[string]struct{}
}

func newLabelGuard(max int) *labelGuard {
	return &labelGuard{max: max, seen: make(map[string]struct{}, max)}
}

func (g *labelGuard) value(v string) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.seen[v]; ok {
		return v
	}
	if len(g.seen) >= g.max {
		return otherLabel
	}
	g.seen[v] = struct{}{}
	return v
}

// maxToolLabels and maxModelLabels are far above the real counts (five tools, a model or two).
const (
	maxToolLabels  = 32
	maxModelLabels = 16
)

// ToolMetrics counts MCP tool calls by tool and outcome and times them by tool.
type ToolMetrics struct {
	names    *labelGuard
	calls    *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewToolMetrics registers the metrics of the tool calls mcpserver serves
// (taskwire_mcp_tool_calls_total, taskwire_mcp_tool_duration_seconds).
func NewToolMetrics(reg prometheus.Registerer) *ToolMetrics {
	return newToolMetrics(reg, "taskwire_mcp_tool", "MCP tool calls served")
}

// NewMCPClientMetrics registers the metrics of the tool calls chatproxy makes to mcpserver
// (taskwire_proxy_mcp_tool_calls_total, taskwire_proxy_mcp_tool_duration_seconds): the
// proxy's view includes the network and mcpserver's queueing.
func NewMCPClientMetrics(reg prometheus.Registerer) *ToolMetrics {
	return newToolMetrics(reg, "taskwire_proxy_mcp_tool", "MCP tool calls made by chatproxy to mcpserver")
}

func newToolMetrics(reg prometheus.Registerer, prefix, what string) *ToolMetrics {
	m := &ToolMetrics{
		names: newLabelGuard(maxToolLabels),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: prefix + "_calls_total",
			Help: what + ", by tool and outcome (ok, tool_error, error).",
		}, []string{"tool", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    prefix + "_duration_seconds",
			Help:    what + ", latency by tool.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"tool"}),
	}
	reg.MustRegister(m.calls, m.duration)
	return m
}

// Observe records one call of tool that ended with outcome (OutcomeOK, OutcomeToolError or
// OutcomeError) after d.
func (m *ToolMetrics) Observe(tool, outcome string, d time.Duration) {
	tool = m.names.value(tool)
	m.calls.WithLabelValues(tool, outcome).Inc()
	m.duration.WithLabelValues(tool).Observe(d.Seconds())
}

// LLMCall is what the agent loop knows about one chat-completions request once it has ended.
type LLMCall struct {
	Provider string // "openai", "gemini", "openai-compatible", ...
	Model    string
	Outcome  string // OutcomeOK or OutcomeError
	// Latency is from sending the request to the end of the stream.
	Latency time.Duration
	// TimeToFirstToken is from sending the request to the first content or tool-call delta;
	// zero when none arrived (it is then not observed).
	TimeToFirstToken time.Duration
	// PromptTokens and CompletionTokens come from the provider's usage report; zero when it
	// sent none.
	PromptTokens, CompletionTokens int
}

// LLMMetrics records chatproxy's model requests.
type LLMMetrics struct {
	models   *labelGuard
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	ttft     *prometheus.HistogramVec
	tokens   *prometheus.CounterVec
}

// NewLLMMetrics registers taskwire_llm_requests_total, taskwire_llm_request_duration_seconds,
// taskwire_llm_time_to_first_token_seconds and taskwire_llm_tokens_total (kind=prompt or
// completion), all labelled by provider and model.
func NewLLMMetrics(reg prometheus.Registerer) *LLMMetrics {
	buckets := []float64{.1, .25, .5, 1, 2, 4, 8, 15, 30, 60, 120}
	m := &LLMMetrics{
		models: newLabelGuard(maxModelLabels),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "taskwire_llm_requests_total",
			Help: "Chat-completions requests by provider, model and outcome.",
		}, []string{"provider", "model", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "taskwire_llm_request_duration_seconds",
			Help:    "Chat-completions latency, request to end of stream.",
			Buckets: buckets,
		}, []string{"provider", "model"}),
		ttft: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "taskwire_llm_time_to_first_token_seconds",
			Help:    "Time from request to the first streamed delta: what a user waits before text appears.",
			Buckets: buckets,
		}, []string{"provider", "model"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "taskwire_llm_tokens_total",
			Help: "Tokens reported by the provider, by kind (prompt, completion).",
		}, []string{"provider", "model", "kind"}),
	}
	reg.MustRegister(m.requests, m.latency, m.ttft, m.tokens)
	return m
}

// Observe records one finished model request.
func (m *LLMMetrics) Observe(c LLMCall) {
	provider, model := c.Provider, c.Model
	if m.models.value(provider+"\x00"+model) == otherLabel {
		provider, model = otherLabel, otherLabel
	}
	m.requests.WithLabelValues(provider, model, c.Outcome).Inc()
	m.latency.WithLabelValues(provider, model).Observe(c.Latency.Seconds())
	if c.TimeToFirstToken > 0 {
		m.ttft.WithLabelValues(provider, model).Observe(c.TimeToFirstToken.Seconds())
	}
	if c.PromptTokens > 0 {
		m.tokens.WithLabelValues(provider, model, "prompt").Add(float64(c.PromptTokens))
	}
	if c.CompletionTokens > 0 {
		m.tokens.WithLabelValues(provider, model, "completion").Add(float64(c.CompletionTokens))
	}
}

// PoolStater is what the pool collector reads; *pgxpool.Pool satisfies it.
type PoolStater interface{ Stat() *pgxpool.Stat }

// poolCollector turns pgxpool statistics into metrics at scrape time, so they cost nothing
// between scrapes and are never stale.
type poolCollector struct {
	pool PoolStater
	desc map[string]*prometheus.Desc
}

// poolMetrics lists the pool's statistics: name, help, whether it is a counter, and how to
// read it from a snapshot.
var poolMetrics = []struct {
	name, help string
	counter    bool
	read       func(*pgxpool.Stat) float64
}{
	{"acquired_conns", "Connections currently in use.", false, func(s *pgxpool.Stat) float64 { return float64(s.AcquiredConns()) }},
	{"idle_conns", "Connections idle in the pool.", false, func(s *pgxpool.Stat) float64 { return float64(s.IdleConns()) }},
	{"constructing_conns", "Connections being opened.", false, func(s *pgxpool.Stat) float64 { return float64(s.ConstructingConns()) }},
	{"total_conns", "All connections the pool holds.", false, func(s *pgxpool.Stat) float64 { return float64(s.TotalConns()) }},
	{"max_conns", "The pool's size limit.", false, func(s *pgxpool.Stat) float64 { return float64(s.MaxConns()) }},
	{"acquires_total", "Successful connection acquires.", true, func(s *pgxpool.Stat) float64 { return float64(s.AcquireCount()) }},
	{"acquire_duration_seconds_total", "Time spent acquiring connections.", true, func(s *pgxpool.Stat) float64 { return s.AcquireDuration().Seconds() }},
	{"canceled_acquires_total", "Acquires canceled by their context.", true, func(s *pgxpool.Stat) float64 { return float64(s.CanceledAcquireCount()) }},
	{"empty_acquires_total", "Acquires that had to wait for a connection: a sign the pool is too small.", true, func(s *pgxpool.Stat) float64 { return float64(s.EmptyAcquireCount()) }},
	{"empty_acquire_wait_seconds_total", "Time spent waiting in acquires that found the pool empty.", true, func(s *pgxpool.Stat) float64 { return s.EmptyAcquireWaitTime().Seconds() }},
	{"new_conns_total", "Connections opened.", true, func(s *pgxpool.Stat) float64 { return float64(s.NewConnsCount()) }},
	{"max_lifetime_destroys_total", "Connections closed for reaching their maximum lifetime.", true, func(s *pgxpool.Stat) float64 { return float64(s.MaxLifetimeDestroyCount()) }},
	{"max_idle_destroys_total", "Connections closed for idling too long.", true, func(s *pgxpool.Stat) float64 { return float64(s.MaxIdleDestroyCount()) }},
}

// NewPoolCollector reports pool's statistics as taskwire_db_pool_* metrics; register it on the
// service's registry.
func NewPoolCollector(pool PoolStater) prometheus.Collector {
	c := &poolCollector{pool: pool, desc: make(map[string]*prometheus.Desc, len(poolMetrics))}
	for _, m := range poolMetrics {
		c.desc[m.name] = prometheus.NewDesc("taskwire_db_pool_"+m.name, m.help, nil, nil)
	}
	return c
}

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range poolMetrics {
		ch <- c.desc[m.name]
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.pool.Stat()
	for _, m := range poolMetrics {
		kind := prometheus.GaugeValue
		if m.counter {
			kind = prometheus.CounterValue
		}
		ch <- prometheus.MustNewConstMetric(c.desc[m.name], kind, m.read(s))
	}
}

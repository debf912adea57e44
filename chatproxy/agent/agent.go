// Package agent is the assistant behind chatproxy's ChatKit server: a model loop (package llm)
// whose tools are mcpserver's, called over MCP as the same user (package mcpclient). It turns a
// ChatKit turn into model input (the stored history, trimmed to a budget), streams the model's
// text as it arrives, runs the tool calls it asks for (shown as a workflow), stores calls and
// results as hidden items for later turns, tells the page when tasks changed, and names new
// threads. It never reads task tables: everything about tasks goes through mcpserver.
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/sashabaranov/go-openai"
	"github.com/taskwire/taskwire/chatproxy/chatkit"
	"github.com/taskwire/taskwire/chatproxy/llm"
	"github.com/taskwire/taskwire/chatproxy/mcpclient"
	"github.com/taskwire/taskwire/internal/obs"
)

// Defaults of Config.
const (
	DefaultMaxSteps      = 8
	DefaultHistoryBudget = 60000
	// historyItems is how many stored items are read per turn before the character budget
	// trims them further; it only bounds the database read.
	historyItems = 400
)

// Config is what an Agent needs. LLM and MCP are required.
type Config struct {
	LLM    *llm.Client
	MCP    *mcpclient.Client
	Logger *slog.Logger
	// MaxSteps bounds the model calls of one turn, so a model that keeps calling tools cannot
	// loop forever; 0 means DefaultMaxSteps.
	MaxSteps int
	// HistoryBudget is the most characters of history sent to the model (messages, tool
	// arguments and results; the system prompt is not counted); 0 means
	// DefaultHistoryBudget. The oldest messages go first.
	HistoryBudget int
	LLMMetrics    *obs.LLMMetrics  // may be nil
	ToolMetrics   *obs.ToolMetrics // may be nil
	// Now is the clock for "today" in the system prompt; nil means time.Now.
	Now func() time.Time
}

// Agent is the chatkit.Responder of taskwire. It holds no per-turn state and is safe for
// concurrent use.
type Agent struct {
	cfg Config
	log *slog.Logger
	// tools is mcpserver's last tool list as the model and the agent use it. mcpclient hands
	// out the same cached slice until it refreshes it, so the conversions (a JSON round trip
	// per tool schema for the model's definitions and again for the catalog's traits, together
	// a third of a turn's CPU) run once per refresh instead of once per turn.
	tools atomic.Pointer[toolSet]
}

// toolSet is one tool list, converted.
type toolSet struct {
	list    []mcp.Tool
	defs    []openai.Tool     // function definitions for the model
	catalog mcpclient.Catalog // what each tool declares
}

// toolSet returns mcpserver's tools converted, reusing the last conversion while mcpclient
// hands out the same slice.
func (a *Agent) toolSet(ctx context.Context, user mcpclient.User) (*toolSet, error) {
	tools, err := a.cfg.MCP.Tools(ctx, user)
	if err != nil {
		return nil, a.mcpError(ctx, err)
	}
	if t := a.tools.Load(); t != nil && len(t.list) == len(tools) && len(tools) > 0 && &t.list[0] == &tools[0] {
		return t, nil
	}
	defs, err := mcpclient.OpenAITools(tools)
	if err != nil {
		return nil, fmt.Errorf("convert mcpserver tools: %w", err)
	}
	t := &toolSet{list: tools, defs: defs, catalog: mcpclient.NewCatalog(tools)}
	a.tools.Store(t)
	return t, nil
}

// New returns an Agent; zero Config fields get their defaults.
func New(cfg Config) *Agent {
	if cfg.MaxSteps <= 0 {
		cfg.MaxSteps = DefaultMaxSteps
	}
	if cfg.HistoryBudget <= 0 {
		cfg.HistoryBudget = DefaultHistoryBudget
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Agent{cfg: cfg, log: cfg.Logger}
}

// HistoryItems implements chatkit.HistoryReader: Respond reads this many stored items, which
// the server then reads with the thread's lock, in the same round trip.
func (a *Agent) HistoryItems() int { return historyItems }

var _ chatkit.HistoryReader = (*Agent)(nil)

// Messages the user sees when a turn cannot go on.
const (
	msgMCPDown = "The task service is unavailable right now, so I could not work on your tasks. " +
		"Your message is saved: try again in a moment."
	msgMCPAuth = "The task service refused this assistant's credentials (a server configuration " +
		"problem). Your message is saved: try again once it is fixed."
	msgLLMDown   = "The language model is unavailable right now. Your message is saved: try again in a moment."
	msgLLMBroke  = "The language model's answer broke off. Try again."
	msgLLMFailed = "The language model could not answer this request. Try again, or rephrase it."
)

// Respond implements chatkit.Responder: one user turn, up to MaxSteps model calls.
func (a *Agent) Respond(ctx context.Context, turn *chatkit.Turn, s *chatkit.Stream) error {
	switch turn.Kind {
	case chatkit.TurnUserMessage, chatkit.TurnRetry:
	case chatkit.TurnAction:
		return a.respondToAction(ctx, turn, s)
	default:
		return chatkit.CustomError(msgNotSupported, false)
	}
	if !a.cfg.LLM.Configured() {
		return chatkit.CustomError(llm.ErrNotConfigured.Error(), false)
	}
	user := mcpclient.User{ID: turn.Caller.UserID, Token: turn.Caller.Token}
	tools, err := a.toolSet(ctx, user)
	if err != nil {
		return err
	}
	items, err := turn.History(ctx, historyItems)
	if err != nil {
		return err
	}
	msgs := append([]llm.Message{{Role: llm.RoleSystem, Content: systemPrompt(a.cfg.Now(), clientZone(turn.Caller), turn.Caller.Locale)}},
		trimHistory(historyMessages(items), a.cfg.HistoryBudget)...)

	naming := turn.Thread.Title == nil && turn.Input != nil
	r := &run{a: a, s: s, user: user, tools: tools.catalog, zone: headerZone(turn.Caller), answerEnds: !naming}
	defer r.closeWorkflow()
	reply, err := r.loop(ctx, llm.Request{Messages: msgs, Tools: tools.defs})
	if err != nil || r.ended {
		return err
	}
	if err := r.settle(); err != nil {
		return err
	}
	if naming {
		a.nameThread(ctx, s, turn.Input.Text(), reply)
	}
	return nil
}

// run is the state of one turn: the stream, the open workflow and the text of the answer.
type run struct {
	a    *Agent
	s    *chatkit.Stream
	user mcpclient.User
	wf   *chatkit.WorkflowWriter // open while consecutive tool steps run
	// tools says which tools change tasks, return lists or take a time zone.
	tools mcpclient.Catalog
	// widgets wait for the open workflow to end, so consecutive tool steps share one
	// workflow and the widgets follow it.
	widgets []*widgetState
	// zone is the browser's IANA time zone ("" when it sent none), given to tools that
	// take a timezone argument the model left out.
	zone string
	// answerEnds: nothing follows the model's final answer (no thread title to make), so
	// that message is stored as the thread is given back (DoneLast); ended: it was.
	answerEnds, ended bool
}

// loop calls the model until it answers without tool calls or MaxSteps calls were made, and
// returns the last text it wrote.
func (r *run) loop(ctx context.Context, req llm.Request) (string, error) {
	for step := 1; ; step++ {
		t, err := r.step(ctx, req)
		if err != nil {
			return "", err
		}
		if len(t.ToolCalls) == 0 {
			return t.Text, nil
		}
		if step >= r.a.cfg.MaxSteps {
			// The calls of this step are not run: the model would never see their results.
			text := fmt.Sprintf("I stopped after %d steps without finishing, which is the most I take for one message. "+
				"Nothing more was changed. Tell me to continue if you want me to go on.", r.a.cfg.MaxSteps)
			return text, r.say(text)
		}
		results, err := r.runTools(ctx, t.ToolCalls)
		if err != nil {
			return "", err
		}
		call := t.AssistantMessage()
		req.Messages = append(req.Messages, call)
		req.Messages = append(req.Messages, results...)
	}
}

// step makes one streamed model call, showing its text as it arrives.
func (r *run) step(ctx context.Context, req llm.Request) (llm.Turn, error) {
	var msg *chatkit.MessageWriter
	start := time.Now()
	t, err := r.a.cfg.LLM.Stream(ctx, req, func(delta string) error {
		if msg != nil {
			return msg.Delta(delta)
		}
		if err := r.settle(); err != nil {
			return err
		}
		var err error
		msg, err = r.s.StartMessageWith(delta)
		return err
	})
	r.a.observeLLM(t, err, time.Since(start))
	if ctx.Err() != nil {
		// The client left: the server keeps the text shown so far.
		return t, context.Cause(ctx)
	}
	if msg != nil && (err == nil || errors.Is(err, llm.ErrInterrupted)) {
		// The final answer (no tool calls) may be the turn's last output; widgets were
		// shown when its text began (settle), so nothing waits for after it.
		done := msg.Done
		if last := err == nil && len(t.ToolCalls) == 0 && r.answerEnds && len(r.widgets) == 0; last {
			done, r.ended = msg.DoneLast, true
		}
		if _, derr := done(); derr != nil {
			return t, derr
		}
	}
	if err != nil {
		return t, r.a.llmError(ctx, err)
	}
	return t, nil
}

// say adds a whole assistant message.
func (r *run) say(text string) error {
	if err := r.settle(); err != nil {
		return err
	}
	msg, err := r.s.StartMessageWith(text)
	if err != nil {
		return err
	}
	_, err = msg.Done()
	return err
}

// settle ends the open workflow and shows the task widgets its steps produced, before the
// assistant writes text or the turn ends.
func (r *run) settle() error {
	r.closeWorkflow()
	widgets := r.widgets
	r.widgets = nil
	for _, st := range widgets {
		if err := r.showWidget(st); err != nil {
			return err
		}
	}
	return nil
}

// closeWorkflow ends the open workflow, if any (thread.item.done with its duration).
func (r *run) closeWorkflow() {
	if r.wf == nil {
		return
	}
	if _, err := r.wf.Done(nil); err != nil {
		r.a.log.Debug("agent: closing workflow failed", "error", err)
	}
	r.wf = nil
}

// llmError chooses the error event of a failed model call.
func (a *Agent) llmError(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, llm.ErrNotConfigured):
		return chatkit.CustomError(err.Error(), false)
	case errors.Is(err, llm.ErrUnavailable):
		a.log.WarnContext(ctx, "agent: model unavailable", "error", err)
		return chatkit.CustomError(msgLLMDown, true)
	case errors.Is(err, llm.ErrInterrupted):
		a.log.WarnContext(ctx, "agent: model answer broke off", "error", err)
		return chatkit.CustomError(msgLLMBroke, true)
	}
	var se *chatkit.StreamError
	if errors.As(err, &se) {
		return err
	}
	a.log.ErrorContext(ctx, "agent: model call failed", "error", err)
	return chatkit.CustomError(msgLLMFailed, true)
}

// mcpError chooses the error event when mcpserver cannot be used at all.
func (a *Agent) mcpError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	a.log.WarnContext(ctx, "agent: mcpserver failed", "error", err)
	if errors.Is(err, mcpclient.ErrUnauthorized) {
		return chatkit.CustomError(msgMCPAuth, true)
	}
	return chatkit.CustomError(msgMCPDown, true)
}

func (a *Agent) observeLLM(t llm.Turn, err error, d time.Duration) {
	if a.cfg.LLMMetrics == nil {
		return
	}
	c := obs.LLMCall{Provider: t.Provider, Model: t.Model, Outcome: obs.OutcomeOK, Latency: d, TimeToFirstToken: t.TimeToFirstToken}
	if c.Provider == "" {
		if ps := a.cfg.LLM.Providers(); len(ps) > 0 {
			c.Provider, c.Model = ps[0].Kind, ps[0].Model
		}
	}
	if err != nil {
		c.Outcome = obs.OutcomeError
	}
	if t.Usage != nil {
		c.PromptTokens, c.CompletionTokens = t.Usage.PromptTokens, t.Usage.CompletionTokens
	}
	a.cfg.LLMMetrics.Observe(c)
}

package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/taskwire/taskwire/chatproxy/chatkit"
	"github.com/taskwire/taskwire/chatproxy/llm"
	"github.com/taskwire/taskwire/chatproxy/mcpclient"
	"github.com/taskwire/taskwire/internal/obs"
)

// EffectTasksChanged is the client_effect sent after tool calls that changed tasks, with
// data {"task_ids":[…]}, so the page can refresh its task view.
const EffectTasksChanged = "tasks.changed"

// callOutcome is one finished tool call.
type callOutcome struct {
	rec    toolRun
	failed error // mcpserver could not be used (the turn ends after this step)
	taskID *int  // the changed task, on success of a changing tool
	// widget is the state of the task widget to show for this call's result, if any.
	widget *widgetState
}

// runTools runs one step's calls concurrently as the turn's user, shows them as workflow
// tasks, stores calls and results as one hidden item, queues a task widget for each task list
// or changed task that came back (shown when the workflow ends), sends tasks.changed, and
// returns the tool messages for the model. If mcpserver could not be reached the step is
// still stored (each failed call with a result saying so) and the turn ends with an error
// event.
func (r *run) runTools(ctx context.Context, calls []llm.ToolCall) ([]llm.Message, error) {
	if r.wf == nil {
		wf, err := r.s.StartWorkflow(false)
		if err != nil {
			return nil, err
		}
		r.wf = wf
	}
	idx := make([]int, len(calls))
	for i, c := range calls {
		var err error
		if idx[i], err = r.wf.AddTask(workflowTask(c, nil)); err != nil {
			return nil, err
		}
	}
	out := make([]callOutcome, len(calls))
	var wg sync.WaitGroup
	for i, c := range calls {
		wg.Go(func() {
			out[i] = r.call(ctx, c)
			if err := r.wf.UpdateTask(idx[i], workflowTask(c, &out[i].rec)); err != nil {
				r.a.log.Debug("agent: updating workflow task failed", "error", err)
			}
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}

	step := toolStep{Type: toolStepType, Calls: make([]toolRun, len(out))}
	msgs := make([]llm.Message, len(out))
	var changed []int
	var failed error
	listed := len(r.widgets) // widgets of earlier steps, which this step's changes may outdate
	for i, o := range out {
		if o.taskID != nil && refreshListed(r.widgets[:listed], *o.taskID, o.rec.Structured) {
			o.widget = nil // a list above already shows the change
		}
		if o.widget != nil {
			r.widgets = append(r.widgets, o.widget)
		}
		step.Calls[i] = o.rec
		msgs[i] = o.rec.message()
		if o.taskID != nil {
			changed = append(changed, *o.taskID)
		}
		if o.failed != nil && failed == nil {
			failed = o.failed
		}
	}
	if _, err := r.s.AddHidden(step); err != nil {
		return nil, err
	}
	if len(changed) > 0 {
		if err := r.s.Effect(EffectTasksChanged, map[string]any{"task_ids": changed}); err != nil {
			return nil, err
		}
	}
	if failed != nil {
		return nil, r.a.mcpError(ctx, failed)
	}
	return msgs, nil
}

// call runs one tool call. Bad arguments and tool errors become results for the model.
func (r *run) call(ctx context.Context, c llm.ToolCall) callOutcome {
	if err := c.Validate(); err != nil {
		o := callOutcome{rec: toolRun{ID: c.ID, Name: c.Name, Arguments: c.Arguments, ProviderExtra: c.ProviderExtra}}
		o.rec.Result, o.rec.IsError = "Error: "+err.Error(), true
		return o
	}
	traits := r.tools[c.Name]
	if traits.TakesTimezone && r.zone != "" {
		c.Arguments = withDefault(c.Arguments, "timezone", r.zone)
	}
	o := callOutcome{rec: toolRun{ID: c.ID, Name: c.Name, Arguments: c.Arguments, ProviderExtra: c.ProviderExtra}}
	start := time.Now()
	res, err := r.a.cfg.MCP.CallTool(ctx, r.user, c.Name, json.RawMessage(c.Arguments))
	outcome := obs.OutcomeOK
	switch {
	case err != nil && errors.Is(err, mcpclient.ErrRejected):
		// The model asked for something mcpserver does not offer: let it correct itself.
		outcome = obs.OutcomeToolError
		o.rec.Result, o.rec.IsError = "Error: "+err.Error(), true
	case err != nil:
		outcome = obs.OutcomeError
		o.failed = err
		o.rec.Result, o.rec.IsError = "Error: the task service could not be reached; this call was not carried out.", true
	default:
		o.rec.Result, o.rec.Structured, o.rec.IsError = res.ForModel(), res.Structured, res.IsError
		switch {
		case res.IsError:
			outcome = obs.OutcomeToolError
		case traits.ReturnsList:
			if st, err := listState(c.Arguments, res.Structured); err == nil {
				o.widget = &st
			}
		case !traits.ReadOnly && traits.ReturnsTask:
			o.taskID = taskIDOf(res.Structured)
			if st, ok := taskState(res.Structured); ok {
				o.widget = &st
			}
		}
	}
	if r.a.cfg.ToolMetrics != nil {
		r.a.cfg.ToolMetrics.Observe(c.Name, outcome, time.Since(start))
	}
	return o
}

// withDefault sets key to value in the JSON object args unless the object has it already.
// Arguments that are not an object are left for mcpserver to refuse.
func withDefault(args, key, value string) string {
	var m map[string]json.RawMessage
	if json.Unmarshal([]byte(args), &m) != nil || m == nil {
		if strings.TrimSpace(args) != "" {
			return args
		}
		m = map[string]json.RawMessage{}
	}
	if v, ok := m[key]; ok && string(v) != "null" {
		return args
	}
	m[key], _ = json.Marshal(value)
	b, err := json.Marshal(m)
	if err != nil {
		return args
	}
	return string(b)
}

// refreshListed puts a changed task into the waiting list widgets that show it (a turn that
// lists and then completes shows the list as it ends up) and reports whether any did.
func refreshListed(widgets []*widgetState, id int, structured json.RawMessage) bool {
	shown := false
	for _, st := range widgets {
		if st.List == nil || !slices.ContainsFunc(st.Tasks, func(t widgetTask) bool { return t.TaskID == id }) {
			continue
		}
		st.Tasks = updatedTasks(st.Tasks, id, structured)
		shown = true
	}
	return shown
}

// showWidget adds a task widget for st, with the hidden item that keeps st for the
// widget's actions.
func (r *run) showWidget(st *widgetState) error {
	tree, copyText := renderWidget(*st, r.tools.Has(toolRestore))
	w := &chatkit.WidgetItem{ItemBase: chatkit.ItemBase{ID: chatkit.NewID(chatkit.PrefixWidget)}, Widget: tree}
	if copyText != "" {
		w.CopyText = &copyText
	}
	// The state goes first: a widget on screen always has what its actions need.
	st.WidgetID = w.ID
	state, err := st.item()
	if err != nil {
		return err
	}
	if err := r.s.AddItem(state); err != nil {
		return err
	}
	return r.s.AddItem(w)
}

func taskIDOf(structured json.RawMessage) *int {
	var v struct {
		TaskID *int `json:"task_id"`
	}
	if json.Unmarshal(structured, &v) != nil {
		return nil
	}
	return v.TaskID
}

// callArgs are the arguments the workflow titles mention.
type callArgs struct {
	Title     string `json:"title"`
	TaskID    *int   `json:"task_id"`
	Completed *bool  `json:"completed"`
}

// workflowTask is the row shown for a call: loading while res is nil, then what happened
// (“Added ‘Buy milk’”, “Completed task 3”, “Listed 4 tasks”) or “Couldn't …” with the error.
func workflowTask(c llm.ToolCall, res *toolRun) chatkit.Task {
	var args callArgs
	_ = json.Unmarshal([]byte(c.Arguments), &args) // titles fall back to generic wording
	var done callArgs
	if res != nil && len(res.Structured) > 0 {
		_ = json.Unmarshal(res.Structured, &done)
	}
	if done.Title == "" {
		done.Title = args.Title
	}
	if done.TaskID == nil {
		done.TaskID = args.TaskID
	}
	title := func(fmtTitle, fmtTask, generic string) string {
		switch {
		case done.Title != "" && fmtTitle != "":
			return fmt.Sprintf(fmtTitle, done.Title)
		case done.TaskID != nil:
			return fmt.Sprintf(fmtTask, *done.TaskID)
		}
		return generic
	}
	reopen := args.Completed != nil && !*args.Completed
	var loading, ok, fail string
	switch c.Name {
	case "add_task":
		loading, ok, fail = title("Adding ‘%s’…", "", "Adding a task…"), title("Added ‘%s’", "", "Added a task"), title("Couldn't add ‘%s’", "", "Couldn't add a task")
	case "complete_task":
		verb, past, base := "Completing", "Completed", "complete"
		if reopen {
			verb, past, base = "Reopening", "Reopened", "reopen"
		}
		loading = title("", verb+" task %d…", verb+" a task…")
		ok = title("", past+" task %d", past+" a task")
		fail = title("", "Couldn't "+base+" task %d", "Couldn't "+base+" a task")
	case "delete_task":
		loading, ok, fail = title("", "Deleting task %d…", "Deleting a task…"), title("Deleted ‘%s’", "Deleted task %d", "Deleted a task"), title("", "Couldn't delete task %d", "Couldn't delete a task")
	case "restore_task":
		loading, ok, fail = title("", "Restoring task %d…", "Restoring a task…"), title("Restored ‘%s’", "Restored task %d", "Restored a task"), title("", "Couldn't restore task %d", "Couldn't restore a task")
	case "update_task":
		loading, ok, fail = title("", "Updating task %d…", "Updating a task…"), title("", "Updated task %d", "Updated a task"), title("", "Couldn't update task %d", "Couldn't update a task")
	case "list_tasks":
		loading, ok, fail = "Listing tasks…", listedTitle(res), "Couldn't list tasks"
	default:
		loading, ok, fail = "Running "+c.Name+"…", "Ran "+c.Name, "Couldn't run "+c.Name
	}
	t := chatkit.Task{Type: chatkit.TaskCustom, StatusIndicator: chatkit.IndicatorLoading, Title: &loading}
	switch {
	case res == nil:
	case res.IsError:
		content := res.Result
		t.StatusIndicator, t.Title, t.Content = chatkit.IndicatorComplete, &fail, &content
	default:
		t.StatusIndicator, t.Title = chatkit.IndicatorComplete, &ok
	}
	return t
}

func listedTitle(res *toolRun) string {
	if res == nil {
		return ""
	}
	var list struct {
		Tasks []json.RawMessage `json:"tasks"`
	}
	_ = json.Unmarshal(res.Structured, &list)
	if len(list.Tasks) == 1 {
		return "Listed 1 task"
	}
	return fmt.Sprintf("Listed %d tasks", len(list.Tasks))
}

package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

// changingTools are the tools whose success changes the user's tasks.
var changingTools = map[string]bool{"add_task": true, "complete_task": true, "delete_task": true, "update_task": true}

// callOutcome is one finished tool call.
type callOutcome struct {
	rec    toolRun
	failed error // mcpserver could not be used (the turn ends after this step)
	taskID *int  // the changed task, on success of a changing tool
}

// runTools runs one step's calls concurrently as the turn's user, shows them as workflow
// tasks, stores calls and results as one hidden item, sends tasks.changed, and returns the
// tool messages for the model. If mcpserver could not be reached the step is still stored
// (each failed call with a result saying so) and the turn ends with an error event.
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
	for i, o := range out {
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
	o := callOutcome{rec: toolRun{ID: c.ID, Name: c.Name, Arguments: c.Arguments, ProviderExtra: c.ProviderExtra}}
	if err := c.Validate(); err != nil {
		o.rec.Result, o.rec.IsError = "Error: "+err.Error(), true
		return o
	}
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
		if res.IsError {
			outcome = obs.OutcomeToolError
		} else if changingTools[c.Name] {
			o.taskID = taskIDOf(res.Structured)
		}
	}
	if r.a.cfg.ToolMetrics != nil {
		r.a.cfg.ToolMetrics.Observe(c.Name, outcome, time.Since(start))
	}
	return o
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

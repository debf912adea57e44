package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/taskwire/taskwire/chatproxy/chatkit"
	"github.com/taskwire/taskwire/chatproxy/mcpclient"
)

// Messages for widget actions that cannot be carried out.
const (
	msgNoWidget      = "This action only works from a task list."
	msgNotOffered    = "That action is not one this task list offers, so nothing was changed."
	msgBadPayload    = "The action's task number is missing or wrong, so nothing was changed."
	msgNoRestore     = "Deleted tasks cannot be restored here, so nothing was changed."
	msgNotSupported  = "This assistant answers messages and task-list actions only."
	msgTaskListStale = "The task list was out of date"
)

// actionResult is what one widget action did.
type actionResult struct {
	widget  *chatkit.WidgetItem        // the widget's new version (same id)
	state   *chatkit.HiddenContextItem // what it was drawn from, to store with it
	changed []int                      // tasks the action changed
	notice  string                     // a tool error to show (the widget shows the fresh state)
}

// actionPayload is what every task widget action carries.
type actionPayload struct {
	TaskID    int   `json:"task_id"`
	Completed *bool `json:"completed"`
}

// act runs a widget action as the turn's user: it checks the action against the stored
// widget, calls the matching mcpserver tool (never the task tables), and renders the widget
// again from the fresh state, which the caller stores. Bad input is a *chatkit.StreamError
// and changes nothing.
func (a *Agent) act(ctx context.Context, turn *chatkit.Turn) (actionResult, error) {
	if turn.Sender == nil {
		return actionResult{}, chatkit.CustomError(msgNoWidget, false)
	}
	stored, err := turn.Item(ctx, stateItemID(turn.Sender.ID))
	if errors.Is(err, chatkit.ErrNotFound) {
		return actionResult{}, chatkit.CustomError(msgNoWidget, false)
	}
	if err != nil {
		return actionResult{}, err
	}
	st, ok := decodeWidgetState(stored)
	if !ok || st.WidgetID != turn.Sender.ID {
		return actionResult{}, chatkit.CustomError(msgNoWidget, false)
	}
	if !offers(turn.Sender.Widget, *turn.Action) {
		return actionResult{}, chatkit.CustomError(msgNotOffered, false)
	}
	var p actionPayload
	if err := json.Unmarshal(turn.Action.Payload, &p); err != nil || p.TaskID <= 0 {
		return actionResult{}, chatkit.CustomError(msgBadPayload, false)
	}
	user := mcpclient.User{ID: turn.Caller.UserID, Token: turn.Caller.Token}
	tools, err := a.toolSet(ctx, user)
	if err != nil {
		return actionResult{}, err
	}
	catalog := tools.catalog
	call := func(name string, args map[string]any) (mcpclient.Result, error) {
		raw, _ := json.Marshal(args)
		res, err := a.cfg.MCP.CallTool(ctx, user, name, raw)
		if err != nil {
			return res, a.mcpError(ctx, err)
		}
		return res, nil
	}

	var out actionResult
	var res mcpclient.Result
	called := false
	switch turn.Action.Type {
	case ActionComplete:
		if p.Completed == nil {
			return actionResult{}, chatkit.CustomError(msgBadPayload, false)
		}
		res, err = call(toolComplete, map[string]any{"task_id": p.TaskID, "completed": *p.Completed})
		called = true
	case ActionDelete:
		st.Confirm = p.TaskID
	case ActionDeleteCancel:
		st.Confirm = 0
	case ActionDeleteConfirm:
		st.Confirm = 0
		res, err = call(toolDelete, map[string]any{"task_id": p.TaskID})
		called = true
		if err == nil && !res.IsError {
			st.Deleted = append(st.Deleted, deletedTask(st.Tasks, p.TaskID, res.Structured))
		}
	case ActionRestore:
		if !catalog.Has(toolRestore) {
			return actionResult{}, chatkit.CustomError(msgNoRestore, false)
		}
		res, err = call(toolRestore, map[string]any{"task_id": p.TaskID})
		called = true
		if err == nil && !res.IsError {
			st.Deleted = withoutTask(st.Deleted, p.TaskID)
		}
	default:
		return actionResult{}, chatkit.CustomError(msgNotOffered, false)
	}
	if err != nil {
		return actionResult{}, err
	}
	switch {
	case called && res.IsError:
		// Most often a stale widget: the task was deleted or changed elsewhere. Nothing was
		// changed; the widget is redrawn from the fresh state below.
		out.notice = res.Text
		if out.notice == "" {
			out.notice = res.ForModel()
		}
		if st.List == nil {
			st.Tasks = withoutTask(st.Tasks, p.TaskID)
		}
	case called:
		out.changed = []int{p.TaskID}
		if st.List == nil {
			st.Tasks = updatedTasks(st.Tasks, p.TaskID, res.Structured)
		}
	}
	if called && st.List != nil {
		if err := a.relist(ctx, user, &st); err != nil {
			return actionResult{}, err
		}
	}
	tree, copyText := renderWidget(st, catalog.Has(toolRestore))
	w := &chatkit.WidgetItem{ItemBase: *turn.Sender.Base(), Widget: tree}
	if copyText != "" {
		w.CopyText = &copyText
	}
	if out.state, err = st.item(); err != nil {
		return actionResult{}, err
	}
	out.widget = w
	return out, nil
}

// relist runs the widget's list_tasks call again for its fresh rows. Tasks restored or
// deleted here stay out of the undo rows once the list shows them again.
func (a *Agent) relist(ctx context.Context, user mcpclient.User, st *widgetState) error {
	res, err := a.cfg.MCP.CallTool(ctx, user, toolList, st.List)
	if err != nil {
		return a.mcpError(ctx, err)
	}
	if res.IsError {
		// The arguments were valid when the widget was drawn; keep the rows it had.
		a.log.WarnContext(ctx, "agent: re-listing a task widget failed", "error", res.Text)
		return nil
	}
	fresh, err := listState(string(st.List), res.Structured)
	if err != nil {
		return err
	}
	st.Tasks, st.More = fresh.Tasks, fresh.More
	for _, t := range st.Tasks {
		st.Deleted = withoutTask(st.Deleted, t.TaskID)
	}
	return nil
}

// deletedTask is the undo row of a deleted task: its title from delete_task's answer, else
// from the row it had.
func deletedTask(rows []widgetTask, id int, structured json.RawMessage) widgetTask {
	t := widgetTask{TaskID: id, Title: fmt.Sprintf("task %d", id)}
	for _, r := range rows {
		if r.TaskID == id {
			t = r
		}
	}
	var v struct {
		Title string `json:"title"`
	}
	if json.Unmarshal(structured, &v) == nil && v.Title != "" {
		t.Title = v.Title
	}
	return t
}

// updatedTasks puts a tool's answer for task id into rows: the whole task when it sent one,
// else (a delete) the row goes.
func updatedTasks(rows []widgetTask, id int, structured json.RawMessage) []widgetTask {
	t, ok := decodeTask(structured)
	if !ok {
		return withoutTask(rows, id)
	}
	for i := range rows {
		if rows[i].TaskID == id {
			rows[i] = t
			return rows
		}
	}
	return append(rows, t)
}

func withoutTask(rows []widgetTask, id int) []widgetTask {
	out := rows[:0:0]
	for _, r := range rows {
		if r.TaskID != id {
			out = append(out, r)
		}
	}
	return out
}

// respondToAction answers threads.custom_action: the widget replaced with its new version,
// tasks.changed for the page, and a notice when mcpserver refused the change.
func (a *Agent) respondToAction(ctx context.Context, turn *chatkit.Turn, s *chatkit.Stream) error {
	res, err := a.act(ctx, turn)
	if err != nil {
		return err
	}
	if err := turn.SaveHidden(ctx, res.state); err != nil {
		return err
	}
	if res.notice != "" {
		if err := s.Notice(chatkit.NoticeWarning, res.notice, msgTaskListStale); err != nil {
			return err
		}
	}
	if err := s.Emit(chatkit.ItemReplaced{Item: res.widget}); err != nil {
		return err
	}
	if len(res.changed) > 0 {
		return s.Effect(EffectTasksChanged, map[string]any{"task_ids": res.changed})
	}
	return nil
}

// SyncAction implements chatkit.SyncActionResponder (threads.sync_custom_action): the same
// action, answered with the widget's new version. A refused change has no notice to travel
// in, so it is an error naming what mcpserver said.
func (a *Agent) SyncAction(ctx context.Context, turn *chatkit.Turn) (chatkit.Item, error) {
	if turn.Kind != chatkit.TurnAction {
		return nil, chatkit.CustomError(msgNotSupported, false)
	}
	res, err := a.act(ctx, turn)
	if err != nil {
		return nil, err
	}
	if res.notice != "" {
		return nil, chatkit.CustomError(msgTaskListStale+": "+res.notice, false)
	}
	if err := turn.SaveHidden(ctx, res.state); err != nil {
		return nil, err
	}
	return res.widget, nil
}

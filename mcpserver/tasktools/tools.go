// Package tasktools is taskwire's MCP server: the six task tools (definitions, argument
// checks, handlers) over a taskstore.Store, served over streamable HTTP with bearer-token
// authentication (NewHandler) or over stdio for one local user (ServeStdio).
package tasktools

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/taskwire/taskwire/db"
	"github.com/taskwire/taskwire/internal/auth"
	"github.com/taskwire/taskwire/internal/obs"
	"github.com/taskwire/taskwire/mcpserver/taskstore"
)

// ServerName is the MCP implementation name clients see.
const ServerName = "taskwire"

// instructions tell a client what the server is for and how its tools fit together.
var instructions = "Manages the signed-in user's to-do list. Tasks are addressed by their number " +
	"(task_id), which list_tasks and add_task show; people say \"task 3\". The user is always the one " +
	"whose credentials made the request: no tool takes a user. A due date YYYY-MM-DD is a whole day in the " +
	"user's time zone, which add_task, update_task and list_tasks take as timezone (an IANA name) and remember. " +
	"Deleted tasks go to the trash for " + trashDays + " days: list_tasks with status \"deleted\" shows them and " +
	"restore_task brings one back."

var trashDays = strconv.Itoa(taskstore.TrashDays)

// internalErrorText is all a client learns of a failure on our side; the details go to the log.
const internalErrorText = "internal error: the task service could not complete this request; try again later"

// errUnavailable answers a call the database could not serve. It is a protocol error rather
// than a tool result, so that clients see a failed request they may retry instead of an
// answer for the model.
var errUnavailable = errors.New("the task database is unavailable; retry the request later")

// runFunc does a tool's work for an authenticated user and returns its structured result.
// Errors of type *taskstore.Error are shown to the client; all others are logged and hidden.
type runFunc func(ctx context.Context, st *taskstore.Store, user string, a args) (result, error)

// result is a tool's structured output, which writes its own JSON: the same bytes as
// json.Marshal, without the reflection and the re-compacting of every time value that made
// encoding a page of tasks a fifth of a list call's CPU.
type result interface {
	AppendJSON(b []byte) ([]byte, error)
}

// spec is one tool: what clients are told about it and what it does.
type spec struct {
	name, title, description string
	input, output            schema
	readOnly, destructive    bool
	idempotent               bool
	run                      runFunc
}

// tool is the definition served in tools/list. Every annotation is set explicitly: mcp-go's
// NewTool pre-fills destructive and open-world hints that would be wrong for every tool here,
// and none of them reaches beyond this server's own database (openWorldHint false).
func (s spec) tool() mcp.Tool {
	return mcp.Tool{
		Name:            s.name,
		Title:           s.title,
		Description:     s.description,
		RawInputSchema:  mustJSON(s.input),
		RawOutputSchema: mustJSON(s.output),
		Annotations: mcp.ToolAnnotation{
			Title:           s.title,
			ReadOnlyHint:    mcp.ToBoolPtr(s.readOnly),
			DestructiveHint: mcp.ToBoolPtr(s.destructive),
			IdempotentHint:  mcp.ToBoolPtr(s.idempotent),
			OpenWorldHint:   mcp.ToBoolPtr(false),
		},
		Meta: appToolMeta(s.output), // app.go: the task-list MCP App draws this tool's results
	}
}

// specs are the six tools (tools/list sorts them by name).
var specs = []spec{
	{
		name:  "add_task",
		title: "Add task",
		description: "Add a task to the user's list. Returns the new task with its number (task_id). " +
			"For a recurring task (\"every Monday\") give repeat and, as due, its first occurrence.",
		input: object([]string{"title"}, schema{
			"title":       titleArg,
			"description": descArg,
			"due":         dueArg,
			"priority":    with(prioArg, schema{"default": "none"}),
			"tags":        tagsArg,
			"repeat":      repeatArg,
			"timezone":    timezoneArg,
		}),
		output: taskSchema,
		run:    addTask,
	},
	{
		name:  "list_tasks",
		title: "List tasks",
		description: "List the user's tasks, optionally filtered, searched and sorted. Returns at most " +
			"limit tasks; when more remain, pass next_cursor back as cursor to get the next page. " +
			"status \"deleted\" lists the trash, whose tasks restore_task brings back.",
		input: object(nil, schema{
			"status": schema{"type": "string", "enum": taskstore.Statuses, "default": "all",
				"description": "Which tasks to show: all, pending or completed ones (never deleted ones), or deleted: the trash of the last " + trashDays + " days."},
			"query":      with(str("Case-insensitive text to find in the title or description."), schema{"maxLength": taskstore.MaxQuery}),
			"tag":        with(str("Only tasks with this tag."), schema{"maxLength": taskstore.MaxTag}),
			"priority":   with(prioArg, schema{"description": "Only tasks with this priority."}),
			"due_before": str("Only tasks due before this: " + dueFormat + " (a date means before that day)."),
			"due_after":  str("Only tasks due after this: " + dueFormat + " (a date means after that day)."),
			"overdue":    schema{"type": "boolean", "description": "true: only pending tasks whose due time has passed or whose due date is before today in the user's time zone; false: only tasks that are not overdue."},
			"sort": schema{"type": "string", "enum": taskstore.Sorts, "default": "created",
				"description": "created: by task number; due: soonest first, tasks without a due date last; priority: high first."},
			"limit":    schema{"type": "integer", "minimum": 1, "maximum": taskstore.MaxLimit, "default": taskstore.DefaultLimit, "description": "Most tasks to return."},
			"cursor":   str("next_cursor from the previous call with the same filters, to get the next page."),
			"timezone": timezoneArg,
		}),
		output: object([]string{"tasks"}, schema{
			"tasks":       schema{"type": "array", "items": taskSchema},
			"next_cursor": str("Present when more tasks remain: pass it as cursor to get them."),
		}),
		readOnly:   true,
		idempotent: true,
		run:        listTasks,
	},
	{
		name:  "complete_task",
		title: "Complete task",
		description: "Mark a task as completed, or as pending again with completed: false. On a task that repeats, " +
			"completing does the current occurrence: the task stays pending and its due moves to the next occurrence " +
			"(the first one from today on, when it was late), which the result shows; when the rule has no occurrence " +
			"left, the task is completed. Completing a task that does not repeat twice changes nothing.",
		input: object([]string{"task_id"}, schema{
			"task_id":   taskIDArg,
			"completed": schema{"type": "boolean", "default": true, "description": "false reopens a completed task."},
		}),
		output: taskSchema,
		// Not idempotent: each completion of a repeating task moves it on by one occurrence.
		run: completeTask,
	},
	{
		name:  "delete_task",
		title: "Delete task",
		description: "Delete a task: it moves to the trash, leaves every list, and can be brought back with " +
			"restore_task until restorable_until (" + trashDays + " days); then it is erased. Its number is never given to another task.",
		input: object([]string{"task_id"}, schema{"task_id": taskIDArg}),
		output: object([]string{"task_id", "title", "deleted", "restorable_until"}, schema{
			"task_id":          schema{"type": "integer"},
			"title":            schema{"type": "string"},
			"deleted":          schema{"type": "boolean", "const": true},
			"restorable_until": schema{"type": "string", "format": "date-time", "description": "restore_task brings the task back until then."},
		}),
		// Still destructive: the task leaves the user's lists at once and is erased after the
		// trash period, so a client should confirm as before; the trash is a safety net.
		destructive: true,
		idempotent:  true,
		run:         deleteTask,
	},
	{
		name:  "restore_task",
		title: "Restore task",
		description: "Bring a deleted task back from the trash (\"undo that\"), with its number and every field as they were. " +
			"Only tasks deleted in the last " + trashDays + " days can be restored; list_tasks with status \"deleted\" shows them.",
		input:      object([]string{"task_id"}, schema{"task_id": taskIDArg}),
		output:     taskSchema,
		idempotent: true,
		run:        restoreTask,
	},
	{
		name:  "update_task",
		title: "Update task",
		description: "Change some fields of a task; fields left out keep their values. Clear a field with " +
			"null: due null removes the due date, description null empties it, priority null sets none, tags null removes all tags, " +
			"repeat null makes the task stop repeating.",
		input: object([]string{"task_id"}, schema{
			"task_id":     taskIDArg,
			"title":       titleArg,
			"description": nullable(descArg),
			"due":         nullable(dueArg),
			"priority":    with(prioArg, schema{"type": []string{"string", "null"}, "enum": append(anySlice(taskstore.Priorities), nil)}),
			"tags":        nullable(tagsArg),
			"repeat":      nullable(repeatArg),
			"timezone":    timezoneArg,
		}),
		output:      taskSchema,
		destructive: true,
		idempotent:  true,
		run:         updateTask,
	},
}

func anySlice(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// Tools returns the tool definitions as served in tools/list.
func Tools() []mcp.Tool {
	out := make([]mcp.Tool, len(specs))
	for i, s := range specs {
		out[i] = s.tool()
	}
	return out
}

// NewMCPServer builds the MCP server with the six tools over st. The user of each call is
// read from the context (auth.WithUser), which the HTTP middleware or the stdio server sets;
// a call without one fails closed. metrics may be nil.
func NewMCPServer(st *taskstore.Store, logger *slog.Logger, version string, metrics *obs.ToolMetrics) *server.MCPServer {
	s := server.NewMCPServer(ServerName, version,
		server.WithToolCapabilities(false),
		server.WithInstructions(instructions),
		server.WithRecovery(),
	)
	tools := make([]server.ServerTool, len(specs))
	for i, sp := range specs {
		tools[i] = server.ServerTool{Tool: sp.tool(), Handler: sp.handler(st, logger, metrics)}
	}
	s.AddTools(tools...)
	addApp(s) // app.go: the task-list MCP App
	return s
}

// handler wraps a tool's run function with what every tool needs: the user from the
// context, argument decoding, error shaping, an audit log line and structured output.
func (s spec) handler(st *taskstore.Store, logger *slog.Logger, metrics *obs.ToolMetrics) server.ToolHandlerFunc {
	allowed := propertyNames(s.input)
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		start := time.Now()
		id, ok := auth.UserFrom(ctx)
		if !ok {
			logger.ErrorContext(ctx, "tool called without an authenticated user", "tool", s.name)
			return mcp.NewToolResultError(internalErrorText), nil
		}
		result, outcome, err := s.call(ctx, st, id.UserID, req, allowed, logger)
		took := time.Since(start)
		// LogAttrs: no boxing of the values when the audit line is filtered out.
		logger.LogAttrs(ctx, slog.LevelInfo, "tool call", slog.String("tool", s.name), slog.String("user", id.UserID),
			slog.String("outcome", outcome), slog.Duration("duration", took))
		if metrics != nil {
			metrics.Observe(s.name, outcome, took)
		}
		return result, err
	}
}

// call runs the tool and says how it went: obs.OutcomeOK, obs.OutcomeToolError (bad input,
// not found: the model's to fix) or obs.OutcomeError (ours). When the database cannot be
// reached it returns errUnavailable instead of a result.
func (s spec) call(ctx context.Context, st *taskstore.Store, user string, req mcp.CallToolRequest, allowed []string, logger *slog.Logger) (*mcp.CallToolResult, string, error) {
	a, err := parseArgs(req, allowed)
	if err != nil {
		return mcp.NewToolResultError(err.Error()), obs.OutcomeToolError, nil
	}
	out, err := s.run(ctx, st, user, a)
	if err != nil {
		var public *taskstore.Error
		if errors.As(err, &public) {
			return mcp.NewToolResultError(public.Msg), obs.OutcomeToolError, nil
		}
		logger.ErrorContext(ctx, "tool failed", "tool", s.name, "user", user, "error", err)
		// A deadline here is the database not answering in time (an acquire that waits
		// for a connection that never comes), as retryable as a refused connection.
		if db.IsUnavailable(err) || errors.Is(err, context.DeadlineExceeded) {
			return nil, obs.OutcomeError, errUnavailable
		}
		return mcp.NewToolResultError(internalErrorText), obs.OutcomeError, nil
	}
	b, err := out.AppendJSON(nil)
	if err != nil {
		logger.ErrorContext(ctx, "encode tool result", "tool", s.name, "error", err)
		return mcp.NewToolResultError(internalErrorText), obs.OutcomeError, nil
	}
	// The same JSON twice: as structuredContent for clients that read it, and as a text
	// block for those that only show text (the spec asks for both).
	return &mcp.CallToolResult{
		Content:           []mcp.Content{mcp.NewTextContent(string(b))},
		StructuredContent: EncodedJSON(b),
	}, obs.OutcomeOK, nil
}

func getDue(a args, name string) (*taskstore.Due, error) {
	s, ok, err := getString(a, name)
	if err != nil || !ok {
		return nil, err
	}
	d, err := taskstore.ParseDue(name, s)
	if err != nil {
		return nil, err
	}
	return &d, nil
}

func addTask(ctx context.Context, st *taskstore.Store, user string, a args) (result, error) {
	var in taskstore.NewTask
	var ok bool
	var err error
	if in.Title, ok, err = getString(a, "title"); err != nil {
		return nil, err
	} else if !ok {
		return nil, argErrorf("title is required: what needs doing, 1–%d characters", taskstore.MaxTitle)
	}
	if in.Description, _, err = getString(a, "description"); err != nil {
		return nil, err
	}
	if in.Priority, _, err = getString(a, "priority"); err != nil {
		return nil, err
	}
	if in.Tags, _, err = getStrings(a, "tags"); err != nil {
		return nil, err
	}
	if in.Due, err = getDue(a, "due"); err != nil {
		return nil, err
	}
	if in.Repeat, _, err = getString(a, "repeat"); err != nil {
		return nil, err
	}
	if in.Timezone, _, err = getString(a, "timezone"); err != nil {
		return nil, err
	}
	return st.Add(ctx, user, in)
}

func listTasks(ctx context.Context, st *taskstore.Store, user string, a args) (result, error) {
	var o taskstore.ListOptions
	var err error
	for name, dst := range map[string]*string{
		"status": &o.Status, "query": &o.Query, "tag": &o.Tag, "priority": &o.Priority,
		"sort": &o.Sort, "cursor": &o.Cursor, "timezone": &o.Timezone,
	} {
		if *dst, _, err = getString(a, name); err != nil {
			return nil, err
		}
	}
	if o.DueBefore, err = getDue(a, "due_before"); err != nil {
		return nil, err
	}
	if o.DueAfter, err = getDue(a, "due_after"); err != nil {
		return nil, err
	}
	if overdue, ok, err := getBool(a, "overdue"); err != nil {
		return nil, err
	} else if ok {
		o.Overdue = &overdue
	}
	if limit, ok, err := getInt(a, "limit"); err != nil {
		return nil, err
	} else if ok {
		n := int(limit)
		o.Limit = &n
	}
	return st.List(ctx, user, o)
}

func completeTask(ctx context.Context, st *taskstore.Store, user string, a args) (result, error) {
	id, err := requireTaskID(a)
	if err != nil {
		return nil, err
	}
	completed, ok, err := getBool(a, "completed")
	if err != nil {
		return nil, err
	}
	return st.SetCompleted(ctx, user, id, completed || !ok)
}

func deleteTask(ctx context.Context, st *taskstore.Store, user string, a args) (result, error) {
	id, err := requireTaskID(a)
	if err != nil {
		return nil, err
	}
	return st.Delete(ctx, user, id)
}

func restoreTask(ctx context.Context, st *taskstore.Store, user string, a args) (result, error) {
	id, err := requireTaskID(a)
	if err != nil {
		return nil, err
	}
	return st.Restore(ctx, user, id)
}

// updateTask tells a field left out (keep it) from a field given as null (clear it).
func updateTask(ctx context.Context, st *taskstore.Store, user string, a args) (result, error) {
	id, err := requireTaskID(a)
	if err != nil {
		return nil, err
	}
	if a.null("title") {
		return nil, argErrorf("title cannot be cleared: give a new title or leave it out")
	}
	var c taskstore.Changes
	if c.Timezone, _, err = getString(a, "timezone"); err != nil {
		return nil, err
	}
	cleared := map[string]string{"title": "", "description": "", "priority": "none"}
	for name, dst := range map[string]**string{"title": &c.Title, "description": &c.Description, "priority": &c.Priority} {
		v, ok, err := getString(a, name)
		if err != nil {
			return nil, err
		}
		if !ok && a.null(name) {
			v, ok = cleared[name], true
		}
		if ok {
			*dst = &v
		}
	}
	if tags, ok, err := getStrings(a, "tags"); err != nil {
		return nil, err
	} else if ok || a.null("tags") {
		if tags == nil {
			tags = []string{}
		}
		c.Tags = &tags
	}
	if a.present("due") {
		c.SetDue = true // with a null due, c.Due stays nil: the due date is removed
		if c.Due, err = getDue(a, "due"); err != nil {
			return nil, err
		}
	}
	if a.present("repeat") {
		c.SetRepeat = true // with a null repeat, c.Repeat stays nil: the task stops repeating
		repeat, ok, err := getString(a, "repeat")
		if err != nil {
			return nil, err
		}
		if ok {
			c.Repeat = &repeat
		}
	}
	return st.Update(ctx, user, id, c)
}

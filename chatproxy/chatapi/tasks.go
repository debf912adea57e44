package chatapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/taskwire/taskwire/chatproxy/mcpclient"
	"github.com/taskwire/taskwire/internal/auth"
	"github.com/taskwire/taskwire/internal/httpedge"
)

// maxTaskBody bounds the JSON body of a task change: a title and a few fields.
const maxTaskBody = 16 << 10

// taskListParams are the list_tasks arguments the panel may pass, with their JSON types.
var taskListParams = map[string]string{
	"status": "string", "query": "string", "tag": "string", "priority": "string",
	"sort": "string", "cursor": "string", "due_before": "string", "due_after": "string",
	"limit": "int", "overdue": "bool",
}

// mountTasks adds the task panel's routes. Each one is a single mcpserver tool call as the
// signed-in user, so the panel can do nothing the assistant could not, and mcpserver decides
// what is valid and whose tasks are whose:
//
//	GET    /api/tasks               list_tasks (query parameters as its arguments)
//	POST   /api/tasks               add_task {title, description?, due?, priority?, tags?}
//	PATCH  /api/tasks/{id}          {completed} → complete_task; {title?, description?, due?,
//	                                priority?, tags?} → update_task
//	DELETE /api/tasks/{id}          delete_task
//	POST   /api/tasks/{id}/restore  restore_task (404 not_supported when mcpserver has none)
//	GET    /api/tasks/features      {"restore": bool}: whether undo can restore a deleted task
func (c Config) mountTasks(r Router) {
	r.Authenticated("GET /api/tasks", http.HandlerFunc(c.listTasks))
	r.Authenticated("POST /api/tasks", http.HandlerFunc(c.addTask))
	r.Authenticated("PATCH /api/tasks/{id}", http.HandlerFunc(c.changeTask))
	r.Authenticated("DELETE /api/tasks/{id}", http.HandlerFunc(c.deleteTask))
	r.Authenticated("POST /api/tasks/{id}/restore", http.HandlerFunc(c.restoreTask))
	r.Authenticated("GET /api/tasks/features", http.HandlerFunc(c.taskFeatures))
}

// taskFields are the fields a task change may carry. Pointers tell "absent" from "empty";
// Due stays raw so that null (clear the date) reaches mcpserver as null.
type taskFields struct {
	Title       *string         `json:"title"`
	Description *string         `json:"description"`
	Due         json.RawMessage `json:"due"`
	Priority    *string         `json:"priority"`
	Tags        *[]string       `json:"tags"`
	Completed   *bool           `json:"completed"`
}

// args are the fields as tool arguments, without Completed.
func (f taskFields) args() map[string]any {
	a := map[string]any{}
	if f.Title != nil {
		a["title"] = *f.Title
	}
	if f.Description != nil {
		a["description"] = *f.Description
	}
	if f.Due != nil {
		a["due"] = f.Due
	}
	if f.Priority != nil {
		a["priority"] = *f.Priority
	}
	if f.Tags != nil {
		a["tags"] = *f.Tags
	}
	return a
}

func (c Config) listTasks(w http.ResponseWriter, r *http.Request) {
	args := map[string]any{}
	for name, values := range r.URL.Query() {
		kind, known := taskListParams[name]
		if !known {
			httpedge.WriteError(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("unknown parameter %q", name))
			return
		}
		v := values[0]
		switch kind {
		case "int":
			n, err := strconv.Atoi(v)
			if err != nil {
				httpedge.WriteError(w, http.StatusBadRequest, "invalid_request", name+" must be a whole number")
				return
			}
			args[name] = n
		case "bool":
			b, err := strconv.ParseBool(v)
			if err != nil {
				httpedge.WriteError(w, http.StatusBadRequest, "invalid_request", name+" must be true or false")
				return
			}
			args[name] = b
		default:
			args[name] = v
		}
	}
	c.callTask(w, r, "list_tasks", args)
}

func (c Config) addTask(w http.ResponseWriter, r *http.Request) {
	f, ok := readTaskFields(w, r)
	if !ok {
		return
	}
	if f.Completed != nil || f.Title == nil {
		httpedge.WriteError(w, http.StatusBadRequest, "invalid_request", `a new task needs a "title" and cannot be "completed"`)
		return
	}
	c.callTask(w, r, "add_task", f.args())
}

func (c Config) changeTask(w http.ResponseWriter, r *http.Request) {
	id, ok := taskID(w, r)
	if !ok {
		return
	}
	f, ok := readTaskFields(w, r)
	if !ok {
		return
	}
	fields := f.args()
	switch {
	case f.Completed != nil && len(fields) > 0:
		httpedge.WriteError(w, http.StatusBadRequest, "invalid_request", `"completed" cannot be changed together with other fields`)
	case f.Completed != nil:
		c.callTask(w, r, "complete_task", map[string]any{"task_id": id, "completed": *f.Completed})
	case len(fields) == 0:
		httpedge.WriteError(w, http.StatusBadRequest, "invalid_request", "nothing to change: send completed, title, description, due, priority or tags")
	default:
		fields["task_id"] = id
		c.callTask(w, r, "update_task", fields)
	}
}

func (c Config) deleteTask(w http.ResponseWriter, r *http.Request) {
	if id, ok := taskID(w, r); ok {
		c.callTask(w, r, "delete_task", map[string]any{"task_id": id})
	}
}

func (c Config) restoreTask(w http.ResponseWriter, r *http.Request) {
	id, ok := taskID(w, r)
	if !ok {
		return
	}
	can, ok := c.canRestore(w, r)
	if !ok {
		return
	}
	if !can {
		httpedge.WriteError(w, http.StatusNotFound, "not_supported", "the task server cannot restore deleted tasks")
		return
	}
	c.callTask(w, r, "restore_task", map[string]any{"task_id": id})
}

func (c Config) taskFeatures(w http.ResponseWriter, r *http.Request) {
	if can, ok := c.canRestore(w, r); ok {
		httpedge.WriteJSON(w, http.StatusOK, map[string]bool{"restore": can})
	}
}

// canRestore reports whether mcpserver's tools/list has restore_task.
func (c Config) canRestore(w http.ResponseWriter, r *http.Request) (can, ok bool) {
	user, ok := mcpUser(w, r)
	if !ok {
		return false, false
	}
	tools, err := c.MCP.Tools(r.Context(), user)
	if err != nil {
		c.mcpFailed(w, r, err)
		return false, false
	}
	return mcpclient.NewCatalog(tools).Has("restore_task"), true
}

// callTask calls tool with args as the request's user and answers with its structured
// result. A tool error is the caller's: 404 when mcpserver did not find the task (another
// user's task reads the same), else 400 with mcpserver's message.
func (c Config) callTask(w http.ResponseWriter, r *http.Request, tool string, args map[string]any) {
	user, ok := mcpUser(w, r)
	if !ok {
		return
	}
	raw, err := json.Marshal(args)
	if err != nil {
		httpedge.WriteError(w, http.StatusBadRequest, "invalid_request", "the arguments cannot be encoded")
		return
	}
	res, err := c.MCP.CallTool(r.Context(), user, tool, raw)
	switch {
	case err != nil && errors.Is(err, mcpclient.ErrRejected):
		httpedge.WriteError(w, http.StatusBadRequest, "invalid_request", "the task server refused the request")
	case err != nil:
		c.mcpFailed(w, r, err)
	case res.IsError && strings.HasSuffix(res.Text, "not found"):
		httpedge.WriteError(w, http.StatusNotFound, "not_found", res.Text)
	case res.IsError:
		httpedge.WriteError(w, http.StatusBadRequest, "invalid_request", res.Text)
	default:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(res.Structured)
	}
}

func (c Config) mcpFailed(w http.ResponseWriter, r *http.Request, err error) {
	c.Logger.WarnContext(r.Context(), "task call through mcpserver failed", "error", err)
	httpedge.WriteError(w, http.StatusBadGateway, "mcp_unavailable", "the task server could not be reached; try again shortly")
}

// mcpUser is the request's user with the token to forward to mcpserver.
func mcpUser(w http.ResponseWriter, r *http.Request) (mcpclient.User, bool) {
	id, ok := auth.UserFrom(r.Context())
	if !ok {
		httpedge.WriteError(w, http.StatusUnauthorized, "unauthorized", "missing bearer token")
		return mcpclient.User{}, false
	}
	token, _ := auth.BearerToken(r)
	return mcpclient.User{ID: id.UserID, Token: token}, true
}

// taskID reads the {id} path segment: a positive whole number.
func taskID(w http.ResponseWriter, r *http.Request) (int, bool) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil || id <= 0 {
		httpedge.WriteError(w, http.StatusBadRequest, "invalid_request", "the task id in the path must be a positive whole number")
		return 0, false
	}
	return id, true
}

// readTaskFields decodes a task change strictly: one JSON object of known fields with the
// right types, at most maxTaskBody bytes.
func readTaskFields(w http.ResponseWriter, r *http.Request) (taskFields, bool) {
	var f taskFields
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxTaskBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			httpedge.WriteError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the body must be at most %d bytes", maxTaskBody))
			return f, false
		}
		httpedge.WriteError(w, http.StatusBadRequest, "invalid_request", "the body could not be read")
		return f, false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		httpedge.WriteError(w, http.StatusBadRequest, "invalid_json", "the body must be a JSON object of title, description, due, priority, tags or completed: "+err.Error())
		return f, false
	}
	if dec.More() {
		httpedge.WriteError(w, http.StatusBadRequest, "invalid_json", "the body must be one JSON object")
		return f, false
	}
	return f, true
}

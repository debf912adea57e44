package chatapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/taskwire/taskwire/chatproxy/chatkit"
	"github.com/taskwire/taskwire/chatproxy/mcpclient"
	"github.com/taskwire/taskwire/internal/auth"
)

// taskListParams are the list_tasks arguments the panel may pass, with their JSON types.
var taskListParams = map[string]string{
	"status": "string", "query": "string", "tag": "string", "priority": "string",
	"sort": "string", "cursor": "string", "due_before": "string", "due_after": "string",
	"limit": "int", "overdue": "bool",
}

func (c Config) tasks(w http.ResponseWriter, r *http.Request) {
	id, ok := auth.UserFrom(r.Context())
	if !ok {
		chatkit.WriteError(w, http.StatusUnauthorized, "unauthorized", "missing bearer token")
		return
	}
	args := map[string]any{}
	for name, values := range r.URL.Query() {
		kind, known := taskListParams[name]
		if !known {
			chatkit.WriteError(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("unknown parameter %q", name))
			return
		}
		v := values[0]
		switch kind {
		case "int":
			n, err := strconv.Atoi(v)
			if err != nil {
				chatkit.WriteError(w, http.StatusBadRequest, "invalid_request", name+" must be a whole number")
				return
			}
			args[name] = n
		case "bool":
			b, err := strconv.ParseBool(v)
			if err != nil {
				chatkit.WriteError(w, http.StatusBadRequest, "invalid_request", name+" must be true or false")
				return
			}
			args[name] = b
		default:
			args[name] = v
		}
	}
	raw, _ := json.Marshal(args)
	token, _ := auth.BearerToken(r)
	res, err := c.MCP.CallTool(r.Context(), mcpclient.User{ID: id.UserID, Token: token}, "list_tasks", raw)
	switch {
	case err != nil:
		c.Logger.WarnContext(r.Context(), "list tasks through mcpserver failed", "error", err)
		chatkit.WriteError(w, http.StatusBadGateway, "mcp_unavailable", "the task server could not be reached; try again shortly")
	case res.IsError:
		chatkit.WriteError(w, http.StatusBadRequest, "invalid_request", res.Text)
	default:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(res.Structured)
	}
}

// Package chatapi holds chatproxy's plain-JSON routes beside the ChatKit endpoint: POST
// /api/chat for scripts and curl (the same engine and store, without streaming), GET
// /api/tasks for the page's task panel (through mcpserver as the user, never the database),
// and GET /api/dev/token, which hands the page a token in loopback-only dev mode.
package chatapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/taskwire/taskwire/chatproxy/chatkit"
	"github.com/taskwire/taskwire/chatproxy/mcpclient"
	"github.com/taskwire/taskwire/internal/auth"
	"github.com/taskwire/taskwire/internal/loopback"
)

// Router is where the routes are mounted; *proxyhttp.Handler is one. Authenticated routes
// get the verified user in their context (auth.UserFrom).
type Router interface {
	Public(pattern string, h http.Handler)
	Authenticated(pattern string, h http.Handler)
}

// Config holds what the routes need.
type Config struct {
	ChatKit *chatkit.Server
	MCP     *mcpclient.Client
	// ToolCalls turns a turn's hidden items into the tool_calls of the /api/chat answer; the
	// agent knows how it stores them.
	ToolCalls func(items []chatkit.Item) any
	// DevUser enables GET /api/dev/token for that user (loopback requests only); the token
	// is signed with Secret for Audience and lives DevTokenTTL.
	DevUser     string
	Secret      []byte
	Audience    string
	Issuer      string
	DevTokenTTL time.Duration
	Logger      *slog.Logger
}

// Mount adds the routes to r.
func Mount(r Router, c Config) {
	if c.DevTokenTTL <= 0 {
		c.DevTokenTTL = time.Hour
	}
	r.Authenticated("POST /api/chat", http.HandlerFunc(c.chat))
	r.Authenticated("POST /api/{user_id}/chat", http.HandlerFunc(c.chat))
	r.Authenticated("GET /api/tasks", http.HandlerFunc(c.tasks))
	if c.DevUser != "" {
		r.Public("GET /api/dev/token", http.HandlerFunc(c.devToken))
	}
}

type chatRequest struct {
	Message        string `json:"message"`
	ConversationID string `json:"conversation_id,omitempty"`
}

type chatResponse struct {
	ConversationID string `json:"conversation_id"`
	Response       string `json:"response"`
	ToolCalls      any    `json:"tool_calls"`
}

func (c Config) chat(w http.ResponseWriter, r *http.Request) {
	id, ok := auth.UserFrom(r.Context())
	if !ok {
		chatkit.WriteError(w, http.StatusUnauthorized, "unauthorized", "missing bearer token")
		return
	}
	if pathUser := r.PathValue("user_id"); pathUser != "" && pathUser != id.UserID {
		chatkit.WriteError(w, http.StatusForbidden, "forbidden", "the user in the path is not the user of the token")
		return
	}
	var req chatRequest
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(&req); err != nil {
		chatkit.WriteError(w, http.StatusBadRequest, "invalid_json", "the body must be a JSON object {\"message\": \"…\", \"conversation_id\"?: \"…\"}")
		return
	}
	if strings.TrimSpace(req.Message) == "" {
		chatkit.WriteError(w, http.StatusBadRequest, "invalid_request", "message must not be empty")
		return
	}
	token, _ := auth.BearerToken(r)
	caller := chatkit.Caller{UserID: id.UserID, Token: token, Locale: r.Header.Get("Accept-Language"), Header: r.Header}
	var sreq chatkit.StreamingRequest = &chatkit.CreateThreadRequest{Input: chatkit.TextInput(req.Message)}
	if req.ConversationID != "" {
		sreq = &chatkit.AddUserMessageRequest{ThreadID: req.ConversationID, Input: chatkit.TextInput(req.Message)}
	}
	var col chatkit.Collector
	conversation := func() string {
		if id := col.ThreadID(); id != "" {
			return id
		}
		return req.ConversationID
	}
	if err := c.ChatKit.Stream(r.Context(), caller, sreq, &col); err != nil {
		var ce *chatkit.Error
		if errors.As(err, &ce) {
			chatkit.WriteError(w, ce.Status, ce.Code, ce.Message)
			return
		}
		c.Logger.ErrorContext(r.Context(), "api chat turn failed", "error", err)
		chatkit.WriteError(w, http.StatusInternalServerError, "internal_error", "the chat turn failed")
		return
	}
	if ev := col.Err(); ev != nil {
		// The user's message is stored; the client may retry on the same conversation.
		writeJSON(w, http.StatusBadGateway, map[string]any{
			"conversation_id": conversation(),
			"error":           map[string]any{"code": "turn_failed", "message": ev.Message, "allow_retry": ev.AllowRetry},
		})
		return
	}
	resp := chatResponse{ConversationID: conversation(), Response: col.AssistantText(), ToolCalls: []any{}}
	if c.ToolCalls != nil {
		resp.ToolCalls = c.ToolCalls(col.HiddenItems)
	}
	writeJSON(w, http.StatusOK, resp)
}

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

func (c Config) devToken(w http.ResponseWriter, r *http.Request) {
	if !loopback.Remote(r) {
		http.NotFound(w, r)
		return
	}
	ttl := c.DevTokenTTL
	tok, err := auth.Mint(c.Secret, auth.MintOptions{UserID: c.DevUser, Audience: c.Audience, Issuer: c.Issuer, TTL: ttl})
	if err != nil {
		c.Logger.ErrorContext(r.Context(), "mint dev token", "error", err)
		chatkit.WriteError(w, http.StatusInternalServerError, "internal_error", "could not issue a dev token")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]string{
		"token": tok, "user_id": c.DevUser, "expires_at": time.Now().Add(ttl).UTC().Format(time.RFC3339),
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

package chatapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/taskwire/taskwire/chatproxy/chatkit"
	"github.com/taskwire/taskwire/internal/auth"
)

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

package chatapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/taskwire/taskwire/chatproxy/chatkit"
	"github.com/taskwire/taskwire/internal/auth"
	"github.com/taskwire/taskwire/internal/httpedge"
)

type chatResponse struct {
	ConversationID string `json:"conversation_id"`
	Response       string `json:"response"`
	ToolCalls      any    `json:"tool_calls"`
}

// chat runs one turn for POST /api/chat: the body goes through ChatKit's own decoding and
// checks (chatkit.DecodeChatMessage), so it refuses exactly what /chatkit refuses.
func (c Config) chat(w http.ResponseWriter, r *http.Request) {
	id, ok := auth.UserFrom(r.Context())
	if !ok {
		httpedge.WriteError(w, http.StatusUnauthorized, httpedge.CodeUnauthorized, "missing bearer token")
		return
	}
	if pathUser := r.PathValue("user_id"); pathUser != "" && pathUser != id.UserID {
		httpedge.WriteError(w, http.StatusForbidden, "forbidden", "the user in the path is not the user of the token")
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			httpedge.WriteError(w, http.StatusRequestEntityTooLarge, httpedge.CodeTooLarge, "request body is too large")
			return
		}
		httpedge.WriteError(w, http.StatusBadRequest, chatkit.CodeInvalidRequest, "could not read the request body")
		return
	}
	sreq, err := chatkit.DecodeChatMessage(body, chatkit.Limits{})
	if err != nil {
		writeChatError(w, err)
		return
	}
	token, _ := auth.BearerToken(r)
	caller := chatkit.Caller{UserID: id.UserID, Token: token, Locale: r.Header.Get("Accept-Language"), Header: r.Header}
	var col chatkit.Collector
	conversation := col.ThreadID
	if add, ok := sreq.(*chatkit.AddUserMessageRequest); ok {
		conversation = func() string { return add.ThreadID }
	}
	if err := c.ChatKit.Stream(r.Context(), caller, sreq, &col); err != nil {
		if !writeChatError(w, err) {
			c.Logger.ErrorContext(r.Context(), "api chat turn failed", "error", err)
		}
		return
	}
	if errors.Is(context.Cause(r.Context()), httpedge.ErrDraining) {
		// What the model had written is stored; another replica will take the retry.
		httpedge.WriteRetryable(w, http.StatusServiceUnavailable, httpedge.CodeUnavailable, chatkit.DrainingMessage, time.Second)
		return
	}
	if ev := col.Err(); ev != nil {
		// The user's message is stored; the client may retry on the same conversation.
		httpedge.WriteJSON(w, http.StatusBadGateway, map[string]any{
			"conversation_id": conversation(),
			"error":           map[string]any{"code": "turn_failed", "message": ev.Message, "allow_retry": ev.AllowRetry},
		})
		return
	}
	resp := chatResponse{ConversationID: conversation(), Response: col.AssistantText(), ToolCalls: []any{}}
	if c.ToolCalls != nil {
		resp.ToolCalls = c.ToolCalls(col.HiddenItems)
	}
	httpedge.WriteJSON(w, http.StatusOK, resp)
}

// writeChatError answers a *chatkit.Error with its status and reports true; anything else
// is a 500 whose details stay in the log (it reports false, for the caller to log).
func writeChatError(w http.ResponseWriter, err error) bool {
	var ce *chatkit.Error
	if errors.As(err, &ce) {
		httpedge.WriteError(w, ce.Status, ce.Code, ce.Message)
		return true
	}
	httpedge.WriteError(w, http.StatusInternalServerError, chatkit.CodeInternal, "the chat turn failed")
	return false
}

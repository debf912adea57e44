// Package chatapi holds chatproxy's plain-JSON routes beside the ChatKit endpoint: POST
// /api/chat for scripts and curl (the same engine and store, without streaming), GET
// /api/tasks for the page's task panel (through mcpserver as the user, never the database),
// and GET /api/dev/token, which hands the page a token in loopback-only dev mode.
package chatapi

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/taskwire/taskwire/chatproxy/chatkit"
	"github.com/taskwire/taskwire/chatproxy/mcpclient"
	"github.com/taskwire/taskwire/internal/auth"
	"github.com/taskwire/taskwire/internal/httpedge"
	"github.com/taskwire/taskwire/internal/loopback"
)

// Router is where the routes are mounted; *proxyhttp.Handler is one. Authenticated routes
// get the verified user in their context (auth.UserFrom); Turn routes are authenticated
// routes that run a model turn, which the router counts against the user's turn rate and
// open-stream limits.
type Router interface {
	Public(pattern string, h http.Handler)
	Authenticated(pattern string, h http.Handler)
	Turn(pattern string, h http.Handler)
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
	r.Turn("POST /api/chat", http.HandlerFunc(c.chat))
	r.Turn("POST /api/{user_id}/chat", http.HandlerFunc(c.chat))
	c.mountTasks(r)
	if c.DevUser != "" {
		r.Public("GET /api/dev/token", http.HandlerFunc(c.devToken))
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
		httpedge.WriteError(w, http.StatusInternalServerError, chatkit.CodeInternal, "could not issue a dev token")
		return
	}
	httpedge.WriteJSON(w, http.StatusOK, map[string]string{
		"token": tok, "user_id": c.DevUser, "expires_at": time.Now().Add(ttl).UTC().Format(time.RFC3339),
	})
}

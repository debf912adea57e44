// Package mcpclient is chatproxy's side of the MCP hand-off: one streamable-HTTP client to
// mcpserver (mark3labs/mcp-go), shared by all users, whose every HTTP request carries the
// credentials of the user the call is for. It lists mcpserver's tools (cached briefly), calls
// them, and converts their definitions for the model. Nothing here knows about ChatKit or LLMs
// beyond the tool-definition format.
package mcpclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// DefaultToolsTTL is how long a tools/list answer is reused.
const DefaultToolsTTL = 60 * time.Second

// ErrUnavailable wraps failures to reach mcpserver or get an answer from it: refused
// connections, timeouts, HTTP errors, credentials it refuses. The turn cannot go on.
var ErrUnavailable = errors.New("the task server (mcpserver) is unavailable")

// ErrUnauthorized wraps a 401 from mcpserver (instead of ErrUnavailable): the
// credentials the proxy sent were refused — a configuration problem, not the user's.
var ErrUnauthorized = errors.New("the task server (mcpserver) refused the proxy's credentials")

// ErrRejected wraps a JSON-RPC error answer (unknown tool, invalid parameters): the model asked
// for something mcpserver does not offer, which can go back to the model.
var ErrRejected = errors.New("the task server rejected the call")

// Config describes the mcpserver to talk to.
type Config struct {
	// URL of the streamable HTTP endpoint (MCP_SERVER_URL), e.g. http://localhost:8001/mcp.
	URL string
	// Tokens gives the bearer token for each user; required.
	Tokens TokenSource
	// ToolsTTL is how long the tool list is cached; zero means DefaultToolsTTL.
	ToolsTTL time.Duration
	// HTTPClient is used for every request; nil means one with a 30 s timeout.
	HTTPClient *http.Client
}

// Client is the shared MCP client. Safe for concurrent use; Close it when done.
type Client struct {
	cfg Config

	mu   sync.Mutex // guards conn
	conn *client.Client

	tools toolCache
}

// New returns a Client. It connects lazily, on the first call, with that call's credentials,
// so the proxy can start before mcpserver does.
func New(cfg Config) (*Client, error) {
	if cfg.URL == "" || !(strings.HasPrefix(cfg.URL, "http://") || strings.HasPrefix(cfg.URL, "https://")) {
		return nil, fmt.Errorf("MCP_SERVER_URL must be an http(s) URL such as http://localhost:8001/mcp, not %q", cfg.URL)
	}
	if cfg.Tokens == nil {
		return nil, errors.New("mcpclient: a TokenSource is required")
	}
	if cfg.ToolsTTL == 0 {
		cfg.ToolsTTL = DefaultToolsTTL
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	// The user's bearer token rides on every request; a redirect must never carry it to
	// another host (mcp-go follows redirects with the header attached: GO-2026-6911).
	hc := *cfg.HTTPClient
	hc.CheckRedirect = refuseRedirects
	cfg.HTTPClient = &hc
	return &Client{cfg: cfg}, nil
}

// refuseRedirects answers a redirect with the redirect response itself, which the MCP
// transport then reports as a failed request.
func refuseRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// Close releases the connection.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return nil
	}
	err := c.conn.Close()
	c.conn = nil
	return err
}

type bearerKey struct{}

// headers is the transport's per-request header function: the bearer token travels in the
// context of each call, so one connection serves every user.
func headers(ctx context.Context) map[string]string {
	if tok, ok := ctx.Value(bearerKey{}).(string); ok && tok != "" {
		return map[string]string{"Authorization": "Bearer " + tok}
	}
	return nil
}

// asUser returns ctx carrying user's mcpserver credentials.
func (c *Client) asUser(ctx context.Context, user User) (context.Context, error) {
	tok, err := c.cfg.Tokens(ctx, user)
	if err != nil {
		return nil, err
	}
	return context.WithValue(ctx, bearerKey{}, tok), nil
}

// connect returns the shared connection, starting and initialising it if needed.
func (c *Client) connect(ctx context.Context) (*client.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != nil {
		return c.conn, nil
	}
	mc, err := client.NewStreamableHttpClient(c.cfg.URL,
		transport.WithHTTPHeaderFunc(headers),
		transport.WithHTTPBasicClient(c.cfg.HTTPClient))
	if err != nil {
		return nil, err
	}
	if err := mc.Start(ctx); err != nil {
		_ = mc.Close()
		return nil, err
	}
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "taskwire-chatproxy", Version: "1"}
	if _, err := mc.Initialize(ctx, init); err != nil {
		_ = mc.Close()
		return nil, err
	}
	c.conn = mc
	return mc, nil
}

// drop forgets a connection that failed at the transport level, so the next call starts a
// fresh one (mcpserver may have restarted and forgotten a session).
func (c *Client) drop(mc *client.Client) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == mc {
		_ = c.conn.Close()
		c.conn = nil
	}
}

// do runs op on the shared connection as user, classifying failures.
func (c *Client) do(ctx context.Context, user User, what string, op func(context.Context, *client.Client) error) error {
	ctx, err := c.asUser(ctx, user)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	mc, err := c.connect(ctx)
	if err == nil {
		err = op(ctx, mc)
	}
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", what, context.Cause(ctx))
	}
	var terr *transport.Error
	isTransport := mc == nil || errors.As(err, &terr)
	if mc != nil && isTransport {
		c.drop(mc)
	}
	switch {
	case errors.Is(err, transport.ErrAuthorizationRequired) || errors.Is(err, transport.ErrUnauthorized):
		return fmt.Errorf("%s: %w (HTTP 401 from %s): check BETTER_AUTH_SECRET and the audience", what, ErrUnauthorized, c.cfg.URL)
	case isTransport || errors.Is(err, mcp.ErrInternalError) || errors.Is(err, mcp.ErrRequestInterrupted):
		return fmt.Errorf("%s: %w at %s: %w", what, ErrUnavailable, c.cfg.URL, err)
	}
	return fmt.Errorf("%s: %w: %w", what, ErrRejected, err)
}

// Tools returns mcpserver's tools, from a cache refreshed every ToolsTTL. The list is the same
// for every user, but it is fetched with the credentials of the user who finds it stale.
func (c *Client) Tools(ctx context.Context, user User) ([]mcp.Tool, error) {
	return c.tools.get(ctx, c.cfg.ToolsTTL, func(ctx context.Context) ([]mcp.Tool, error) {
		var tools []mcp.Tool
		err := c.do(ctx, user, "list mcpserver tools", func(ctx context.Context, mc *client.Client) error {
			res, err := mc.ListTools(ctx, mcp.ListToolsRequest{})
			if err == nil {
				tools = res.Tools
			}
			return err
		})
		return tools, err
	})
}

// Result is what a tool answered. A tool error (IsError) is a result to give back to the
// model, not a Go error.
type Result struct {
	// Text is the text content blocks, joined by newlines.
	Text string
	// Structured is the structuredContent, nil when the tool sent none.
	Structured json.RawMessage
	IsError    bool
}

// ForModel is the content of the tool message that reports r to the model: the text (which
// mcpserver makes a JSON copy of the structured content), else the structured content.
func (r Result) ForModel() string {
	s := r.Text
	if s == "" {
		s = string(r.Structured)
	}
	if r.IsError && !strings.HasPrefix(strings.ToLower(s), "error") {
		s = "Error: " + s
	}
	return s
}

// CallTool calls tool name with args (a JSON object; empty means none) as user.
func (c *Client) CallTool(ctx context.Context, user User, name string, args json.RawMessage) (Result, error) {
	var res *mcp.CallToolResult
	err := c.do(ctx, user, "call "+name+" on mcpserver", func(ctx context.Context, mc *client.Client) error {
		req := mcp.CallToolRequest{}
		req.Params.Name = name
		if len(args) > 0 {
			req.Params.Arguments = args
		}
		var err error
		res, err = mc.CallTool(ctx, req)
		return err
	})
	if err != nil {
		return Result{}, err
	}
	return toResult(res)
}

func toResult(res *mcp.CallToolResult) (Result, error) {
	out := Result{IsError: res.IsError}
	var texts []string
	for _, content := range res.Content {
		if t, ok := mcp.AsTextContent(content); ok {
			texts = append(texts, t.Text)
		}
	}
	out.Text = strings.Join(texts, "\n")
	switch {
	case len(res.RawStructuredContent) > 0:
		out.Structured = res.RawStructuredContent
	case res.StructuredContent != nil:
		b, err := json.Marshal(res.StructuredContent)
		if err != nil {
			return Result{}, fmt.Errorf("encode structured content: %w", err)
		}
		out.Structured = b
	}
	return out, nil
}

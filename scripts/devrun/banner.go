package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/template"
)

// The snippets are built as data and encoded with encoding/json, so whatever a path or token
// holds, what the user pastes is valid JSON.

type mcpHostConfig struct {
	MCPServers map[string]mcpHostServer `json:"mcpServers"`
}

type mcpHostServer struct {
	Command string            `json:"command"`
	Args    []string          `json:"args"`
	Env     map[string]string `json:"env,omitempty"`
}

// claudeStdio runs mcpserver as a local stdio process: no HTTP, no token; the user is fixed
// by --user.
func claudeStdio(s stack) mcpHostConfig {
	return mcpHostConfig{MCPServers: map[string]mcpHostServer{"taskwire": {
		Command: s.mcpserver().bin,
		Args:    []string{"stdio", "--user", s.User},
		Env:     map[string]string{"DATABASE_URL": s.DatabaseURL},
	}}}
}

// claudeRemote bridges Claude Desktop to the HTTP server with mcp-remote and a static token;
// the token sits in env so it is not repeated inside args.
func claudeRemote(s stack) mcpHostConfig {
	return mcpHostConfig{MCPServers: map[string]mcpHostServer{"taskwire": {
		Command: "npx",
		Args:    []string{"-y", "mcp-remote", s.MCPURL(), "--allow-http", "--header", "Authorization: Bearer ${TASKWIRE_TOKEN}"},
		Env:     map[string]string{"TASKWIRE_TOKEN": s.Token},
	}}}
}

// responsesRequest is an OpenAI Responses API request using taskwire as a hosted `mcp` tool.
// OpenAI calls the server from its own infrastructure, so the URL must be public.
func responsesRequest(s stack) map[string]any {
	return map[string]any{
		"model": "gpt-5.4-mini",
		"input": "Show me all my tasks",
		"tools": []map[string]any{{
			"type":             "mcp",
			"server_label":     "taskwire",
			"server_url":       "https://YOUR-PUBLIC-HOST/mcp",
			"headers":          map[string]string{"Authorization": "Bearer " + s.Token},
			"require_approval": "never",
		}},
	}
}

var bannerTemplate = template.Must(template.New("banner").Parse(`
================================================================================
taskwire is running. Ctrl-C stops everything; the next run finds the same data.

  Chat page     {{.S.ChatURL}}/
  ChatKit API   {{.S.ChatURL}}/chatkit      (POST, Bearer token)
  Simple chat   {{.S.ChatURL}}/api/chat     (POST, Bearer token)
  MCP server    {{.S.MCPURL}}
{{- if .S.AuthEnabled}}
  Auth service  {{.S.AuthURL}}   (accounts, JWKS, OAuth 2.1 for MCP hosts)
{{- end}}
  Health        {{.S.ChatURL}}/health   {{.S.MCPBase}}/health
  Metrics       {{.S.ChatURL}}/metrics  {{.S.MCPBase}}/metrics
  PostgreSQL    {{.S.DatabaseURL}}
  Data          {{.S.DataDir}}
{{- if .S.PostgresNote}}
  ({{.S.PostgresNote}})
{{- end}}
{{if .S.AuthEnabled}}
Open the chat page and sign up (e-mail + password); the page signs in at the auth service.

Dev token for user {{.S.User}} at mcpserver (valid 30 days), and one for chatproxy's curl API:
  export TASKWIRE_TOKEN={{.S.Token}}
  export TASKWIRE_CHAT_TOKEN={{.S.ChatToken}}
{{- else}}
Dev token for user {{.S.User}} (valid 30 days; the page gets its own automatically):
  export TASKWIRE_TOKEN={{.S.Token}}
  export TASKWIRE_CHAT_TOKEN=$TASKWIRE_TOKEN
{{- end}}
{{if not .S.LLMConfigured}}
No LLM is configured, so the chat cannot answer yet (everything else works). Set one and
run make run again:  OPENAI_API_KEY=sk-...  or  GEMINI_API_KEY=...  or, for a local or other
OpenAI-compatible server,  OPENAI_BASE_URL=http://127.0.0.1:11434/v1 LLM_MODEL=qwen3
{{end}}
Try it with curl:
  curl -s {{.S.ChatURL}}/api/chat -H "Authorization: Bearer $TASKWIRE_CHAT_TOKEN" \
       -H 'Content-Type: application/json' -d '{"message":"Add a task to buy groceries"}'

Claude Desktop, local (claude_desktop_config.json):
{{.Stdio}}

Claude Desktop through mcp-remote, over HTTP with the token:
{{.Remote}}

MCP Inspector (Node >= 22):
  npx -y @modelcontextprotocol/inspector --cli {{.S.MCPURL}} --transport http \
      --method tools/list --header "Authorization: Bearer $TASKWIRE_TOKEN"

OpenAI Responses API, taskwire as an mcp tool (needs a public https URL for mcpserver):
{{.Responses}}
{{- if .S.AuthEnabled}}

Claude, ChatGPT or VS Code by URL (OAuth): they connect from the internet, so put mcpserver
({{.S.MCPBase}}) and the auth service ({{.S.AuthBase}}) behind public https URLs (a tunnel),
then run again with those URLs, e.g.
  BETTER_AUTH_URL=https://auth.example.com MCP_PUBLIC_URL=https://tasks.example.com/mcp make run
and add https://tasks.example.com/mcp as a custom connector (docs/auth.md has the clicks).
  now: BETTER_AUTH_URL={{.S.AuthURL}}  MCP_PUBLIC_URL={{.S.MCPPublicURL}}
{{- end}}
================================================================================
`))

func renderBanner(w io.Writer, s stack) error {
	enc := func(v any) (string, error) {
		b, err := json.MarshalIndent(v, "", "  ")
		return string(b), err
	}
	var data struct {
		S                        stack
		Stdio, Remote, Responses string
	}
	data.S = s
	var err error
	if data.Stdio, err = enc(claudeStdio(s)); err != nil {
		return fmt.Errorf("render snippet: %w", err)
	}
	if data.Remote, err = enc(claudeRemote(s)); err != nil {
		return fmt.Errorf("render snippet: %w", err)
	}
	if data.Responses, err = enc(responsesRequest(s)); err != nil {
		return fmt.Errorf("render snippet: %w", err)
	}
	if err := bannerTemplate.Execute(w, data); err != nil {
		return fmt.Errorf("render banner: %w", err)
	}
	return nil
}

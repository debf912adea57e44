#!/usr/bin/env bash
# Drives a real mcpserver, with authentication on, through the MCP Inspector CLI
# (@modelcontextprotocol/inspector, pinned): tools/list and an add_task call with a bearer
# token from `mcpserver token`, then checks that a call without the token is refused.
set -euo pipefail
E2E_NAME=20-mcp-inspector
source "$(dirname "$0")/lib.sh"
trap e2e_cleanup EXIT

INSPECTOR_VERSION=2.12.0
SECRET=inspector-e2e-secret-0123456789-abcdefghij
AUDIENCE=http://127.0.0.1/mcp-e2e

e2e_setup_node
INSPECTOR=$(e2e_npm_tool @modelcontextprotocol/inspector "$INSPECTOR_VERSION")/node_modules/.bin/mcp-inspector
e2e_build_mcpserver
e2e_start_database
e2e_start_mcpserver BETTER_AUTH_SECRET="$SECRET" MCP_AUDIENCE="$AUDIENCE"
TOKEN=$(BETTER_AUTH_SECRET="$SECRET" MCP_AUDIENCE="$AUDIENCE" "$MCPSERVER_BIN" token --user inspector-user --ttl 10m)

# The Inspector keeps a catalog under $HOME; keep it out of the real one.
export HOME=$E2E_TMP/home MCP_CATALOG_PATH=$E2E_TMP/home/catalog
mkdir -p "$HOME"

inspect() {
  timeout 120 "$INSPECTOR" --cli "$MCP_URL" --transport http "$@" </dev/null
}

e2e_log "tools/list"
inspect --method tools/list --header "Authorization: Bearer $TOKEN" >"$E2E_TMP/list.json" 2>"$E2E_TMP/list.err" \
  || { cat "$E2E_TMP/list.err" >&2; e2e_server_log; e2e_fail "tools/list failed"; }
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const names = (r.tools || []).map(t => t.name).sort().join(",");
  const want = "add_task,complete_task,delete_task,list_tasks,restore_task,update_task";
  if (names !== want) { console.error(`tools: ${names}, want ${want}`); process.exit(1); }
  const list = r.tools.find(t => t.name === "list_tasks");
  if (list.annotations.readOnlyHint !== true || list.annotations.openWorldHint !== false) {
    console.error("list_tasks annotations:", JSON.stringify(list.annotations)); process.exit(1);
  }
' "$E2E_TMP/list.json" || e2e_fail "unexpected tools/list output: $(cat "$E2E_TMP/list.json")"

e2e_log "tools/call add_task"
inspect --method tools/call --tool-name add_task --tool-arg "title=Buy groceries" --tool-arg "priority=high" \
  --header "Authorization: Bearer $TOKEN" >"$E2E_TMP/call.json" 2>"$E2E_TMP/call.err" \
  || { cat "$E2E_TMP/call.err" >&2; e2e_server_log; e2e_fail "tools/call add_task failed"; }
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const t = r.structuredContent || {};
  if (r.isError || t.title !== "Buy groceries" || t.priority !== "high" || t.task_id !== 1) {
    console.error("add_task result:", JSON.stringify(r)); process.exit(1);
  }
  if (!(r.content || []).some(c => c.type === "text" && JSON.parse(c.text).title === "Buy groceries")) {
    console.error("no text block with the task:", JSON.stringify(r.content)); process.exit(1);
  }
' "$E2E_TMP/call.json" || e2e_fail "unexpected add_task output: $(cat "$E2E_TMP/call.json")"

e2e_log "tools/list without a token is refused"
if inspect --method tools/list --stored-auth-only >"$E2E_TMP/noauth.out" 2>&1; then
  cat "$E2E_TMP/noauth.out" >&2
  e2e_fail "tools/list without a token succeeded"
fi
grep -qiE 'auth|401|unauthori' "$E2E_TMP/noauth.out" || { cat "$E2E_TMP/noauth.out" >&2; e2e_fail "refusal without a token does not mention authorization"; }

echo "$E2E_NAME: ok"

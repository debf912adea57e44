#!/usr/bin/env bash
# OAuth 2.1 end to end, with real components only: a throwaway PostgreSQL, the auth service
# (authserver/, Better Auth), and mcpserver verifying its tokens through the JWKS. The MCP
# TypeScript SDK's OAuth client (@modelcontextprotocol/sdk, pinned in oauth/package-lock.json)
# adds mcpserver by URL and runs the whole flow, with oauth/flow.mjs playing the user's browser
# over plain HTTP; then refresh rotation and reuse, scopes, bad tokens and bad input. Last, the
# MCP conformance suite's `authorization` command runs against the auth service. The auth
# service's own unit tests (node --test) run first.
set -euo pipefail
E2E_NAME=30-oauth
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/oauth/lib-auth.sh"
trap e2e_cleanup EXIT

CONFORMANCE_VERSION=0.2.0-alpha.12 # as in 10-mcp-conformance.sh
SECRET=oauth-e2e-secret-0123456789-abcdefghijkl
OAUTH_DIR=$E2E_ROOT/scripts/e2e/oauth

e2e_setup_node
auth_npm_ci "$E2E_ROOT/authserver"
auth_npm_ci "$OAUTH_DIR"
CONFORMANCE=$(e2e_npm_tool @modelcontextprotocol/conformance "$CONFORMANCE_VERSION")/node_modules/@modelcontextprotocol/conformance/dist/index.js

e2e_log "authserver unit tests"
(cd "$E2E_ROOT/authserver" && node --test test/*.test.js) >"$E2E_TMP/unit.log" 2>&1 || { cat "$E2E_TMP/unit.log" >&2; e2e_fail "authserver unit tests failed"; }

e2e_build_mcpserver
e2e_start_database
AUTH_PORT=$(auth_free_port)
MCP_PORT=$(auth_free_port)
AUTH_URL=http://127.0.0.1:$AUTH_PORT
MCP_PUBLIC_URL=http://127.0.0.1:$MCP_PORT/mcp
AUTH_ENV=(AUTH_HOST=127.0.0.1 AUTH_PORT="$AUTH_PORT" BETTER_AUTH_URL="$AUTH_URL" BETTER_AUTH_SECRET="$SECRET"
  DATABASE_URL="$DATABASE_URL" MCP_PUBLIC_URL="$MCP_PUBLIC_URL" AUTH_TRUSTED_ORIGINS=http://127.0.0.1:1)
auth_start_authserver "${AUTH_ENV[@]}"
e2e_start_mcpserver MCP_PORT="$MCP_PORT" BETTER_AUTH_SECRET="$SECRET" \
  BETTER_AUTH_JWKS_URL="$AUTH_URL/api/auth/jwks" BETTER_AUTH_ISSUER="$AUTH_URL" \
  MCP_AUDIENCE="$MCP_PUBLIC_URL" MCP_PUBLIC_URL="$MCP_PUBLIC_URL" MCP_AUTHORIZATION_SERVERS="$AUTH_URL"
[ "$MCP_URL" = "$MCP_PUBLIC_URL" ] || e2e_fail "mcpserver listens at $MCP_URL, not $MCP_PUBLIC_URL"

status=0
e2e_log "MCP SDK OAuth client against the auth service and mcpserver"
if ! (cd "$OAUTH_DIR" && timeout 120 env AUTH_URL="$AUTH_URL" MCP_URL="$MCP_URL" \
    SIGN_TOKEN="env ${AUTH_ENV[*]} node $OAUTH_DIR/sign-token.mjs" node flow.mjs); then
  status=1
fi

# The conformance suite's authorization-server scenarios. authorization-code-grant waits for a
# person to sign in at a URL it prints; approve.mjs plays that person.
e2e_log "conformance $CONFORMANCE_VERSION authorization (against the auth service)"
CB_PORT=$(auth_free_port)
client_id=$(node -e '
  fetch(process.argv[1] + "/api/auth/oauth2/register", { method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ client_name: "MCP conformance suite", redirect_uris: [`http://127.0.0.1:${process.argv[2]}/callback`],
      token_endpoint_auth_method: "none", grant_types: ["authorization_code"], response_types: ["code"] }) })
  .then((r) => r.json()).then((b) => { if (!b.client_id) throw new Error(JSON.stringify(b)); process.stdout.write(b.client_id); })' "$AUTH_URL" "$CB_PORT")
conf_email=conformance-$RANDOM@example.com
node -e '
  fetch(process.argv[1] + "/api/auth/sign-up/email", { method: "POST", headers: { "content-type": "application/json", origin: process.argv[1] },
    body: JSON.stringify({ name: "Conformance", email: process.argv[2], password: "conformance-password" }) })
  .then((r) => { if (!r.ok) throw new Error("sign-up " + r.status); })' "$AUTH_URL" "$conf_email"
conf_log=$E2E_TMP/conformance-authorization.txt
: >"$conf_log"
(cd "$OAUTH_DIR" && AUTH_URL="$AUTH_URL" timeout 60 node approve.mjs "$conf_log" "$conf_email" conformance-password) &
approve_pid=$!
rc=0
timeout 90 node "$CONFORMANCE" authorization --url "$AUTH_URL" --client-id "$client_id" --port "$CB_PORT" \
  --resource "$MCP_PUBLIC_URL" -o "$E2E_TMP/conformance-out" >"$conf_log" 2>&1 || rc=$?
wait "$approve_pid" || true
sed -n '/=== SUMMARY ===/,$p' "$conf_log"
for scenario in authorization-server-metadata-endpoint authorization-code-grant; do
  grep -q "✓ $scenario: [0-9]* passed, 0 failed" "$conf_log" || { echo "$E2E_NAME: conformance scenario $scenario did not pass" >&2; rc=${rc/#0/1}; }
done
[ "$rc" = 0 ] || { cat "$conf_log" >&2; echo "$E2E_NAME: conformance authorization failed (exit $rc)" >&2; status=1; }

if [ "$status" != 0 ]; then
  echo "--- auth service log" >&2; tail -n 60 "$AUTH_LOG" >&2
  echo "--- mcpserver log" >&2; e2e_server_log 2>&1 | tail -n 40 >&2
  exit 1
fi
echo "$E2E_NAME: ok"

#!/usr/bin/env bash
# The task-list MCP App in a real MCP Apps host: builds mcpserver and starts it on a
# throwaway database in its loopback dev mode, then scripts/e2e/mcp-app/test.cjs bundles a
# host page on the official @modelcontextprotocol/ext-apps AppBridge and MCP client (esbuild,
# into a temp dir), opens it in Debian's headless Chromium, and ticks, renames, deletes and
# pages through tasks in the sandboxed app, checking each change in mcpserver. Screenshots
# (light and dark) go to test-artifacts/mcp-app/. Installs chromium (apt) and the pinned npm
# packages (scripts/e2e/mcp-app/package-lock.json) when missing.
set -euo pipefail
E2E_NAME=40-mcp-app
source "$(dirname "$0")/lib.sh"
trap e2e_cleanup EXIT

APP_DIR=$E2E_ROOT/scripts/e2e/mcp-app
CACHE=$E2E_CACHE/mcp-app
ARTIFACTS=$E2E_ROOT/test-artifacts/mcp-app
CHROMIUM=/usr/bin/chromium

if [ ! -x "$CHROMIUM" ]; then
  [ "$(id -u)" = 0 ] || e2e_fail "chromium is missing; install it (Debian: apt-get install chromium)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
e2e_setup_node

# The exact versions of the lockfile, installed once into the cache.
if ! cmp -s "$APP_DIR/package-lock.json" "$CACHE/package-lock.json" || [ ! -d "$CACHE/node_modules" ]; then
  e2e_log "installing the pinned npm packages"
  rm -rf "$CACHE" && mkdir -p "$CACHE"
  cp "$APP_DIR/package.json" "$APP_DIR/package-lock.json" "$CACHE/"
  (cd "$CACHE" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

e2e_build_mcpserver
e2e_start_database
e2e_start_mcpserver MCP_DEV_USER=mcp-app-e2e

mkdir -p "$ARTIFACTS"
if ! MCP_URL="$MCP_URL" ARTIFACTS="$ARTIFACTS" CHROMIUM="$CHROMIUM" NODE_PATH="$CACHE/node_modules" \
     timeout 120 node "$APP_DIR/test.cjs"; then
  tail -n 30 "$E2E_TMP/mcpserver.log" >&2
  e2e_fail "the MCP App test failed (screenshots in $ARTIFACTS)"
fi
echo "$E2E_NAME: ok"

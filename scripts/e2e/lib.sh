# Shared set-up for the MCP end-to-end scripts (sourced, not run): Node >= 22.19 from the npm
# registry when the system's is older, pinned npm tools in a cache, a throwaway database and
# a real mcpserver binary on 127.0.0.1. Everything started here is stopped by e2e_cleanup,
# which the sourcing script installs as its EXIT trap.

E2E_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
E2E_CACHE=$E2E_ROOT/scripts/e2e/.cache
E2E_NODE_VERSION=22 # major version of the npm package node@… used when the system's is too old
E2E_TMP=$(mktemp -d)
E2E_PIDS=()

e2e_fail() { echo "$E2E_NAME: $*" >&2; exit 1; }
e2e_log() { echo "--- $E2E_NAME: $*"; }

e2e_cleanup() {
  local pid
  for ((i = ${#E2E_PIDS[@]} - 1; i >= 0; i--)); do
    pid=${E2E_PIDS[i]}
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$E2E_TMP"
}

# e2e_node_ok BIN: whether BIN is a Node at least 22.19 (the Inspector's and the conformance
# suite's floor; older ones crash at import).
e2e_node_ok() {
  local v
  v=$("$1" -p 'process.versions.node' 2>/dev/null) || return 1
  local major=${v%%.*} rest=${v#*.}
  local minor=${rest%%.*}
  [ "$major" -gt 22 ] || { [ "$major" -eq 22 ] && [ "$minor" -ge 19 ]; }
}

# e2e_setup_node: puts a suitable node and npm first on PATH.
e2e_setup_node() {
  if ! command -v npm >/dev/null; then
    [ "$(id -u)" = 0 ] || e2e_fail "npm is missing; install Node.js and npm"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  fi
  if command -v node >/dev/null && e2e_node_ok node; then
    return
  fi
  local dir=$E2E_CACHE/node$E2E_NODE_VERSION
  if ! e2e_node_ok "$dir/node_modules/node/bin/node"; then
    e2e_log "installing Node $E2E_NODE_VERSION from the npm registry (system node: $(node --version 2>/dev/null || echo none))"
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "node@$E2E_NODE_VERSION" >/dev/null
    e2e_node_ok "$dir/node_modules/node/bin/node" || e2e_fail "node@$E2E_NODE_VERSION did not give a working Node >= 22.19"
  fi
  export PATH="$dir/node_modules/node/bin:$PATH"
}

# e2e_npm_tool PACKAGE VERSION: installs a pinned npm package into its own cache directory
# (once) and prints that directory.
e2e_npm_tool() {
  local pkg=$1 version=$2
  local dir=$E2E_CACHE/$(echo "$pkg" | tr '/@' '__')-$version
  if [ ! -f "$dir/node_modules/$pkg/package.json" ] || ! grep -q "\"version\": \"$version\"" "$dir/node_modules/$pkg/package.json"; then
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "$pkg@$version" >&2
  fi
  echo "$dir"
}

# e2e_build_mcpserver: builds the real binary; sets MCPSERVER_BIN.
e2e_build_mcpserver() {
  MCPSERVER_BIN=$E2E_TMP/mcpserver
  (cd "$E2E_ROOT" && go build -o "$MCPSERVER_BIN" ./mcpserver) || e2e_fail "go build ./mcpserver failed"
}

# e2e_start_database: a throwaway database (scripts/e2e/pgserver); sets DATABASE_URL.
e2e_start_database() {
  (cd "$E2E_ROOT" && go build -o "$E2E_TMP/pgserver" ./scripts/e2e/pgserver) || e2e_fail "go build pgserver failed"
  "$E2E_TMP/pgserver" >"$E2E_TMP/pg.out" 2>"$E2E_TMP/pg.err" &
  E2E_PIDS+=($!)
  local pid=$!
  for _ in $(seq 1 600); do
    if [ -s "$E2E_TMP/pg.out" ]; then
      DATABASE_URL=$(head -n1 "$E2E_TMP/pg.out")
      export DATABASE_URL
      return
    fi
    kill -0 "$pid" 2>/dev/null || { cat "$E2E_TMP/pg.err" >&2; e2e_fail "the throwaway database did not start"; }
    sleep 0.2
  done
  e2e_fail "the throwaway database did not start within 2 minutes"
}

# e2e_start_mcpserver [VAR=value...]: runs `mcpserver serve` on 127.0.0.1 with a free port and
# the given extra environment, waits for /health, and sets MCP_URL and MCP_BASE.
e2e_start_mcpserver() {
  local log=$E2E_TMP/mcpserver.log
  env MCP_HOST=127.0.0.1 MCP_PORT=0 LOG_LEVEL=info "$@" "$MCPSERVER_BIN" serve >"$log" 2>&1 &
  local pid=$!
  E2E_PIDS+=($pid)
  local addr=""
  for _ in $(seq 1 300); do
    # The JSON log line: {"msg":"mcpserver listening","addr":"127.0.0.1:PORT",…}
    addr=$(grep -o '"addr":"127\.0\.0\.1:[0-9]*"' "$log" | head -n1 | cut -d'"' -f4 || true)
    [ -n "$addr" ] && break
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; e2e_fail "mcpserver exited at start"; }
    sleep 0.1
  done
  [ -n "$addr" ] || { cat "$log" >&2; e2e_fail "mcpserver did not start listening"; }
  MCP_BASE=http://$addr
  MCP_URL=$MCP_BASE/mcp
  for _ in $(seq 1 100); do
    if MCP_HOST=127.0.0.1 MCP_PORT=${addr##*:} "$MCPSERVER_BIN" healthcheck 2>/dev/null; then
      e2e_log "mcpserver up at $MCP_URL"
      return
    fi
    sleep 0.1
  done
  cat "$log" >&2
  e2e_fail "mcpserver /health did not answer 200"
}

# e2e_server_log: the server's output, for failure reports.
e2e_server_log() { cat "$E2E_TMP/mcpserver.log" >&2; }

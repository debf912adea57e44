# Shared set-up for the auth service end-to-end scripts (sourced after scripts/e2e/lib.sh):
# its npm dependencies (npm ci from authserver/package-lock.json, once per lockfile), free
# loopback ports, and a running auth service. Processes join E2E_PIDS, so e2e_cleanup stops them.

# auth_npm_ci DIR: installs DIR's locked npm dependencies unless the lockfile is unchanged
# since the last install (a copy of it is kept inside node_modules).
auth_npm_ci() {
  local dir=$1
  if ! cmp -s "$dir/package-lock.json" "$dir/node_modules/.taskwire-lock.json" 2>/dev/null; then
    e2e_log "npm ci in ${dir#"$E2E_ROOT"/}"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || e2e_fail "npm ci in $dir failed"
    cp "$dir/package-lock.json" "$dir/node_modules/.taskwire-lock.json"
  fi
}

# auth_free_port: prints a free loopback port.
auth_free_port() {
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{process.stdout.write(String(s.address().port));s.close()})'
}

# auth_start_authserver [VAR=value...]: starts the auth service with the given environment on
# AUTH_PORT (which the caller sets among the variables), waits for /health, and sets AUTH_LOG.
auth_start_authserver() {
  AUTH_LOG=$E2E_TMP/authserver.log
  env LOG_LEVEL=warn "$@" node "$E2E_ROOT/authserver/src/main.js" >"$AUTH_LOG" 2>&1 &
  local pid=$!
  E2E_PIDS+=($pid)
  local url
  url=$(env "$@" sh -c 'echo "$BETTER_AUTH_URL"')
  for _ in $(seq 1 300); do
    if node -e 'fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "$url/health"; then
      e2e_log "auth service up at $url"
      return
    fi
    kill -0 "$pid" 2>/dev/null || { cat "$AUTH_LOG" >&2; e2e_fail "the auth service exited at start"; }
    sleep 0.1
  done
  cat "$AUTH_LOG" >&2
  e2e_fail "the auth service did not answer /health within 30 s"
}

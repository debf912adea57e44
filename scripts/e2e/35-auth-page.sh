#!/usr/bin/env bash
# Browser test of signing in: starts the whole stack with the auth service (throwaway
# PostgreSQL, the auth service, mcpserver, chatproxy, the rule-based fake LLM) with
# `devrun -ephemeral -fake-llm`, then drives Debian's chromium (headless, playwright-core,
# loopback only) through oauth/page.test.cjs: sign up in the page, sign out, a wrong password,
# sign in, "add a task to buy milk" in the chat, and "buy milk" in the task panel.
# Screenshots go to test-artifacts/auth-page/. Installs chromium (apt) and playwright-core
# (npm, pinned by browser/package.json) when missing, as root on a fresh Debian machine.
set -euo pipefail
cd "$(dirname "$0")/../.."

CACHE=scripts/e2e/.cache/browser
ARTIFACTS=test-artifacts/auth-page
CHROMIUM=/usr/bin/chromium

fail() { echo "35-auth-page: $*" >&2; exit 1; }

apt_install() {
  [ "$(id -u)" = 0 ] || fail "$* missing; install it (Debian: apt-get install $*)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
[ -x "$CHROMIUM" ] || apt_install chromium
command -v npm >/dev/null || apt_install nodejs npm

# playwright-core, pinned by scripts/e2e/browser/package.json, never downloads a browser.
if ! cmp -s scripts/e2e/browser/package.json "$CACHE/package.json" || [ ! -d "$CACHE/node_modules/playwright-core" ]; then
  mkdir -p "$CACHE"
  cp scripts/e2e/browser/package.json "$CACHE/package.json"
  (cd "$CACHE" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
fi

work=$(mktemp -d)
stack_pid=
cleanup() {
  if [ -n "$stack_pid" ] && kill -0 "$stack_pid" 2>/dev/null; then
    kill -TERM "$stack_pid" 2>/dev/null || true
    wait "$stack_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$ARTIFACTS"
go build -o "$work/devrun" ./scripts/devrun
"$work/devrun" -ephemeral -fake-llm -ready-file "$work/ready.json" >"$ARTIFACTS/stack.log" 2>&1 &
stack_pid=$!

# First runs build both services and initialise PostgreSQL: allow a few minutes.
for _ in $(seq 1 600); do
  [ -s "$work/ready.json" ] && break
  if ! kill -0 "$stack_pid" 2>/dev/null; then
    tail -n 40 "$ARTIFACTS/stack.log" >&2
    fail "the stack exited before it was ready (log: $ARTIFACTS/stack.log)"
  fi
  sleep 0.5
done
[ -s "$work/ready.json" ] || { tail -n 40 "$ARTIFACTS/stack.log" >&2; fail "the stack was not ready within 5 minutes"; }

ready() { node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))[process.argv[2]] || "")' "$work/ready.json" "$1"; }
url=$(ready chat_url)/
auth_url=$(ready auth_url)
[ -n "$auth_url" ] || fail "devrun did not start the auth service (no auth_url in its ready file)"
echo "35-auth-page: page at $url"
if ! TASKWIRE_URL="$url" AUTH_URL="$auth_url" ARTIFACTS="$ARTIFACTS" CHROMIUM="$CHROMIUM" NODE_PATH="$PWD/$CACHE/node_modules" \
     timeout 120 node scripts/e2e/oauth/page.test.cjs; then
  tail -n 40 "$ARTIFACTS/stack.log" >&2
  fail "browser test failed (screenshot and stack log in $ARTIFACTS)"
fi
echo "35-auth-page: ok"

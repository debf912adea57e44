#!/usr/bin/env bash
# Browser test: starts the whole stack (throwaway PostgreSQL, mcpserver, chatproxy, the
# rule-based fake LLM) with `devrun -ephemeral -fake-llm`, then drives Debian's chromium
# (headless, playwright-core, no network but loopback) through the page's built-in chat, which
# speaks ChatKit on /chatkit: tasks added by chat appear in the task panel; a task ticked in
# the panel shows done in the next "show my tasks" widget; the widget's checkbox and its
# confirmed Delete change tasks in mcpserver; the panel renames and undoes a delete.
# Screenshots (light, dark, phone width) go to test-artifacts/browser/. Installs chromium (apt) and playwright-core (npm, pinned) when
# missing, as root on a fresh Debian machine.
# BROWSER_TEST, BROWSER_DEVRUN_FLAG and BROWSER_ARTIFACTS let 35-auth-page.sh reuse this stack.
set -euo pipefail
cd "$(dirname "$0")/../.."

CACHE=scripts/e2e/.cache/browser
ARTIFACTS=${BROWSER_ARTIFACTS:-test-artifacts/browser}
CHROMIUM=/usr/bin/chromium

fail() { echo "90-browser: $*" >&2; exit 1; }

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
"$work/devrun" -ephemeral -fake-llm "${BROWSER_DEVRUN_FLAG:--auth=false}" -ready-file "$work/ready.json" >"$ARTIFACTS/stack.log" 2>&1 &
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

url=$(node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).chat_url + "/")' "$work/ready.json")
echo "90-browser: page at $url"
if ! TASKWIRE_URL="$url" ARTIFACTS="$ARTIFACTS" CHROMIUM="$CHROMIUM" NODE_PATH="$PWD/$CACHE/node_modules" \
     node "${BROWSER_TEST:-scripts/e2e/browser/test.cjs}"; then
  tail -n 40 "$ARTIFACTS/stack.log" >&2
  fail "browser test failed (screenshot and stack log in $ARTIFACTS)"
fi
echo "90-browser: ok"

#!/usr/bin/env bash
# Browser test of signing in on the page against the real auth service: the same stack and
# Chromium set-up as 90-browser.sh (devrun -ephemeral -fake-llm, now with the auth service),
# driving oauth/page.test.cjs: sign up in the page, sign out, a wrong password, sign in,
# "add a task to buy milk" in the chat, and "buy milk" in the task panel, every request
# carrying the auth service's JWT. Screenshots go to test-artifacts/auth-page/.
set -euo pipefail
cd "$(dirname "$0")/../.."
BROWSER_TEST=scripts/e2e/oauth/page.test.cjs BROWSER_DEVRUN_FLAG=-auth=true BROWSER_ARTIFACTS=test-artifacts/auth-page \
  exec bash scripts/e2e/90-browser.sh

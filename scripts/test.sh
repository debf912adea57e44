#!/usr/bin/env bash
# The whole test suite, as CI runs it. It needs only Go on a fresh Debian machine: the Go tests
# start a throwaway PostgreSQL themselves (installing Debian's postgresql when run as root), and
# each scripts/e2e/*.sh installs what its real peers need (Node 22, the MCP conformance suite,
# the Inspector, Chromium) before running them against real servers.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/lint.sh
go test -race -count=1 -timeout 15m ./...
for e2e in scripts/e2e/[0-9][0-9]-*.sh; do
  [ -e "$e2e" ] || continue
  echo "=== $e2e"
  bash "$e2e"
done

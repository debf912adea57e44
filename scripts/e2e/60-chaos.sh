#!/usr/bin/env bash
# The chaos suite (scripts/chaos): two replicas each of mcpserver and chatproxy behind a real
# haproxy (Debian's package), on a private PostgreSQL, all on 127.0.0.1; then a PostgreSQL
# restart under load, SIGTERM drains, a one-user flood, slowloris and hostile inputs. Every
# check is a deterministic PASS/FAIL; the figures are printed as a table (docs/scaling.md and
# docs/operating.md quote them). Bounded: the driver stops itself at 170 s.
set -euo pipefail
E2E_NAME=60-chaos
source "$(dirname "$0")/lib.sh"
trap e2e_cleanup EXIT

if ! command -v haproxy >/dev/null; then
  [ "$(id -u)" = 0 ] || e2e_fail "haproxy is missing; install Debian's haproxy package"
  e2e_log "installing haproxy"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends haproxy >/dev/null
fi

# The compose example's haproxy config must at least be one haproxy accepts.
haproxy -c -q -f "$E2E_ROOT/deploy/haproxy/haproxy.cfg" || e2e_fail "deploy/haproxy/haproxy.cfg is not valid"

e2e_log "building mcpserver, chatproxy and the chaos driver"
(cd "$E2E_ROOT" && go build -o "$E2E_TMP/bin/" ./mcpserver ./chatproxy ./scripts/chaos) || e2e_fail "go build failed"

dir=${E2E_ARTIFACTS:+$E2E_ARTIFACTS/chaos}
"$E2E_TMP/bin/chaos" -mcpserver "$E2E_TMP/bin/mcpserver" -chatproxy "$E2E_TMP/bin/chatproxy" \
  ${dir:+-dir "$dir"} -timeout 170s || e2e_fail "chaos checks failed (above)"
echo "60-chaos: ok"

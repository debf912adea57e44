#!/usr/bin/env bash
# Checks the container files without a Docker engine (none runs on CI machines):
#  1. lints Dockerfile.mcp, Dockerfile.proxy and Dockerfile.auth with dockerfile-utils (the validator behind
#     VS Code's Docker extension; hadolint is in no registry we can reach: not in Debian, and
#     PyPI is closed) and docker-compose.yml with dclint — both pinned, from npm;
#  2. checks the properties the images must have: multi-stage, CGO_ENABLED=0, a distroless
#     nonroot final stage running as nonroot, HEALTHCHECK and ENTRYPOINT in exec form;
#  3. builds the same static binaries the Dockerfiles build and checks that each image
#     (binary + the ~2.5 MB distroless base) stays under 30 MB.
# `docker compose config` is not used: the compose plugin is not installed here, and dclint
# validates the file against the compose schema.
set -euo pipefail
cd "$(dirname "$0")/../.."

DOCKERFILE_UTILS_VERSION=0.16.3
DCLINT_VERSION=3.1.0
LIMIT_MB=30
BASE_MB=3 # gcr.io/distroless/static-debian12 is ~2.5 MB; round up
CACHE=scripts/e2e/.cache/container-lint

fail() { echo "05-container-files: $*" >&2; exit 1; }

if ! command -v npm >/dev/null; then
  [ "$(id -u)" = 0 ] || fail "npm is missing; install Node.js and npm"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
if [ ! -x "$CACHE/node_modules/.bin/dclint" ] || ! grep -q "\"version\": \"$DCLINT_VERSION\"" "$CACHE/node_modules/dclint/package.json" \
   || ! grep -q "\"version\": \"$DOCKERFILE_UTILS_VERSION\"" "$CACHE/node_modules/dockerfile-utils/package.json" 2>/dev/null; then
  mkdir -p "$CACHE"
  npm install --prefix "$CACHE" --no-audit --no-fund --loglevel=error \
    "dockerfile-utils@$DOCKERFILE_UTILS_VERSION" "dclint@$DCLINT_VERSION" >/dev/null
fi

# instruction FILE NAME: the named instructions of a Dockerfile, continuation lines joined.
instructions() {
  sed -e ':a' -e '/\\$/N; s/\\\n[[:space:]]*/ /; ta' "$1" | grep -iE "^[[:space:]]*$2([[:space:]]|$)" || true
}

check_dockerfile() {
  local f=$1 bin=$2
  [ -f "$f" ] || fail "$f is missing"
  echo "--- lint $f"
  "$CACHE/node_modules/.bin/dockerfile-utils" lint "$f" || fail "$f: dockerfile-utils found problems (above)"

  local froms last_from
  froms=$(instructions "$f" FROM)
  [ "$(printf '%s\n' "$froms" | grep -c .)" -ge 2 ] || fail "$f: not multi-stage (want a build stage and a runtime stage)"
  printf '%s\n' "$froms" | head -n1 | grep -qiE '[[:space:]]AS[[:space:]]+[a-z]' || fail "$f: the build stage has no name (FROM ... AS build)"
  last_from=$(printf '%s\n' "$froms" | tail -n1)
  [[ $last_from =~ gcr\.io/distroless/static-debian1[0-9]+:nonroot ]] || fail "$f: final stage is '$last_from', want gcr.io/distroless/static-debian12:nonroot"
  instructions "$f" RUN | grep -q 'CGO_ENABLED=0' || fail "$f: the build does not set CGO_ENABLED=0 (static binary)"
  instructions "$f" RUN | grep -q -- '-trimpath' || fail "$f: the build lacks -trimpath"
  instructions "$f" USER | tail -n1 | grep -qE 'USER[[:space:]]+(nonroot|65532)' || fail "$f: last USER is not nonroot"
  instructions "$f" HEALTHCHECK | grep -qE "CMD[[:space:]]*\[[[:space:]]*\"/$bin\"[[:space:]]*,[[:space:]]*\"healthcheck\"" \
    || fail "$f: want HEALTHCHECK ... CMD [\"/$bin\", \"healthcheck\"] (exec form: distroless has no shell)"
  instructions "$f" ENTRYPOINT | grep -qE "\[[[:space:]]*\"/$bin\"" || fail "$f: want ENTRYPOINT [\"/$bin\"] (exec form)"
}

check_dockerfile Dockerfile.mcp mcpserver
check_dockerfile Dockerfile.proxy chatproxy

# Dockerfile.auth is Node, not Go: a locked npm install in the build stage, distroless Node,
# non-root, and exec-form HEALTHCHECK and ENTRYPOINT.
f=Dockerfile.auth
[ -f "$f" ] || fail "$f is missing"
echo "--- lint $f"
"$CACHE/node_modules/.bin/dockerfile-utils" lint "$f" || fail "$f: dockerfile-utils found problems (above)"
[ "$(instructions "$f" FROM | grep -c .)" -ge 2 ] || fail "$f: not multi-stage"
[[ $(instructions "$f" FROM | tail -n1) =~ gcr\.io/distroless/nodejs.*-debian1[0-9]+:nonroot ]] || fail "$f: final stage is not distroless Node (nonroot)"
instructions "$f" RUN | grep -q 'npm ci --omit=dev' || fail "$f: dependencies must come from the lockfile (npm ci --omit=dev)"
instructions "$f" USER | tail -n1 | grep -qE 'USER[[:space:]]+(nonroot|65532)' || fail "$f: last USER is not nonroot"
instructions "$f" HEALTHCHECK | grep -qE 'CMD[[:space:]]*\[' || fail "$f: HEALTHCHECK must use the exec form"
instructions "$f" ENTRYPOINT | grep -qE '\[[[:space:]]*"/nodejs/bin/node"' || fail "$f: want ENTRYPOINT [\"/nodejs/bin/node\"] (exec form)"

echo "--- lint docker-compose.yml"
# The services are ordered by start-up (health order), not alphabetically, on purpose.
"$CACHE/node_modules/.bin/dclint" docker-compose.yml --max-warnings 0 \
  --disable-rule services-alphabetical-order --disable-rule service-keys-order --disable-rule top-level-properties-order || fail "docker-compose.yml: dclint found problems (above)"
for svc in postgres migrate mcpserver chatproxy; do
  grep -qE "^  $svc:" docker-compose.yml || fail "docker-compose.yml: no service $svc"
done
[ "$(grep -c 'condition: service_healthy' docker-compose.yml)" -ge 2 ] || fail "docker-compose.yml: services must wait for health (depends_on condition: service_healthy)"

echo "--- static binaries, as the Dockerfiles build them"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for bin in mcpserver chatproxy; do
  CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags="-s -w" -o "$out/$bin" "./$bin"
  if command -v file >/dev/null; then
    file "$out/$bin" | grep -q 'statically linked' || fail "$bin is not statically linked: $(file "$out/$bin")"
  fi
  size=$(stat -c %s "$out/$bin")
  mb=$(( (size + 1048575) / 1048576 ))
  echo "$bin: $size bytes (~$mb MB binary, ~$((mb + BASE_MB)) MB image)"
  [ $((mb + BASE_MB)) -lt $LIMIT_MB ] || fail "$bin image would be ~$((mb + BASE_MB)) MB, over $LIMIT_MB MB"
done
echo "05-container-files: ok"

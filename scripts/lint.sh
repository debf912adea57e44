#!/usr/bin/env bash
# Static checks: formatting, vet, and that the sqlc output in db/ matches schema.sql and the
# queries (generated code is never edited by hand).
set -euo pipefail
cd "$(dirname "$0")/.."
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './node_modules/*'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
go vet ./...
go tool -modfile=tools/go.mod sqlc diff
echo "lint: ok"

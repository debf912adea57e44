#!/usr/bin/env bash
# Static checks: formatting, vet, that the sqlc output in db/ matches schema.sql and the
# queries (generated code is never edited by hand), that the Kubernetes manifests are valid,
# and that the code calls no known vulnerability that a module upgrade would fix.
# Everything works offline except for the Go module proxy (tools and data come from there).
set -euo pipefail
cd "$(dirname "$0")/.."
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './node_modules/*'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
go vet ./...
(cd tools && go vet ./... && go test -count=1 ./...) # the tool module's own helpers
go tool -modfile=tools/go.mod sqlc diff

# Kubernetes manifests: kubeconform -strict against schemas built from k8s.io/api (pinned in
# tools/go.mod), since kubeconform's own schema download is from GitHub.
k8s_schemas=$(mktemp -d)
trap 'rm -rf "$k8s_schemas"' EXIT
(cd tools && go run ./k8sschema "$k8s_schemas")
go tool -modfile=tools/go.mod kubeconform -strict -summary \
  -schema-location "$k8s_schemas/{{ .ResourceKind }}{{ .KindSuffix }}.json" deploy/k8s

# govulncheck against the Go vulnerability database as golang.org/x/vulndb ships it (its OSV
# files, which govulncheck reads as a local database), pinned here. To see newer reports, set
# VULNDB_VERSION to the Version that `go mod download -json golang.org/x/vulndb@latest`
# prints. tools/vulngate decides what fails.
VULNDB_VERSION=v0.0.0-20261105234957-e22db6528018
vulndb=$(cd tools && go mod download -json "golang.org/x/vulndb@$VULNDB_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$vulndb/data/osv" ] || { echo "lint: golang.org/x/vulndb@$VULNDB_VERSION has no data/osv"; exit 1; }
go tool -modfile=tools/go.mod govulncheck -db "file://$vulndb/data/osv" -format json ./... | (cd tools && go run ./vulngate)
echo "lint: ok"

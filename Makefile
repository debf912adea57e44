# taskwire — the two front-door commands are `make run` and `make test`.
SQLC := go tool -modfile=tools/go.mod sqlc

.PHONY: run test generate lint build bench load

## run: (a built binary, not go run, so Ctrl-C ends with status 0) start PostgreSQL (private, under .data/ unless DATABASE_URL is set), mcpserver and chatproxy
run:
	@mkdir -p .data/bin && go build -o .data/bin/devrun ./scripts/devrun
	@exec .data/bin/devrun

## test: everything CI checks; does its own set-up (PostgreSQL, Node, Chromium) on a fresh Debian machine
test:
	./scripts/test.sh

## generate: regenerate the sqlc code in db/ from schema.sql and db/queries
generate:
	$(SQLC) generate

## lint: gofmt, go vet and sqlc diff
lint:
	./scripts/lint.sh

## build: the two service binaries into bin/
build:
	CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o bin/ ./mcpserver ./chatproxy

## bench: Go benchmarks (numbers for the README)
bench:
	go test -run '^$$' -bench . -benchmem ./...

## load: drive a running mcpserver (e.g. under `make run`) with tool calls, loopback only; ARGS="-concurrency 16 -duration 20s"
load:
	go run ./scripts/load $(ARGS)

# taskwire — the two front-door commands are `make run` and `make test`.
SQLC := go tool -modfile=tools/go.mod sqlc

.PHONY: run test generate lint build bench bench-db load

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

## bench: Go benchmarks (numbers for the README), including list_tasks among 10 million rows of other users (TASKWIRE_BENCH_SCALE=1; builds that table, a few minutes)
bench:
	TASKWIRE_BENCH_SCALE=1 go test -run '^$$' -bench . -benchmem -timeout 30m ./...

## bench-db: mcpserver side by side with PostgreSQL running the tools' exact SQL under pgbench (throwaway cluster, loopback, ~8 min); ARGS="-duration 5s -reps 1"
bench-db:
	go run ./scripts/benchdb $(ARGS)

## load: drive a running mcpserver (e.g. under `make run`) with tool calls, loopback only; ARGS="-concurrency 16 -duration 20s"
load:
	go run ./scripts/load $(ARGS)

# The one entry point for people and CI. Root commands use the `work`
# pattern: there is no root module, go.work lists them all.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO        ?= go
BIN       := $(CURDIR)/bin
TEST_FLAGS ?= -race -count=1 -timeout 20m

.PHONY: help
help: ## list targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-12s %s\n", $$1, $$2}'

.PHONY: build
build: ## build every command into bin/
	@mkdir -p $(BIN)
	GOBIN=$(BIN) $(GO) install $$($(GO) list -f '{{if eq .Name "main"}}{{.ImportPath}}{{end}}' work)

.PHONY: test
test: ## run every module's tests with the race detector (needs PostgreSQL server binaries, Java 17+ and Maven)
	$(GO) test $(TEST_FLAGS) work

.PHONY: test-short
test-short: ## the tests minus the slowest whole-stack runs (no race detector)
	$(GO) test -short -count=1 work

.PHONY: lint
lint: ## gofmt check and go vet
	@bad=$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go')); \
	if [ -n "$$bad" ]; then echo "not gofmt-clean:"; echo "$$bad"; exit 1; fi
	$(GO) vet work

.PHONY: tidy
tidy: ## go mod tidy in every module, then go work sync
	@for d in $$($(GO) list -m -f '{{.Dir}}'); do (cd $$d && $(GO) mod tidy); done
	$(GO) work sync

CONNECT_URL ?= http://127.0.0.1:8083

STACK ?= embedded

.PHONY: dev
dev: ## run a stack in the foreground; STACK=embedded (default), kafka (Apache Kafka + walrelay) or debezium; with Jaeger on :16686 unless JAEGER=off; Ctrl-C stops it
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/devstack ./compose/devstack/cmd/devstack
	STACK=$(STACK) exec $(BIN)/devstack

.PHONY: dev-reset
dev-reset: ## delete every make dev stack's state (.dev/)
	rm -rf .dev

.PHONY: jaeger
jaeger: ## build Jaeger from tools/jaeger once (minutes; make dev and make up do it too) and print the binary's path
	@$(GO) run ./compose/devstack/cmd/devstack jaeger

.PHONY: jvm-fetch
jvm-fetch: ## fetch Apache Kafka, Kafka Connect and Debezium jars with Maven (once; make dev STACK=kafka|debezium does it too)
	$(GO) run ./compose/devstack/cmd/jvmfetch

DEVSTACK := $(BIN)/devstack

.PHONY: devstack
devstack:
	@mkdir -p $(BIN)
	@$(GO) build -o $(DEVSTACK) ./compose/devstack/cmd/devstack

.PHONY: up
up: devstack ## start the Debezium stack detached (docker compose with a Docker engine, else local processes; UP_WITH=compose|local)
	@$(DEVSTACK) up

.PHONY: ps
ps: devstack ## show the detached stack's components: state, pid, address, health
	@$(DEVSTACK) ps

.PHONY: logs
logs: devstack ## follow the detached stack's logs (C=connect for one component)
	@$(DEVSTACK) logs $(C)

.PHONY: down
down: devstack ## stop the detached stack (VOLUMES=1 also deletes its data)
	@DOWN_VOLUMES=$(VOLUMES) $(DEVSTACK) down

.PHONY: register
register: ## register connectors/debezium/*.json with Kafka Connect (or walrelay) at CONNECT_URL
	scripts/register-connector.sh --url $(CONNECT_URL)

.PHONY: e2e
e2e: ## run the end-to-end check against whichever stack listens on the standard ports
	scripts/e2e.sh

.PHONY: chaos
chaos: ## fault-injection run against the running make dev / make up stack, then the auditor (CHAOS_FLAGS=-short -seed N -dir DIR)
	$(GO) run ./compose/devstack/cmd/chaos $(CHAOS_FLAGS)

.PHONY: audit
audit: ## check the stack on the standard ports: orders terminal, money, stock, every event published once in effect (AUDIT_FLAGS=--json --seed F)
	$(GO) run ./outboxctl audit $(AUDIT_FLAGS)

.PHONY: bench-saga
bench-saga: ## the whole saga under load against the running stack: the database's own rate, the write path alone, open-loop steps, saturation; table and plot in .bench/ (BENCH_SAGA_FLAGS=-rates 50,100 -step 30s -start embedded)
	$(GO) run ./compose/devstack/cmd/benchsaga $(BENCH_SAGA_FLAGS)

.PHONY: bench
bench: ## walrelay vs Debezium vs pg_recvlogical: backlog drain, latency, RSS, CPU on one real broker (BENCH_FLAGS=-events N -rate N)
	$(GO) run ./compose/devstack/cmd/bench $(BENCH_FLAGS)

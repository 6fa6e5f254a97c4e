# upgrade-bot — `make help` lists the targets.
SHELL := /usr/bin/env bash
.DEFAULT_GOAL := help

GO      ?= go
BIN     := bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
# Packages under test; override to narrow: make test PKGS=./render/...
PKGS    ?= ./...
# The bench scenario: clusters in the generated fleet (comma-separated sizes).
BENCH_CLUSTERS ?= 1000,2500,5000

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: deps
deps: ## Install what builds and tests need (git, Go modules)
	@command -v git >/dev/null || { apt-get update -qq && apt-get install -y -qq git; }
	$(GO) mod download

.PHONY: build
build: deps ## Build bin/upgrade-bot
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/upgrade-bot ./cmd/upgrade-bot

.PHONY: demo
demo: build ## Plan and propose an upgrade of the embedded example repository
	$(BIN)/upgrade-bot demo

.PHONY: lint
lint: deps ## go vet and gofmt
	$(GO) vet $(PKGS)
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.cache/*')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

.PHONY: test
test: lint ## Run the whole test suite
	$(GO) test -count=1 $(PKGS)

.PHONY: test-race
test-race: deps ## Run the tests with the race detector
	$(GO) test -race -count=1 $(PKGS)

.PHONY: fuzz
fuzz: deps ## Fuzz the format-preserving bump for a minute
	$(GO) test -run '^$$' -fuzz FuzzBump -fuzztime 60s ./render/

.PHONY: bench
bench: build ## Plan --all on generated fleets (sizes: BENCH_CLUSTERS) and run the Go benchmarks
	$(GO) run ./test/bench -bin $(BIN)/upgrade-bot -releases examples/releases -clusters $(BENCH_CLUSTERS)
	$(GO) test -run '^$$' -bench . -benchmem ./releases/ ./render/... ./vcs/... ./bot/

.PHONY: clean
clean: ## Remove built files
	rm -rf $(BIN)

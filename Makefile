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
# The release-to-fleet benchmark: repositories of 25 clusters on the GitHub
# fake (200 is the issue's 5,000 clusters, about 3 minutes on 2 cores).
BENCH_REPOS ?= 200

# The real parts the tests run (see test/kube): built from the Go module
# proxy by the wrapper modules under tools/, cached under .cache/ by version.
KUBE_VERSION := v1.36.3
ETCD_VERSION := v3.6.16
CAPI_VERSION := v1.14.2
CAPA_VERSION := v2.13.0
KYVERNO_VERSION := v1.19.1
HELM_VERSION    := v4.3.2
# GitHub's official API description and example webhook payloads, from npm:
# the GitHub fake is validated against the one, webhooks are fed the other.
OCTOKIT_OPENAPI_VERSION  := 23.0.2
OCTOKIT_WEBHOOKS_VERSION := 7.6.1
NPM_CACHE    := .cache/npm/openapi-$(OCTOKIT_OPENAPI_VERSION)-webhooks-$(OCTOKIT_WEBHOOKS_VERSION)
KYVERNO      := .cache/tools/kyverno-$(KYVERNO_VERSION)
HELM         := .cache/tools/helm-$(HELM_VERSION)
ASSETS       := .cache/tools/kube-$(KUBE_VERSION)-etcd-$(ETCD_VERSION)
CRDS         := .cache/crds
KUBE_LDFLAGS := -s -w -X k8s.io/component-base/version.gitVersion=$(KUBE_VERSION) \
	-X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=36
# module-dir prints the module cache directory of a module@version.
module-dir = $$(cd / && $(GO) mod download -json $(1) | sed -n 's/^\t"Dir": "\(.*\)",$$/\1/p')

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: deps
deps: ## Install what builds and tests need (git, Go modules)
	@command -v git >/dev/null || { apt-get update -qq && apt-get install -y -qq git; }
	$(GO) mod download

.PHONY: build
build: deps ## Build bin/upgrade-bot
	$(GO) build -tags timetzdata -ldflags '$(LDFLAGS)' -o $(BIN)/upgrade-bot ./cmd/upgrade-bot

# The container image (needs a Docker engine; CI has none, so the image's
# build is checked by test/helm, not run there).
IMAGE ?= ghcr.io/upgrade-bot/upgrade-bot:$(VERSION)

.PHONY: image
image: ## Build the container image IMAGE with docker
	docker build --build-arg VERSION=$(VERSION) -t $(IMAGE) .

.PHONY: demo
demo: build ## Plan and propose an upgrade of the embedded example repository
	$(BIN)/upgrade-bot demo

.PHONY: lint
lint: deps ## go vet and gofmt
	$(GO) vet $(PKGS)
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.cache/*')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

.PHONY: test
test: lint test-assets ## Run the whole test suite (builds the real API server once)
	$(GO) test -count=1 $(PKGS)

.PHONY: test-assets
test-assets: $(NPM_CACHE)/node_modules $(ASSETS)/kube-apiserver $(ASSETS)/etcd $(KYVERNO)/kyverno $(KYVERNO)/kubectl-kyverno $(CRDS)/cluster-api-$(CAPI_VERSION) $(CRDS)/cluster-api-provider-aws-$(CAPA_VERSION) $(CRDS)/kyverno-$(KYVERNO_VERSION) $(HELM)/helm ## Build kube-apiserver, etcd and Kyverno, fetch the CRDs (cached in .cache/)

$(ASSETS)/kube-apiserver: tools/kube-apiserver/go.mod tools/kube-apiserver/go.sum
	@mkdir -p $(@D)
	cd tools/kube-apiserver && $(GO) build -trimpath -ldflags '$(KUBE_LDFLAGS)' -o $(CURDIR)/$@.tmp k8s.io/kubernetes/cmd/kube-apiserver
	mv $@.tmp $@

$(ASSETS)/etcd: tools/etcd/go.mod tools/etcd/go.sum tools/etcd/main.go
	@mkdir -p $(@D)
	cd tools/etcd && $(GO) build -trimpath -ldflags '-s -w' -o $(CURDIR)/$@.tmp .
	mv $@.tmp $@

$(KYVERNO)/kubectl-kyverno: tools/kyverno/go.mod tools/kyverno/go.sum
	@mkdir -p $(@D)
	cd tools/kyverno && $(GO) build -trimpath -ldflags '-s -w' -o $(CURDIR)/$@.tmp github.com/kyverno/kyverno/cmd/cli/kubectl-kyverno
	mv $@.tmp $@

$(KYVERNO)/kyverno: tools/kyverno/go.mod tools/kyverno/go.sum
	@mkdir -p $(@D)
	cd tools/kyverno && $(GO) build -trimpath -ldflags '-s -w' -o $(CURDIR)/$@.tmp github.com/kyverno/kyverno/cmd/kyverno
	mv $@.tmp $@

# The Helm CLI for the chart tests (test/helm), pinned by tools/helm.
$(HELM)/helm: tools/helm/go.mod tools/helm/go.sum
	@mkdir -p $(@D)
	cd tools/helm && $(GO) build -trimpath -ldflags '-s -w' -o $(CURDIR)/$@.tmp helm.sh/helm/v4/cmd/helm
	mv $@.tmp $@

$(NPM_CACHE)/node_modules:
	@command -v npm >/dev/null || { apt-get update -qq && apt-get install -y -qq npm; }
	@mkdir -p $(NPM_CACHE)
	cd $(NPM_CACHE) && echo '{"private":true}' > package.json && npm install --no-audit --no-fund --ignore-scripts --silent \
		@octokit/openapi@$(OCTOKIT_OPENAPI_VERSION) @octokit/webhooks-examples@$(OCTOKIT_WEBHOOKS_VERSION)
	touch $@

# Kyverno's CRDs, and beside them its install manifest (the harness takes the
# kyverno Namespace and ConfigMaps from it).
$(CRDS)/kyverno-$(KYVERNO_VERSION):
	@rm -rf $@.tmp && mkdir -p $@.tmp
	dir=$(call module-dir,github.com/kyverno/kyverno@$(KYVERNO_VERSION)) && \
	  cp $$dir/config/crds/kyverno/*.yaml $$dir/config/crds/policies.kyverno.io/*.yaml \
	     $$dir/config/crds/policyreport/*.yaml $$dir/config/crds/reports/*.yaml $@.tmp/ && \
	  cp $$dir/config/install-latest-testing.yaml $@.install.yaml && chmod u+w $@.install.yaml
	chmod -R u+w $@.tmp && mv $@.tmp $@

$(CRDS)/cluster-api-$(CAPI_VERSION):
	@rm -rf $@.tmp && mkdir -p $@.tmp
	dir=$(call module-dir,sigs.k8s.io/cluster-api@$(CAPI_VERSION)) && \
	  cp $$dir/core/config/crd/bases/*.yaml $$dir/controlplane/kubeadm/config/crd/bases/*.yaml \
	     $$dir/bootstrap/kubeadm/config/crd/bases/*.yaml $@.tmp/
	chmod -R u+w $@.tmp && mv $@.tmp $@

$(CRDS)/cluster-api-provider-aws-$(CAPA_VERSION):
	@rm -rf $@.tmp && mkdir -p $@.tmp
	dir=$(call module-dir,sigs.k8s.io/cluster-api-provider-aws/v2@$(CAPA_VERSION)) && \
	  cp $$dir/config/crd/bases/*.yaml $@.tmp/
	chmod -R u+w $@.tmp && mv $@.tmp $@

.PHONY: test-race
test-race: deps ## Run the tests with the race detector
	$(GO) test -race -count=1 $(PKGS)

.PHONY: fuzz
fuzz: deps ## Fuzz the format-preserving bump for a minute
	$(GO) test -run '^$$' -fuzz FuzzBump -fuzztime 60s ./render/

.PHONY: bench
bench: build test-assets ## Plan --all on generated fleets (sizes: BENCH_CLUSTERS), through real Kyverno, and the Go benchmarks
	$(GO) run ./test/bench -bin $(BIN)/upgrade-bot -releases examples/releases -clusters $(BENCH_CLUSTERS)
	$(GO) test -run '^$$' -bench PlanThroughKyverno -benchtime 1x ./test/kyverno/
	$(GO) test -run '^$$' -bench . -benchmem ./releases/ ./render/... ./vcs/... ./bot/
	UPGRADE_BOT_BENCH_REPOS=$(BENCH_REPOS) $(GO) test -run '^$$' -bench ReleaseToFleet -benchtime 1x -timeout 60m ./test/e2e/

.PHONY: clean
clean: ## Remove built files
	rm -rf $(BIN)

# flannel-operator. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Control-plane binaries and CNI plugins for tests, built from pinned Go modules and cached.
TOOLS_DIR ?= $(HOME)/.cache/flannel-operator/tools
export FLANNEL_OPERATOR_TOOLS := $(TOOLS_DIR)

node_modules: package.json package-lock.json
	npm ci
	@touch node_modules

.PHONY: help
help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

.PHONY: build
build: node_modules ## compile TypeScript to dist/
	npm run build

.PHONY: crds
crds: build ## regenerate crds/ (and the chart's copy) from the zod schemas
	node dist/cli/main.js crds --out crds $(if $(wildcard charts/flannel-operator),--out charts/flannel-operator/crds)

.PHONY: crds-check
crds-check: crds ## fail when crds/ is stale
	@git diff --exit-code -- crds charts || { echo "crds/ is stale: run 'make crds' and commit"; exit 1; }

.PHONY: lint
lint: node_modules ## eslint, prettier and tsc
	npx tsc -p tsconfig.json --noEmit
	npx eslint .
	npx prettier --check .

.PHONY: deps
deps: ## install missing Debian packages (iproute2, nftables, iperf3, ...); needs root
	hack/install-deps.sh

.PHONY: tools
tools: ## build (or reuse cached) kube-apiserver, etcd, helm, CNI plugins, kube-network-policies, wireguard-go
	hack/tools/build.sh

.PHONY: unit
unit: node_modules ## unit tests (no root, no tools)
	NODE_OPTIONS=--experimental-vm-modules npx jest --selectProjects unit

.PHONY: integration
integration: deps build tools ## tests against a real kube-apiserver + etcd and the netns lab (root)
	NODE_OPTIONS=--experimental-vm-modules npx jest --selectProjects integration --runInBand

.PHONY: e2e
e2e: deps build ## kind suite: image, chart and DaemonSets on kind clusters (root; own dockerd, never beside the lab)
	hack/kind/e2e.sh

.PHONY: conformance
conformance: deps build ## Kubernetes sig-network conformance on kind: vxlan, host-gw, directrouting, a count each (root)
	FLOP_KIND_PROJECT=conformance hack/kind/e2e.sh

.PHONY: test
test: lint crds-check unit integration e2e ## everything CI runs (e2e last: its dockerd never overlaps the netns lab)

.PHONY: flanneld
flanneld: ## build (or reuse cached) upstream flanneld, the comparator of make bench
	hack/tools/build-flanneld.sh

.PHONY: bench
bench: build tools flanneld ## benchmarks; prints a markdown table and JSON
	npx tsc -p tsconfig.bench.json
	node dist-bench/bench/main.js

.PHONY: lab
lab: deps build tools ## netns lab: control plane + 3 nodes + operator, then a ping matrix
	test-e2e/lab/demo.sh $(ARGS)

.PHONY: lab-down
lab-down: ## tear down any lab left behind (also after a crash)
	test-e2e/lab/teardown.sh

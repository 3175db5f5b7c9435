# kfed Makefile. `make help` lists the targets.
SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

BIN        := $(CURDIR)/bin
TOOLS      := $(CURDIR)/hack/tools
GO         ?= go
GOBUILD    := CGO_ENABLED=0 $(GO) build -ldflags='-s -w'
# envtest looks for etcd and kube-apiserver here.
export KUBEBUILDER_ASSETS := $(BIN)
# Tests and `kfed dev` find the kwok stages and the other binaries here.
export KFED_TOOLS_DIR := $(BIN)

.PHONY: all
all: build

# Tests start real API servers; their files live here (a name starting with _ keeps the go
# tool from building what is left there), and `make test` sweeps any process left
# under it by a run that was killed.
TEST_TMP := $(CURDIR)/tmp/_test
# -count=1: a cached result never stands (bin/ may have changed since it was cached).
GO_TEST_FLAGS ?= -count=1 -timeout 30m

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z_-]+:.*##/ { printf "  %-12s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

##@ Tools (pinned in hack/tools/*/go.mod; built once into bin/)

KUBE_BINS := $(BIN)/kube-apiserver $(BIN)/kube-controller-manager $(BIN)/kube-scheduler $(BIN)/kubectl
TOOL_BINS := $(KUBE_BINS) $(BIN)/etcd $(BIN)/kwok $(BIN)/kwok-stages.yaml $(BIN)/coredns \
             $(BIN)/controller-gen $(BIN)/helm $(BIN)/golangci-lint

.PHONY: tools
tools: $(TOOL_BINS) ## Build every pinned tool into bin/ (does nothing when they are built).
	@:

# $(call tool,module-dir,package): build one pinned tool from its own module.
define tool
	@echo ">> building $(notdir $@) (pinned in hack/tools/$(1))"
	@mkdir -p $(BIN)
	cd $(TOOLS)/$(1) && $(GOBUILD) -o $@ $(2)
endef

# Built from the module proxy there is no git tree, so the version is stamped here; it must
# match the k8s.io/kubernetes version pinned in hack/tools/kubernetes/go.mod.
KUBE_VERSION := v1.37.2
KUBE_LDFLAGS := $(foreach p,k8s.io/component-base/version k8s.io/client-go/pkg/version,\
  -X $(p).gitVersion=$(KUBE_VERSION) -X $(p).gitMajor=1 -X $(p).gitMinor=37 -X $(p).gitTreeState=clean)

$(BIN)/kube%: $(TOOLS)/kubernetes/go.mod $(TOOLS)/kubernetes/go.sum
	@echo ">> building kube$* $(KUBE_VERSION) (pinned in hack/tools/kubernetes)"
	@mkdir -p $(BIN)
	cd $(TOOLS)/kubernetes && CGO_ENABLED=0 $(GO) build -ldflags='-s -w $(KUBE_LDFLAGS)' -o $@ k8s.io/kubernetes/cmd/kube$*
$(BIN)/etcd: $(TOOLS)/etcd/go.mod $(TOOLS)/etcd/go.sum $(TOOLS)/etcd/main.go
	$(call tool,etcd,.)
$(BIN)/kwok: $(TOOLS)/kwok/go.mod $(TOOLS)/kwok/go.sum
	$(call tool,kwok,sigs.k8s.io/kwok/cmd/kwok)
$(BIN)/coredns: $(TOOLS)/coredns/go.mod $(TOOLS)/coredns/go.sum
	$(call tool,coredns,github.com/coredns/coredns)
$(BIN)/controller-gen: $(TOOLS)/controller-gen/go.mod $(TOOLS)/controller-gen/go.sum
	$(call tool,controller-gen,sigs.k8s.io/controller-tools/cmd/controller-gen)
$(BIN)/helm: $(TOOLS)/helm/go.mod $(TOOLS)/helm/go.sum
	$(call tool,helm,helm.sh/helm/v3/cmd/helm)
$(BIN)/golangci-lint: $(TOOLS)/golangci-lint/go.mod $(TOOLS)/golangci-lint/go.sum
	$(call tool,golangci-lint,github.com/golangci/golangci-lint/v2/cmd/golangci-lint)

# kwok v0.8 needs Stage objects; the module ships them as YAML.
$(BIN)/kwok-stages.yaml: $(TOOLS)/kwok/go.mod $(TOOLS)/kwok/go.sum
	@mkdir -p $(BIN)
	cd $(TOOLS)/kwok && dir=$$($(GO) list -m -f '{{.Dir}}' sigs.k8s.io/kwok) && \
	  for s in node/fast node/heartbeat-with-lease pod/fast; do \
	    for f in $$dir/kustomize/stage/$$s/*.yaml; do \
	      [[ $$(basename $$f) == kustomization.yaml ]] && continue; echo '---'; cat $$f; \
	    done; \
	  done > $@.tmp && mv $@.tmp $@

##@ Development

CONTROLLER_GEN := $(BIN)/controller-gen

.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Generate the CRDs and the manager's ClusterRole from the markers.
	$(CONTROLLER_GEN) rbac:roleName=kfed-manager crd:allowDangerousTypes=false,generateEmbeddedObjectMeta=true paths="./api/...;./controllers/..." \
	  output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac
	$(GO) run ./hack/chartgen

.PHONY: chart
chart: ## Write charts/kfed's CRDs, manager rules and admission policies from config/ (make manifests runs it).
	$(GO) run ./hack/chartgen

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate the DeepCopy methods of the API types, and the Argo CD health checks.
	$(CONTROLLER_GEN) object paths="./api/..."
	$(GO) run ./config/argocd/gen

.PHONY: argocd
argocd: ## Write the Argo CD health checks (config/argocd/federation.kfed.io) and docs/argocd.md from config/argocd/health.lua.
	$(GO) run ./config/argocd/gen

.PHONY: generate-check
generate-check: $(CONTROLLER_GEN) ## Fail when regenerating would change the generated files.
	@before=$$(git status --porcelain -- api config charts docs; git diff -- api config charts docs | sha256sum); \
	$(MAKE) -s manifests generate; \
	after=$$(git status --porcelain -- api config charts docs; git diff -- api config charts docs | sha256sum); \
	[ "$$before" = "$$after" ] || { git status --short -- api config charts docs; \
	  echo "generated files were stale: 'make manifests generate' just updated them; review and commit"; exit 1; }

.PHONY: fmt
fmt: ## Format the Go code.
	$(GO) fmt ./...

.PHONY: lint
lint: $(BIN)/golangci-lint ## Run golangci-lint with .golangci.yml.
	$(BIN)/golangci-lint run ./...

##@ Build

.PHONY: build
build: ## Build bin/manager and bin/kfed.
	$(GOBUILD) -o $(BIN)/manager .
	$(GOBUILD) -o $(BIN)/kfed ./cmd/kfed

VERSION ?= v0.1.0

.PHONY: release-artifacts
release-artifacts: ## Build the kubectl-kfed archives (linux/darwin, amd64/arm64) into dist/ and write their sha256 into plugins/kfed.yaml (VERSION).
	$(GO) run ./hack/release -version $(VERSION) -out dist -manifest plugins/kfed.yaml

##@ Try it

CLUSTERS ?= 3
DEMO_DIR ?=

# On a machine where bin/ is not built yet, say why the first `make demo` takes a while before
# make starts building.
ifneq ($(filter demo,$(MAKECMDGOALS)),)
ifneq ($(words $(wildcard $(TOOL_BINS))),$(words $(TOOL_BINS)))
$(info >> First run: building the pinned tools into bin/ (Kubernetes, etcd, kwok, ...) takes about 15 minutes on 2 cores, once; later runs start in under a minute)
endif
endif

.PHONY: demo
demo: tools build ## The federation walkthrough on this machine (CLUSTERS=3|5, DEMO_DIR); leaves it running until `bin/kfed dev down`.
	@CLUSTERS=$(CLUSTERS) DEMO_DIR=$(DEMO_DIR) bash hack/demo.sh

##@ Test

.PHONY: system-deps
system-deps: ## Install the Debian packages the tests use when missing (bind9, bind9-dnsutils, dnsperf).
	@bash hack/system-deps.sh

.PHONY: test
test: lint generate-check tools system-deps ## Lint, check generated files, then run every test against real API servers (./test/chart is make chart-test).
	$(BIN)/helm lint --strict charts/kfed
	@mkdir -p $(TEST_TMP)
	@status=0; TMPDIR=$(TEST_TMP) $(GO) test $(GO_TEST_FLAGS) ./... || status=$$?; \
	  bash hack/reap-test-processes.sh $(TEST_TMP); exit $$status

.PHONY: chart-test
chart-test: $(BIN)/helm $(BIN)/etcd $(BIN)/kube-apiserver ## helm lint, then the chart tests (render, values, install/upgrade/uninstall on a real host; also run by make test).
	$(BIN)/helm lint --strict charts/kfed
	@mkdir -p $(TEST_TMP)
	@status=0; TMPDIR=$(TEST_TMP) $(GO) test $(GO_TEST_FLAGS) -count=1 -v ./test/chart/ || status=$$?; \
	  bash hack/reap-test-processes.sh $(TEST_TMP); exit $$status

.PHONY: e2e
e2e: tools ## Replay the walkthrough end to end with the kfed binary on a local federation of full members (test/e2e).
	@mkdir -p $(TEST_TMP)
	@status=0; TMPDIR=$(TEST_TMP) $(GO) test $(GO_TEST_FLAGS) -v ./test/e2e/ || status=$$?; \
	  bash hack/reap-test-processes.sh $(TEST_TMP); exit $$status

BENCH_MEMBERS ?= 3
BENCH_OBJECTS ?= 500
BENCH_SINGLE ?= 60

.PHONY: bench
bench: tools system-deps ## Benchmarks, figures not pass/fail: the Go benchmarks, then propagation against the floors, one object in flight then a burst (BENCH_MEMBERS, BENCH_SINGLE, BENCH_OBJECTS); DNS qps and settle time.
	@mkdir -p $(TEST_TMP)
	TMPDIR=$(TEST_TMP) $(GO) test -run '^$$' -bench . -benchmem ./internal/...
	@mkdir -p $(TEST_TMP)
	TMPDIR=$(TEST_TMP) $(GO) run ./test/perf -members $(BENCH_MEMBERS) -single $(BENCH_SINGLE) -objects $(BENCH_OBJECTS)
	TMPDIR=$(TEST_TMP) $(GO) run ./test/dnsperf -duration 10s
	TMPDIR=$(TEST_TMP) $(GO) run ./test/dnssettle -rounds 10

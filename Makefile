# housectl — see README.md. `make demo` and `make test` are the two entry points.
SHELL := /bin/bash
.DEFAULT_GOAL := build

GO       ?= go
BIN      := bin/housectl
PKG      := github.com/housectl/housectl
SHARED   ?= $(abspath ../shared)
# Offline mirror of the dataset when the shared copy is present; the
# canonical URL otherwise (set HOUSECTL_DATA_URL to override either).
DATA_URL ?= $(if $(wildcard $(SHARED)/datasets/cal_housing.tgz),file://$(SHARED)/datasets/cal_housing.tgz,https://ndownloader.figshare.com/files/5976036)

VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
DATE     ?= $(shell git log -1 --format=%cI 2>/dev/null || echo unknown)
LDFLAGS  := -s -w -X $(PKG)/pkg/buildinfo.Version=$(VERSION) -X $(PKG)/pkg/buildinfo.Commit=$(COMMIT) -X $(PKG)/pkg/buildinfo.Date=$(DATE)

# Pinned tool versions, installed into bin/tools by `make tools`.
TOOLS              := bin/tools
GOLANGCI_LINT_VER  := v2.15.0
ACTIONLINT_VER     := v1.7.12
GORELEASER_VER     := v2.15.1

export CGO_ENABLED := 1

.PHONY: build
build: ## build bin/housectl with version information
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/housectl

.PHONY: demo
demo: build ## the pipeline (fetch, validate, train, evaluate, register, promote), then the comparison and the registry
	@echo "== housectl $$($(BIN) version --json | sed -n 's/.*"version": "\(.*\)".*/\1/p'): the pipeline, data from $(DATA_URL)"
	HOUSECTL_DATA_URL='$(DATA_URL)' $(BIN) pipeline run
	@echo "== versioned as DVC 3 does (data/california.csv.dvc, .dvc/cache):"
	cat data/california.csv.dvc
	$(BIN) data status
	@echo "== run again: every stage is unchanged, so every stage is skipped:"
	HOUSECTL_DATA_URL='$(DATA_URL)' $(BIN) pipeline run
	@echo "== the candidates side by side (rows that differ; deltas against the first):"
	$(BIN) runs compare gradient_boosting random_forest linear
	@echo "== the registry:"
	$(BIN) models show california

.PHONY: demo-handson
demo-handson: build ## Géron's housing.csv end to end, no preprocessing by hand: schema, validate, train, register, promote, serve and predict with labels and empty cells
	scripts/demo-handson.sh $(BIN) $(SHARED)/datasets/geron_housing.csv

.PHONY: test
test: ## vet and run every test with the race detector (what CI runs), the crash and abuse suites in short
	scripts/deps-debian.sh prometheus docker-compose postgresql strace jq chromium
	$(GO) mod download
	scripts/seaweedfs.sh # the real S3 server of the tests, built once into bin/tools (about 5 minutes)
	$(GO) vet ./...
	$(MAKE) build
	HOUSECTL_TEST_BIN=$(abspath $(BIN)) $(GO) test -race -count=1 -timeout 9m ./...
	# The portable tree walks, as on CPUs without the SIMD kernels.
	$(GO) test -tags purego -count=1 ./pkg/model/...
	GOARCH=arm64 $(GO) vet ./pkg/model/tree/

.PHONY: e2e
e2e: ## only the end-to-end scripts (testdata/script/*.txtar against the real binary)
	$(GO) test -race -count=1 -run TestScripts ./cmd/housectl/

.PHONY: bench-s3
bench-s3: ## DVC push/pull on S3 against rclone, side by side on one SeaweedFS server: 2,000 small files, a 256 MiB file, a no-op, a pull (ROUNDS=3)
	scripts/bench-s3.sh

.PHONY: chaos
chaos: build ## the crash tests at full length: kill -9 at every file system call and at 200 random moments of promote, rollback and register, and at random moments of data add, data push, train and pipeline run
	scripts/deps-debian.sh strace
	HOUSECTL_TEST_CHAOS=full HOUSECTL_TEST_BIN=$(abspath $(BIN)) $(GO) test -count=1 -timeout 60m -v -run '^(TestCrash|TestCrashAtEveryWrite)' ./cmd/housectl/ ./pkg/registry/ 2>&1 | tee bin/chaos.txt | grep -E '^(--- |ok|FAIL|panic)|kills|crashes'
	@! grep -q -- '--- FAIL' bin/chaos.txt

.PHONY: abuse
abuse: build ## the HTTP attacks at full size against a real server on loopback: hostile batch bodies (peak RSS), forged X-Forwarded-For, 550,000 client addresses, key guessing, hostile requests, 500 slow clients
	HOUSECTL_TEST_ABUSE=full HOUSECTL_TEST_BIN=$(abspath $(BIN)) $(GO) test -count=1 -timeout 30m -v -run '^TestAbuse' ./cmd/housectl/ 2>&1 | tee bin/abuse.txt | grep -E '^(--- |ok|FAIL|panic)|abuse_test.go:[0-9]+: '
	@! grep -q -- '--- FAIL' bin/abuse.txt

.PHONY: fuzz
FUZZTIME ?= 30s
fuzz: ## fuzz every request decoder of the server (FUZZTIME each; make test runs their seed corpus)
	for f in FuzzDecodePredict FuzzDecodeBatch FuzzDecodeInvocations FuzzDecodeOIP FuzzDecodeFeedback FuzzFastPathAgrees; do \
		$(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) ./pkg/serve/ || exit 1; \
	done

.PHONY: cover
cover: ## test with coverage; writes coverage.html
	$(GO) test -count=1 -coverpkg=./... -coverprofile=coverage.out ./...
	$(GO) tool cover -func=coverage.out | tail -1
	$(GO) tool cover -html=coverage.out -o coverage.html

.PHONY: fmt
fmt: ## format the code
	gofmt -w $$(git ls-files '*.go')

.PHONY: fmt-check
fmt-check: ## fail if gofmt would change a file
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

.PHONY: tidy-check
tidy-check: ## fail if `go mod tidy` would change go.mod or go.sum
	@cp go.mod /tmp/housectl-go.mod.bak; cp go.sum /tmp/housectl-go.sum.bak
	@$(GO) mod tidy
	@if ! cmp -s go.mod /tmp/housectl-go.mod.bak || ! cmp -s go.sum /tmp/housectl-go.sum.bak; then \
		cp /tmp/housectl-go.mod.bak go.mod; cp /tmp/housectl-go.sum.bak go.sum; \
		echo "go mod tidy changes go.mod/go.sum: run it and commit"; exit 1; fi

.PHONY: tools
tools: $(TOOLS)/golangci-lint $(TOOLS)/actionlint $(TOOLS)/goreleaser ## install the pinned linters and goreleaser, and build SeaweedFS (the tests' S3 server)
	scripts/seaweedfs.sh

$(TOOLS)/golangci-lint:
	GOBIN=$(abspath $(TOOLS)) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VER)
$(TOOLS)/actionlint:
	GOBIN=$(abspath $(TOOLS)) $(GO) install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VER)
$(TOOLS)/goreleaser:
	GOBIN=$(abspath $(TOOLS)) $(GO) install github.com/goreleaser/goreleaser/v2@$(GORELEASER_VER)

.PHONY: lint
lint: fmt-check tidy-check $(TOOLS)/golangci-lint $(TOOLS)/actionlint $(TOOLS)/goreleaser ## gofmt, tidy, vet, golangci-lint, actionlint, goreleaser check
	$(GO) vet ./...
	$(TOOLS)/golangci-lint run ./...
	$(TOOLS)/actionlint
	$(TOOLS)/goreleaser check

.PHONY: snapshot
snapshot: $(TOOLS)/goreleaser ## goreleaser build --snapshot for this platform
	$(TOOLS)/goreleaser build --snapshot --clean --single-target

.PHONY: bench
bench: build ## Go benchmarks, then side-by-side scripts; see docs/BENCHMARKS.md
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./pkg/... | tee bin/bench-go.txt
	scripts/bench-startup.sh $(BIN)
	scripts/bench-hash.sh $(BIN)
	scripts/bench-train.sh $(BIN) $(SHARED)/datasets/cal_housing.tgz
	scripts/bench-handson.sh $(BIN) $(SHARED)/datasets/geron_housing.csv
	scripts/bench-serve.sh $(BIN) $(SHARED)/datasets/cal_housing.tgz 10s

.PHONY: bench-ui
bench-ui: build ## housectl ui: start-up, RSS, logging 10,000 runs through MLflow's API, search_runs and the runs page over them
	scripts/bench-ui.sh $(BIN)

.PHONY: bench-variants
bench-variants: build ## housectl serve with one model, three models, a 90/10 split and a shadow, side by side (wrk, loopback), every row checked in the log after SIGTERM
	scripts/bench-variants.sh $(BIN) $(SHARED)/datasets/cal_housing.tgz 10s

.PHONY: bench-serve
bench-serve: build ## housectl serve vs FastAPI+uvicorn+scikit-learn and a bare net/http handler (wrk, loopback; shared cores, one CPU each, isolated cores)
	scripts/bench-serve.sh $(BIN) $(SHARED)/datasets/cal_housing.tgz 10s

.PHONY: parity
parity: build ## check the derived frame against scikit-learn (Debian python3-sklearn)
	scripts/parity-frame.sh $(BIN) $(SHARED)/datasets/cal_housing.tgz

.PHONY: clean
clean: ## remove build output (not data/ or experiments/)
	rm -rf bin dist coverage.out coverage.html

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s "$$(printf '\t')"

.PHONY: bench-train
bench-train: build ## models against scikit-learn on the same split; Géron's housing.csv against HGB and XGBoost on five
	scripts/bench-train.sh $(BIN) $(SHARED)/datasets/cal_housing.tgz
	scripts/bench-handson.sh $(BIN) $(SHARED)/datasets/geron_housing.csv

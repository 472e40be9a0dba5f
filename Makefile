# kgen: generator + runtime. `make help` lists the targets.
SHELL := /bin/bash
GO ?= go
BIN := bin
KGEN := $(BIN)/kgen
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# The variables -X sets: kgen.version (kgen version, manifest.json, what
# generated code records), generator.SourceDir (the checkout new projects'
# go.mod replace points at), runtime.Version. cmd/kgen's TestMakeBuildVersion
# builds with these flags and checks the output.
LDFLAGS := -X github.com/kgen-dev/kgen.version=$(VERSION) \
           -X github.com/kgen-dev/kgen/generator.SourceDir=$(CURDIR) \
           -X github.com/kgen-dev/kgen/runtime.Version=$(VERSION)
# Every Kafka-backed test fails (never skips) when the broker cannot start.
export KGEN_REQUIRE_KAFKA ?= 1

include mk/kafka.mk

.PHONY: help build test test-unit test-kafka test-chaos lint golden demo bench bench-smoke bench-engine bench-engine-compare clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

build: ## build bin/kgen
	$(GO) build -ldflags '$(LDFLAGS)' -o $(KGEN) ./cmd/kgen

lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^testdata/')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

test-unit: ## fast tests, no broker: -short skips every Kafka-backed test; the dead address catches any that dials anyway
	KGEN_KAFKA_ADDR=127.0.0.1:1 $(GO) test -count=1 -short ./...

test: lint test-unit kafka-up ## every test: lint, unit (first without a broker), generated projects, runtime against a real broker (-race), the demo, the chaos suite
	$(GO) test -count=1 -timeout 20m $$($(GO) list ./... | grep -v -e /runtime -e /internal/kafkatest -e /internal/chaos)
	$(GO) test -race -count=1 -timeout 25m $$($(GO) list ./runtime/... ./internal/... | grep -v /internal/chaos)
	$(MAKE) --no-print-directory demo
	$(MAKE) --no-print-directory bench-smoke
	$(MAKE) --no-print-directory test-chaos

test-chaos: cluster-up ## the chaos suite on the three-node cluster (internal/chaos; RESULT lines per fault)
	$(GO) test -count=1 -timeout 25m -v ./internal/chaos

golden: ## refresh the generator's golden files and the example projects' generated kgen/ packages
	$(GO) test ./generator -run Golden -update
	cd examples/webhook && GOFLAGS= $(GO) generate ./...

demo: build ## the main job: scaffold the example processor, build it, run it end to end
	bash scripts/demo.sh

bench: kafka-up ## side-by-side benchmarks (kgen, raw kafka-go, raw franz-go, Watermill, seed-faithful Python); writes bench/RESULTS.md
	$(MAKE) -C bench bench

bench-smoke: kafka-up ## a seconds-long run of every benchmark workload and contender, so the bench code cannot rot
	$(MAKE) -C bench bench-smoke

bench-engine: ## Go micro-benchmarks of the engine's per-record path
	$(GO) test -run XXX -bench . -benchmem -count=5 ./runtime/

bench-engine-compare: ## BenchmarkEngine of BASE (default HEAD~1) vs the working tree, with benchstat
	bash scripts/bench-engine-compare.sh $(BASE)

clean: ## remove build output
	rm -rf $(BIN)

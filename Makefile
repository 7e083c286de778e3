# Eventara. `make run` starts the service on its embedded defaults;
# `make test` runs every test (Go with -race, fuzz seeds, black-box tests
# with real clients, browser tests).

GO       ?= go
BIN      := bin/eventara
PKGS     := ./...
FUZZTIME ?= 10s
NPM_DIRS := web test/js test/browser
# What `eventara --version`, the health answer and eventara_build_info say.
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS  := -X main.version=$(VERSION) -X main.commit=$(COMMIT)

.PHONY: run cluster cluster-down build web image image-noweb test test-web test-go test-deps fuzz fuzz-short bench lint clean

run: build
	./$(BIN)

# A 3-node cluster behind HAProxy on CLUSTER_PORT (nodes on the next three
# ports), data in CLUSTER_DIR: README "Cluster". make cluster-down stops it.
CLUSTER_DIR ?= /tmp/eventara-cluster
CLUSTER_PORT ?= 9080
cluster: build
	EVENTARA_BIN=$(BIN) scripts/cluster.sh up $(CLUSTER_DIR) $(CLUSTER_PORT)

cluster-down:
	scripts/cluster.sh down $(CLUSTER_DIR)

build: web
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/eventara

# The dashboard and the API docs page (/docs), built with Vite and embedded
# in the binary. npm ci installs the lock file's versions when node_modules
# lacks a package that package.json names (a fresh clone, a new dependency).
web:
	@if [ -f web/package.json ]; then \
		cd web && { node ../scripts/npm-installed.mjs || npm ci --no-audit --no-fund; } && npm run build; \
	fi

# The container image (Containerfile): the static binary in an otherwise
# empty image, running as a non-root user. CONTAINER_ENGINE is podman or
# docker; empty, the first of them whose engine answers.
IMAGE            ?= eventara
IMAGE_TAG        ?= $(VERSION)
CONTAINER_ENGINE ?=
# More flags for the engine's build (--layers=false keeps podman from
# storing an intermediate image per step).
CONTAINER_BUILD_FLAGS ?=

image: web
	@$(MAKE) --no-print-directory image-noweb

# make image with the dashboard as it is (test/container_test.go runs it
# beside other tests, which must not see web/dist rewritten).
image-noweb:
	@engine="$(CONTAINER_ENGINE)"; \
	if [ -z "$$engine" ]; then \
		for e in podman docker; do if $$e info >/dev/null 2>&1; then engine=$$e; break; fi; done; \
	fi; \
	if [ -z "$$engine" ]; then \
		echo "make image: needs podman or docker with a working engine (Debian: apt-get install podman)" >&2; exit 1; \
	fi; \
	set -ex; \
	rm -rf bin/image; mkdir -p bin/image/data; \
	CGO_ENABLED=0 GOOS=linux $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/image/eventara ./cmd/eventara; \
	$$engine build $(CONTAINER_BUILD_FLAGS) -f Containerfile --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) \
		-t $(IMAGE):$(IMAGE_TAG) -t $(IMAGE):latest .

# Node packages of the real-client and browser tests (pinned by lock files).
test-deps:
	@for d in test/js test/browser; do \
		if [ -f $$d/package.json ] && [ ! -d $$d/node_modules ]; then (cd $$d && npm ci --no-audit --no-fund) || exit 1; fi; \
	done

test: build test-deps
	$(MAKE) --no-print-directory fuzz-short
	$(MAKE) --no-print-directory test-web
	EVENTARA_BIN=$(CURDIR)/$(BIN) $(GO) test -race -count=1 -timeout 20m $(PKGS)

# The dashboard's unit tests (vitest); make build installed web/node_modules.
test-web:
	@if [ -f web/package.json ]; then cd web && npm test; fi

test-go:
	$(GO) test -race -count=1 $(PKGS)

# Every fuzz target, briefly (make test) or longer (make fuzz FUZZTIME=5m).
# make test's budget is a count of executions, not a duration: with a
# duration, Go 1.26's fuzz coordinator can report "context deadline
# exceeded" at the deadline on a busy machine, with no failing input
# (go.dev/issue/75804, fixed in Go 1.27). A count only takes longer there.
fuzz-short:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=30000x

fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz' || true); do \
			echo "fuzz $$pkg $$f ($(FUZZTIME))"; \
			out=$$($(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg 2>&1) || { echo "$$out"; exit 1; }; \
		done; \
	done

# Benchmarks and load runs; they print figures and assert nothing.
bench: build
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)
	./scripts/bench.sh ./$(BIN)

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet $(PKGS)

clean:
	rm -rf bin web/dist/assets web/dist/index.html web/dist/docs.html

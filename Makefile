# Ketenhub: `make demo` runs the hub on the embedded cluster, `make test` runs the tests.
SWIFT ?= swift
RUNTIME_PACKAGES := pkg-config librdkafka-dev
TEST_PACKAGES := $(RUNTIME_PACKAGES) kcat

.PHONY: build release test demo bench deps deps-test clean

deps:
	@scripts/ensure-apt-packages.sh $(RUNTIME_PACKAGES)

deps-test:
	@scripts/ensure-apt-packages.sh $(TEST_PACKAGES)

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

# The tests start `ketenhub broker` as a separate process: KETENHUB_BIN tells them where it is.
test: deps-test
	$(SWIFT) build --build-tests
	KETENHUB_BIN="$$($(SWIFT) build --show-bin-path)/ketenhub" $(SWIFT) test --skip-build

demo: build
	"$$($(SWIFT) build --show-bin-path)/ketenhub" demo

bench: release
	"$$($(SWIFT) build -c release --show-bin-path)/ketenhub" bench kafka --json

clean:
	rm -rf .build

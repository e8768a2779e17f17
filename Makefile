# Ketenhub: `make demo` runs the hub on the embedded cluster, `make test` runs the tests.
SWIFT ?= swift
PYTHON ?= python3
# jemalloc is the `ketenhub` process's malloc (Package.swift says why).
RUNTIME_PACKAGES := pkg-config librdkafka-dev libjemalloc-dev
# The console's browser tests run Debian's Chromium through Debian's matching chromedriver; `promtool`
# (Debian's prometheus package; no server is started) checks the metrics exposition; `openssl` makes
# the certificates of the delivery worker's mutual-TLS test.
TEST_PACKAGES := $(RUNTIME_PACKAGES) kcat chromium chromium-driver prometheus openssl
# The contract tests check every example with an independent JSON Schema 2020-12 validator and the
# OpenAPI document with an OpenAPI validator; the console tests drive Chromium through selenium.
PYTHON_TEST_PACKAGES := jsonschema referencing yaml:pyyaml pytest rfc3339_validator:rfc3339-validator lxml openapi_spec_validator:openapi-spec-validator selenium kubernetes_validate:kubernetes-validate schemathesis

.PHONY: build release test demo bench contracts deps deps-test clean

deps:
	@scripts/ensure-apt-packages.sh $(RUNTIME_PACKAGES)

deps-test:
	@scripts/ensure-apt-packages.sh $(TEST_PACKAGES)
	@PYTHON=$(PYTHON) scripts/ensure-python-packages.sh $(PYTHON_TEST_PACKAGES)

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

# The tests start `ketenhub broker` as a separate process: KETENHUB_BIN tells them where it is. The
# ledger, SLA, API and governance tests run on SQLite and on PostgreSQL: scripts/with-postgres.sh
# starts Debian's PostgreSQL in a temporary directory for them (no system service) and stops it after.
# Seven test processes, one after the other: the computing tests (contracts, adapters, policy,
# metrics); the routers' (whose crash and group tests keep both cores busy for minutes); the
# command's (its benchmarks do too, in processes of their own); the Kafka client's (its group
# and transaction tests on embedded clusters of their own) with the delivery worker's crash test
# (a worker process killed ten times, whose wait ran out beside forty other tests on a loaded
# machine); the tests that take a broker down, alone and one at a time (librdkafka's mock broker
# ends the process when it cannot bind its port again, which happened beside the other Kafka
# tests); the whole hub end to end (the demo's fifty cases, whose back-offices must be offered each
# delivery once: beside forty other tests on a loaded machine its back-offices were offered 8 to 14
# deliveries again, while in the same process a hub left a request unanswered for over a minute,
# and a worker offers a delivery again when its partner's answer has not come in 30 s); and the
# rest. In one process they
# share Swift's pool, a thread per core: on a loaded machine the computing and routing work held it
# for tens of seconds, and the benchmarks the cores, while other tests' waits ran out.
COMPUTING_TESTS = CanonicalEventsTests|PartnerAdaptersTests|SharingPolicyTests|HubMetricsTests
ROUTER_TESTS = RouterTests
COMMAND_TESTS = KetenhubCommandTests
KAFKA_TESTS = KafkaTests|DeliveryCrashTests
BROKER_OUTAGE_TESTS = BrokerFailureTests
DEMO_TESTS = EndToEndTests.DemoTests
test: deps-test
	$(SWIFT) build --build-tests
	KETENHUB_BIN="$$($(SWIFT) build --show-bin-path)/ketenhub" scripts/with-postgres.sh sh -c '\
		$(SWIFT) test --skip-build --filter "$(COMPUTING_TESTS)" && \
		$(SWIFT) test --skip-build --filter "$(ROUTER_TESTS)" && \
		$(SWIFT) test --skip-build --filter "$(COMMAND_TESTS)" && \
		$(SWIFT) test --skip-build --filter "$(KAFKA_TESTS)" --skip "$(BROKER_OUTAGE_TESTS)" && \
		$(SWIFT) test --skip-build --filter "$(BROKER_OUTAGE_TESTS)" && \
		$(SWIFT) test --skip-build --filter "$(DEMO_TESTS)" && \
		$(SWIFT) test --skip-build --skip "$(COMPUTING_TESTS)|$(ROUTER_TESTS)|$(COMMAND_TESTS)|$(KAFKA_TESTS)|$(DEMO_TESTS)" && \
		$(PYTHON) -m pytest -q Tests/contracts Tests/console Tests/serve Tests/deploy Tests/api'


demo: build
	"$$($(SWIFT) build --show-bin-path)/ketenhub" demo

bench: release
	"$$($(SWIFT) build -c release --show-bin-path)/ketenhub" bench kafka --json
	"$$($(SWIFT) build -c release --show-bin-path)/ketenhub" bench policy --json
	"$$($(SWIFT) build -c release --show-bin-path)/ketenhub" bench router --json
	KETENHUB_POSTGRES_DURABLE=1 scripts/with-postgres.sh sh -c '"$$($(SWIFT) build -c release --show-bin-path)/ketenhub" bench ledger --json --postgres "$$KETENHUB_TEST_POSTGRES_URL"'

# After changing a schema in Contracts/events: compile the contracts into the hub again.
contracts:
	$(PYTHON) scripts/embed-contracts.py

clean:
	rm -rf .build

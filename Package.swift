// swift-tools-version:6.0
import PackageDescription

// Dependency direction, bottom to top:
//   CRdKafka (system librdkafka) <- Kafka (our client) <- EmbeddedKafka (mock cluster)
//   CanonicalEvents (the contracts' Swift model and validator; no transport) <- SharingPolicy (the matrix)
//   CanonicalEvents <- PartnerAdapters (partner formats as data: native messages <-> canonical events)
//   HubMetrics (the hub's metrics in swift-prometheus's registry)
//   Kafka + CanonicalEvents <- HubTopology (the hub's topics and the records every service writes)
//   HubTopology + PartnerAdapters + SharingPolicy <- PartnerGateway (partners' transports in and out: HTTP (Hummingbird in,
//     AsyncHTTPClient out), drop directories;
//     chain cases by partners' references, under the matrix's opening rules)
//   HubTopology + SharingPolicy <- Router (the routing service)
//   CanonicalEvents + PartnerAdapters + SharingPolicy <- PartnerSimulation (simulated partners, in the registry's regions)
//   HubStore (the SQL databases the hub keeps its state in: SQLite through GRDB, PostgreSQL through postgres-nio;
//     versioned migrations, store URLs)
//   Kafka + HubTopology + CanonicalEvents + HubStore <- DeliveryLedger (every event's life cycle in SQL)
//   DeliveryLedger <- SLAClocks (what must have happened by when)
//   HubAccess (credentials with roles, for every HTTP endpoint; no hub dependencies)
//   SharingPolicy + HubStore <- MatrixGovernance (matrix versions: propose, approve, activate; kept in SQL)
//   DeliveryLedger + MatrixGovernance + HubAccess <- HubAPI (the operators' and privacy officers' API)
//   all of the above <- HubServer (one node of the hub, assembled from its configuration file)
//   HubServer + EmbeddedKafka + PartnerSimulation <- KetenhubDemo (a node with every role, simulated partners) <- KetenhubCLI
//   <- KetenhubBench (with DeliveryLedger + HubStore for the ledger benchmark) <- KetenhubCLI (the `ketenhub` command)
//   ChildProcesses (processes started through posix_spawn, for the benchmarks and the tests; no hub dependencies)
let package = Package(
    name: "Ketenhub",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "ketenhub", targets: ["KetenhubCLI"]),
        .library(name: "Kafka", targets: ["Kafka"]),
        .library(name: "EmbeddedKafka", targets: ["EmbeddedKafka"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.20.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.10.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.0"),
    ],
    targets: [
        // Debian's librdkafka-dev 2.0.2, with the mock cluster header.
        .systemLibrary(
            name: "CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        // Our Kafka client: producer, transactional producer, consumer, admin.
        .target(
            name: "Kafka",
            dependencies: [
                "CRdKafka",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // The embedded cluster (librdkafka's in-memory mock) for the demo and the tests.
        .target(
            name: "EmbeddedKafka",
            dependencies: [
                "CRdKafka",
                "Kafka",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The canonical events: CloudEvents envelope, Swift model, schema validation, Kafka binding.
        .target(
            name: "CanonicalEvents",
            exclude: ["Generated/README.md"]
        ),
        // The sharing matrix as data: loading, lint, evaluation (deny by default), projection.
        .target(
            name: "SharingPolicy",
            dependencies: [
                "CanonicalEvents",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The partners' native formats (XML, JSON, CSV) as mapping tables, read and written safely.
        .target(
            name: "PartnerAdapters",
            dependencies: [
                "CanonicalEvents",
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // The hub's metrics in swift-prometheus's registry, one per node; swift-metrics goes into it too.
        .target(name: "HubMetrics", dependencies: [.product(name: "Prometheus", package: "swift-prometheus"),
                                                   .product(name: "CoreMetrics", package: "swift-metrics")]),
        // The hub's topics, and the records on them that more than one service writes.
        .target(
            name: "HubTopology",
            dependencies: ["Kafka", "CanonicalEvents", .product(name: "Logging", package: "swift-log")]
        ),
        // Who may call the hub's HTTP endpoints: one credential store with roles; answers in JSON.
        .target(
            name: "HubAccess",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The SQL databases the hub's state lives in: one interface, SQLite (GRDB) and PostgreSQL
        // (postgres-nio) behind it, with versioned migrations.
        .target(
            name: "HubStore",
            dependencies: [
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The sharing matrix's versions from proposal to activation, kept in SQL.
        .target(
            name: "MatrixGovernance",
            dependencies: ["SharingPolicy", "CanonicalEvents", "HubStore"]
        ),
        // The partners' transports: HTTP and drop directories in, deliveries out with retries, acknowledgements.
        .target(
            name: "PartnerGateway",
            dependencies: [
                "HubAccess",
                "Kafka",
                "HubMetrics",
                "HubTopology",
                "CanonicalEvents",
                "PartnerAdapters",
                "SharingPolicy",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Simulated partners: case timelines from the domain, sent in native formats; back-offices that take deliveries and acknowledge.
        .target(
            name: "PartnerSimulation",
            dependencies: [
                "CanonicalEvents",
                "PartnerAdapters",
                "SharingPolicy",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // One node of the hub from its configuration file: the services of its roles under
        // swift-service-lifecycle, and its HTTP endpoints. `ketenhub serve`, and the demo's hub.
        .target(
            name: "HubServer",
            dependencies: [
                "Kafka", "HubTopology", "CanonicalEvents", "SharingPolicy", "Router",
                "PartnerAdapters", "PartnerGateway", "DeliveryLedger", "SLAClocks", "HubMetrics", "HubAPI",
                "HubAccess", "MatrixGovernance", "HubStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // A hub node with every role on the embedded cluster, with simulated partners: `make demo` and the end-to-end test.
        .target(
            name: "KetenhubDemo",
            dependencies: [
                "HubServer", "HubStore", "Kafka", "EmbeddedKafka", "HubTopology", "CanonicalEvents", "SharingPolicy",
                "PartnerAdapters", "PartnerGateway", "PartnerSimulation", "DeliveryLedger", "HubAccess", "Router",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The delivery ledger: every event's life cycle from the hub's topics, in SQL (SQLite or PostgreSQL).
        .target(
            name: "DeliveryLedger",
            dependencies: [
                "Kafka", "HubTopology", "CanonicalEvents", "HubStore",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // SLA clocks as data, run over the ledger at a given moment.
        .target(
            name: "SLAClocks",
            dependencies: ["DeliveryLedger", "Kafka", "HubTopology", "HubMetrics", .product(name: "Yams", package: "Yams"), .product(name: "Logging", package: "swift-log")]
        ),
        // The hub's HTTP API for operators and privacy officers, answered from the ledger and the matrix versions, with roles.
        .target(
            name: "HubAPI",
            dependencies: [
                "DeliveryLedger", "HubAccess", "HubTopology", "MatrixGovernance", "SharingPolicy", "CanonicalEvents",
                .product(name: "Hummingbird", package: "hummingbird"),
            ]
        ),
        // The routing service: canonical events in, decisions, deliveries and state out, per Kafka transaction.
        .target(
            name: "Router",
            dependencies: [
                "Kafka",
                "HubMetrics",
                "HubTopology",
                "CanonicalEvents",
                "SharingPolicy",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // `ketenhub bench ...`: throughput and latency measurements.
        // Processes the benchmarks and the tests start (a router, a broker, kcat), through posix_spawn.
        .target(name: "ChildProcesses"),
        .target(
            name: "KetenhubBench",
            dependencies: ["ChildProcesses", "CRdKafka", "Kafka", "EmbeddedKafka", "HubTopology", "Router", "SharingPolicy", "CanonicalEvents", "DeliveryLedger", "HubStore"]
        ),
        .executableTarget(
            name: "KetenhubCLI",
            dependencies: [
                "Kafka",
                "EmbeddedKafka",
                "KetenhubBench",
                "CanonicalEvents",
                "SharingPolicy",
                "HubTopology",
                "Router",
                "PartnerAdapters",
                "PartnerGateway",
                "KetenhubDemo",
                "HubServer",
                "HubAccess",
                "HubStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // Debian's jemalloc (libjemalloc-dev) as the process's malloc, librdkafka's included: the
            // router allocates and frees a tree of small objects per event across threads, where glibc's
            // malloc spent ~15 % of its CPU (consolidating and unlinking free chunks) and jemalloc
            // routes ~10 % more events per CPU second (#18).
            linkerSettings: [.linkedLibrary("jemalloc", .when(platforms: [.linux]))]
        ),
        // Helpers shared by the test targets.
        .target(
            name: "KetenhubTestSupport",
            dependencies: ["ChildProcesses", "Kafka", "CanonicalEvents", "HubStore", "DeliveryLedger", "MatrixGovernance", .product(name: "Logging", package: "swift-log"),
                           .product(name: "Hummingbird", package: "hummingbird"), .product(name: "HummingbirdCore", package: "hummingbird"),
                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")],
            path: "Tests/Support"
        ),
        .testTarget(
            name: "KetenhubCommandTests",
            dependencies: ["KetenhubTestSupport"]
        ),
        .testTarget(
            name: "RouterTests",
            dependencies: ["Router", "HubTopology", "Kafka", "EmbeddedKafka", "SharingPolicy", "CanonicalEvents", "KetenhubTestSupport", "ChildProcesses",
                           .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "SharingPolicyTests",
            dependencies: ["SharingPolicy", "CanonicalEvents", "KetenhubTestSupport", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["KetenhubDemo", "HubServer", "PartnerGateway", "HubAccess", "HubAPI", "MatrixGovernance", "PartnerSimulation", "PartnerAdapters", "SharingPolicy", "CanonicalEvents", "DeliveryLedger", "SLAClocks", "HubMetrics",
                           "HubTopology", "Kafka", "EmbeddedKafka", "KetenhubTestSupport", "ChildProcesses",
                           .product(name: "Hummingbird", package: "hummingbird"), .product(name: "HummingbirdTLS", package: "hummingbird"),
                           .product(name: "NIOSSL", package: "swift-nio-ssl"), .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "HubAPITests",
            dependencies: ["HubAPI", "HubAccess", "HubTopology", "MatrixGovernance", "SharingPolicy", "CanonicalEvents", "DeliveryLedger", "KetenhubTestSupport",
                           .product(name: "Hummingbird", package: "hummingbird")]
        ),
        .testTarget(
            name: "HubMetricsTests",
            dependencies: ["HubMetrics", "KetenhubTestSupport"]
        ),
        .testTarget(
            name: "SLAClockTests",
            dependencies: ["SLAClocks", "DeliveryLedger", "HubStore", "CanonicalEvents", "HubTopology", "Kafka", "EmbeddedKafka", "KetenhubTestSupport", "SharingPolicy"]
        ),
        .testTarget(
            name: "PartnerAdaptersTests",
            dependencies: ["PartnerAdapters", "CanonicalEvents", "SharingPolicy", "KetenhubTestSupport"]
        ),
        .testTarget(
            name: "CanonicalEventsTests",
            dependencies: ["CanonicalEvents", "KetenhubTestSupport"]
        ),
        .testTarget(
            name: "KafkaTests",
            dependencies: [
                "ChildProcesses",
                "CRdKafka",
                "Kafka",
                "EmbeddedKafka",
                "KetenhubTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ]
        ),
    ]
)

import ArgumentParser
import Foundation
import HubStore
import KetenhubBench
import Logging
import SharingPolicy

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the hub on the embedded cluster; each benchmark prints one JSON object on its last line.",
        subcommands: [KafkaBench.self, PolicyBench.self, RouterBench.self, LedgerBench.self]
    )
}

struct KafkaBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kafka",
        abstract: "Raw produce (idempotent, acks=all) and consume throughput of 300-byte records."
    )

    @Flag(help: "Print only the JSON result line.")
    var json = false

    @Option(help: "Records to produce and consume.")
    var messages = 200_000

    @Option(help: "Partitions of the benchmark topic (default: enough that none holds more than ~2.5 MB).")
    var partitions: Int32?

    func run() async throws {
        let benchmark = KafkaThroughputBenchmark(messages: messages, partitions: partitions)
        let result = try await benchmark.run(logger: benchLogger())
        if !json {
            print("produced \(result.messages) records of \(result.record_bytes) bytes: \(Int(result.produce_msgs_per_s)) msgs/s")
            print("consumed \(result.messages) records: \(Int(result.consume_msgs_per_s)) msgs/s")
            print("librdkafka's C API, same work: produced \(Int(result.librdkafka_produce_msgs_per_s)) msgs/s (ratio \(result.produce_ratio_to_librdkafka)), consumed \(Int(result.librdkafka_consume_msgs_per_s)) msgs/s (ratio \(result.consume_ratio_to_librdkafka))")
        }
        try printResultLine(result)
    }
}

struct RouterBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "router",
        abstract: "Router throughput against a raw transactional copy (ratio), and end-to-end latency at an offered load."
    )

    @Flag(help: "Print only the JSON result line.")
    var json = false

    @Option(help: "Events for the throughput runs (the embedded cluster keeps about 5 MB of a partition: about 50,000 of these events).")
    var events = 20_000

    @Option(name: .customLong("batch-size"), help: "Events per transaction.")
    var batchSize = 500

    @Option(help: "Rounds of raw copy and router; the throughput figures are their medians.")
    var rounds = 3

    @Option(name: .customLong("latency-seconds"), help: "How long the offered load runs for the latency percentiles.")
    var latencySeconds = 10.0

    @Option(help: "The sharing matrix directory.")
    var matrix: String = MatrixCommand.defaultDirectory

    @Option(name: .customLong("memory-events"), parsing: .upToNextOption,
            help: "The events after which a router process's resident memory is read (resident_mb).")
    var memoryEvents: [Int] = [20_000, 200_000]

    func validate() throws {
        guard events >= 1 else { throw ValidationError("--events must be at least 1") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
        guard latencySeconds > 0 else { throw ValidationError("--latency-seconds must be more than 0") }
        guard memoryEvents.allSatisfy({ $0 >= 1 }) else { throw ValidationError("--memory-events must each be at least 1") }
    }

    func run() async throws {
        var benchmark = RouterBenchmark(matrix: try MatrixLoader.loadValid(directory: URL(fileURLWithPath: matrix)))
        benchmark.events = events
        benchmark.batchSize = batchSize
        benchmark.rounds = rounds
        benchmark.latencySeconds = latencySeconds
        benchmark.memoryMarks = memoryEvents
        let result = try await benchmark.run(logger: benchLogger())
        if !json {
            print("raw transactional copy: \(Int(result.raw_copy_events_per_s)) events/s, router: \(Int(result.router_events_per_s)) events/s (ratio \(result.ratio); medians of \(result.rounds) rounds, whose ratios were \(result.ratio_by_round.map { "\($0)" }.joined(separator: ", ")))")
            print("a copy writing \(result.router_records_per_event) records per event, as the router does: \(Int(result.raw_copy_same_records_events_per_s)) events/s (ratio \(result.ratio_same_records))")
            print("librdkafka's C API, the same copy: \(Int(result.librdkafka_copy_events_per_s)) events/s (router's ratio \(result.ratio_to_librdkafka_copy))")
            print("librdkafka's C API, the router's transactions: \(Int(result.librdkafka_relay_events_per_s)) events/s (router's ratio \(result.ratio_to_librdkafka_relay))")
            print("latency at \(result.offered_load_events_per_s) events/s: p50 \(result.p50_ms) ms, p99 \(result.p99_ms) ms; p50 by stage \(result.p50_stages_ms.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value) ms" }.joined(separator: ", "))")
            print("router nodes in one group, events/s: \(result.router_events_per_s_by_routers.sorted { $0.key < $1.key }.map { "\($0.key): \(Int($0.value))" }.joined(separator: ", ")) (ratios to the C copy \(result.ratio_to_librdkafka_copy_by_routers.sorted { $0.key < $1.key }.map { "\($0.value)" }.joined(separator: ", ")))")
            print("taking a partition over: \(result.startup_ms["long_history"] ?? 0) ms reading \(result.startup_records_read["long_history"] ?? 0) records with \(result.startup_history_decisions["long_history"] ?? 0) decisions of history, \(result.startup_ms["short_history"] ?? 0) ms reading \(result.startup_records_read["short_history"] ?? 0) with \(result.startup_history_decisions["short_history"] ?? 0)")
            print("a router process's resident memory: \(result.resident_mb.sorted { Int($0.key)! < Int($1.key)! }.map { "\($0.value) MB after \($0.key) events" }.joined(separator: ", "))")
        }
        try printResultLine(result)
    }
}

struct PolicyBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Decision time of the policy evaluator on a generated matrix."
    )

    @Flag(help: "Print only the JSON result line.")
    var json = false

    @Option(help: "Rules in the generated matrix.")
    var rules = 1_000

    @Option(help: "The matrix directory whose registries the generated rules use.")
    var matrix: String = MatrixCommand.defaultDirectory

    @Option(help: "Passes over the same events; their median is reported.")
    var rounds = 5

    func run() async throws {
        var benchmark = PolicyBenchmark(base: try MatrixLoader.loadValid(directory: URL(fileURLWithPath: matrix)))
        benchmark.rules = rules
        benchmark.rounds = rounds
        let result = benchmark.run()
        if !json {
            print("\(result.decisions) decisions on a \(result.rules)-rule matrix, \(result.policy_ns_per_decision_by_round.count) passes: "
                  + "\(Int(result.policy_ns_per_decision)) ns per decision (the median of the passes)")
        }
        try printResultLine(result)
    }
}

/// Benchmarks log warnings only, unless KETENHUB_LOG names another level.
func benchLogger() -> Logger { commandLogger("ketenhub.bench", level: .warning) }

/// The result as one JSON object on the last line, which tools read.
func printResultLine(_ result: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    print(String(decoding: try encoder.encode(result), as: UTF8.self))
}

struct LedgerBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger",
        abstract: "The ledger's store on SQLite and PostgreSQL side by side: facts applied per second and trace query latency at a given size.",
        discussion: "SQLite in a temporary file; PostgreSQL in a new schema of the database --postgres names (or KETENHUB_BENCH_POSTGRES_URL). Without either, SQLite alone."
    )

    @Flag(help: "Print only the JSON result line.")
    var json = false

    @Option(help: "Events in the store (five facts each).")
    var events = 100_000

    @Option(help: "Traces timed, of events picked at random.")
    var traces = 2_000

    @Option(help: "A PostgreSQL database: postgres://USER@HOST:PORT/DATABASE[?sslmode=...] (password from PGPASSWORD).")
    var postgres: String?

    func run() async throws {
        var benchmark = LedgerBenchmark()
        benchmark.events = events
        benchmark.traces = traces
        if let url = postgres ?? ProcessInfo.processInfo.environment["KETENHUB_BENCH_POSTGRES_URL"] {
            var location = try PostgresLocation(url: url)
            location.password = location.password ?? ProcessInfo.processInfo.environment["PGPASSWORD"]
            benchmark.postgres = location
        }
        let result = try await benchmark.run(logger: benchLogger())
        if !json {
            for backend in [result.sqlite] + (result.postgres.map { [$0] } ?? []) {
                print("\(backend.backend): \(Int(backend.facts_per_s)) facts/s (\(result.facts) facts in \(backend.load_s) s); trace p50 \(backend.trace_p50_ms) ms, p99 \(backend.trace_p99_ms) ms; latency histogram for /metrics \(backend.latency_histogram_ms) ms")
            }
        }
        try printResultLine(result)
    }
}

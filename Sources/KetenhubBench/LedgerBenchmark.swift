import CanonicalEvents
import DeliveryLedger
import Foundation
import HubStore
import Logging

/// `ketenhub bench ledger`: the ledger's store on SQLite and on PostgreSQL side by side, in one run on
/// one machine. Facts (accepted, a permit, a deny, delivered, acknowledged per event) are applied in
/// batches of 500, as the projector applies a poll's batch; then traces of events picked at random
/// are timed against the full store, and so is what a `/metrics` scrape reads of it. The store alone is
/// measured: Kafka has its own benchmarks.
public struct LedgerBenchmark: Sendable {
    public struct BackendResult: Sendable, Codable {
        public var backend: String
        public var facts_per_s: Double
        public var load_s: Double
        public var trace_p50_ms: Double
        public var trace_p99_ms: Double
        public var traces: Int
        /// What `/metrics` reads of the store at every scrape for the acknowledgement-latency
        /// histogram, counted over every acknowledged delivery loaded (one per event): the median of
        /// `scrapes` reads.
        public var latency_histogram_ms: Double
        public var scrapes: Int
    }

    public struct Result: Sendable, Codable {
        public var events: Int
        public var facts: Int
        public var batch_size: Int
        public var sqlite: BackendResult
        /// Nil when no PostgreSQL was given (`--postgres URL`).
        public var postgres: BackendResult?
        /// PostgreSQL's facts per second over SQLite's, and its trace p99 over SQLite's.
        public var postgres_over_sqlite_facts: Double?
        public var postgres_over_sqlite_trace_p99: Double?
    }

    public var events = 100_000
    public var batchSize = 500
    public var traces = 2_000
    public var scrapes = 5
    public var postgres: PostgresLocation?

    public init() {}

    /// Five facts per event, in the order the topics would bring them, across 1 000 chain cases.
    func facts() -> [LedgerEntry] {
        let start = Date(timeIntervalSince1970: 1_790_000_000)
        return (0..<events).flatMap { index -> [LedgerEntry] in
            let id = "bench-\(index)"
            let caseId = String(format: "KZ-2026-%06d", index % 1_000)
            let time = HubTime.text(start.addingTimeInterval(Double(index)), fractionalSeconds: true)
            let person = String(format: "psn:%032x", index % 5_000)
            return [
                .accepted(.init(eventId: id, source: "urn:ketenhub:om", type: "nl.ketenhub.vonnis.v1", ketencaseid: caseId, producer: "om",
                                eventTime: time, acceptedAt: time, fields: ["/orderId": "O-\(index)"], persons: [person], roles: ["victim": [person]])),
                .decided(.init(decisionId: "dec-\(id)-politie", eventId: id, eventSource: "urn:ketenhub:om", ketencaseid: caseId, recipient: "politie",
                               permitted: true, ruleId: "VON-POL", legalBasis: "wjsg", purpose: "handhaving", matrixVersion: "bench", decidedAt: time)),
                .decided(.init(decisionId: "dec-\(id)-shn", eventId: id, eventSource: "urn:ketenhub:om", ketencaseid: caseId, recipient: "shn",
                               permitted: false, matrixVersion: "bench", decidedAt: time, explanation: "no rule applies")),
                .delivered(.init(deliveryId: "dec-\(id)-politie", organisation: "politie", delivered: true, attempts: 1, at: time)),
                .acknowledged(.init(deliveryId: "dec-\(id)-politie", organisation: "politie", status: "processed", at: time)),
            ]
        }
    }

    public func run(logger: Logger) async throws -> Result {
        let facts = self.facts()
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ketenhub-bench-\(UUID().uuidString).sqlite")
        defer { try? FileManager.default.removeItem(at: file) }
        let sqlite = try await measure(.sqlite(path: file.path), facts: facts, logger: logger)
        var postgres: BackendResult?
        if var location = self.postgres {
            location.schema = "bench_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(12)
            postgres = try await measure(.postgres(location), facts: facts, logger: logger)
        }
        return Result(events: events, facts: facts.count, batch_size: batchSize, sqlite: sqlite, postgres: postgres,
                      postgres_over_sqlite_facts: postgres.map { Self.hundredths($0.facts_per_s / sqlite.facts_per_s) },
                      postgres_over_sqlite_trace_p99: postgres.map { Self.hundredths($0.trace_p99_ms / sqlite.trace_p99_ms) })
    }

    private func measure(_ location: StoreLocation, facts: [LedgerEntry], logger: Logger) async throws -> BackendResult {
        let database = try await location.open(logger: logger)
        let ledger = SQLLedgerStore(database: database)
        let clock = ContinuousClock()
        let loading = clock.now
        for start in stride(from: 0, to: facts.count, by: batchSize) {
            try await ledger.apply(Array(facts[start..<min(start + batchSize, facts.count)]))
        }
        let load = (clock.now - loading).seconds
        var generator = SystemRandomNumberGenerator()
        var latencies: [Double] = []
        for _ in 0..<traces {
            let id = "bench-\(Int.random(in: 0..<events, using: &generator))"
            let started = clock.now
            guard try await ledger.trace(eventSource: "urn:ketenhub:om", eventId: id) != nil else { throw StoreError("\(id) is not in the store") }
            latencies.append((clock.now - started).seconds * 1_000)
        }
        var scrapeTimes: [Double] = []
        for _ in 0..<scrapes {
            let started = clock.now
            let counted = try await ledger.acknowledgementLatencies()
            scrapeTimes.append((clock.now - started).seconds * 1_000)
            guard counted["politie"]?.count == events else { throw StoreError("the store counted \(counted["politie"]?.count ?? 0) acknowledgements, not \(events)") }
        }
        await database.close()
        latencies.sort()
        scrapeTimes.sort()
        return BackendResult(backend: location.backend.rawValue, facts_per_s: (Double(facts.count) / load).rounded(), load_s: Self.hundredths(load),
                             trace_p50_ms: Self.hundredths(latencies[latencies.count / 2]),
                             trace_p99_ms: Self.hundredths(latencies[min(latencies.count - 1, latencies.count * 99 / 100)]), traces: traces,
                             latency_histogram_ms: Self.hundredths(scrapeTimes[scrapeTimes.count / 2]), scrapes: scrapes)
    }

    private static func hundredths(_ value: Double) -> Double { (value * 100).rounded() / 100 }
}

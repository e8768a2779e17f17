import CanonicalEvents
import Foundation
import HubStore
import Logging

/// How long the ledger keeps each kind of row. A kind without a period is kept for good. Periods are
/// the hub's configuration (`retention:`), set to what the law asks of the organisations running it.
public struct RetentionPolicy: Sendable, Equatable {
    /// The kinds of rows, each removed by its own time.
    public enum Kind: String, Sendable, CaseIterable, Codable {
        /// An event's whole life cycle, by when the hub accepted it: the event, its kept fields and
        /// persons, its decisions and its deliveries with their acknowledgements (a trace never shows
        /// a delivery without the decision that permitted it).
        case deliveries
        /// Dead letters, by when they were received.
        case deadLetters
        /// SLA alerts, by when they were raised.
        case alerts
        /// The API call log, by the call's time.
        case apiCalls
        /// Replays, by when they were asked for.
        case replays
    }

    /// A period in whole days or whole calendar years (UTC): `400d`, `7y`.
    public enum Period: Sendable, Equatable, CustomStringConvertible {
        case days(Int)
        case years(Int)

        public init?(_ text: String) {
            guard let unit = text.last, let count = Int(text.dropLast()), count > 0, count <= 100_000 else { return nil }
            switch unit {
            case "d": self = .days(count)
            case "y" where count <= 300: self = .years(count)
            default: return nil
            }
        }

        public var description: String {
            switch self {
            case .days(let count): "\(count)d"
            case .years(let count): "\(count)y"
            }
        }

        /// The moment before which rows are no longer kept.
        public func cutoff(before now: Date) -> Date {
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "UTC")!
            return switch self {
            case .days(let count): calendar.date(byAdding: .day, value: -count, to: now)!
            case .years(let count): calendar.date(byAdding: .year, value: -count, to: now)!
            }
        }
    }

    public var periods: [Kind: Period]

    public init(_ periods: [Kind: Period] = [:]) { self.periods = periods }
}

/// One removal by the retention job: which kind, everything before which moment, how many rows (for
/// `deliveries`: event life cycles).
public struct RetentionRun: Sendable, Codable, Equatable {
    public var runAt: String
    public var kind: RetentionPolicy.Kind
    public var cutoff: String
    public var removed: Int

    /// From when the data-subject report is complete: the latest cutoff applied to event life
    /// cycles, or nil when none was ever removed (complete since the ledger began).
    public static func completeFrom(_ runs: [RetentionRun]) -> String? {
        runs.filter { $0.kind == .deliveries }.map(\.cutoff).max()
    }
}

extension SQLLedgerStore {
    /// What a kind's removal counts (its rows before the cutoff, `?`) and deletes. `deliveries`
    /// deletes an event's dependants before the event.
    private static func removal(_ kind: RetentionPolicy.Kind) -> (counted: String, deletes: [String]) {
        let expired = "SELECT source, event_id FROM events WHERE accepted_at < ?"
        return switch kind {
        case .deliveries: ("events WHERE accepted_at < ?", [
            // Their deliveries' acknowledgement latencies stay counted: /metrics reads the counts,
            // which a removal does not change (`HubSchema.acknowledgementLatencyFold`).
            "DELETE FROM event_fields WHERE (source, event_id) IN (\(expired))",
            "DELETE FROM event_persons WHERE (source, event_id) IN (\(expired))",
            "DELETE FROM deliveries WHERE (event_source, event_id) IN (\(expired))",
            "DELETE FROM decisions WHERE (event_source, event_id) IN (\(expired))",
            "DELETE FROM events WHERE accepted_at < ?",
        ])
        case .deadLetters: ("dead_letters WHERE received_at < ?", ["DELETE FROM dead_letters WHERE received_at < ?"])
        case .alerts: ("alerts WHERE raised_at < ?", ["DELETE FROM alerts WHERE raised_at < ?"])
        case .apiCalls: ("api_calls WHERE at < ?", ["DELETE FROM api_calls WHERE at < ?"])
        case .replays: ("replays WHERE at < ?", ["DELETE FROM replays WHERE at < ?"])
        }
    }

    /// One transaction per kind: the record of the run (counting what is about to go) and the
    /// removal commit together, so that what the record says was removed, was.
    public func applyRetention(_ policy: RetentionPolicy, at now: Date) async throws -> [RetentionRun] {
        var runs: [RetentionRun] = []
        let runAt = HubTime.text(now)
        for kind in RetentionPolicy.Kind.allCases {
            guard let period = policy.periods[kind] else { continue }
            // With milliseconds: the ledger compares its times as text, and a time of the same second
            // with a fraction (`...:00.5Z`) must sort after the cutoff, as it is.
            let cutoff = HubTime.text(period.cutoff(before: now), fractionalSeconds: true)
            let (counted, deletes) = Self.removal(kind)
            let record = SQLStatement("""
                INSERT INTO retention_runs (run_at, kind, cutoff, removed) SELECT ?, ?, ?, COUNT(*) FROM \(counted)
                ON CONFLICT DO NOTHING RETURNING removed
                """, runAt, kind.rawValue, cutoff, cutoff)
            let results = try await database.write([record] + deletes.map { SQLStatement($0, cutoff) })
            runs.append(RetentionRun(runAt: runAt, kind: kind, cutoff: cutoff, removed: results[0].first?["removed"] ?? 0))
        }
        return runs
    }

    public func retentionRuns() async throws -> [RetentionRun] {
        try await database.read(SQLStatement("SELECT * FROM retention_runs ORDER BY run_at DESC, kind")).map { row in
            RetentionRun(runAt: row["run_at"], kind: RetentionPolicy.Kind(rawValue: row["kind"]) ?? .deliveries, cutoff: row["cutoff"],
                         removed: row["removed"])
        }
    }
}

/// Applies the retention policy now and then (hourly), on a node with the ledger role. Several such
/// nodes may run it at once: a delete finds what the other left, and each records what it removed.
public struct RetentionJob: Sendable {
    let store: any LedgerStore
    let policy: RetentionPolicy
    let every: Duration
    let logger: Logger

    public init(store: any LedgerStore, policy: RetentionPolicy, every: Duration = .seconds(3600), logger: Logger) {
        self.store = store
        self.policy = policy
        self.every = every
        self.logger = logger
    }

    public func run() async throws {
        guard !policy.periods.isEmpty else { return }
        while !Task.isCancelled {
            do {
                for run in try await store.applyRetention(policy, at: Date()) where run.removed > 0 {
                    logger.info("retention removed rows", metadata: ["kind": "\(run.kind.rawValue)", "before": "\(run.cutoff)", "removed": "\(run.removed)"])
                }
            } catch {
                logger.error("retention job failed; it runs again at its next turn", metadata: ["error": "\(error)"])
            }
            try await Task.sleep(for: every)
        }
    }
}

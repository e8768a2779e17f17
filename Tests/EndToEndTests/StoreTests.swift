import DeliveryLedger
import Foundation
import CanonicalEvents
import HubStore
import HubTopology
import KetenhubTestSupport
import Logging
import Testing

/// The store itself, on each backend: the retention job, and migrations from an earlier schema.
@Suite("Store: retention and migrations")
struct StoreTests {
    static let time = "2026-11-20T10:00:00.000Z"

    static func lifeCycle(_ id: String, acceptedAt: String, person: String) -> [LedgerEntry] {
        [
            .accepted(.init(eventId: id, source: "urn:ketenhub:om", type: "nl.ketenhub.vonnis.v1", ketencaseid: "KZ-2026-AAAAAA", producer: "om",
                            eventTime: acceptedAt, acceptedAt: acceptedAt, fields: ["/orderId": "O-\(id)"], persons: [person])),
            .decided(.init(decisionId: "dec-\(id)-politie", eventId: id, eventSource: "urn:ketenhub:om", ketencaseid: "KZ-2026-AAAAAA",
                           recipient: "politie", permitted: true, ruleId: "r1", legalBasis: "wjsg", purpose: "p", matrixVersion: "v1",
                           decidedAt: acceptedAt)),
            .delivered(.init(deliveryId: "dec-\(id)-politie", organisation: "politie", delivered: true, attempts: 1, at: acceptedAt)),
            .acknowledged(.init(deliveryId: "dec-\(id)-politie", organisation: "politie", status: "processed", at: acceptedAt)),
        ]
    }

    @Test("retention removes each kind of row older than its period, whole life cycles, and records what it removed", arguments: StoreBackend.all)
    func retention(backend: StoreBackend) async throws {
        let ledger = try await backend.ledger()
        let person = "psn:0123456789abcdef0123456789abcdef"
        try await ledger.apply(Self.lifeCycle("old", acceptedAt: "2018-03-01T09:00:00.000Z", person: person)
            + Self.lifeCycle("new", acceptedAt: "2026-10-01T09:00:00.000Z", person: person) + [
                .alerted(SLAAlert(alertId: "a-old", clock: "zsm", severity: .breach, ketencaseid: "KZ-2026-AAAAAA", raisedAt: "2026-06-01T00:00:00.000Z", message: "m")),
                .alerted(SLAAlert(alertId: "a-new", clock: "zsm", severity: .breach, ketencaseid: "KZ-2026-AAAAAA", raisedAt: "2026-11-19T00:00:00.000Z", message: "m")),
                .deadLettered(.init(deadLetterId: "dlq-old", stage: "inbound", partner: "om", receivedAt: "2024-01-01T00:00:00.000Z", reasons: ["r"], sizeBytes: 1)),
            ])
        try await ledger.record(APICall(at: "2018-01-01T00:00:00.000Z", principal: "ops", role: "operator", method: "GET", path: "/api/alerts", status: 200))
        try await ledger.record(APICall(at: "2026-11-01T00:00:00.000Z", principal: "ops", role: "operator", method: "GET", path: "/api/alerts", status: 200))
        let now = HubTime.date(Self.time)!
        let policy = RetentionPolicy([.deliveries: .years(7), .alerts: .days(90), .apiCalls: .years(7)])
        let latencies = try await ledger.acknowledgementLatencies()
        #expect(latencies["politie"]?.count == 2)

        let runs = try await ledger.applyRetention(policy, at: now)
        #expect(runs.map(\.kind) == [.deliveries, .alerts, .apiCalls], "dead letters have no period: kept")
        #expect(runs.map(\.removed) == [1, 1, 1])
        #expect(runs.first?.cutoff == "2019-11-20T10:00:00.000Z", "seven calendar years before now")
        let after = try await ledger.snapshot()
        #expect(after.events.map(\.eventId) == ["new"] && after.decisions.map(\.decisionId) == ["dec-new-politie"])
        #expect(after.deliveries.map(\.deliveryId) == ["dec-new-politie"] && after.persons.map { $0[1] } == ["new"])
        #expect(after.alerts.map(\.alertId) == ["a-new"] && after.deadLetters.map(\.deadLetterId) == ["dlq-old"])
        #expect(try await ledger.apiCalls().map(\.at) == ["2026-11-01T00:00:00.000Z"])
        #expect(try await ledger.disclosures(concerning: person).map(\.eventId) == ["new"])
        #expect(try await ledger.acknowledgementLatencies() == latencies, "the histogram's counts are counters: removed rows stay counted")

        // Recorded, latest first; a second run removes nothing and says so.
        let again = try await ledger.applyRetention(policy, at: now.addingTimeInterval(3600))
        #expect(again.map(\.removed) == [0, 0, 0])
        #expect(try await ledger.acknowledgementLatencies() == latencies, "and once only")
        let recorded = try await ledger.retentionRuns()
        #expect(recorded.count == 6 && recorded.prefix(3).allSatisfy { $0.removed == 0 } && recorded.suffix(3).map(\.removed) == [1, 1, 1])
        #expect(RetentionRun.completeFrom(recorded) == "2019-11-20T11:00:00.000Z", "the data-subject report is complete from the latest cutoff")
    }

    @Test("the dead-letter summary /metrics reads counts the letters and names the oldest receipt, without reading them", arguments: StoreBackend.all)
    func deadLetterSummary(backend: StoreBackend) async throws {
        let ledger = try await backend.ledger()
        let empty = try await ledger.deadLetterSummary()
        #expect(empty.count == 0 && empty.oldestReceivedAt == nil)
        try await ledger.apply([
            .deadLettered(.init(deadLetterId: "dlq-b", stage: "inbound", partner: "om", receivedAt: "2026-11-20T10:00:00.000Z", reasons: ["r"], sizeBytes: 1)),
            .deadLettered(.init(deadLetterId: "dlq-a", stage: "routing", partner: "vt", receivedAt: "2026-11-19T08:30:00.000Z", reasons: ["r"], sizeBytes: 2)),
            .deadLettered(.init(deadLetterId: "dlq-b", stage: "inbound", partner: "om", receivedAt: "2026-11-20T10:00:00.000Z", reasons: ["r"], sizeBytes: 1)),
        ])
        let summary = try await ledger.deadLetterSummary()
        #expect(summary.count == 2, "a dead letter applied twice is one")
        #expect(summary.oldestReceivedAt == "2026-11-19T08:30:00.000Z")
        #expect(summary.count == (try await ledger.deadLetters()).count)
    }

    @Test("the acknowledgement latencies /metrics reads are counted by the store: by organisation, cumulative, whole milliseconds", arguments: StoreBackend.all)
    func acknowledgementLatencies(backend: StoreBackend) async throws {
        let ledger = try await backend.ledger()
        func accepted(_ id: String, at time: String) -> LedgerEntry {
            .accepted(.init(eventId: id, source: "urn:ketenhub:om", type: "nl.ketenhub.vonnis.v1", ketencaseid: "KZ-2026-AAAAAA", producer: "om",
                            eventTime: time, acceptedAt: time))
        }
        func permitted(_ id: String, to recipient: String) -> LedgerEntry {
            .decided(.init(decisionId: "dec-\(id)-\(recipient)", eventId: id, eventSource: "urn:ketenhub:om", ketencaseid: "KZ-2026-AAAAAA",
                           recipient: recipient, permitted: true, ruleId: "r1", legalBasis: "wjsg", purpose: "p", matrixVersion: "v1",
                           decidedAt: "2026-11-20T10:00:00.000Z"))
        }
        func acknowledged(_ id: String, by recipient: String, at time: String) -> LedgerEntry {
            .acknowledged(.init(deliveryId: "dec-\(id)-\(recipient)", organisation: recipient, status: "processed", at: time))
        }
        #expect(LatencyCounts.boundsMilliseconds == [100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 300_000, 3_600_000])
        #expect(try await ledger.acknowledgementLatencies().isEmpty)
        try await ledger.apply([
            accepted("e1", at: "2026-11-20T10:00:00.000Z"), accepted("e2", at: "2026-11-20T10:00:10.000Z"),
            accepted("e3", at: "2026-11-20T10:00:10.000Z"), accepted("e4", at: "2026-11-20T10:00:00.000Z"),
            permitted("e1", to: "politie"), permitted("e1", to: "om"), permitted("e2", to: "politie"), permitted("e3", to: "politie"),
            permitted("e4", to: "politie"),
            acknowledged("e1", by: "politie", at: "2026-11-20T10:00:00.100Z"),   // 100 ms: at the first bound, counted in it
            acknowledged("e1", by: "om", at: "2026-11-20T10:00:05.000Z"),
            acknowledged("e1", by: "om", at: "2026-11-20T10:00:02.000Z"),        // the earlier acknowledgement counts: 2,000 ms
            acknowledged("e2", by: "politie", at: "2026-11-20T10:00:09.000Z"),   // before its acceptance (two nodes' clocks): 0
            acknowledged("e3", by: "politie", at: "2026-11-20T11:00:10.251+01:00"),  // an offset: 251 ms
            acknowledged("e5", by: "politie", at: "2026-11-20T10:00:00.000Z"),   // its event unknown to the ledger: not counted
        ])
        #expect(try await ledger.acknowledgementLatencies() == [
            "politie": LatencyCounts(atOrBelow: [2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3], count: 3, totalMilliseconds: 351),  // e4 is not acknowledged
            "om": LatencyCounts(atOrBelow: [0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1], count: 1, totalMilliseconds: 2_000),
        ])
        // Facts that come later move what was counted: e5's event and its permit, an earlier acknowledgement of e3,
        // an earlier acceptance of e1 (a second copy; 5 s before); and one beyond the last bound.
        try await ledger.apply([
            accepted("e5", at: "2026-11-20T09:59:59.000Z"), permitted("e5", to: "politie"),
            acknowledged("e3", by: "politie", at: "2026-11-20T10:00:10.050Z"),
            accepted("e1", at: "2026-11-20T09:59:55.000Z"),
            accepted("e6", at: "2026-11-20T08:00:00.000Z"), permitted("e6", to: "om"), acknowledged("e6", by: "om", at: "2026-11-20T10:00:00.000Z"),
        ])
        #expect(try await ledger.acknowledgementLatencies() == [
            // e1 5,100; e2 0; e3 50; e5 1,000
            "politie": LatencyCounts(atOrBelow: [2, 2, 2, 3, 3, 3, 4, 4, 4, 4, 4], count: 4, totalMilliseconds: 6_150),
            // e1 7,000; e6 7,200,000
            "om": LatencyCounts(atOrBelow: [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1], count: 2, totalMilliseconds: 7_207_000),
        ])
    }

    @Test("a latency that concurrent projectors left unassigned is assigned by the next batch any projector applies, a thousand at a time",
          arguments: StoreBackend.all)
    func unassignedLatencies(backend: StoreBackend) async throws {
        let ledger = try await backend.ledger()
        let source = "urn:ketenhub:om"
        func permitted(_ index: Int) -> LedgerEntry {
            .decided(.init(decisionId: "dec-e1-\(index)", eventId: "e1", eventSource: source, ketencaseid: "KZ-2026-AAAAAA", recipient: "politie",
                           permitted: true, ruleId: "r1", legalBasis: "wjsg", purpose: "p", matrixVersion: "v1", decidedAt: "2026-11-20T10:00:00.000Z"))
        }
        func acknowledged(_ delivery: String) -> LedgerEntry {
            .acknowledged(.init(deliveryId: delivery, organisation: "politie", status: "processed", at: "2026-11-20T10:00:00.300Z"))
        }
        let deliveries = 1_001
        try await ledger.apply([.accepted(.init(eventId: "e1", source: source, type: "nl.ketenhub.vonnis.v1", ketencaseid: "KZ-2026-AAAAAA",
                                                producer: "om", eventTime: "2026-11-20T10:00:00.000Z", acceptedAt: "2026-11-20T10:00:00.000Z"))]
                               + (1...deliveries).flatMap { [permitted($0), acknowledged("dec-e1-\($0)")] }
                               + [acknowledged("dec-unknown")])  // its permit not (yet) in the ledger: nothing to assign
        let all = LatencyCounts(atOrBelow: [0, 0, deliveries, deliveries, deliveries, deliveries, deliveries, deliveries, deliveries, deliveries, deliveries],
                                count: deliveries, totalMilliseconds: 300 * deliveries)
        #expect(try await ledger.acknowledgementLatencies() == ["politie": all])
        // What a permit's and its event's acceptance's transactions leave on PostgreSQL when they
        // commit at the same moment, each assigning from what was committed before the other.
        _ = try await ledger.database.write([SQLStatement("UPDATE deliveries SET ack_latency_ms = NULL, ack_latency_le_ms = NULL")])
        #expect(try await ledger.acknowledgementLatencies().isEmpty)
        // Batches that name none of these deliveries: a dead letter's, then another's.
        for letter in ["dl-1", "dl-2"] {
            try await ledger.apply([.deadLettered(.init(deadLetterId: letter, stage: "inbound", partner: "om", receivedAt: "2026-11-20T10:01:00.000Z",
                                                        reasons: ["not XML"], sizeBytes: 3))])
            let assigned = letter == "dl-1" ? 1_000 : deliveries
            #expect(try await ledger.acknowledgementLatencies() == ["politie": LatencyCounts(
                atOrBelow: [0, 0] + Array(repeating: assigned, count: 9), count: assigned, totalMilliseconds: 300 * assigned)])
        }
        #expect(try await ledger.acknowledgementLatencies() == ["politie": all])
        // Each batch folded its changes into the counts; the raw update's were folded by the first.
        #expect(try await ledger.database.read(SQLStatement("SELECT COUNT(*) AS n FROM acknowledgement_latency_changes")).first?["n"] == 0)
    }

    @Test("a store at v10 keeps what it counted in v11's counts: its deliveries' latencies and those the retention job removed",
          arguments: StoreBackend.all)
    func latencyCountsMigration(backend: StoreBackend) async throws {
        let location = try backend.location(file: FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("store") + ".sqlite").path)
        let database = try await location.open(migrating: false, logger: Logger(label: "ketenhub.test.store"))
        _ = try await database.migrate(SQLSchema(migrations: Array(HubSchema.schema.migrations.prefix { $0.id != "v11-acknowledgement-latency-counts" })))
        let removed = "INSERT INTO acknowledgement_latencies_removed (organisation, le_ms, observed, total_ms) VALUES (?, ?, ?, ?)"
        _ = try await database.write([
            SQLStatement("""
                INSERT INTO deliveries (delivery_id, organisation, event_source, event_id, ketencaseid, ack_latency_ms, ack_latency_le_ms)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """, "dec-kept-politie", "politie", "urn:ketenhub:om", "kept", "KZ-2026-AAAAAA", 300, 500),
            SQLStatement(removed, "politie", 500, 2, 700),
            SQLStatement(removed, "om", -1, 1, 4_000_000),  // above the last bound
        ])
        #expect(try await database.migrate(HubSchema.schema) == ["v11-acknowledgement-latency-counts"])
        #expect(try await SQLLedgerStore(database: database).acknowledgementLatencies() == [
            "politie": LatencyCounts(atOrBelow: [0, 0] + Array(repeating: 3, count: 9), count: 3, totalMilliseconds: 1_000),
            "om": LatencyCounts(atOrBelow: Array(repeating: 0, count: 11), count: 1, totalMilliseconds: 4_000_000),
        ])
        await database.close()
    }

    /// The latencies of the deliveries a ledger keeps, counted from their rows: what its counts
    /// are while no delivery has been removed.
    static func recounted(_ ledger: SQLLedgerStore) async throws -> [String: LatencyCounts] {
        let rows = try await ledger.database.read(SQLStatement("""
            SELECT organisation, ack_latency_ms AS ms, ack_latency_le_ms AS le FROM deliveries WHERE ack_latency_le_ms IS NOT NULL
            """))
        var counts: [String: LatencyCounts] = [:]
        for row in rows {
            let bucket: Int = row["le"]
            var latencies = counts[row["organisation"]] ?? LatencyCounts(atOrBelow: Array(repeating: 0, count: 11), count: 0, totalMilliseconds: 0)
            latencies.count += 1
            latencies.totalMilliseconds += row["ms"]
            for (index, bound) in LatencyCounts.boundsMilliseconds.enumerated() where bucket != -1 && bucket <= bound { latencies.atOrBelow[index] += 1 }
            counts[row["organisation"]] = latencies
        }
        return counts
    }

    @Test("a store of the schema before retention migrates to it, keeping its rows and counting their latencies; one migrated further is refused",
          arguments: StoreBackend.all)
    func migrations(backend: StoreBackend) async throws {
        let logger = Logger(label: "ketenhub.test.store")
        let location = try backend.location(file: FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("store") + ".sqlite").path)
        let earlier = SQLSchema(migrations: Array(HubSchema.schema.migrations.prefix { $0.id != "v8-retention" }))
        let database = try await location.open(migrating: false, logger: logger)
        #expect(try await database.migrate(earlier) == earlier.identifiers)
        // Rows as that schema kept them: an event, and two acknowledged deliveries of it, one at a
        // time that is no time (the ledger kept a recipient's text before it read it).
        let delivery = "INSERT INTO deliveries (delivery_id, organisation, event_source, event_id, ketencaseid, acknowledged_at) VALUES (?, ?, ?, ?, ?, ?)"
        _ = try await database.write([
            SQLStatement("INSERT INTO events (source, event_id, type, ketencaseid, producer, event_time, accepted_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                         "urn:ketenhub:om", "kept", "nl.ketenhub.vonnis.v1", "KZ-2026-AAAAAA", "om", Self.time, Self.time),
            SQLStatement(delivery, "dec-kept-politie", "politie", "urn:ketenhub:om", "kept", "KZ-2026-AAAAAA", "2026-11-20T11:00:00.750+01:00"),
            SQLStatement(delivery, "dec-kept-om", "om", "urn:ketenhub:om", "kept", "KZ-2026-AAAAAA", "2026-02-30T10:00:00Z"),
        ])
        await database.close()

        let reopened = try await location.open(migrating: false, logger: logger)
        #expect(try await reopened.migrate(HubSchema.schema) == ["v8-retention", "v9-acknowledgement-latencies", "v10-unassigned-latencies", "v11-acknowledgement-latency-counts"])
        #expect(try await reopened.appliedMigrations() == HubSchema.schema.identifiers)
        let ledger = SQLLedgerStore(database: reopened)
        #expect(try await ledger.snapshot().events.map(\.eventId) == ["kept"])
        let counted = try await ledger.acknowledgementLatencies()
        #expect(counted["politie"] == LatencyCounts(atOrBelow: [0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1], count: 1, totalMilliseconds: 750))
        // 30 February: PostgreSQL refuses it, so its migration gives it no time; SQLite reads it as 2 March.
        #expect(backend == .sqlite ? counted["om"] != nil : counted["om"] == nil)
        #expect(try await ledger.applyRetention(RetentionPolicy([.deliveries: .days(1)]), at: Date()).first?.removed == 1)
        #expect(try await ledger.acknowledgementLatencies() == counted, "a removed delivery stays counted")

        let newer = SQLSchema(migrations: HubSchema.schema.migrations + [SQLMigration("v99-from-the-future", sqlite: "SELECT 1", postgres: "SELECT 1")])
        #expect(try await reopened.migrate(newer) == ["v99-from-the-future"])
        await reopened.close()
        let error = await #expect(throws: StoreError.self) { _ = try await location.open(logger: logger) }
        #expect(error?.description.contains("v99-from-the-future") == true)
    }
}

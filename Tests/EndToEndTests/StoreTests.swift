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

        // Recorded, latest first; a second run removes nothing and says so.
        let again = try await ledger.applyRetention(policy, at: now.addingTimeInterval(3600))
        #expect(again.map(\.removed) == [0, 0, 0])
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

    @Test("a store of the schema before retention migrates to it, keeping its rows; one migrated further is refused", arguments: StoreBackend.all)
    func migrations(backend: StoreBackend) async throws {
        let logger = Logger(label: "ketenhub.test.store")
        let location = try backend.location(file: FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("store") + ".sqlite").path)
        let earlier = SQLSchema(migrations: HubSchema.schema.migrations.filter { $0.id != "v8-retention" })
        let database = try await location.open(migrating: false, logger: logger)
        #expect(try await database.migrate(earlier) == earlier.identifiers)
        try await SQLLedgerStore(database: database).apply(Self.lifeCycle("kept", acceptedAt: Self.time, person: "psn:0123456789abcdef0123456789abcdef"))
        await database.close()

        let reopened = try await location.open(migrating: false, logger: logger)
        #expect(try await reopened.migrate(HubSchema.schema) == ["v8-retention"])
        #expect(try await reopened.appliedMigrations() == HubSchema.schema.identifiers)
        let ledger = SQLLedgerStore(database: reopened)
        #expect(try await ledger.snapshot().events.map(\.eventId) == ["kept"])
        #expect(try await ledger.applyRetention(RetentionPolicy([.deliveries: .days(1)]), at: Date()).first?.removed == 1)

        let newer = SQLSchema(migrations: HubSchema.schema.migrations + [SQLMigration("v99-from-the-future", sqlite: "SELECT 1", postgres: "SELECT 1")])
        #expect(try await reopened.migrate(newer) == ["v99-from-the-future"])
        await reopened.close()
        let error = await #expect(throws: StoreError.self) { _ = try await location.open(logger: logger) }
        #expect(error?.description.contains("v99-from-the-future") == true)
    }
}

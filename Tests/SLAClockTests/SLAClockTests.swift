import CanonicalEvents
import DeliveryLedger
import Foundation
import HubStore
import KetenhubTestSupport
import SLAClocks
import SharingPolicy
import Testing

/// Each SLA clock under a clock the test controls: it fires exactly when it should, and not otherwise.
@Suite("SLA clocks")
struct SLAClockTests {
    static let clocks = try! SLAClock.load(packageRoot.appendingPathComponent("Contracts/sla/clocks.yaml"))
    static let t0 = ISO8601DateFormatter().date(from: "2026-11-20T10:00:00Z")!

    static func at(minutes: Double) -> Date { t0.addingTimeInterval(minutes * 60) }
    static func text(minutes: Double) -> String { ISO8601DateFormatter().string(from: at(minutes: minutes)) }

    /// Organisation types as the shipped registry has them (`vt-utrecht` is a `vt`).
    static let organisationTypes = Dictionary(uniqueKeysWithValues: try! MatrixLoader.loadValid(directory: packageRoot.appendingPathComponent("Contracts/matrix")).organisations.organisations.map { ($0.code, $0.type) })
    static func evaluator(_ id: String) -> SLAEvaluator { SLAEvaluator(clocks: clocks.filter { $0.id == id }, organisationTypes: organisationTypes) }

    static func accepted(_ id: String, _ event: String, case caseId: String = "KZ-2026-AAAAAA", time: Double = 0,
                         fields: [String: String] = [:]) -> LedgerEntry {
        .accepted(.init(eventId: id, source: "urn:ketenhub:om", type: "nl.ketenhub.\(event).v1", ketencaseid: caseId, producer: "om",
                        eventTime: text(minutes: time), acceptedAt: text(minutes: time), fields: fields))
    }

    static func permitted(_ id: String, to recipient: String) -> LedgerEntry {
        .decided(.init(decisionId: "dec-\(id)-\(recipient)", eventId: id, eventSource: "urn:ketenhub:om", ketencaseid: "KZ-2026-AAAAAA",
                       recipient: recipient, permitted: true, ruleId: "r", legalBasis: "b", purpose: "p", matrixVersion: "v1",
                       decidedAt: text(minutes: 0)))
    }

    static func delivered(_ id: String, to recipient: String, at minutes: Double) -> LedgerEntry {
        .delivered(.init(deliveryId: "dec-\(id)-\(recipient)", organisation: recipient, delivered: true, attempts: 1, at: text(minutes: minutes)))
    }

    static func acknowledged(_ id: String, by recipient: String, at minutes: Double) -> LedgerEntry {
        .acknowledged(.init(deliveryId: "dec-\(id)-\(recipient)", organisation: recipient, status: "processed", at: text(minutes: minutes)))
    }

    static func ids(_ alerts: [SLAAlert]) -> [String] { alerts.map(\.alertId).sorted() }

    @Test("the shipped clocks load, each with what its kind needs; the ledger keeps the fields they name")
    func shipped() {
        #expect(Self.clocks.map(\.id) == ["invrijheidstelling-slachtoffer-politie", "gedragsaanwijzing-politie", "zsm-veiligheidsbeoordeling",
                                          "gedragsaanwijzing-einddatum", "onbevestigde-levering", "invrijheidstelling-voor-vrijlating",
                                          "gehouden-levering"])
        #expect(SLAEvaluator(clocks: Self.clocks).keptFields["nl.ketenhub.invrijheidstelling.v1"] == ["/releaseAt"])
        #expect(SLAEvaluator(clocks: Self.clocks).keptFields["nl.ketenhub.gedragsaanwijzing.v1"]?.sorted() == ["/action", "/endDate", "/orderId"])
    }

    @Test("invrijheidstelling: SHN and politie must acknowledge within the hour; other recipients do not count", arguments: StoreBackend.all)
    func releaseAcknowledged(backend: StoreBackend) async throws {
        let ledger = try await backend.ledger()
        try await ledger.apply([Self.accepted("ivs-1", "invrijheidstelling"), Self.permitted("ivs-1", to: "shn"), Self.permitted("ivs-1", to: "politie"),
                          Self.permitted("ivs-1", to: "3ro"), Self.delivered("ivs-1", to: "shn", at: 1), Self.delivered("ivs-1", to: "politie", at: 1)])
        let clock = Self.evaluator("invrijheidstelling-slachtoffer-politie")
        #expect(try await clock.alerts(at: Self.at(minutes: 59.9), in: ledger) == [])
        #expect(Self.ids(try await clock.alerts(at: Self.at(minutes: 60), in: ledger)) ==
                ["invrijheidstelling-slachtoffer-politie:dec-ivs-1-politie:breach", "invrijheidstelling-slachtoffer-politie:dec-ivs-1-shn:breach"])
        try await ledger.apply([Self.acknowledged("ivs-1", by: "shn", at: 30), Self.acknowledged("ivs-1", by: "politie", at: 70)])
        #expect(Self.ids(try await clock.alerts(at: Self.at(minutes: 120), in: ledger)) == ["invrijheidstelling-slachtoffer-politie:dec-ivs-1-politie:breach"],
                "acknowledged late is still a breach; on time is none")
    }

    @Test("invrijheidstelling: a release delivered after it took effect (or not by then) breaches; before it, none", arguments: StoreBackend.all)
    func releaseBeforeItHappens(backend: StoreBackend) async throws {
        let ledger = try await backend.ledger()
        let releaseAt = ["/releaseAt": Self.text(minutes: 30)]
        try await ledger.apply([Self.accepted("ivs-1", "invrijheidstelling", fields: releaseAt), Self.permitted("ivs-1", to: "politie"),
                          Self.permitted("ivs-1", to: "vt-utrecht"), Self.permitted("ivs-1", to: "shn"), Self.permitted("ivs-1", to: "3ro"),
                          Self.delivered("ivs-1", to: "politie", at: 1), Self.delivered("ivs-1", to: "vt-utrecht", at: 45)])
        let clock = Self.evaluator("invrijheidstelling-voor-vrijlating")
        #expect(Self.ids(try await clock.alerts(at: Self.at(minutes: 29), in: ledger)) == ["invrijheidstelling-voor-vrijlating:dec-ivs-1-vt-utrecht:breach"],
                "delivered after releaseAt: a breach even before the clock reaches it")
        let alerts = try await clock.alerts(at: Self.at(minutes: 31), in: ledger)
        #expect(Self.ids(alerts) == ["invrijheidstelling-voor-vrijlating:dec-ivs-1-shn:breach", "invrijheidstelling-voor-vrijlating:dec-ivs-1-vt-utrecht:breach"],
                "politie had it in time; the reclassering is not on the clock")
        #expect(alerts.first { $0.organisation == "shn" }?.message == "invrijheidstelling ivs-1 takes effect at \(Self.text(minutes: 30)) and was not delivered to shn by then")
    }

    @Test("a held delivery warns at once and breaches after four hours, until a later decision releases it", arguments: StoreBackend.all)
    func heldDelivery(backend: StoreBackend) async throws {
        let ledger = try await backend.ledger()
        func held(_ id: String, _ recipient: String, facts: String) -> LedgerEntry {
            .decided(.init(decisionId: "dec-\(id)-\(recipient)", eventId: id, eventSource: "urn:ketenhub:om", ketencaseid: "KZ-2026-AAAAAA",
                           recipient: recipient, permitted: false, matrixVersion: "v1", decidedAt: Self.text(minutes: 0),
                           explanation: "waits", outcome: "hold", grounds: "{\"caseFacts\":\(facts)}"))
        }
        try await ledger.apply([Self.accepted("ga-1", "gedragsaanwijzing"), held("ga-1", "3ro", facts: #"{"suspectMinor":"unknown"}"#),
                          held("ga-1", "vt", facts: #"{"region":"unknown"}"#)])
        let clock = Self.evaluator("gehouden-levering")
        let first = try await clock.alerts(at: Self.at(minutes: 1), in: ledger)
        #expect(Self.ids(first) == ["gehouden-levering:dec-ga-1-3ro:warning", "gehouden-levering:dec-ga-1-vt:warning"])
        #expect(first.first { $0.alertId.contains("3ro") }?.message == "gedragsaanwijzing ga-1 is held for 3ro until a partner states what its case does not know (suspectMinor)")
        #expect(first.first { $0.alertId.contains("3ro") }?.organisation == "3ro")
        #expect(first.first { $0.alertId.contains("-vt:") }?.organisation == nil, "no organisation of the region to name")
        #expect(Self.ids(try await clock.alerts(at: Self.at(minutes: 240), in: ledger)).filter { $0.hasSuffix(":breach") }.count == 2)
        // The age becomes known: the release names the hold, which stops alerting.
        try await ledger.apply([.decided(.init(decisionId: "dec-rel-3ro", eventId: "ga-1", eventSource: "urn:ketenhub:om", ketencaseid: "KZ-2026-AAAAAA",
                                         recipient: "3ro", permitted: true, ruleId: "GA-3RO", matrixVersion: "v1", decidedAt: Self.text(minutes: 10),
                                         outcome: "permit", releases: "dec-ga-1-3ro"))])
        #expect(Self.ids(try await clock.alerts(at: Self.at(minutes: 300), in: ledger)) == ["gehouden-levering:dec-ga-1-vt:breach", "gehouden-levering:dec-ga-1-vt:warning"])
    }

    @Test("gedragsaanwijzing: delivered to politie within five minutes", arguments: StoreBackend.all)
    func orderDelivered(backend: StoreBackend) async throws {
        let ledger = try await backend.ledger()
        try await ledger.apply([Self.accepted("ga-1", "gedragsaanwijzing"), Self.permitted("ga-1", to: "politie"), Self.delivered("ga-1", to: "politie", at: 4),
                          Self.accepted("ga-2", "gedragsaanwijzing"), Self.permitted("ga-2", to: "politie"), Self.delivered("ga-2", to: "politie", at: 6),
                          Self.accepted("ga-3", "gedragsaanwijzing"), Self.permitted("ga-3", to: "politie"), Self.permitted("ga-3", to: "shn")])
        let clock = Self.evaluator("gedragsaanwijzing-politie")
        #expect(try await clock.alerts(at: Self.at(minutes: 4.9), in: ledger) == [])
        let alerts = try await clock.alerts(at: Self.at(minutes: 5), in: ledger)
        #expect(Self.ids(alerts) == ["gedragsaanwijzing-politie:dec-ga-2-politie:breach", "gedragsaanwijzing-politie:dec-ga-3-politie:breach"])
        #expect(alerts.allSatisfy { $0.organisation == "politie" && $0.dueAt == Self.text(minutes: 5) })
    }

    @Test("ZSM: an arrest without VT's veiligheidsbeoordeling warns after 6 hours and breaches after 9", arguments: StoreBackend.all)
    func zsm(backend: StoreBackend) async throws {
        let ledger = try await backend.ledger()
        try await ledger.apply([Self.accepted("ah-late", "aanhouding", case: "KZ-2026-LATE00"), Self.accepted("vb-late", "veiligheidsbeoordeling", case: "KZ-2026-LATE00", time: 7 * 60),
                          Self.accepted("ah-none", "aanhouding", case: "KZ-2026-NONE00"),
                          Self.accepted("ah-fast", "aanhouding", case: "KZ-2026-FAST00"), Self.accepted("vb-fast", "veiligheidsbeoordeling", case: "KZ-2026-FAST00", time: 60)])
        let clock = Self.evaluator("zsm-veiligheidsbeoordeling")
        #expect(try await clock.alerts(at: Self.at(minutes: 359), in: ledger) == [])
        #expect(Self.ids(try await clock.alerts(at: Self.at(minutes: 360), in: ledger)) ==
                ["zsm-veiligheidsbeoordeling:ah-late:warning", "zsm-veiligheidsbeoordeling:ah-none:warning"])
        #expect(Self.ids(try await clock.alerts(at: Self.at(minutes: 539), in: ledger)) ==
                ["zsm-veiligheidsbeoordeling:ah-late:warning", "zsm-veiligheidsbeoordeling:ah-none:warning"])
        #expect(Self.ids(try await clock.alerts(at: Self.at(minutes: 540), in: ledger)) ==
                ["zsm-veiligheidsbeoordeling:ah-late:warning", "zsm-veiligheidsbeoordeling:ah-none:breach", "zsm-veiligheidsbeoordeling:ah-none:warning"])
    }

    @Test("a gedragsaanwijzing nearing its end date warns the OM two weeks before, unless extended or ended", arguments: StoreBackend.all)
    func endDate(backend: StoreBackend) async throws {
        let ledger = try await backend.ledger()
        func order(_ id: String, _ orderId: String, end: String, action: String, time: Double) -> LedgerEntry {
            Self.accepted(id, "gedragsaanwijzing", time: time, fields: ["/orderId": orderId, "/endDate": end, "/action": action])
        }
        try await ledger.apply([order("ga-a1", "GA-A", end: "2026-12-31", action: "opgelegd", time: 0),
                          order("ga-b1", "GA-B", end: "2026-12-31", action: "opgelegd", time: 0),
                          order("ga-b2", "GA-B", end: "2027-03-31", action: "verlengd", time: 60),
                          order("ga-c1", "GA-C", end: "2026-12-31", action: "opgelegd", time: 0),
                          order("ga-c2", "GA-C", end: "2026-12-31", action: "beeindigd", time: 60)])
        let clock = Self.evaluator("gedragsaanwijzing-einddatum")
        let iso = ISO8601DateFormatter()
        #expect(try await clock.alerts(at: iso.date(from: "2026-12-16T23:59:59Z")!, in: ledger) == [])
        let alerts = try await clock.alerts(at: iso.date(from: "2026-12-17T00:00:00Z")!, in: ledger)
        #expect(Self.ids(alerts) == ["gedragsaanwijzing-einddatum:GA-A:warning"])
        #expect(alerts.first?.organisation == "om")
        #expect(try await clock.alerts(at: iso.date(from: "2027-01-02T00:00:00Z")!, in: ledger) == [], "past its end date it no longer warns")
    }

    @Test("a delivery not acknowledged within a day is escalated", arguments: StoreBackend.all)
    func unacknowledged(backend: StoreBackend) async throws {
        let ledger = try await backend.ledger()
        try await ledger.apply([Self.accepted("v-1", "vonnis"), Self.permitted("v-1", to: "politie"), Self.delivered("v-1", to: "politie", at: 0),
                          Self.permitted("v-1", to: "shn"), Self.delivered("v-1", to: "shn", at: 0), Self.acknowledged("v-1", by: "shn", at: 5)])
        let clock = Self.evaluator("onbevestigde-levering")
        #expect(try await clock.alerts(at: Self.at(minutes: 1439), in: ledger) == [])
        let alerts = try await clock.alerts(at: Self.at(minutes: 1440), in: ledger)
        #expect(Self.ids(alerts) == ["onbevestigde-levering:dec-v-1-politie:escalation"])
        // Alerts are what their contract says, and evaluating again raises the same ids.
        let contracts = try RecordContracts.load()
        for alert in alerts { #expect(contracts.validate(try JSONValue(encoding: alert), against: "alert.schema.json") == []) }
        #expect(Self.ids(try await clock.alerts(at: Self.at(minutes: 2000), in: ledger)) == Self.ids(alerts))
    }

    @Test("one evaluation of every clock reads the ledger the same few times for 10 events as for 200, and raises an alert for each",
          arguments: StoreBackend.all)
    func readsPerEvaluation(backend: StoreBackend) async throws {
        let evaluator = SLAEvaluator(clocks: Self.clocks, organisationTypes: Self.organisationTypes)
        var reads: [Int] = []
        for events in [10, 200] {
            let database = CountingDatabase(try await backend.database())
            let ledger = SQLLedgerStore(database: database)
            // Each release delivered to politie and never acknowledged, each arrest without a veiligheidsbeoordeling.
            for index in 0..<events {
                try await ledger.apply([Self.accepted("ivs-\(index)", "invrijheidstelling", case: "KZ-2026-\(100_000 + index)",
                                                      fields: ["/releaseAt": Self.text(minutes: 600)]),
                                        Self.permitted("ivs-\(index)", to: "politie"), Self.delivered("ivs-\(index)", to: "politie", at: 1),
                                        Self.accepted("aanh-\(index)", "aanhouding", case: "KZ-2026-\(100_000 + index)")])
            }
            let before = database.reads
            let alerts = try await evaluator.alerts(at: Self.at(minutes: 2 * 1440), in: ledger)
            reads.append(database.reads - before)
            // Per event: not acknowledged by politie within the hour, not within a day, no veiligheidsbeoordeling (warning, breach).
            #expect(alerts.filter { $0.clock == "invrijheidstelling-slachtoffer-politie" }.count == events)
            #expect(alerts.filter { $0.clock == "onbevestigde-levering" }.count == events)
            #expect(alerts.filter { $0.clock == "zsm-veiligheidsbeoordeling" }.count == 2 * events)
            #expect(alerts.filter { $0.clock == "invrijheidstelling-voor-vrijlating" }.isEmpty, "delivered before the release")
        }
        #expect(reads[0] == reads[1], "reads for 10 and for 200 events: \(reads)")
        #expect(reads[0] <= Self.clocks.count + 2, "at most a read per clock and the deliveries: \(reads)")
    }
}

/// A database that counts the reads asked of it, and passes everything on.
final class CountingDatabase: SQLDatabase, @unchecked Sendable {
    private let database: any SQLDatabase
    private let lock = NSLock()
    private var count = 0

    init(_ database: any SQLDatabase) { self.database = database }

    var reads: Int { lock.withLock { count } }
    var backend: SQLBackend { database.backend }
    func write(_ statements: [SQLStatement]) async throws -> [[SQLRow]] { try await database.write(statements) }
    func read(_ statements: [SQLStatement]) async throws -> [[SQLRow]] {
        lock.withLock { count += 1 }
        return try await database.read(statements)
    }
    func migrate(_ schema: SQLSchema) async throws -> [String] { try await database.migrate(schema) }
    func appliedMigrations() async throws -> [String] { try await database.appliedMigrations() }
    func close() async { await database.close() }
}

import EmbeddedKafka
import HubTopology
import Kafka

@Suite("SLA monitor on the embedded cluster")
struct SLAMonitorTests {
    @Test("each alert is published once on the alert topic, keyed by its case, however often the clocks run and after a restart",
          arguments: StoreBackend.all)
    func publishesOnce(backend: StoreBackend) async throws {
        let cluster = try EmbeddedCluster(brokers: 1, logger: testLogger)
        defer { cluster.shutdown() }
        let topics = HubTopics()
        try await cluster.createTopics(topics.specifications(organisations: []))
        let ledger = try await backend.ledger()
        try await ledger.apply([SLAClockTests.accepted("v-1", "vonnis"), SLAClockTests.permitted("v-1", to: "politie"),
                          SLAClockTests.delivered("v-1", to: "politie", at: 0)])
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers), logger: testLogger)
        let monitor = SLAMonitor(evaluator: SLAClockTests.evaluator("onbevestigde-levering"), ledger: ledger, producer: producer, topics: topics, logger: testLogger)
        #expect(try await monitor.tick(at: SLAClockTests.at(minutes: 60)).isEmpty)
        #expect(try await monitor.tick(at: SLAClockTests.at(minutes: 1440)).map(\.alertId) == ["onbevestigde-levering:dec-v-1-politie:escalation"])
        #expect(try await monitor.tick(at: SLAClockTests.at(minutes: 1500)).isEmpty)
        // A restarted monitor reads what is on the alert topic and raises it not again.
        let restarted = SLAMonitor(evaluator: SLAClockTests.evaluator("onbevestigde-levering"), ledger: ledger, producer: producer, topics: topics, logger: testLogger)
        try await restarted.loadRaised(bootstrapServers: cluster.bootstrapServers)
        #expect(try await restarted.tick(at: SLAClockTests.at(minutes: 1600)).isEmpty)
        await producer.shutdown()
        let records = try await TopicReader(bootstrapServers: cluster.bootstrapServers, logger: testLogger).readAll(topics.alerts).values.flatMap { $0 }
        #expect(records.count == 1)
        #expect(records.first?.keyString == "KZ-2026-AAAAAA")
        let alert = try JSONDecoder().decode(SLAAlert.self, from: Data(records[0].value))
        #expect(alert.severity == .escalation && alert.organisation == "politie")
    }
}

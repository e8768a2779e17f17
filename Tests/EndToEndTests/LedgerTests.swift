import CanonicalEvents
@testable import DeliveryLedger
import Foundation
import HubTopology
@testable import Kafka
import KetenhubDemo
import KetenhubTestSupport
import SLAClocks
import Testing

/// The delivery ledger, filled while the hub runs with simulated partners, against a rebuild from the topics.
@Suite("Delivery ledger", .serialized)
struct LedgerTests {
    @Test("every event's life cycle is recorded: accepted, each decision, delivered, acknowledged; dead letters; a rebuild from the topics gives the same rows",
          arguments: StoreBackend.all)
    func lifeCycleAndRebuild(backend: StoreBackend) async throws {
        var settings = DemoTests.settings(cases: 4, seed: 3)
        settings.store = try backend.location()
        settings.brokenEvery = 10
        let finished = try await DemoHub(settings: settings, logger: testLogger).run(exitWhenDone: true, inspect: { hub in
            // The live ledger follows the topics: wait until it has seen every acknowledgement.
            let permits = try await Self.caughtUp(hub)
            let live = try await hub.ledger.snapshot()
            #expect(Set(live.deliveries.map(\.deliveryId)) == permits)
            #expect(live.deliveries.allSatisfy { $0.state == .acknowledged && $0.deliveredAt != nil && $0.acknowledgedAt != nil && $0.eventId != nil })

            let rebuilt = try await backend.ledger()
            let kept = SLAEvaluator(clocks: try SLAClock.load(packageRoot.appendingPathComponent("Contracts/sla/clocks.yaml"))).keptFields
            try await LedgerProjector(bootstrapServers: hub.bootstrapServers, topics: hub.topics, store: rebuilt, keptFields: kept, logger: testLogger).rebuild()
            let again = try await rebuilt.snapshot()
            #expect(again.events == live.events)
            #expect(again.decisions == live.decisions)
            #expect(again.deliveries == live.deliveries)
            #expect(again.deadLetters == live.deadLetters)

            // One gedragsaanwijzing's whole life cycle.
            guard let ga = live.events.first(where: { $0.type == "nl.ketenhub.gedragsaanwijzing.v1" }),
                  let trace = try await hub.ledger.trace(eventSource: ga.source, eventId: ga.eventId) else {
                Issue.record("no gedragsaanwijzing in the ledger")
                return
            }
            #expect(trace.event.acceptedAt != nil)
            #expect(trace.event.fields["/endDate"] != nil && trace.event.fields["/orderId"] != nil, "the fields the SLA clocks need, and only those")
            #expect(Set(trace.event.fields.keys) == ["/endDate", "/orderId", "/action"])
            #expect(!trace.decisions.isEmpty)
            #expect(Set(trace.deliveries.map(\.organisation)) == Set(trace.decisions.filter(\.permitted).map(\.recipient)))
            #expect(trace.deliveries.allSatisfy { $0.state == .acknowledged })
            #expect(trace.decisions.filter(\.permitted).allSatisfy { $0.ruleId != nil && $0.legalBasis != nil && $0.purpose != nil })
            #expect(try await hub.ledger.events(inCase: ga.ketencaseid).map(\.eventId).contains(ga.eventId))

            #expect(live.deadLetters.allSatisfy { $0.stage == "inbound" && !$0.reasons.isEmpty })
            #expect(try await hub.ledger.deliveries(organisation: "politie", state: nil).allSatisfy { $0.organisation == "politie" })
        })
        let report = try #require(finished)
        #expect(report.deadLetters == report.rejectedMessages)
        #expect(report.rejectedMessages > 0)
    }

    /// The permitted decisions on the audit topic, once the ledger holds each one's acknowledgement.
    static func caughtUp(_ hub: DemoHub.Running, seconds: Double = 30) async throws -> Set<String> {
        let reader = TopicReader(bootstrapServers: hub.bootstrapServers, logger: testLogger)
        let permits = Set(try await reader.readAll(hub.topics.audit).values.flatMap { $0 }
            .compactMap { try? JSONSerialization.jsonObject(with: Data($0.value)) as? [String: Any] }
            .filter { $0["outcome"] as? String == "permit" }.compactMap { $0["decisionId"] as? String })
        try await within(seconds, "the ledger catching up") {
            while try await hub.ledger.deliveries(organisation: nil, state: .acknowledged).count < permits.count {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        return permits
    }

    @Test("facts applied in any order, and more than once, give the same rows", arguments: StoreBackend.all)
    func orderIndependence(backend: StoreBackend) async throws {
        let entries: [LedgerEntry] = [
            .accepted(.init(eventId: "e1", source: "urn:ketenhub:om", type: "nl.ketenhub.vonnis.v1", ketencaseid: "KZ-2026-AAAAAA",
                            producer: "om", eventTime: "2026-11-20T10:00:00Z", acceptedAt: "2026-11-20T10:00:01.000Z")),
            .accepted(.init(eventId: "e1", source: "urn:ketenhub:om", type: "nl.ketenhub.vonnis.v1", ketencaseid: "KZ-2026-AAAAAA",
                            producer: "om", eventTime: "2026-11-20T10:00:00Z", acceptedAt: "2026-11-20T10:05:00.000Z")),
            .decided(.init(decisionId: "dec-1-politie", eventId: "e1", eventSource: "urn:ketenhub:om", ketencaseid: "KZ-2026-AAAAAA",
                           recipient: "politie", permitted: true, ruleId: "r1", legalBasis: "wjsg", purpose: "handhaving",
                           matrixVersion: "v1", decidedAt: "2026-11-20T10:00:02Z")),
            .decided(.init(decisionId: "dec-1-shn", eventId: "e1", eventSource: "urn:ketenhub:om", ketencaseid: "KZ-2026-AAAAAA",
                           recipient: "shn", permitted: false, matrixVersion: "v1", decidedAt: "2026-11-20T10:00:02Z")),
            .delivered(.init(deliveryId: "dec-1-politie", organisation: "politie", delivered: true, attempts: 3, at: "2026-11-20T10:00:09Z")),
            .delivered(.init(deliveryId: "dec-1-politie", organisation: "politie", delivered: true, attempts: 1, at: "2026-11-20T10:01:00Z")),
            .acknowledged(.init(deliveryId: "dec-1-politie", organisation: "politie", status: "processed", at: "2026-11-20T10:00:20Z")),
            .acknowledged(.init(deliveryId: "dec-1-politie", organisation: "politie", status: "received", at: "2026-11-20T10:00:10Z")),
            .deadLettered(.init(deadLetterId: "dlq-1", stage: "inbound", partner: "politie", receivedAt: "2026-11-20T09:00:00Z",
                                reasons: ["line 3: not well-formed"], sizeBytes: 12)),
        ]
        let forwards = try await backend.ledger()
        try await forwards.apply(entries)
        let backwards = try await backend.ledger()
        try await backwards.apply(entries.reversed())
        try await backwards.apply(entries)
        #expect(try await forwards.snapshot() == backwards.snapshot())
        let delivery = try #require(try await forwards.deliveries(organisation: "politie", state: nil).first)
        #expect(delivery.state == .acknowledged)
        #expect(delivery.deliveredAt == "2026-11-20T10:00:09Z")
        #expect(delivery.acknowledgedAt == "2026-11-20T10:00:10Z")
        #expect(delivery.attempts == 3)
        #expect(try await forwards.snapshot().events.first?.acceptedAt == "2026-11-20T10:00:01.000Z")
        #expect(try await forwards.deliveries(organisation: nil, state: .routed) == [])
        #expect(try await forwards.trace(eventSource: "urn:ketenhub:om", eventId: "e1")?.decisions.map(\.recipient) == ["politie", "shn"])
        // A rejection outranks processed, whenever it comes.
        try await forwards.apply([.acknowledged(.init(deliveryId: "dec-1-politie", organisation: "politie", status: "rejected", at: "2026-11-20T11:00:00Z", reason: "onbekende zaak"))])
        #expect(try await forwards.deliveries(organisation: "politie", state: .rejected).first?.detail == "onbekende zaak")
    }

    @Test("an acknowledgement's time is kept as the hub writes times (UTC, milliseconds); one that is no time, or none since 1970, is no fact")
    func acknowledgementTimes() async throws {
        let topics = HubTopics()
        let projector = LedgerProjector(bootstrapServers: "127.0.0.1:9", topics: topics, store: try await SQLLedgerStore.inMemory(), logger: testLogger)
        func projected(_ acknowledgedAt: String) throws -> LedgerEntry? {
            let ack = Acknowledgement(deliveryId: "dec-\(String(repeating: "a", count: 32))-politie", organisation: "politie", status: .processed,
                                      acknowledgedAt: acknowledgedAt)
            let record = try CloudEvent(id: "ack-1", source: "urn:ketenhub:politie", time: "2026-11-21T11:01:00Z", ketencaseid: "KZ-2026-AAAAAA",
                                        data: ack).kafkaRecord()
            return projector.entry(from: KafkaConsumerMessage(topic: topics.acknowledgements, partition: 0, offset: 0, key: Array(record.key.utf8),
                                                              value: record.value, headers: record.headers.map { KafkaHeader(key: $0.name, string: $0.value) },
                                                              timestamp: nil, assignmentGeneration: 1))
        }
        guard case .acknowledged(let offset)? = try projected("2026-11-21T12:01:00.5+01:00"),
              case .acknowledged(let utc)? = try projected("2026-11-21T11:01:00Z") else {
            Issue.record("an acknowledgement by the delivery's recipient is a fact")
            return
        }
        #expect(offset.at == "2026-11-21T11:01:00.500Z")
        #expect(utc.at == "2026-11-21T11:01:00.000Z")
        for notATime in ["2026-02-30T10:00:00Z", "gisteren", "1969-12-31T23:59:59Z", "2026-11-21 11:01:00"] {
            #expect(try projected(notATime) == nil, "\(notATime)")
        }
    }
}

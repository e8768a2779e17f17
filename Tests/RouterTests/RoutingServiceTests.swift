import CanonicalEvents
import EmbeddedKafka
import Foundation
import HubTopology
import Kafka
import KetenhubTestSupport
import Router
import SharingPolicy
import Testing

@Suite("Routing service on the embedded cluster")
struct RoutingServiceTests {
    typealias F = RouterFixtures

    static func configuration(_ cluster: EmbeddedCluster, id: String = uniqueName("router")) -> RouterConfiguration {
        var configuration = RouterConfiguration(bootstrapServers: cluster.bootstrapServers)
        configuration.transactionalID = id
        configuration.groupID = id
        configuration.batchSize = 50
        return configuration
    }

    /// Runs a router until `done` holds (or `seconds` pass), then stops it.
    static func runRouter(_ configuration: RouterConfiguration, seconds: Double = 60, until done: @escaping @Sendable () async throws -> Bool) async throws {
        let service = RoutingService(configuration: configuration, matrix: F.matrix, logger: F.logger)
        let running = Task { try await service.run() }
        defer { running.cancel() }
        try await within(seconds, "the router finishing its work") {
            while try await !done() { try await Task.sleep(for: .milliseconds(200)) }
        }
        running.cancel()
        try await running.value
    }

    /// A gedragsaanwijzing of case 1 that happened at `time`.
    static func dated(_ sequence: Int, _ time: String) -> CloudEvent {
        var event = F.event("gedragsaanwijzing/opgelegd", case: 1, sequence: sequence)
        event.time = time
        return event
    }

    /// The dead letters written so far.
    static func deadLetters(_ reader: TopicReader) async throws -> [DeadLetter] {
        try await reader.readAll(F.topics.deadLetter).values.flatMap { $0 }.compactMap { try? JSONDecoder().decode(DeadLetter.self, from: Data($0.value)) }
    }

    /// The reasons of a dead letter of an event dated before a 30-day horizon from 2026-10-21.
    static let beforeHorizon = [DeadLetter.Reason(location: "/time", reason: "the event happened before the routing horizon (30 days, from 2026-10-21): the router no longer remembers whether it routed it, and never routes an event twice; it is not routed")]

    /// The partition's router sees every case of its partition; the two cases are put in one here.
    @Test("an id already used by its source in another case is dead-lettered, not routed under the first one's decision ids (#13 item 3)")
    func idReusedInAnotherCase() async throws {
        let cluster = try await F.cluster()
        defer { cluster.shutdown() }
        let first = F.event("gedragsaanwijzing/opgelegd", case: 1, sequence: 0)
        var reused = F.event("gedragsaanwijzing/opgelegd", case: 2, sequence: 0)
        reused.id = first.id
        let valid = F.event("gedragsaanwijzing/opgelegd", case: 2, sequence: 1)
        try await F.publish([first], to: cluster, partition: 2)
        let configuration = Self.configuration(cluster)
        try await Self.runRouter(configuration) { try await !F.auditRecords(cluster).isEmpty }
        try await F.publish([reused, valid], to: cluster, partition: 2)
        let reader = TopicReader(bootstrapServers: cluster.bootstrapServers, logger: F.logger)
        try await Self.runRouter(configuration) {  // the same router again: it knows the first case from its state
            let lettered = try await !reader.readAll(F.topics.deadLetter).values.flatMap { $0 }.isEmpty
            let decided = try await F.auditRecords(cluster).values.flatMap { $0 }.contains { $0.eventId == valid.id }
            return lettered && decided
        }
        let letters = try await reader.readAll(F.topics.deadLetter).values.flatMap { $0 }
            .compactMap { try? JSONDecoder().decode(DeadLetter.self, from: Data($0.value)) }
        #expect(letters.count == 1)
        #expect(letters.first?.stage == "routing" && letters.first?.partner == "om")
        #expect(letters.first?.reasons.map(\.reason) == ["this source already used this id for an event in chain case KZ-2026-T00001: an id names one fact in the whole hub; send the event with an id of its own"])
        let recorded = try await F.auditRecords(cluster).values.flatMap { $0 }
        #expect(recorded.allSatisfy { $0.ketencaseid == (($0.eventId == first.id) ? first.ketencaseid : valid.ketencaseid) },
                "no decision is recorded for the reused id in the second case")
        let delivered = try await F.delivered(cluster)
        #expect(delivered.values.map(\.raw).reduce(0, +) == delivered.values.map(\.unique.count).reduce(0, +), "nothing twice")
        #expect(delivered["politie"]?.unique.count == 2, "the first event and the valid one after the refusal")
    }

    @Test("the deduplication horizon: an event published again within it is routed once; a new event dated before it is refused with a dead letter naming the horizon, and is never routed (#19)")
    func deduplicationHorizon() async throws {
        let cluster = try await F.cluster()
        defer { cluster.shutdown() }
        let recent = Self.dated(0, "2026-11-20T10:00:00Z")
        let old = Self.dated(1, "2026-09-01T10:00:00Z")  // 80 days before the newest event the partition routed
        let withinHorizon = Self.dated(2, "2026-11-01T10:00:00Z")
        try await F.publish([recent], to: cluster)
        var configuration = Self.configuration(cluster)
        configuration.deduplicationHorizonDays = 30
        let settings = configuration
        try await Self.runRouter(settings) { try await !F.auditRecords(cluster).isEmpty }
        try await F.publish([recent, old, withinHorizon, recent], to: cluster)
        let reader = TopicReader(bootstrapServers: cluster.bootstrapServers, logger: F.logger)
        let awaited = withinHorizon.id
        try await Self.runRouter(settings) {  // a restarted router: it knows the horizon from the case's state
            let lettered = try await !reader.readAll(F.topics.deadLetter).values.flatMap { $0 }.isEmpty
            let decided = try await F.auditRecords(cluster).values.flatMap { $0 }.contains { $0.eventId == awaited }
            return lettered && decided
        }
        let letters = try await Self.deadLetters(reader)
        #expect(letters.count == 1)
        #expect(letters.first?.reasons == Self.beforeHorizon)
        let recorded = try await F.auditRecords(cluster).values.flatMap { $0 }
        #expect(!recorded.contains { $0.eventId == old.id }, "the old event is not decided")
        #expect(Set(recorded.filter { $0.eventId == recent.id }.map(\.decisionId)).count == recorded.filter { $0.eventId == recent.id }.count,
                "the event published three times is decided once")
        let delivered = try await F.delivered(cluster)
        #expect(delivered.values.map(\.raw).reduce(0, +) == delivered.values.map(\.unique.count).reduce(0, +), "nothing delivered twice")
        #expect(delivered.values.map(\.unique.count).reduce(0, +) > 0)
    }

    @Test("an event is judged against the horizon as the events before it left it, not as it stood when its batch began: an old event read in one batch after a recent one, on a partition that routed nothing before, is refused")
    func horizonWithinOneBatch() async throws {
        let cluster = try await F.cluster()
        defer { cluster.shutdown() }
        let (recent, old, next) = (Self.dated(0, "2026-11-20T10:00:00Z"), Self.dated(1, "2026-09-01T10:00:00Z"), Self.dated(2, "2026-11-21T10:00:00Z"))
        // Published before the router starts: its first read holds all three (a batch holds 50).
        try await F.publish([recent, old, next], to: cluster)
        var configuration = Self.configuration(cluster)
        configuration.deduplicationHorizonDays = 30
        let reader = TopicReader(bootstrapServers: cluster.bootstrapServers, logger: F.logger)
        let (awaited, refused) = (next.id, old.id)
        try await Self.runRouter(configuration) {  // until the last is decided, and the old one refused or decided
            let lettered = try await !reader.readAll(F.topics.deadLetter).values.flatMap { $0 }.isEmpty
            let decided = Set(try await F.auditRecords(cluster).values.flatMap { $0 }.map(\.eventId))
            return decided.contains(awaited) && (lettered || decided.contains(refused))
        }
        let letters = try await Self.deadLetters(reader)
        #expect(letters.count == 1)
        #expect(letters.first?.reasons == Self.beforeHorizon)
        let recorded = try await F.auditRecords(cluster).values.flatMap { $0 }
        #expect(!recorded.contains { $0.eventId == old.id }, "the old event is not decided")
        #expect(recorded.contains { $0.eventId == recent.id } && recorded.contains { $0.eventId == next.id })
    }

    @Test("deliveries held for the suspect's age and the victim's address survive a restart and are delivered once when a partner states them (#14)")
    func heldUntilStated() async throws {
        let cluster = try await F.cluster()
        defer { cluster.shutdown() }
        // A gedragsaanwijzing in a case that knows neither the suspect's age nor an address.
        let order = F.event("gedragsaanwijzing/opgelegd", case: 41, sequence: 0)
        try await F.publish([order], to: cluster)
        let configuration = Self.configuration(cluster)
        try await Self.runRouter(configuration) { try await F.auditRecords(cluster).values.flatMap { $0 }.count >= 5 }
        let holds = try await F.auditRecords(cluster).values.flatMap { $0 }.filter { $0.outcome == .hold }
        // Without a municipality the RvdK's national point takes the case (its fallback), Veilig Thuis waits.
        #expect(Set(holds.map(\.recipient)) == ["3ro", "rvdk", "vt"])
        #expect(holds.first { $0.recipient == "3ro" }?.caseFacts == ["suspectMinor": "unknown"])
        #expect(holds.first { $0.recipient == "vt" }?.caseFacts?["region"] == "unknown")
        #expect(try await F.delivered(cluster).keys.sorted() == ["politie"], "nothing guessed: only the police's national point has it")

        // A new router instance (its memory from the topics) learns from the arrest: an adult, in Amsterdam.
        let arrest = F.event("aanhouding/na-overtreding", case: 41, sequence: 1)
        try await F.publish([arrest], to: cluster)
        try await Self.runRouter(configuration) {
            let released = try await F.auditRecords(cluster).values.flatMap { $0 }.contains { $0.releases != nil && $0.recipient == "3ro" }
            let toVT = try await F.delivered(cluster)["vt-amsterdam-amstelland"]?.unique.count
            return released && toVT == 2
        }
        let records = try await F.auditRecords(cluster).values.flatMap { $0 }
        let releases = records.filter { $0.releases != nil }
        #expect(Set(releases.map(\.recipient)) == ["3ro", "rvdk-noordwest-nederland", "vt-amsterdam-amstelland"])
        for release in releases {
            let hold = try #require(holds.first { $0.decisionId == release.releases })
            #expect(release.eventId == order.id && hold.eventId == order.id, "the release decides the held event")
            // Released to the organisation of the region now known: the type's (or its fallback's) own.
            #expect(release.recipient == hold.recipient || release.recipient.hasPrefix(hold.recipient + "-"))
        }
        #expect(releases.first { $0.recipient == "3ro" }?.outcome == .permit && releases.first { $0.recipient == "3ro" }?.ruleId == "GA-3RO")
        #expect(releases.first { $0.recipient == "3ro" }?.caseFacts == ["suspectMinor": "false"])
        #expect(releases.first { $0.recipient == "rvdk-noordwest-nederland" }?.outcome == .deny, "an adult: the RvdK's hold ends in a deny")
        let vt = try #require(releases.first { $0.recipient == "vt-amsterdam-amstelland" })
        #expect(vt.region == "GM0363, from the household's address the arrest concerns (aanhouding \(arrest.id))")
        let delivered = try await F.delivered(cluster)
        #expect(delivered["3ro"]?.unique == ["\(order.source) \(order.id) \(releases.first { $0.recipient == "3ro" }!.decisionId)",
                                              "\(arrest.source) \(arrest.id) \(records.first { $0.eventId == arrest.id && $0.recipient == "3ro" }!.decisionId)"])
        #expect(delivered.values.allSatisfy { $0.conflicting == 0 })
        #expect(records.filter { $0.eventId == order.id && $0.recipient == "3ro" }.count == 2, "one hold, one release: nothing recorded twice")
        // The case no longer holds anything.
        let reader = TopicReader(bootstrapServers: cluster.bootstrapServers, logger: F.logger)
        let state = try await reader.readAll(F.topics.caseState).values.flatMap { $0 }.last { String(decoding: $0.key ?? [], as: UTF8.self) == order.ketencaseid }
        let json = try JSONValue.parse(Data(try #require(state).value))
        #expect(json["state"]?["held"] == nil && json["state"]?["suspectMinor"] == .bool(false))
        let contracts = try RecordContracts.load()
        #expect(contracts.validate(json, against: "case-state.schema.json") == [])
        for record in records { #expect(contracts.validate(record.json, against: "decision-record.schema.json") == []) }
    }

    @Test("a case's events reach exactly the permitted organisations, once, with every decision recorded and chained")
    func routesCases() async throws {
        let cluster = try await F.cluster()
        defer { cluster.shutdown() }
        var events: [CloudEvent] = []
        for number in 1...6 {
            events += ["vt-melding/melding-met-kind", "aanhouding/na-overtreding", "informatiewens/gegeven", "gedragsaanwijzing/opgelegd",
                       "reclasseringsadvies/vroeghulp", "invrijheidstelling/einde-detentie", "acknowledgement/verwerkt"]
                .enumerated().map { F.event($0.element, case: number, sequence: $0.offset) }
        }
        let duplicate = events[3]
        try await F.publish(events + [duplicate], to: cluster)
        // A record that is no canonical event at all, and one that breaks its contract.
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers), logger: F.logger)
        try await producer.send(KafkaProducerMessage(topic: F.topics.canonical, key: "KZ-2026-T00001", value: "<melding/>"))
        var broken = F.event("gedragsaanwijzing/opgelegd", case: 1, sequence: 99)
        broken.data = .object(broken.data.objectValue!.filter { $0.key != "endDate" })
        try await producer.send(KafkaProducerMessage(topic: F.topics.canonical, cloudEvent: broken.kafkaRecord()))
        await producer.shutdown()

        let reader = TopicReader(bootstrapServers: cluster.bootstrapServers, logger: F.logger)
        let canonical = try await reader.readAll(F.topics.canonical)
        let expected = F.expected(from: canonical)
        try await Self.runRouter(Self.configuration(cluster)) {
            try await F.auditRecords(cluster).values.map(\.count).reduce(0, +) >= expected.decisions.count
        }

        let delivered = try await F.delivered(cluster)
        #expect(Set(delivered.keys) == Set(expected.deliveries.keys))
        for (organisation, keys) in expected.deliveries {
            #expect(delivered[organisation]?.unique == keys, "\(organisation)")
            #expect(delivered[organisation]?.raw == keys.count, "\(organisation) received something twice")
        }
        #expect(expected.deliveries["shn"]?.count == 12, "gedragsaanwijzing and invrijheidstelling of six cases with the victim's wish")
        let audit = try await F.auditRecords(cluster)
        let recorded = audit.values.flatMap { $0 }
        #expect(Set(recorded.map(\.decisionId)) == expected.decisions)
        #expect(recorded.count == expected.decisions.count, "every decision recorded exactly once")
        for (partition, records) in audit { #expect(AuditChainVerifier.verify(partition: partition, records) == []) }
        // A permit's record carries the digest of exactly what was delivered; a deny's carries none.
        let digests = Dictionary(recorded.map { ($0.decisionId, $0.payloadDigest) }) { first, _ in first }
        #expect(recorded.allSatisfy { ($0.outcome == .permit) == ($0.payloadDigest != nil) })
        var checked = 0
        // The police unit of the cases' region (their municipality decides it).
        let politie = try #require(expected.deliveries.keys.filter { $0.hasPrefix("politie-") }.sorted().first)
        for (_, messages) in try await reader.readAll(F.topics.deliveries(politie)) {
            for message in messages {
                let decisionId = try #require(message.header("ce_decisionid")?.stringValue)
                #expect(digests[decisionId] == DecisionRecord.payloadDigest(of: message.value))
                checked += 1
            }
        }
        #expect(checked > 0 && checked == expected.deliveries[politie]?.count)

        let deadLetters = try await reader.readAll(F.topics.deadLetter).values.flatMap { $0 }
        #expect(deadLetters.count == 2)
        let letters = try deadLetters.map { try JSONDecoder().decode(DeadLetter.self, from: Data($0.value)) }
        #expect(letters.contains { $0.reasons == [DeadLetter.Reason(location: nil, reason: "the record has no ce_specversion header")] })
        #expect(letters.contains { $0.reasons == [DeadLetter.Reason(location: "/data/endDate", reason: "required property 'endDate' is missing")] && $0.partner == "om" })
        #expect(deadLetters.allSatisfy { $0.header(DeadLetter.originTopicHeader)?.stringValue == F.topics.canonical })

        // Replaying the recorded decisions: nothing changes under the same matrix; without GA-SHN,
        // exactly the six gedragsaanwijzingen SHN received would no longer reach it.
        let matrixDirectory = packageRoot.appendingPathComponent("Contracts/matrix").path
        let same = try await runKetenhub(["matrix", "replay", "--matrix", matrixDirectory, "--bootstrap", cluster.bootstrapServers])
        #expect(same.status == 0)
        #expect(same.output.hasPrefix("\(expected.decisions.count) recorded decisions on 43 events; 0 would change"), "\(same.output)")  // 42 events, one published twice
        let proposed = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("matrix"))
        try FileManager.default.copyItem(atPath: matrixDirectory, toPath: proposed.path)
        // The shipped scenarios would rightly refuse this version (SHN no longer informed); what is
        // tested here is the replay.
        try FileManager.default.removeItem(at: proposed.appendingPathComponent("scenarios"))
        let matrixFile = proposed.appendingPathComponent("sharing-matrix.yaml")
        try String(contentsOf: matrixFile, encoding: .utf8).replacingOccurrences(of: "recipient: shn\n    purpose: informeren-slachtoffer\n    legalBasis: sv-51ab-slachtoffer\n    disclosure: voorwaarden\n    fields: *ga-victim",
                                                                                with: "recipient: shn\n    purpose: informeren-slachtoffer\n    legalBasis: sv-51ab-slachtoffer\n    disclosure: voorwaarden\n    fields: *ga-victim\n    validUntil: 2000-01-01")
            .write(to: matrixFile, atomically: true, encoding: .utf8)
        let changed = try await runKetenhub(["matrix", "replay", "--matrix", proposed.path, "--bootstrap", cluster.bootstrapServers])
        #expect(changed.status == 0)
        let lines = changed.output.split(separator: "\n").dropFirst()
        #expect(lines.count == 6, "\(changed.output)")
        #expect(lines.allSatisfy { $0.contains("nl.ketenhub.gedragsaanwijzing.v1") && $0.contains("→ shn: permit by GA-SHN") && $0.hasSuffix("⇒ deny") })

        // What the router writes meets the record contracts in Contracts/records/.
        let records = try RecordContracts.load()
        for message in try await reader.readAll(F.topics.audit).values.flatMap({ $0 }) {
            #expect(records.validate(try JSONValue.parse(Data(message.value)), against: "decision-record.schema.json") == [])
        }
        for message in deadLetters {
            #expect(records.validate(try JSONValue.parse(Data(message.value)), against: "dead-letter.schema.json") == [])
        }
        for message in try await reader.readAll(F.topics.caseState).values.flatMap({ $0 }) {
            #expect(records.validate(try JSONValue.parse(Data(message.value)), against: "case-state.schema.json") == [])
        }
        for message in try await reader.readAll(F.topics.consentState).values.flatMap({ $0 }) {
            #expect(records.validate(try JSONValue.parse(Data(message.value)), against: "consent-state.schema.json") == [])
        }
    }

    @Test("a decision record that cannot be written means nothing is delivered; once it can, everything is, once")
    func failClosedAudit() async throws {
        let cluster = try await F.cluster()
        defer { cluster.shutdown() }
        let events = ["aanhouding/na-overtreding", "gedragsaanwijzing/opgelegd"].enumerated().map { F.event($0.element, case: 70, sequence: $0.offset) }
        try await F.publish(events, to: cluster)
        let reader = TopicReader(bootstrapServers: cluster.bootstrapServers, logger: F.logger)
        let expected = F.expected(from: try await reader.readAll(F.topics.canonical))

        cluster.setTopicError(F.topics.audit, .topicAuthorizationFailed)
        let configuration = Self.configuration(cluster)
        let service = RoutingService(configuration: configuration, matrix: F.matrix, logger: F.logger)
        await #expect(throws: KafkaError.self) { try await service.run() }
        #expect(service.currentPhase == .failed)
        #expect(try await F.delivered(cluster).isEmpty)

        cluster.setTopicError(F.topics.audit, .noError)
        try await Self.runRouter(configuration) {
            try await F.auditRecords(cluster).values.map(\.count).reduce(0, +) >= expected.decisions.count
        }
        let delivered = try await F.delivered(cluster)
        #expect(delivered.mapValues(\.unique) == expected.deliveries)
        #expect(delivered.values.allSatisfy { $0.raw == $0.unique.count })
    }

    @Test("a partition's batches are bounded by bytes: large records (dead-lettered, they are no canonical events) go in transactions of at most as many as fit the bytes, each letter whole, none lost or twice")
    func batchesBoundedByBytes() async throws {
        let cluster = try await F.cluster()
        defer { cluster.shutdown() }
        // Twelve records of 300,000 bytes on one partition; batches of at most 1 MB hold three.
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers), logger: F.logger)
        try await producer.sendAll((0..<12).map { number in
            KafkaProducerMessage(topic: F.topics.canonical, partition: 4, key: Array(String(format: "large-%02d", number).utf8),
                                 value: [UInt8](repeating: UInt8(ascii: "x"), count: 300_000 - 8))
        })
        await producer.shutdown()
        var configuration = Self.configuration(cluster)
        configuration.batchBytes = 1_000_000
        let reader = TopicReader(bootstrapServers: cluster.bootstrapServers, logger: F.logger)
        struct Checkpoint: Decodable { var input: Int64 }
        @Sendable func checkpoints() async throws -> [Int64] {
            try await reader.readAll(F.topics.routerCheckpoints)[4, default: []].map { try JSONDecoder().decode(Checkpoint.self, from: Data($0.value)).input }
        }
        try await Self.runRouter(configuration) { try await checkpoints().last == 12 }
        // Each transaction commits its input position with a checkpoint: the positions step by the batches.
        let positions = try await checkpoints()
        let steps = zip(positions, [0] + positions).map { $0 - $1 }
        #expect(positions.last == 12 && steps.allSatisfy { (1...3).contains($0) }, "transactions of \(steps) records")
        let letters = try await Self.deadLetters(reader)
        #expect(letters.count == 12)
        #expect(Set(letters.map(\.stage)) == ["routing"])
        #expect(letters.allSatisfy { $0.original.sizeBytes == 299_992 && Data(base64Encoded: $0.original.base64)?.count == 299_992 },
                "each letter keeps its record whole")
    }
}

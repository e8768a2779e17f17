import CanonicalEvents
import EmbeddedKafka
import Foundation
import HubTopology
import Kafka
import KetenhubTestSupport
import Logging
import Router
import SharingPolicy
import Testing

enum RouterFixtures {
    static let matrix = try! MatrixLoader.loadValid(directory: packageRoot.appendingPathComponent("Contracts/matrix"))
    static let topics = HubTopics()
    static let logger = testLogger

    static func cluster() async throws -> EmbeddedCluster {
        let cluster = try EmbeddedCluster(brokers: 3, logger: logger)
        try await cluster.createTopics(topics.specifications(organisations: matrix.organisations.organisations.map(\.code)))
        return cluster
    }

    /// The valid contract examples by "event/name".
    static let examples: [String: CloudEvent] = Dictionary(uniqueKeysWithValues: contractExamples("valid").map { example in
        ("\(example.event)/\(example.name)", try! CloudEvent(structured: JSONValue.parse(Data(contentsOf: example.url))))
    })

    /// An example moved into its own case: new case id, event id, and person ids unique to the case,
    /// so that consent in one case never touches another.
    static func event(_ example: String, case number: Int, sequence: Int) -> CloudEvent {
        var event = examples[example]!
        let caseId = String(format: "KZ-2026-T%05d", number)
        event.ketencaseid = caseId
        event.id = "\(example.replacingOccurrences(of: "/", with: "-"))-\(number)-\(sequence)"
        var text = String(decoding: event.data.encoded(), as: UTF8.self)
        let personPattern = try! NSRegularExpression(pattern: "psn:([0-9a-f]{32})")
        for match in personPattern.matches(in: text, range: NSRange(text.startIndex..., in: text)).reversed() {
            let range = Range(match.range(at: 1), in: text)!
            let original = String(text[range])
            text.replaceSubrange(range, with: String(format: "%05x", number % 0xFFFFF) + original.dropFirst(5))
        }
        event.data = try! JSONValue.parse(Data(text.utf8))
        return event
    }

    /// Publishes as the gateway does (partitioned by chain case), or all to one `partition`.
    static func publish(_ events: [CloudEvent], to cluster: EmbeddedCluster, partition: Int32? = nil) async throws {
        try await publish(events, bootstrap: cluster.bootstrapServers, partition: partition)
    }

    static func publish(_ events: [CloudEvent], bootstrap: String, partition: Int32? = nil) async throws {
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: bootstrap), logger: logger)
        try await producer.sendAll(events.map { KafkaProducerMessage(topic: topics.canonical, partition: partition, cloudEvent: $0.kafkaRecord()) })
        await producer.shutdown()
    }

    /// What the policy module says must be delivered and decided, routing the canonical topic as
    /// stored (partition by partition: cases never span partitions).
    static func expected(from canonical: [Int32: [KafkaConsumerMessage]]) -> (deliveries: [String: Set<String>], decisions: Set<String>) {
        var state = RoutingState()
        let evaluator = PolicyEvaluator(matrix: matrix)
        var deliveries: [String: Set<String>] = [:]
        var decisions: Set<String> = []
        for partition in canonical.keys.sorted() {
            for message in canonical[partition]! {
                guard let event = try? CloudEvent(kafkaRecord: CloudEventRecord(message)),
                      ContractCatalogue.embedded.validate(event: event.structured).isEmpty,
                      let step = state.route(event, with: evaluator) else { continue }
                decisions.formUnion((step.decisions + step.released.flatMap(\.decisions)).map(\.decisionId))
                for (recipient, delivery) in step.deliveries { deliveries[recipient, default: []].insert(deliveryKey(delivery)) }
            }
        }
        return (deliveries, decisions)
    }

    static func deliveryKey(_ event: CloudEvent) -> String { "\(event.source) \(event.id) \(event.decisionid ?? "")" }

    /// Everything the router delivered, per organisation: the deduplicated keys and the raw count.
    static func delivered(_ cluster: EmbeddedCluster) async throws -> [String: (unique: Set<String>, raw: Int, conflicting: Int)] {
        try await delivered(bootstrap: cluster.bootstrapServers)
    }

    static func delivered(bootstrap: String) async throws -> [String: (unique: Set<String>, raw: Int, conflicting: Int)] {
        let reader = TopicReader(bootstrapServers: bootstrap, logger: logger)
        var result: [String: (unique: Set<String>, raw: Int, conflicting: Int)] = [:]
        for organisation in matrix.organisations.organisations.map(\.code) {
            var seen: [String: [UInt8]] = [:]
            var raw = 0
            var conflicting = 0
            for (_, records) in try await reader.readAll(topics.deliveries(organisation)) {
                for message in records {
                    raw += 1
                    let event = try CloudEvent(kafkaRecord: CloudEventRecord(message))
                    let key = deliveryKey(event)
                    if let earlier = seen[key], earlier != message.value { conflicting += 1 }
                    seen[key] = message.value
                }
            }
            if raw > 0 { result[organisation] = (Set(seen.keys), raw, conflicting) }
        }
        return result
    }

    /// Where the audit topic ends, over its partitions (their high watermarks, no records read): how
    /// the crash tests see whether a router is routing. Close it when done.
    final class AuditProgress: Sendable {
        private let consumer: KafkaConsumer
        private let partitions: [KafkaTopicPartition]

        init(bootstrap: String, partitions: Int32) throws {
            var configuration = KafkaConsumerConfiguration(bootstrapServers: bootstrap, groupID: uniqueName("progress"))
            configuration.client.clientID = "crash-test-progress"
            consumer = try KafkaConsumer(configuration: configuration, logger: logger)
            self.partitions = (0..<partitions).map { KafkaTopicPartition(topic: topics.audit, partition: $0) }
        }

        func end() async throws -> Int64 { try await consumer.watermarks(partitions).values.map(\.high).reduce(0, +) }
        func close() async { await consumer.close() }
    }

    static func auditRecords(_ cluster: EmbeddedCluster) async throws -> [Int32: [DecisionRecord]] {
        try await auditRecords(bootstrap: cluster.bootstrapServers)
    }

    static func auditRecords(bootstrap: String) async throws -> [Int32: [DecisionRecord]] {
        let reader = TopicReader(bootstrapServers: bootstrap, logger: logger)
        return try await reader.readAll(topics.audit).mapValues { records in
            records.map { try! JSONDecoder().decode(DecisionRecord.self, from: Data($0.value)) }
        }
    }

    /// The outcome every router test asks for, checked: every permitted delivery received (readers
    /// deduplicate by id; a redelivery is the same record), every decision recorded exactly once,
    /// every chain intact. Returns the audit records and the redeliveries deduplicated.
    @discardableResult
    static func expectRoutedExactlyOnce(_ expected: (deliveries: [String: Set<String>], decisions: Set<String>), bootstrap: String,
                                        sourceLocation: Testing.SourceLocation = #_sourceLocation) async throws -> (audit: [Int32: [DecisionRecord]], redeliveries: Int) {
        let delivered = try await delivered(bootstrap: bootstrap)
        #expect(Set(delivered.keys) == Set(expected.deliveries.keys), sourceLocation: sourceLocation)
        for (organisation, keys) in expected.deliveries {
            #expect(delivered[organisation]?.unique == keys, "\(organisation): missing \(keys.subtracting(delivered[organisation]?.unique ?? []).count)",
                    sourceLocation: sourceLocation)
            #expect(delivered[organisation]?.conflicting == 0, "\(organisation): a redelivery differs from the first delivery", sourceLocation: sourceLocation)
        }
        let audit = try await auditRecords(bootstrap: bootstrap)
        let recorded = audit.values.flatMap { $0 }
        #expect(Set(recorded.map(\.decisionId)) == expected.decisions, sourceLocation: sourceLocation)
        #expect(recorded.count == expected.decisions.count, "every decision recorded exactly once", sourceLocation: sourceLocation)
        for (partition, records) in audit {
            #expect(AuditChainVerifier.verify(partition: partition, records) == [], sourceLocation: sourceLocation)
        }
        return (audit, delivered.values.map { $0.raw - $0.unique.count }.reduce(0, +))
    }
}

import CanonicalEvents
import EmbeddedKafka
import Foundation
import HubTopology
import Kafka
import KetenhubTestSupport
import Router
import Testing

/// What a router reads back when it takes a partition over.
@Suite("Taking a partition over")
struct TakeOverTests {
    typealias F = RouterFixtures

    @Test("a router taking a partition over reads as many records for ten times the history: the checkpoint, the state since its snapshot and the decisions since the last commit")
    func startUpIndependentOfHistory() async throws {
        let cluster = try await F.cluster()
        defer { cluster.shutdown() }
        // Partition 0: four cases, each through the timeline ten times (new facts each time);
        // partition 1: four other cases, through it once. The same live state, ten times the history.
        // (Some 3 MB of decision records: the embedded cluster keeps a partition's newest ~5 MB.)
        var long: [CloudEvent] = []
        for round in 0..<10 {
            for number in 1...4 {
                long += CrashTests.timeline.enumerated().map { F.event($0.element, case: number, sequence: round * 100 + $0.offset) }
            }
        }
        let short = (101...104).flatMap { number in CrashTests.timeline.enumerated().map { F.event($0.element, case: number, sequence: $0.offset) } }
        try await F.publish(long, to: cluster, partition: 0)
        try await F.publish(short, to: cluster, partition: 1)

        var settings = RoutingServiceTests.configuration(cluster)
        settings.batchSize = 50
        settings.snapshotMinimumRecords = 20
        let configuration = settings
        let total = long.count + short.count
        try await RoutingServiceTests.runRouter(configuration, seconds: 120) {
            try await Self.committed(cluster, configuration) == total
        }
        let reader = TopicReader(bootstrapServers: cluster.bootstrapServers, logger: F.logger)
        let audit = try await F.auditRecords(cluster)
        let cases = try await reader.readAll(F.topics.caseState)
        let decisions = (0...1).map { audit[Int32($0)]?.count ?? 0 }
        #expect(decisions[0] > 5 * decisions[1], "many times the decisions: \(decisions)")
        let history = (0...1).map { decisions[$0] + (cases[Int32($0)]?.count ?? 0) }

        // The next router of these partitions.
        let next = RoutingService(configuration: configuration, matrix: F.matrix, logger: F.logger)
        let running = Task { try await next.run() }
        try await within(60, "the next router taking the partitions over") {
            while next.currentPhase != .running { try await Task.sleep(for: .milliseconds(50)) }
        }
        let read = next.recordsReadAtTakeOver
        running.cancel()
        try await running.value
        let (longRead, shortRead) = (try #require(read[0]), try #require(read[1]))
        #expect(longRead <= 2 * shortRead + 20, "records read back for the long history \(longRead), for the short \(shortRead)")
        #expect(longRead * 10 < history[0], "records read back \(longRead) against \(history[0]) in the partition's history")
        print("take-over reads: \(longRead) records for a partition with \(history[0]) audit and case-state records, \(shortRead) for one with \(history[1])")

        // And it routes on from there as if it had read everything: a new event of a long-history case.
        let more = F.event("vonnis/veroordeling-met-voorwaarden", case: 1, sequence: 5_000)
        try await F.publish([more], to: cluster, partition: 0)
        let expected = F.expected(from: try await reader.readAll(F.topics.canonical))
        try await RoutingServiceTests.runRouter(configuration) {
            Set(try await F.auditRecords(cluster).values.flatMap { $0 }.map(\.decisionId)).count >= expected.decisions.count
        }
        let recorded = try await F.auditRecords(cluster)
        #expect(Set(recorded.values.flatMap { $0 }.map(\.decisionId)) == expected.decisions)
        #expect(recorded.values.map(\.count).reduce(0, +) == expected.decisions.count, "every decision recorded once")
        for (partition, records) in recorded { #expect(AuditChainVerifier.verify(partition: partition, records) == []) }
        let delivered = try await F.delivered(cluster)
        for (organisation, keys) in expected.deliveries {
            #expect(delivered[organisation]?.unique == keys, "\(organisation)")
            #expect(delivered[organisation]?.raw == keys.count, "\(organisation) received something twice")
        }
    }

    @Test("reading a tail, as a router reads its checkpoints: the last records of a longer partition, all of a shorter one, none of an empty one, in offset order")
    func tailOfEachPartition() async throws {
        let cluster = try EmbeddedCluster(brokers: 3, logger: F.logger)
        defer { cluster.shutdown() }
        let topic = "tail-test"
        try await cluster.createTopics([KafkaTopicSpecification(name: topic, partitions: 3)])
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers), logger: F.logger)
        try await producer.sendAll((0..<100).map { KafkaProducerMessage(topic: topic, partition: 0, key: Array("p0".utf8), value: Array("\($0)".utf8)) }
            + (0..<10).map { KafkaProducerMessage(topic: topic, partition: 1, key: Array("p1".utf8), value: Array("\($0)".utf8)) })
        await producer.shutdown()

        let reader = TopicReader(bootstrapServers: cluster.bootstrapServers, logger: F.logger)
        let start = ContinuousClock.now
        let records = try await reader.read(topic, from: [0: KafkaOffset.tail(64), 1: KafkaOffset.tail(64), 2: KafkaOffset.tail(64)])
        let took = ContinuousClock.now - start
        let byPartition = Dictionary(grouping: records, by: \.partition)
        #expect(byPartition[0]?.map(\.offset) == Array(36..<100))
        #expect(byPartition[0]?.map { String(decoding: $0.value, as: UTF8.self) } == (36..<100).map { "\($0)" })
        #expect(byPartition[1]?.map(\.offset) == Array(0..<10))
        #expect(byPartition[2] == nil)
        #expect(KafkaOffset.tailCount(of: KafkaOffset.tail(64)) == 64 && KafkaOffset.tailCount(of: KafkaOffset.beginning) == nil)
        print("a tail of three partitions read in \(took)")
    }

    /// The input records the router group has committed, over all partitions.
    static func committed(_ cluster: EmbeddedCluster, _ configuration: RouterConfiguration) async throws -> Int {
        var consumerConfiguration = KafkaConsumerConfiguration(bootstrapServers: cluster.bootstrapServers, groupID: configuration.groupID)
        consumerConfiguration.client.clientID = "take-over-test"
        let consumer = try KafkaConsumer(configuration: consumerConfiguration, logger: F.logger)
        let partitions = (0..<F.topics.partitions).map { KafkaTopicPartition(topic: F.topics.canonical, partition: $0) }
        let committed = try? await consumer.committedOffsets(partitions).values.compactMap { $0 }.reduce(0, +)
        await consumer.close()
        return Int(committed ?? 0)
    }
}

import EmbeddedKafka
import Kafka
import KetenhubTestSupport
import Testing

@Suite("Admin")
struct AdminTests {
    @Test("topics made through the embedded cluster are listed with their partition counts")
    func listTopics() async throws {
        let topics = [KafkaTopicSpecification(name: "consent-state", partitions: 2, configs: ["cleanup.policy": "compact"]),
                      KafkaTopicSpecification(name: "deliveries.politie", partitions: 6)]
        try await withCluster(topics: topics) { cluster in
            let admin = try KafkaAdmin(settings: KafkaClientSettings(bootstrapServers: cluster.bootstrapServers), logger: testLogger)
            defer { admin.shutdown() }
            let listed = try await admin.listTopics()
            #expect(listed == [KafkaTopicMetadata(name: "consent-state", partitionCount: 2),
                               KafkaTopicMetadata(name: "deliveries.politie", partitionCount: 6)])
        }
    }

    @Test("consumer-group lag follows the committed offsets")
    func lag() async throws {
        let topic = KafkaTopicSpecification(name: "lagging", partitions: 2)
        try await withCluster(topics: [topic]) { cluster in
            let producer = try KafkaProducer(configuration: producerConfiguration(cluster), logger: testLogger)
            try await producer.sendAll((0..<10).map { KafkaProducerMessage(topic: topic.name, partition: Int32($0 % 2), value: Array("r\($0)".utf8)) })
            await producer.shutdown()

            let group = uniqueName("lag")
            let admin = try KafkaAdmin(settings: KafkaClientSettings(bootstrapServers: cluster.bootstrapServers), logger: testLogger)
            defer { admin.shutdown() }
            let before = try await admin.consumerGroupLag(groupID: group, topics: [topic.name])
            #expect(before.map(\.lag) == [5, 5])
            #expect(before.map(\.committedOffset) == [nil, nil])

            let consumer = try KafkaConsumer(configuration: consumerConfiguration(cluster, group: group), logger: testLogger)
            try consumer.subscribe(topics: [topic.name])
            let records = try await collect(consumer, count: 10)
            // Process everything of partition 0 and the first two records of partition 1.
            for record in records where record.partition == 0 || record.offset < 2 { try consumer.storeOffset(record) }
            try await consumer.commit()
            await consumer.close()

            let after = try await admin.consumerGroupLag(groupID: group, topics: [topic.name])
            #expect(after.map(\.committedOffset) == [5, 2])
            #expect(after.map(\.highWatermark) == [5, 5])
            #expect(after.map(\.lag) == [0, 3])
        }
    }
}

import EmbeddedKafka
import Kafka
import KetenhubTestSupport
import Logging
import Testing

/// Every test that takes a broker off the network, one at a time; `make test` runs them in a process
/// of their own. librdkafka 2.0.2's mock broker gives up its listening socket when set down and binds
/// its port again at once, and ends the whole process (an `rd_assert`) when that bind fails. It failed
/// once in about fifteen runs of the Kafka tests side by side (`Address already in use`, a test setting
/// a broker down while thirty others made clusters, clients and child processes), and did in CI.
@Suite("Broker failures: a broker taken off the network and brought back", .serialized)
struct BrokerFailureTests {
    @Test("idempotent producer while a partition leader goes down and comes back: every record exactly once, in order")
    func idempotenceAcrossBrokerOutage() async throws {
        let topic = KafkaTopicSpecification(name: "resilient", partitions: 3)
        let total = 600
        try await withCluster(topics: [topic]) { cluster in
            for partition in 0..<Int32(3) {
                try cluster.setPartitionLeader(topic: topic.name, partition: partition, brokerID: partition + 1)
            }
            let producer = try KafkaProducer(configuration: producerConfiguration(cluster), logger: testLogger)
            let delivered = DeliveredCount()
            let sending = Task {
                // Chunks enqueued in order from one task, so each partition's order is the produced order.
                for chunk in stride(from: 0, to: total, by: 30) {
                    let records = (chunk..<min(chunk + 30, total)).map { index in
                        KafkaProducerMessage(topic: topic.name, partition: Int32(index % 3),
                                             key: Array("case-\(index % 3)".utf8), value: Array("seq-\(index)".utf8))
                    }
                    try await producer.sendAll(records)
                    await delivered.add(records.count)
                }
            }
            try await within(30, "the first 100 deliveries") {
                while await delivered.value < 100 { try await Task.sleep(for: .milliseconds(10)) }
            }
            try cluster.setBrokerDown(1)
            try await Task.sleep(for: .seconds(2))
            let deliveredDuringOutage = await delivered.value
            try cluster.setBrokerUp(1)
            try await sending.value
            await producer.shutdown()
            #expect(deliveredDuringOutage < total, "the outage happened while records were still being sent")
            #expect(await delivered.value == total)

            let consumer = try KafkaConsumer(configuration: consumerConfiguration(cluster), logger: testLogger)
            try consumer.subscribe(topics: [topic.name])
            let received = try await collect(consumer, count: total, seconds: 60)
            let extra = try await drain(consumer, seconds: 1.5)
            await consumer.close()
            #expect(extra.isEmpty, "no record was written twice")
            #expect(Set(received.map(\.valueString)) == Set((0..<total).map { "seq-\($0)" }))
            for partition in 0..<Int32(3) {
                let sequence = received.filter { $0.partition == partition }.map { Int($0.valueString.dropFirst(4))! }
                #expect(sequence == Array(stride(from: Int(partition), to: total, by: 3)), "partition \(partition) kept the produced order")
            }
        }
    }

    @Test("a record that cannot reach any broker fails with a message timeout")
    func deliveryTimeout() async throws {
        let topic = KafkaTopicSpecification(name: "unreachable", partitions: 1)
        try await withCluster(brokers: 1, topics: [topic]) { cluster in
            let producer = try await timedOutWhileDown(cluster, firstTo: topic.name, thenTo: topic.name)
            try cluster.setBrokerUp(1)
            await producer.shutdown()
        }
    }

    /// A producer that sent a record to `firstTo`, then, with the broker down, failed to send one to
    /// `thenTo` with a message timeout. The broker stays down.
    private func timedOutWhileDown(_ cluster: EmbeddedCluster, firstTo first: String, thenTo then: String) async throws -> KafkaProducer {
        var configuration = producerConfiguration(cluster)
        configuration.messageTimeoutMilliseconds = 1_500
        let producer = try KafkaProducer(configuration: configuration, logger: testLogger)
        try await producer.send(KafkaProducerMessage(topic: first, key: "k", value: "first"))
        try cluster.setBrokerDown(1)
        let error = await #expect(throws: KafkaError.self) {
            try await producer.send(KafkaProducerMessage(topic: then, key: "k", value: "lost"))
        }
        #expect(error?.kind == .delivery)
        #expect(error?.code == .messageTimedOut)
        return producer
    }

    @Test("the first record to a topic while no broker is reachable fails with a message timeout, after the metadata wait")
    func newTopicUnreachable() async throws {
        let known = KafkaTopicSpecification(name: "known", partitions: 1)
        let unknown = KafkaTopicSpecification(name: "named-while-down", partitions: 1)
        try await withCluster(brokers: 1, topics: [known, unknown]) { cluster in
            let producer = try await timedOutWhileDown(cluster, firstTo: known.name, thenTo: unknown.name)
            try cluster.setBrokerUp(1)
            // Once the broker is back (reconnecting may take a few message timeouts on a loaded machine), the topic works.
            let report = try await within(30, "a record to the topic once the broker is back") {
                while true {
                    try Task.checkCancellation()
                    if let report = try? await producer.send(KafkaProducerMessage(topic: unknown.name, key: "k", value: "again")) { return report }
                }
            }
            #expect(report.topic == unknown.name)
            await producer.shutdown()
        }
    }

    @Test("librdkafka's log lines reach swift-log with their level and facility")
    func logs() async throws {
        let records = CapturingLogHandler.Records()
        let logger = Logger(label: "kafka.capture") { _ in CapturingLogHandler(records: records) }
        try await withCluster(brokers: 1) { cluster in
            try cluster.setBrokerDown(1)
            var configuration = producerConfiguration(cluster)
            configuration.messageTimeoutMilliseconds = 1_000
            let producer = try KafkaProducer(configuration: configuration, logger: logger)
            _ = try? await producer.send(KafkaProducerMessage(topic: "nowhere", key: "k", value: "v"))
            await producer.shutdown()
        }
        let failures = records.all.filter { $0.message.contains("Connect to") && $0.message.contains("failed") }
        #expect(!failures.isEmpty)
        #expect(failures.allSatisfy { $0.level == .error })
        #expect(failures.allSatisfy { $0.metadata["rdkafka.facility"] != nil })
    }
}

private actor DeliveredCount {
    private(set) var value = 0
    func add(_ count: Int) { value += count }
}

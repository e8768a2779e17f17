import EmbeddedKafka
import Kafka
import KetenhubTestSupport
import Testing

@Suite("Broker failures")
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
}

private actor DeliveredCount {
    private(set) var value = 0
    func add(_ count: Int) { value += count }
}

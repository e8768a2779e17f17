import EmbeddedKafka
import Kafka
import KetenhubTestSupport
import Testing

/// What two workers in one group did, shared between their tasks.
private actor WorkLedger {
    private(set) var processed: [String: Int] = [:]
    private(set) var byWorker: [String: Int] = [:]
    private(set) var fenced = 0

    func process(_ id: String, by worker: String) {
        processed[id, default: 0] += 1
        byWorker[worker, default: 0] += 1
    }

    func fence() { fenced += 1 }

    var distinct: Int { processed.count }
    func count(by worker: String) -> Int { byWorker[worker] ?? 0 }
}

@Suite("Consumer groups")
struct ConsumerGroupTests {
    @Test("two members, a rebalance in the middle, manual commits: every record processed, none lost")
    func rebalanceAtLeastOnce() async throws {
        let topic = KafkaTopicSpecification(name: "work", partitions: 4)
        let total = 600
        try await withCluster(topics: [topic]) { cluster in
            let producer = try KafkaProducer(configuration: producerConfiguration(cluster), logger: testLogger)
            try await producer.sendAll((0..<total).map { KafkaProducerMessage(topic: topic.name, key: "case-\($0 % 17)", value: "record-\($0)") })
            await producer.shutdown()

            let group = uniqueName("workers")
            let ledger = WorkLedger()
            // Slow workers fetch small batches: a rebalance is served only when the member polls again.
            var configuration = consumerConfiguration(cluster, group: group)
            configuration.pollBatchSize = 10
            let first = try KafkaConsumer(configuration: configuration, logger: testLogger)
            try first.subscribe(topics: [topic.name])
            let firstWorker = Task { try await Self.work(first, name: "first", ledger: ledger) }

            // The second member joins once the first is well under way.
            try await within(60, "the first member processing 100 records") {
                while await ledger.distinct < 100 { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(first.assignedPartitions.count == 4)
            let second = try KafkaConsumer(configuration: configuration, logger: testLogger)
            try second.subscribe(topics: [topic.name])
            let secondWorker = Task { try await Self.work(second, name: "second", ledger: ledger) }

            // Done when the group's committed offsets reach the end of every partition: a record whose
            // offset was fenced or whose commit was refused mid-rebalance is redone by its new owner first.
            let admin = try KafkaAdmin(settings: KafkaClientSettings(bootstrapServers: cluster.bootstrapServers), logger: testLogger)
            defer { admin.shutdown() }
            try await within(60, "every record processed and committed") {
                while true {
                    let lag = try await admin.consumerGroupLag(groupID: group, topics: [topic.name])
                    if !second.assignedPartitions.isEmpty && lag.allSatisfy({ $0.lag == 0 }) { return }
                    try await Task.sleep(for: .milliseconds(200))
                }
            }
            // Both members owned part of the topic after the rebalance, and nobody owned a partition twice.
            let firstPartitions = first.assignedPartitions
            let secondPartitions = second.assignedPartitions
            firstWorker.cancel()
            secondWorker.cancel()
            try await firstWorker.value
            try await secondWorker.value
            #expect(!secondPartitions.isEmpty)
            #expect(firstPartitions.isDisjoint(with: secondPartitions))
            #expect(firstPartitions.union(secondPartitions).count == 4)
            await first.close()
            await second.close()

            let processed = await ledger.processed
            #expect(Set(processed.keys) == Set((0..<total).map { "record-\($0)" }))
            #expect(await ledger.count(by: "second") > 0)
            // Records whose partition moved mid-work may be processed twice (at-least-once), never zero times.
            #expect(processed.values.allSatisfy { $0 >= 1 })

            // Leaving the group kept every commit: a new member of the group finds nothing left.
            let lag = try await admin.consumerGroupLag(groupID: group, topics: [topic.name])
            #expect(lag.count == 4)
            #expect(lag.map(\.lag) == [0, 0, 0, 0])
            #expect(lag.compactMap(\.committedOffset).reduce(0, +) == Int64(total))
        }
    }

    /// Processes records one by one, storing each offset after the work and committing it.
    private static func work(_ consumer: KafkaConsumer, name: String, ledger: WorkLedger) async throws {
        for try await message in consumer.messages {
            await ledger.process(message.valueString, by: name)
            try? await Task.sleep(for: .milliseconds(15))
            do {
                try consumer.storeOffset(message)
            } catch let error as KafkaError where error.kind == .partitionRevoked {
                await ledger.fence()  // the partition moved on; its new owner redoes this record
                continue
            }
            // A commit refused mid-rebalance loses nothing: the record is redone by the partition's next owner.
            try? await consumer.commit()
        }
    }

    @Test("a paused partition delivers nothing until it is resumed")
    func pauseAndResume() async throws {
        let topic = KafkaTopicSpecification(name: "paused", partitions: 2)
        try await withCluster(topics: [topic]) { cluster in
            let consumer = try KafkaConsumer(configuration: consumerConfiguration(cluster), logger: testLogger)
            try consumer.subscribe(topics: [topic.name])
            _ = try await drain(consumer, seconds: 0.5)
            try await within(20, "the assignment") {
                while consumer.assignedPartitions.count < 2 {
                    _ = try await drain(consumer, seconds: 0.2)
                }
            }
            let held = KafkaTopicPartition(topic: topic.name, partition: 1)
            try consumer.pause([held])

            let producer = try KafkaProducer(configuration: producerConfiguration(cluster), logger: testLogger)
            try await producer.sendAll((0..<10).map { KafkaProducerMessage(topic: topic.name, partition: Int32($0 % 2), value: Array("r-\($0)".utf8)) })
            await producer.shutdown()

            let whilePaused = try await collect(consumer, count: 5)
            let nothingMore = try await drain(consumer, seconds: 1)
            #expect(Set(whilePaused.map(\.partition)) == [0])
            #expect(nothingMore.isEmpty)

            try consumer.resume([held])
            let afterResume = try await collect(consumer, count: 5)
            await consumer.close()
            #expect(afterResume.map(\.valueString) == ["r-1", "r-3", "r-5", "r-7", "r-9"])
        }
    }
}

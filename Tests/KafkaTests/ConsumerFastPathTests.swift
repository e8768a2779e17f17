import EmbeddedKafka
import Foundation
import Kafka
import KetenhubTestSupport
import Testing

/// What a faster fetch path (#18) must not change: fencing across assignments, and each record of a
/// batch mixing topics, keys, empty values, headers and a large value read as it was written.
@Suite("Consumer: fencing and record contents")
struct ConsumerFastPathTests {
    /// Polls until `count` records arrived (or fails after 20 s).
    static func fetch(_ consumer: KafkaConsumer, count: Int) async throws -> [KafkaConsumerMessage] {
        try await within(20, "\(count) records") {
            var messages: [KafkaConsumerMessage] = []
            while messages.count < count { messages += try await consumer.poll(maxMessages: 500, timeoutMilliseconds: 100) }
            return messages
        }
    }

    @Test("a record fetched before its partition was assigned again is fenced; one fetched after is owned")
    func fencedAcrossAssignments() async throws {
        let topic = KafkaTopicSpecification(name: uniqueName("fenced"), partitions: 1)
        try await withCluster(topics: [topic]) { cluster in
            let producer = try KafkaProducer(configuration: producerConfiguration(cluster), logger: testLogger)
            try await producer.sendAll((0..<3).map { KafkaProducerMessage(topic: topic.name, key: "k", value: "r-\($0)") })
            await producer.shutdown()
            let consumer = try KafkaConsumer(configuration: consumerConfiguration(cluster), logger: testLogger)
            let start = [KafkaTopicPartitionOffset(topic: topic.name, partition: 0, offset: KafkaOffset.beginning)]
            try consumer.assign(start)
            let before = try await Self.fetch(consumer, count: 3)
            #expect(before.allSatisfy { consumer.owns($0) })
            try consumer.storeOffset(before[0])

            try consumer.assign(start)  // a new assignment: what was fetched under the old one is fenced
            #expect(before.allSatisfy { !consumer.owns($0) })
            #expect(throws: KafkaError.self) { try consumer.storeOffset(before[1]) }
            let after = try await Self.fetch(consumer, count: 3)
            #expect(after.map(\.valueString) == ["r-0", "r-1", "r-2"])
            #expect(after.allSatisfy { consumer.owns($0) })
            try consumer.storeOffset(after[2])
            await consumer.close()
        }
    }

    @Test("the message stream skips the rest of a batch once its partition is assigned anew, then hands out the records fetched again")
    func streamSkipsRecordsOfAnOldAssignment() async throws {
        let topic = KafkaTopicSpecification(name: uniqueName("reassigned"), partitions: 1)
        try await withCluster(topics: [topic]) { cluster in
            let producer = try KafkaProducer(configuration: producerConfiguration(cluster), logger: testLogger)
            try await producer.sendAll((0..<10).map { KafkaProducerMessage(topic: topic.name, key: "k", value: "r-\($0)") })
            await producer.shutdown()
            let consumer = try KafkaConsumer(configuration: consumerConfiguration(cluster), logger: testLogger)
            let start = [KafkaTopicPartitionOffset(topic: topic.name, partition: 0, offset: KafkaOffset.beginning)]
            try consumer.assign(start)
            try await Task.sleep(for: .milliseconds(500))  // all ten fetched: the stream's first batch holds them
            let stream = Stream(consumer.messages.makeAsyncIterator())
            let first = try await within(20, "the first record") { try await stream.next() }
            #expect(first?.valueString == "r-0")
            let second = try await within(20, "the second record") { try await stream.next() }
            #expect(second?.valueString == "r-1", "the partition checked once, its next record passes")

            try consumer.assign(start)  // a new assignment: the eight records left of the batch are fenced
            let again = try await within(20, "the first record fetched again") { try await stream.next() }
            #expect(again?.valueString == "r-0")
            #expect(again.map { consumer.owns($0) } == true)
            #expect(again?.assignmentGeneration != first?.assignmentGeneration)
            await consumer.close()
        }
    }

    /// A message stream's iterator, advanced by one task at a time inside `within`.
    final class Stream: @unchecked Sendable {
        private var iterator: KafkaConsumerMessages.AsyncIterator
        init(_ iterator: KafkaConsumerMessages.AsyncIterator) { self.iterator = iterator }
        func next() async throws -> KafkaConsumerMessage? { try await iterator.next() }
    }

    @Test("records of two topics in one batch each carry their own topic, key, empty value and headers")
    func topicsInOneBatch() async throws {
        let topics = [KafkaTopicSpecification(name: uniqueName("first"), partitions: 2), KafkaTopicSpecification(name: uniqueName("second"), partitions: 1)]
        try await withCluster(topics: topics) { cluster in
            let producer = try KafkaProducer(configuration: producerConfiguration(cluster), logger: testLogger)
            let large = [UInt8](repeating: 7, count: 900_000)
            try await producer.sendAll((0..<40).map { index in
                let topic = topics[index % 2].name
                return KafkaProducerMessage(topic: topic, key: index % 5 == 0 ? nil : Array("\(topic)/\(index)".utf8),
                                            value: index % 7 == 0 ? [] : (index == 13 ? large : Array("\(index)".utf8)),
                                            headers: index % 3 == 0 ? [KafkaHeader(key: "h", value: Array("\(index)".utf8)), KafkaHeader(key: "empty", value: nil)] : [])
            })
            await producer.shutdown()
            let consumer = try KafkaConsumer(configuration: consumerConfiguration(cluster), logger: testLogger)
            try consumer.assign(topics.flatMap { topic in
                (0..<topic.partitions).map { KafkaTopicPartitionOffset(topic: topic.name, partition: $0, offset: KafkaOffset.beginning) }
            })
            let messages = try await Self.fetch(consumer, count: 40)
            await consumer.close()
            #expect(messages.count == 40)
            for message in messages {
                let index = message.value.isEmpty ? nil : (message.value == large ? 13 : Int(message.valueString))
                if let key = message.keyString { #expect(key.hasPrefix(message.topic + "/"), "\(key) came from \(message.topic)") }
                if let index {
                    #expect(message.topic == topics[index % 2].name)
                    #expect((message.header("h")?.value).map { String(decoding: $0, as: UTF8.self) } == (index % 3 == 0 ? "\(index)" : nil))
                }
                if message.header("empty") != nil { #expect(message.header("empty")?.value == nil) }
            }
            #expect(messages.filter { $0.value.isEmpty }.count == (0..<40).filter { $0 % 7 == 0 }.count)
            #expect(messages.contains { $0.value == large })
        }
    }
    @Test("polls of growing and shrinking sizes (one reused buffer) hand out each record once, in offset order")
    func pollSizes() async throws {
        let topic = KafkaTopicSpecification(name: uniqueName("sizes"), partitions: 1)
        try await withCluster(topics: [topic]) { cluster in
            let producer = try KafkaProducer(configuration: producerConfiguration(cluster), logger: testLogger)
            try await producer.sendAll((0..<300).map { KafkaProducerMessage(topic: topic.name, key: "k", value: "r-\($0)") })
            await producer.shutdown()
            let consumer = try KafkaConsumer(configuration: consumerConfiguration(cluster), logger: testLogger)
            try consumer.assign([KafkaTopicPartitionOffset(topic: topic.name, partition: 0, offset: KafkaOffset.beginning)])
            let received = try await within(20, "300 records") {
                var received: [KafkaConsumerMessage] = []
                for size in [1, 2, 200, 3, 1_000, 7] where received.count < 300 {
                    var batch: [KafkaConsumerMessage] = []
                    while batch.isEmpty { batch = try await consumer.poll(maxMessages: size, timeoutMilliseconds: 100) }
                    #expect(batch.count <= size)
                    received += batch
                }
                while received.count < 300 { received += try await consumer.poll(maxMessages: 50, timeoutMilliseconds: 100) }
                return received
            }
            await consumer.close()
            #expect(received.map(\.offset) == Array(0..<300))
            #expect(received.map(\.valueString) == (0..<300).map { "r-\($0)" })
        }
    }
}

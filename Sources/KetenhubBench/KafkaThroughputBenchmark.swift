import EmbeddedKafka
import Foundation
import Kafka
import Logging
import Synchronization

/// Raw produce and consume throughput on the embedded cluster: an idempotent `acks=all` producer
/// and a consumer-group member reading concurrently (the mock keeps only ~5 MB per partition, so a
/// consumer that starts after the producer would silently miss records). Every record carries its
/// index as key; the run fails unless each index is consumed exactly once.
public struct KafkaThroughputBenchmark: Sendable {
    public struct Result: Sendable, Codable {
        public var produce_msgs_per_s: Double
        public var consume_msgs_per_s: Double
        public var messages: Int
        public var record_bytes: Int
        public var partitions: Int
        public var brokers: Int
    }

    public var messages: Int
    public var recordBytes: Int
    public var partitions: Int32
    public var brokers: Int
    /// Records in flight at once: enough for librdkafka to batch, below its local queue limit.
    public var window = 20_000

    public init(messages: Int = 200_000, recordBytes: Int = 300, partitions: Int32 = 6, brokers: Int = 3) {
        self.messages = messages
        self.recordBytes = recordBytes
        self.partitions = partitions
        self.brokers = brokers
    }

    public func run(logger: Logger) async throws -> Result {
        let cluster = try EmbeddedCluster(brokers: brokers, logger: logger)
        defer { cluster.shutdown() }
        let topic = "bench-kafka"
        try cluster.createTopic(KafkaTopicSpecification(name: topic, partitions: partitions))

        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(bootstrapServers: cluster.bootstrapServers, groupID: "bench-kafka"),
            logger: logger)
        try consumer.subscribe(topics: [topic])
        let total = messages
        let consuming = Task { try await Self.consume(consumer, expecting: total) }
        // Produce only once the consumer owns every partition, so it reads as the records arrive.
        while consumer.assignedPartitions.count < Int(partitions) {
            try await Task.sleep(for: .milliseconds(50))
        }

        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers),
                                         logger: logger)
        let payload = [UInt8](repeating: UInt8(ascii: "k"), count: recordBytes)
        let produceStart = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<total {
                if index >= window { try await group.next() }
                group.addTask {
                    try await producer.send(KafkaProducerMessage(topic: topic, key: Array(String(index).utf8), value: payload))
                }
            }
            try await group.waitForAll()
        }
        let produceSeconds = (ContinuousClock.now - produceStart).seconds
        let consumeSeconds = try await consuming.value
        await producer.shutdown()
        await consumer.close()
        return Result(produce_msgs_per_s: (Double(total) / produceSeconds).rounded(),
                      consume_msgs_per_s: (Double(total) / consumeSeconds).rounded(),
                      messages: total, record_bytes: recordBytes, partitions: Int(partitions), brokers: brokers)
    }

    /// Reads until every index arrived once; returns the seconds from the first record to the last.
    private static func consume(_ consumer: KafkaConsumer, expecting total: Int) async throws -> Double {
        var seen = [Bool](repeating: false, count: total)
        var count = 0
        var first: ContinuousClock.Instant?
        for try await message in consumer.messages {
            if first == nil { first = .now }
            guard let key = message.keyString, let index = Int(key), index < total, !seen[index] else {
                throw BenchmarkError.unexpectedRecord(message.keyString ?? "<no key>")
            }
            seen[index] = true
            count += 1
            if count == total { return (ContinuousClock.now - first!).seconds }
        }
        throw BenchmarkError.incomplete(consumed: count, expected: total)
    }
}

public enum BenchmarkError: Error, CustomStringConvertible {
    case unexpectedRecord(String)
    case incomplete(consumed: Int, expected: Int)

    public var description: String {
        switch self {
        case .unexpectedRecord(let key): "record \(key) is a duplicate or was never produced"
        case .incomplete(let consumed, let expected): "consumed \(consumed) of \(expected) records"
        }
    }
}

extension Duration {
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

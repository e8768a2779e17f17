import EmbeddedKafka
import Foundation
import Kafka
import Logging
import Synchronization

/// Raw produce and consume throughput on the embedded cluster: an idempotent `acks=all` producer
/// and a consumer-group member reading concurrently. The mock keeps only the newest ~5 MB per
/// partition, so the topic gets enough partitions that none ever holds that much of the run, and
/// the consumer owns them all before the first record is sent. Every record carries its index as
/// key; the run fails (it never hangs) unless each index is consumed exactly once.
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

    /// Seconds without a consumed record after which the run fails instead of waiting on.
    public var stallSeconds = 15.0

    /// With `partitions` nil, enough partitions that each receives at most ~2.5 MB of records.
    public init(messages: Int = 200_000, recordBytes: Int = 300, partitions: Int32? = nil, brokers: Int = 3) {
        self.messages = messages
        self.recordBytes = recordBytes
        let bytesPerPartition = 2_500_000
        self.partitions = partitions ?? Int32(max(3, (messages * (recordBytes + 60) + bytesPerPartition - 1) / bytesPerPartition))
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
        let progress = ConsumeProgress()
        let consuming = Task { try await Self.consume(consumer, expecting: total, progress: progress) }
        let watchdog = Task {
            var last = -1
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(stallSeconds))
                let now = await progress.count
                if now == last { consuming.cancel(); return }
                last = now
            }
        }
        defer { watchdog.cancel() }
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
    private static func consume(_ consumer: KafkaConsumer, expecting total: Int, progress: ConsumeProgress) async throws -> Double {
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
            if count % 1_000 == 0 { await progress.set(count) }
            if count == total { return (ContinuousClock.now - first!).seconds }
        }
        throw BenchmarkError.incomplete(consumed: count, expected: total)
    }
}

private actor ConsumeProgress {
    private(set) var count = 0
    func set(_ value: Int) { count = value }
}

public enum BenchmarkError: Error, CustomStringConvertible {
    case unexpectedRecord(String)
    case incomplete(consumed: Int, expected: Int)

    public var description: String {
        switch self {
        case .unexpectedRecord(let key): "record \(key) is a duplicate or was never produced"
        case .incomplete(let consumed, let expected): "consumed \(consumed) of \(expected) records before the stream stalled"
        }
    }
}

extension Duration {
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

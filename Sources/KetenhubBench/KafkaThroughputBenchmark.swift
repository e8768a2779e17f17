import EmbeddedKafka
import Foundation
import Kafka
import Logging
import Synchronization

/// Raw produce and consume throughput on the embedded cluster: an idempotent `acks=all` producer
/// (`sendAll` of 1,000 records, 80,000 in flight), then a new consumer-group member reading the whole
/// topic; then the same work on librdkafka's C API (`LibrdkafkaBaseline`) for the ratios. The mock
/// keeps only the newest ~5 MB per partition, so the topic gets enough partitions that none ever
/// holds that much of the run. Every record carries its index as key; the run fails (it never
/// hangs) unless each index is consumed exactly once.
public struct KafkaThroughputBenchmark: Sendable {
    public struct Result: Sendable, Codable {
        public var produce_msgs_per_s: Double
        public var consume_msgs_per_s: Double
        public var messages: Int
        public var record_bytes: Int
        public var partitions: Int
        public var brokers: Int
        /// The same work as plain loops on librdkafka's C API, in the same process, on the same cluster.
        public var librdkafka_produce_msgs_per_s: Double
        public var librdkafka_consume_msgs_per_s: Double
        public var produce_ratio_to_librdkafka: Double
        public var consume_ratio_to_librdkafka: Double
    }

    public var messages: Int
    public var recordBytes: Int
    public var partitions: Int32
    public var brokers: Int
    /// Records in flight at once: as the C loop keeps them (up to librdkafka's local queue of
    /// 100,000), less a margin; fewer leaves the producer waiting on delivery reports.
    public var window = 80_000
    /// Records handed to `sendAll` at once.
    public var batchSize = 1_000

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
        let payload = [UInt8](repeating: UInt8(ascii: "k"), count: recordBytes)
        let total = messages

        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers),
                                         logger: logger)
        // The topic's partitions first, as the C loop learns them before its clock starts.
        try await producer.loadTopicMetadata { $0 == topic }
        let produceStart = ContinuousClock.now
        // As the hub produces (a router's batch, a gateway's message): records handed over together
        // with `sendAll`, several batches in flight, each awaiting its delivery reports.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (number, start) in stride(from: 0, to: total, by: batchSize).enumerated() {
                if number >= window / batchSize { try await group.next() }
                group.addTask {
                    let batch = (start..<min(start + batchSize, total)).map {
                        KafkaProducerMessage(topic: topic, key: Array(String($0).utf8), value: payload)
                    }
                    _ = try await producer.sendAll(batch)
                }
            }
            try await group.waitForAll()
        }
        let produceSeconds = (ContinuousClock.now - produceStart).seconds
        await producer.shutdown()

        // A new group member reads the whole topic: the consumer's own speed, not the producer's,
        // which bounds a consumer reading records as they arrive.
        let consumer = try KafkaConsumer(configuration: consumerConfiguration(cluster, group: "bench-kafka"), logger: logger)
        try consumer.subscribe(topics: [topic])
        let consumeSeconds = try await consumeWatched(consumer, expecting: total)
        await consumer.close()

        let (baselineProduce, baselineConsume) = try await baseline(cluster: cluster, payload: payload)
        let produce = Double(total) / produceSeconds, consume = Double(total) / consumeSeconds
        return Result(produce_msgs_per_s: produce.rounded(), consume_msgs_per_s: consume.rounded(),
                      messages: total, record_bytes: recordBytes, partitions: Int(partitions), brokers: brokers,
                      librdkafka_produce_msgs_per_s: (Double(total) / baselineProduce).rounded(),
                      librdkafka_consume_msgs_per_s: (Double(total) / baselineConsume).rounded(),
                      produce_ratio_to_librdkafka: Self.hundredths(produce * baselineProduce / Double(total)),
                      consume_ratio_to_librdkafka: Self.hundredths(consume * baselineConsume / Double(total)))
    }

    /// Consumes every record, failing (never hanging) if none arrives for `stallSeconds`.
    private func consumeWatched(_ consumer: KafkaConsumer, expecting total: Int) async throws -> Double {
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
        return try await consuming.value
    }

    /// The baseline on a topic of its own with as many partitions, in the same order: the producer,
    /// then a new consumer reading the whole topic; both with the client's configuration. Seconds to
    /// produce and to consume.
    private func baseline(cluster: EmbeddedCluster, payload: [UInt8]) async throws -> (produce: Double, consume: Double) {
        let topic = "bench-kafka-librdkafka"
        try cluster.createTopic(KafkaTopicSpecification(name: topic, partitions: partitions))
        let properties = KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers).properties
        let total = messages
        let produce = try await LibrdkafkaBaseline.onThread {
            try LibrdkafkaBaseline.produce(properties: properties, topic: topic, count: total, payload: payload)
        }
        let consumer = try LibrdkafkaBaseline.Consumer(properties: consumerConfiguration(cluster, group: "bench-kafka-librdkafka").properties,
                                                       topic: topic, count: messages)
        let consume = try await LibrdkafkaBaseline.onThread { try consumer.finish() }
        return (produce, consume)
    }

    private static func hundredths(_ value: Double) -> Double { (value * 100).rounded() / 100 }

    /// Both consumers' configuration: the hub's, with the fetch wait it uses on the embedded cluster
    /// (which holds a fetch that found nothing for the whole wait, even when records arrive meanwhile),
    /// and a local queue that can hold the whole run. librdkafka 2.0.2 stops fetching a partition
    /// once the consumer's queue is over `queued.max.messages.kbytes` (64 MB by default) and looks
    /// again only a second later (`fetch.queue.backoff.ms` came in 2.2.0), so a consumer slower than
    /// the fetcher idles for most of each second after its queue drains; the C loop, faster than the
    /// fetcher, never fills it. Sized so, the figure is the consumer's own speed; the limit itself
    /// is librdkafka's advice: a queue of at least a second of the consumer's processing.
    private func consumerConfiguration(_ cluster: EmbeddedCluster, group: String) -> KafkaConsumerConfiguration {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: cluster.bootstrapServers, groupID: group)
        configuration.fetchMaxWaitMilliseconds = EmbeddedCluster.fetchMaxWaitMilliseconds
        configuration.client.overrides["queued.max.messages.kbytes"] = String(min(2_097_151, messages * (recordBytes + 100) / 1024 + 1024))
        return configuration
    }

    /// Reads until every index arrived once; returns the seconds from the first record to the last.
    private static func consume(_ consumer: KafkaConsumer, expecting total: Int, progress: ConsumeProgress) async throws -> Double {
        var seen = [Bool](repeating: false, count: total)
        var count = 0
        var first: ContinuousClock.Instant?
        for try await message in consumer.messages {
            if first == nil { first = .now }
            guard let index = Self.index(message.key), index < total, !seen[index] else {
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

extension KafkaThroughputBenchmark {
    /// A key's decimal digits as a number, read from the bytes (no string in between).
    static func index(_ key: [UInt8]?) -> Int? {
        guard let key, !key.isEmpty, key.count < 19 else { return nil }
        var value = 0
        for byte in key {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }
}

private actor ConsumeProgress {
    private(set) var count = 0
    func set(_ value: Int) { count = value }
}

public enum BenchmarkError: Error, CustomStringConvertible {
    case unexpectedRecord(String)
    case incomplete(consumed: Int, expected: Int)
    case notKept(topic: String, kept: Int64, published: Int)

    public var description: String {
        switch self {
        case .unexpectedRecord(let key): "record \(key) is a duplicate or was never produced"
        case .incomplete(let consumed, let expected): "consumed \(consumed) of \(expected) records before the stream stalled"
        case .notKept(let topic, let kept, let published):
            "the embedded cluster kept \(kept) of the \(published) events published to \(topic) (it keeps about 5 MB per partition and drops older records): run with fewer --events"
        }
    }
}

extension Duration {
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

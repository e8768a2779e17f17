import Foundation
import Kafka
import Logging

/// Reads whole topics from their beginning to their current end: how a starting router gets back
/// its state, its audit chain heads, and how tests and tools read what the hub wrote.
public struct TopicReader: Sendable {
    public var bootstrapServers: String
    public var isolation: KafkaConsumerConfiguration.IsolationLevel
    public var logger: Logger

    public init(bootstrapServers: String, isolation: KafkaConsumerConfiguration.IsolationLevel = .readCommitted,
                logger: Logger = Logger(label: "ketenhub.topic-reader")) {
        self.bootstrapServers = bootstrapServers
        self.isolation = isolation
        self.logger = logger
    }

    /// Every record of `topic`, by partition, in offset order.
    public func readAll(_ topic: String, timeoutSeconds: Double = 60) async throws -> [Int32: [KafkaConsumerMessage]] {
        let follower = try await follow(topic)
        do {
            var records: [Int32: [KafkaConsumerMessage]] = [:]
            for message in try await follower.catchUp(timeoutSeconds: timeoutSeconds) {
                records[message.partition, default: []].append(message)
            }
            await follower.close()
            return records
        } catch {
            await follower.close()
            throw error
        }
    }

    /// The records of these partitions of `topic` from the given offsets (logical ones too, such as
    /// `KafkaOffset.tail`) to their end, in offset order per partition: what a router taking them over reads.
    public func read(_ topic: String, from offsets: [Int32: Int64], timeoutSeconds: Double = 60) async throws -> [KafkaConsumerMessage] {
        guard !offsets.isEmpty else { return [] }
        let follower = try await follow(topic, from: offsets)
        do {
            let records = try await follower.catchUp(timeoutSeconds: timeoutSeconds)
            await follower.close()
            return records
        } catch {
            await follower.close()
            throw error
        }
    }

    /// A follower of `topic` (of these partitions from these offsets, or all from their beginning),
    /// for a reader that keeps up with it (`catchUp`).
    public func follow(_ topic: String, from offsets: [Int32: Int64]? = nil) async throws -> TopicFollower {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: bootstrapServers, groupID: "ketenhub-reader-\(UUID().uuidString)")
        configuration.isolationLevel = isolation
        configuration.client.clientID = "ketenhub-reader"
        configuration.pollBatchSize = 2_000
        // Reading to the end, not waiting for new records: do not let the broker hold fetches back.
        configuration.client.overrides["fetch.wait.max.ms"] = "10"
        let consumer = try KafkaConsumer(configuration: configuration, logger: logger)
        do {
            var start = offsets ?? [:]
            if offsets == nil {
                for partition in 0..<Int32(try await consumer.partitionCount(topic: topic)) { start[partition] = KafkaOffset.beginning }
            }
            // A tail starts that many records before the partition's end, found here from its
            // watermarks: librdkafka's own lookup of the logical offset made a router's take-over
            // wait half a second on the embedded cluster (0.51 of its 0.58 s).
            let tails = start.compactMapValues { KafkaOffset.tailCount(of: $0) }
            if !tails.isEmpty {
                let marks = try await consumer.watermarks(tails.keys.map { KafkaTopicPartition(topic: topic, partition: $0) })
                for (partition, mark) in marks { start[partition.partition] = max(mark.low, mark.high - tails[partition.partition]!) }
            }
            let partitions = start.keys.sorted().map { KafkaTopicPartition(topic: topic, partition: $0) }
            try consumer.assign(partitions.map { KafkaTopicPartitionOffset(topic: topic, partition: $0.partition, offset: start[$0.partition]!) })
            return TopicFollower(topic: topic, consumer: consumer, partitions: partitions,
                                 start: start.filter { $0.value >= 0 }.reduce(into: [:]) { $0[KafkaTopicPartition(topic: topic, partition: $1.key)] = $1.value })
        } catch {
            await consumer.close()
            throw error
        }
    }
}

/// A topic read from its beginning and kept up with on demand: each `catchUp` returns the records
/// written since the previous one, up to the topic's end at the moment of the call. So a reader that
/// has caught up has seen everything written before it asked, which is what a lookup that must not
/// miss another node's write needs. One caller at a time (its owner serialises the calls).
public final class TopicFollower: Sendable {
    public let topic: String
    private let consumer: KafkaConsumer
    private let partitions: [KafkaTopicPartition]
    /// Where each partition was assigned to start, if at an offset: a partition read from its end
    /// has consumed nothing, and has no position to compare.
    private let start: [KafkaTopicPartition: Int64]

    init(topic: String, consumer: KafkaConsumer, partitions: [KafkaTopicPartition], start: [KafkaTopicPartition: Int64] = [:]) {
        self.topic = topic
        self.consumer = consumer
        self.partitions = partitions
        self.start = start
    }

    /// The records written since the last call, in offset order per partition. A cancelled task's
    /// catching up ends within a poll, throwing `CancellationError`.
    public func catchUp(timeoutSeconds: Double = 60) async throws -> [KafkaConsumerMessage] {
        let ends = try await consumer.watermarks(partitions)
        let deadline = ContinuousClock.now + .seconds(timeoutSeconds)
        var records: [KafkaConsumerMessage] = []
        while true {
            // The position passes transaction markers too, which records never show; a partition
            // never written to (or emptied) has no position until it is, and nothing to read.
            let positions = try consumer.positions(partitions)
            let done = partitions.allSatisfy { partition in
                let end = ends[partition]!
                guard let position = (positions[partition] ?? nil) ?? start[partition] else { return end.high <= end.low }
                return position >= end.high
            }
            if done { return records }
            try Task.checkCancellation()
            guard ContinuousClock.now < deadline else {
                throw KafkaError(kind: .client, code: .timedOut, reason: "reading \(topic) to its end took longer than \(timeoutSeconds) s")
            }
            records += try await consumer.poll(maxMessages: 2_000, timeoutMilliseconds: 100)
        }
    }

    public func close() async { await consumer.close() }
}

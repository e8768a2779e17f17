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
        var configuration = KafkaConsumerConfiguration(bootstrapServers: bootstrapServers, groupID: "ketenhub-reader-\(UUID().uuidString)")
        configuration.isolationLevel = isolation
        configuration.client.clientID = "ketenhub-reader"
        configuration.pollBatchSize = 2_000
        // Reading to the end, not waiting for new records: do not let the broker hold fetches back.
        configuration.client.overrides["fetch.wait.max.ms"] = "10"
        let consumer = try KafkaConsumer(configuration: configuration, logger: logger)
        do {
            let records = try await read(topic, with: consumer, timeoutSeconds: timeoutSeconds)
            await consumer.close()
            return records
        } catch {
            await consumer.close()
            throw error
        }
    }

    private func read(_ topic: String, with consumer: KafkaConsumer, timeoutSeconds: Double) async throws -> [Int32: [KafkaConsumerMessage]] {
        let count = try await consumer.partitionCount(topic: topic)
        let partitions = (0..<Int32(count)).map { KafkaTopicPartition(topic: topic, partition: $0) }
        let ends = try await consumer.watermarks(partitions)
        var records: [Int32: [KafkaConsumerMessage]] = [:]
        let unfinished = partitions.filter { ends[$0]!.high > ends[$0]!.low }
        guard !unfinished.isEmpty else { return records }
        try consumer.assign(unfinished.map { KafkaTopicPartitionOffset(topic: topic, partition: $0.partition, offset: KafkaOffset.beginning) })
        let deadline = ContinuousClock.now + .seconds(timeoutSeconds)
        while true {
            for message in try await consumer.poll(maxMessages: 2_000, timeoutMilliseconds: 100) {
                records[message.partition, default: []].append(message)
            }
            // The position passes transaction markers too, which records never show.
            let positions = try consumer.positions(unfinished)
            let done = unfinished.allSatisfy { partition in
                guard let position = positions[partition] ?? nil else { return false }
                return position >= ends[partition]!.high
            }
            if done { break }
            guard ContinuousClock.now < deadline else {
                throw KafkaError(kind: .client, code: .timedOut, reason: "reading \(topic) to its end took longer than \(timeoutSeconds) s")
            }
        }
        return records
    }
}

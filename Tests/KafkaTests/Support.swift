import EmbeddedKafka
import Foundation
import Kafka
import Logging
import Testing

/// A fresh embedded cluster with the given topics, shut down when `body` returns.
func withCluster<T>(brokers: Int = 3, topics: [KafkaTopicSpecification] = [],
                    _ body: (EmbeddedCluster) async throws -> T) async throws -> T {
    let cluster = try EmbeddedCluster(brokers: brokers, logger: testLogger)
    defer { cluster.shutdown() }
    try await cluster.createTopics(topics)
    return try await body(cluster)
}

let testLogger: Logger = {
    var logger = Logger(label: "kafka.tests")
    logger.logLevel = ProcessInfo.processInfo.environment["KETENHUB_TEST_LOG"].flatMap { Logger.Level(rawValue: $0) } ?? .critical
    return logger
}()

func uniqueName(_ prefix: String) -> String { "\(prefix)-\(UUID().uuidString.prefix(8))" }

func consumerConfiguration(_ cluster: EmbeddedCluster, group: String = uniqueName("group")) -> KafkaConsumerConfiguration {
    var configuration = KafkaConsumerConfiguration(bootstrapServers: cluster.bootstrapServers, groupID: group)
    configuration.sessionTimeoutMilliseconds = 6_000
    return configuration
}

func producerConfiguration(_ cluster: EmbeddedCluster) -> KafkaProducerConfiguration {
    KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers)
}

struct Timeout: Error, CustomStringConvertible {
    let what: String
    var description: String { "timed out: \(what)" }
}

/// Runs `body`, failing with `Timeout` if it takes longer than `seconds`.
func within<T: Sendable>(_ seconds: Double, _ what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            return nil
        }
        defer { group.cancelAll() }
        if let value = try await group.next() ?? nil { return value }
        throw Timeout(what: what)
    }
}

/// Reads until `count` records arrived (or `seconds` passed) and returns them in arrival order.
func collect(_ consumer: KafkaConsumer, count: Int, seconds: Double = 30) async throws -> [KafkaConsumerMessage] {
    try await within(seconds, "waiting for \(count) records") {
        var records: [KafkaConsumerMessage] = []
        for try await message in consumer.messages {
            records.append(message)
            if records.count == count { break }
        }
        return records
    }
}

/// Reads for `seconds` and returns whatever arrived: for asserting that nothing (more) does.
func drain(_ consumer: KafkaConsumer, seconds: Double) async throws -> [KafkaConsumerMessage] {
    let reader = Task {
        var records: [KafkaConsumerMessage] = []
        // The sequence ends when the task is cancelled.
        for try await message in consumer.messages { records.append(message) }
        return records
    }
    try await Task.sleep(for: .seconds(seconds))
    reader.cancel()
    return try await reader.value
}

import EmbeddedKafka
import Foundation
import Kafka
import Logging
import Metrics
import MetricsTestKit
import Synchronization
import KetenhubTestSupport
import Testing

/// Keeps every log record it is given.
private struct CapturingLogHandler: LogHandler {
    let records: Mutex<[(Logger.Level, String, Logger.Metadata)]>.Box
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
        records.value.withLock { $0.append((level, message.description, metadata ?? [:])) }
    }
}

extension Mutex {
    /// A reference to a mutex, for handlers that are copied around.
    final class Box: Sendable {
        let value: Mutex<Value>
        init(_ initial: sending Value) { value = Mutex(initial) }
    }
}

@Suite("librdkafka logs and statistics")
struct ObservabilityTests {
    @Test("librdkafka's log lines reach swift-log with their level and facility")
    func logs() async throws {
        let records = Mutex<[(Logger.Level, String, Logger.Metadata)]>.Box([])
        let logger = Logger(label: "kafka.capture") { _ in CapturingLogHandler(records: records) }
        try await withCluster(brokers: 1) { cluster in
            try cluster.setBrokerDown(1)
            var configuration = producerConfiguration(cluster)
            configuration.messageTimeoutMilliseconds = 1_000
            let producer = try KafkaProducer(configuration: configuration, logger: logger)
            _ = try? await producer.send(KafkaProducerMessage(topic: "nowhere", key: "k", value: "v"))
            await producer.shutdown()
        }
        let captured = records.value.withLock { $0 }
        let failures = captured.filter { $0.1.contains("Connect to") && $0.1.contains("failed") }
        #expect(!failures.isEmpty)
        #expect(failures.allSatisfy { $0.0 == .error })
        #expect(failures.allSatisfy { $0.2["rdkafka.facility"] != nil })
    }

    @Test("librdkafka's statistics reach swift-metrics as gauges per client")
    func statistics() async throws {
        let metrics = TestMetrics()
        MetricsSystem.bootstrap(metrics)
        let topic = KafkaTopicSpecification(name: "measured", partitions: 1)
        try await withCluster(topics: [topic]) { cluster in
            var configuration = producerConfiguration(cluster)
            configuration.client.clientID = "measured-producer"
            configuration.client.statisticsIntervalMilliseconds = 100
            let producer = try KafkaProducer(configuration: configuration, logger: testLogger)
            try await producer.sendAll((0..<25).map { KafkaProducerMessage(topic: topic.name, key: "k", value: "r\($0)") })
            try await Task.sleep(for: .milliseconds(400))
            await producer.shutdown()
        }
        let transmitted = try metrics.expectGauge("kafka_client_transmitted_messages", [("client", "measured-producer")])
        #expect(transmitted.lastValue == 25)
        let queued = try metrics.expectGauge("kafka_client_queued_messages", [("client", "measured-producer")])
        #expect(queued.lastValue == 0)
    }
}

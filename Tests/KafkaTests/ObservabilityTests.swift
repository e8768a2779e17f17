import EmbeddedKafka
import Foundation
import Kafka
import Logging
import Metrics
import MetricsTestKit
import KetenhubTestSupport
import Testing

@Suite("librdkafka logs and statistics")
struct ObservabilityTests {
    @Test("librdkafka's log lines reach swift-log with their level and facility")
    func logs() async throws {
        let records = CapturingLogHandler.Records()
        let logger = Logger(label: "kafka.capture") { _ in CapturingLogHandler(records: records) }
        try await withCluster(brokers: 1) { cluster in
            try cluster.setBrokerDown(1)
            var configuration = producerConfiguration(cluster)
            configuration.messageTimeoutMilliseconds = 1_000
            let producer = try KafkaProducer(configuration: configuration, logger: logger)
            _ = try? await producer.send(KafkaProducerMessage(topic: "nowhere", key: "k", value: "v"))
            await producer.shutdown()
        }
        let failures = records.all.filter { $0.message.contains("Connect to") && $0.message.contains("failed") }
        #expect(!failures.isEmpty)
        #expect(failures.allSatisfy { $0.level == .error })
        #expect(failures.allSatisfy { $0.metadata["rdkafka.facility"] != nil })
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

import EmbeddedKafka
import Foundation
import Kafka
import Metrics
import MetricsTestKit
import KetenhubTestSupport
import Testing

@Suite("librdkafka logs and statistics")
struct ObservabilityTests {
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

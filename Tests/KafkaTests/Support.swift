import EmbeddedKafka
import Foundation
import Kafka
import Logging
import Testing
import KetenhubTestSupport

/// A fresh embedded cluster with the given topics, shut down when `body` returns.
func withCluster<T>(brokers: Int = 3, topics: [KafkaTopicSpecification] = [],
                    _ body: (EmbeddedCluster) async throws -> T) async throws -> T {
    let cluster = try EmbeddedCluster(brokers: brokers, logger: testLogger)
    defer { cluster.shutdown() }
    try await cluster.createTopics(topics)
    return try await body(cluster)
}

func consumerConfiguration(_ cluster: EmbeddedCluster, group: String = uniqueName("group")) -> KafkaConsumerConfiguration {
    var configuration = KafkaConsumerConfiguration(bootstrapServers: cluster.bootstrapServers, groupID: group)
    configuration.sessionTimeoutMilliseconds = 6_000
    return configuration
}

func producerConfiguration(_ cluster: EmbeddedCluster) -> KafkaProducerConfiguration {
    KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers)
}


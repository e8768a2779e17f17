import ArgumentParser
import EmbeddedKafka
import Foundation
import Kafka
import Logging

/// `ketenhub demo`: the hub on the embedded cluster. For now the cluster with a demo topic and
/// one CloudEvents-style record sent and read back; the adapters, router and console join it as
/// they are built.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run Ketenhub on the embedded cluster until Ctrl-C."
    )

    @Option(help: "Number of brokers.")
    var brokers = 3

    func run() async throws {
        var logger = Logger(label: "ketenhub.demo")
        logger.logLevel = .warning
        let topic = KafkaTopicSpecification(name: "ketenhub.demo", partitions: 3)
        let session = EmbeddedClusterSession(brokers: brokers, topics: [topic], portFile: nil, logger: logger)
        try await session.run { cluster in
            printNow("Ketenhub \(Ketenhub.version) demo")
            printNow("embedded cluster (librdkafka mock, not for production): \(cluster.bootstrapServers)")
            let record = try await Self.roundTrip(cluster, topic: topic.name, logger: logger)
            printNow("sent and read back on \(topic.name)[\(record.partition)]@\(record.offset): key \(record.keyString ?? "-"), type \(record.header("ce_type")?.stringValue ?? "-")")
            printNow("try it:  echo 'zaak-2:hallo' | kcat -P -b \(cluster.bootstrapServers) -t \(topic.name) -K:")
            printNow("         kcat -C -b \(cluster.bootstrapServers) -t \(topic.name) -f '%k %s %h\\n'")
            printNow("Ctrl-C stops the demo.")
        }
    }

    private static func roundTrip(_ cluster: EmbeddedCluster, topic: String, logger: Logger) async throws -> KafkaConsumerMessage {
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers), logger: logger)
        try await producer.send(KafkaProducerMessage(
            topic: topic, key: "zaak-1", value: #"{"melding":"demo"}"#,
            headers: [KafkaHeader(key: "ce_specversion", string: "1.0"), KafkaHeader(key: "ce_type", string: "nl.ketenhub.demo"),
                      KafkaHeader(key: "ce_source", string: "ketenhub/demo"), KafkaHeader(key: "ce_id", string: UUID().uuidString)]))
        await producer.shutdown()
        let consumer = try KafkaConsumer(configuration: KafkaConsumerConfiguration(bootstrapServers: cluster.bootstrapServers, groupID: "ketenhub-demo"),
                                         logger: logger)
        try consumer.subscribe(topics: [topic])
        var received: KafkaConsumerMessage?
        for try await message in consumer.messages {
            received = message
            break
        }
        await consumer.close()
        guard let received else { throw ValidationError("the demo record did not come back") }
        return received
    }
}

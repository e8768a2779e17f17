import Foundation
import Metrics

/// Turns librdkafka's periodic statistics JSON into swift-metrics gauges, labelled by client.
/// Only the figures an operator acts on: queue depths, totals, consumer lag per partition.
final class StatisticsRecorder: Sendable {
    private let client: String
    private let queuedMessages: Gauge
    private let queuedBytes: Gauge
    private let transmittedMessages: Gauge
    private let receivedMessages: Gauge
    private let replyQueue: Gauge

    init(client: String) {
        self.client = client
        let dimensions = [("client", client)]
        queuedMessages = Gauge(label: "kafka_client_queued_messages", dimensions: dimensions)
        queuedBytes = Gauge(label: "kafka_client_queued_bytes", dimensions: dimensions)
        transmittedMessages = Gauge(label: "kafka_client_transmitted_messages", dimensions: dimensions)
        receivedMessages = Gauge(label: "kafka_client_received_messages", dimensions: dimensions)
        replyQueue = Gauge(label: "kafka_client_reply_queue", dimensions: dimensions)
    }

    func record(json: Data) {
        guard let stats = try? JSONSerialization.jsonObject(with: json) as? [String: Any] else { return }
        func number(_ object: [String: Any], _ key: String) -> Double? { (object[key] as? NSNumber)?.doubleValue }
        if let value = number(stats, "msg_cnt") { queuedMessages.record(value) }
        if let value = number(stats, "msg_size") { queuedBytes.record(value) }
        if let value = number(stats, "txmsgs") { transmittedMessages.record(value) }
        if let value = number(stats, "rxmsgs") { receivedMessages.record(value) }
        if let value = number(stats, "replyq") { replyQueue.record(value) }
        guard let topics = stats["topics"] as? [String: [String: Any]] else { return }
        for (topic, topicStats) in topics {
            guard let partitions = topicStats["partitions"] as? [String: [String: Any]] else { continue }
            for (partition, partitionStats) in partitions where partition != "-1" {
                guard let lag = number(partitionStats, "consumer_lag"), lag >= 0 else { continue }
                Gauge(label: "kafka_consumer_lag",
                      dimensions: [("client", client), ("topic", topic), ("partition", partition)]).record(lag)
            }
        }
    }
}

import CoreMetrics
import Prometheus

/// swift-metrics into a node's registry, with a help text for every metric (Prometheus's own lint,
/// `promtool check metrics`, wants one; swift-metrics has no place for it). The help of a label comes
/// from `helpTexts`, else it names where the metric comes from.
public struct HubMetricsFactory: MetricsFactory {
    let registry: PrometheusCollectorRegistry
    let helpTexts: [String: String]

    /// What the librdkafka statistics (the Kafka module's `StatisticsRecorder`) report.
    public static let librdkafkaStatistics = [
        "kafka_client_queued_messages": "Records in a client's local queue (librdkafka statistics msg_cnt).",
        "kafka_client_queued_bytes": "Bytes in a client's local queue (librdkafka statistics msg_size).",
        "kafka_client_transmitted_messages": "Records a client has sent to brokers (librdkafka statistics txmsgs).",
        "kafka_client_received_messages": "Records a client has received from brokers (librdkafka statistics rxmsgs).",
        "kafka_client_reply_queue": "Operations waiting in a client's reply queue (librdkafka statistics replyq).",
        "kafka_consumer_lag": "Records a consumer is behind on a partition (librdkafka statistics consumer_lag).",
    ]

    public init(registry: PrometheusCollectorRegistry, helpTexts: [String: String] = Self.librdkafkaStatistics) {
        self.registry = registry
        self.helpTexts = helpTexts
    }

    private func descriptor(_ label: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: label, unitName: "", helpText: helpTexts[label] ?? "\(label), reported through swift-metrics.")
    }

    public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    public func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        guard aggregate else { return registry.makeGauge(descriptor: descriptor(label), labels: dimensions) }
        return registry.makeValueHistogram(descriptor: descriptor(label), labels: dimensions,
                                           buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10])
    }

    public func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        registry.makeGauge(descriptor: descriptor(label), labels: dimensions)
    }

    public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        registry.makeDurationHistogram(descriptor: descriptor(label), labels: dimensions,
                                       buckets: [.milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5)])
    }

    public func destroyCounter(_ handler: any CounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    public func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    public func destroyRecorder(_ handler: any RecorderHandler) {
        if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
        if let histogram = handler as? Prometheus.ValueHistogram { registry.unregisterValueHistogram(histogram) }
    }

    public func destroyMeter(_ handler: any MeterHandler) {
        if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
    }

    public func destroyTimer(_ handler: any TimerHandler) {
        if let histogram = handler as? Prometheus.DurationHistogram { registry.unregisterDurationHistogram(histogram) }
    }
}

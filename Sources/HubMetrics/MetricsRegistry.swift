import Prometheus
import Synchronization

/// The hub's metrics for `/metrics`, kept in swift-prometheus's registry and exposed in its text
/// format. One registry per node, handed to the services that count (tests run several hubs in one
/// process); a command that runs a node also bootstraps swift-metrics with `metricsFactory`, so that
/// librdkafka's statistics (sent to swift-metrics) land in the same registry. Counters are counted
/// here; gauges and histograms that describe state (dead-letter depth, lag, the latencies the ledger
/// holds) are read again at every scrape. Thread-safe.
public final class MetricsRegistry: Sendable {
    public let prometheus = PrometheusCollectorRegistry()

    private struct Key: Hashable { var name: String; var labels: [String: String] }
    private struct State {
        /// The first help text of each name: swift-prometheus refuses a second, different one.
        var help: [String: String] = [:]
        var counted: [Key: Double] = [:]
        /// The series of the read-at-scrape metrics, replaced at every scrape.
        var gauges: [String: [Gauge]] = [:]
        var histograms: [String: [ValueHistogram]] = [:]
    }

    private struct Reader<Sample>: Sendable {
        var name: String
        var help: String
        var buckets: [Double] = []
        var read: @Sendable () async -> [Sample]
    }

    private let state = Mutex(State())
    private let gaugeReaders = Mutex([Reader<(labels: [String: String], value: Double)>]())
    private let histogramReaders = Mutex([Reader<(labels: [String: String], values: [Double])>]())

    public init() {}

    /// swift-metrics into this registry (`MetricsSystem.bootstrap`, once per process).
    public var metricsFactory: HubMetricsFactory { HubMetricsFactory(registry: prometheus) }

    public func increment(_ name: String, help: String, labels: [String: String] = [:], by amount: Double = 1) {
        let counter = state.withLock { state in
            state.counted[Key(name: name, labels: labels), default: 0] += amount
            return prometheus.makeCounter(descriptor: descriptor(name, help, in: &state), labels: Self.ordered(labels))
        }
        // Whole counts stay whole in the exposition ("3", not "3.0").
        if amount.rounded() == amount && abs(amount) < 1e15 { counter.increment(by: Int64(amount)) } else { counter.increment(by: amount) }
    }

    /// A gauge read at every scrape.
    public func gauge(_ name: String, help: String, _ read: @escaping @Sendable () async -> [(labels: [String: String], value: Double)]) {
        gaugeReaders.withLock { $0.append(Reader(name: name, help: help, read: read)) }
    }

    /// A histogram computed at every scrape from observations kept elsewhere (the ledger), so that it
    /// survives a restart and a rebuild.
    public func histogram(_ name: String, help: String, buckets: [Double],
                          _ read: @escaping @Sendable () async -> [(labels: [String: String], values: [Double])]) {
        histogramReaders.withLock { $0.append(Reader(name: name, help: help, buckets: buckets, read: read)) }
    }

    public func counterValue(_ name: String, labels: [String: String] = [:]) -> Double {
        state.withLock { $0.counted[Key(name: name, labels: labels)] ?? 0 }
    }

    /// Every metric in the Prometheus text exposition format (0.0.4): the read-at-scrape ones are
    /// read first (without holding a lock), then put into the registry in one step.
    public func render() async -> String {
        var gauges: [(Reader<(labels: [String: String], value: Double)>, [(labels: [String: String], value: Double)])] = []
        for reader in gaugeReaders.withLock({ $0 }) { gauges.append((reader, await reader.read())) }
        var histograms: [(Reader<(labels: [String: String], values: [Double])>, [(labels: [String: String], values: [Double])])] = []
        for reader in histogramReaders.withLock({ $0 }) { histograms.append((reader, await reader.read())) }
        state.withLock { state in
            for (reader, samples) in gauges {
                state.gauges[reader.name, default: []].forEach(prometheus.unregisterGauge)
                let descriptor = descriptor(reader.name, reader.help, in: &state)
                state.gauges[reader.name] = samples.map { sample in
                    let gauge = prometheus.makeGauge(descriptor: descriptor, labels: Self.ordered(sample.labels))
                    gauge.set(sample.value)
                    return gauge
                }
            }
            for (reader, samples) in histograms {
                state.histograms[reader.name, default: []].forEach(prometheus.unregisterValueHistogram)
                let descriptor = descriptor(reader.name, reader.help, in: &state)
                state.histograms[reader.name] = samples.map { sample in
                    let histogram = prometheus.makeValueHistogram(descriptor: descriptor, labels: Self.ordered(sample.labels), buckets: reader.buckets)
                    sample.values.forEach(histogram.record)
                    return histogram
                }
            }
        }
        return prometheus.emitToString()
    }

    private func descriptor(_ name: String, _ help: String, in state: inout State) -> MetricNameDescriptor {
        let help = state.help[name] ?? help
        state.help[name] = help
        return MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    /// Labels in name order, so that a series is always registered under the same key.
    private static func ordered(_ labels: [String: String]) -> [(String, String)] {
        labels.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }
}

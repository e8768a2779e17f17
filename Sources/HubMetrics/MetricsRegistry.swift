import Prometheus
import Synchronization

/// The hub's metrics for `/metrics`, kept in swift-prometheus's registry and exposed in its text
/// format. One registry per node, handed to the services that count (tests run several hubs in one
/// process); a command that runs a node also bootstraps swift-metrics with `metricsFactory`, so that
/// librdkafka's statistics (sent to swift-metrics) land in the same registry. Counters are counted
/// here; gauges and histograms that describe state (dead-letter depth, lag, the latencies the ledger
/// holds) are read again at every scrape. Thread-safe.
///
/// A histogram read at scrape comes counted (`HistogramCounts`: the ledger counts in SQL, not one
/// observation at a time), and swift-prometheus has no histogram whose counts can be set, so those
/// are written here, after swift-prometheus's own, in the same text format (promtool checks both).
public final class MetricsRegistry: Sendable {
    public let prometheus = PrometheusCollectorRegistry()

    private struct Key: Hashable { var name: String; var labels: [String: String] }
    private struct State {
        /// The first help text of each name: swift-prometheus refuses a second, different one.
        var help: [String: String] = [:]
        var counted: [Key: Double] = [:]
        /// The series of the read-at-scrape metrics, replaced at every scrape.
        var gauges: [String: [Gauge]] = [:]
    }

    private struct Reader<Sample>: Sendable {
        var name: String
        var help: String
        var buckets: [Double] = []
        var read: @Sendable () async -> [Sample]
    }

    private let state = Mutex(State())
    private let gaugeReaders = Mutex([Reader<(labels: [String: String], value: Double)>]())
    private let histogramReaders = Mutex([Reader<(labels: [String: String], counts: HistogramCounts)>]())

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

    /// A histogram counted elsewhere (the ledger) and read at every scrape, so that it survives a
    /// restart and a rebuild: `buckets` are the bounds, ascending, that each sample's counts are for.
    public func histogram(_ name: String, help: String, buckets: [Double],
                          _ read: @escaping @Sendable () async -> [(labels: [String: String], counts: HistogramCounts)]) {
        histogramReaders.withLock { $0.append(Reader(name: name, help: help, buckets: buckets, read: read)) }
    }

    public func counterValue(_ name: String, labels: [String: String] = [:]) -> Double {
        state.withLock { $0.counted[Key(name: name, labels: labels)] ?? 0 }
    }

    /// Every metric in the Prometheus text exposition format (0.0.4): the read-at-scrape ones are
    /// read first (without holding a lock), then put into the registry and written in one step.
    public func render() async -> String {
        var gauges: [(Reader<(labels: [String: String], value: Double)>, [(labels: [String: String], value: Double)])] = []
        for reader in gaugeReaders.withLock({ $0 }) { gauges.append((reader, await reader.read())) }
        var histograms: [(Reader<(labels: [String: String], counts: HistogramCounts)>, [(labels: [String: String], counts: HistogramCounts)])] = []
        for reader in histogramReaders.withLock({ $0 }) { histograms.append((reader, await reader.read())) }
        return state.withLock { state in
            for (reader, samples) in gauges {
                state.gauges[reader.name, default: []].forEach(prometheus.unregisterGauge)
                let descriptor = descriptor(reader.name, reader.help, in: &state)
                state.gauges[reader.name] = samples.map { sample in
                    let gauge = prometheus.makeGauge(descriptor: descriptor, labels: Self.ordered(sample.labels))
                    gauge.set(sample.value)
                    return gauge
                }
            }
            var text = prometheus.emitToString()
            for (reader, samples) in histograms where !samples.isEmpty {
                let help = descriptor(reader.name, reader.help, in: &state).helpText ?? ""
                text += Self.exposition(reader.name, help: help, buckets: reader.buckets, samples)
            }
            return text
        }
    }

    /// A counted histogram in the text format (0.0.4): HELP and TYPE once, then per sample a
    /// cumulative `_bucket` line per bound and `+Inf`, `_sum` and `_count`; labels in name order,
    /// `le` last, values escaped as the format asks.
    private static func exposition(_ name: String, help: String, buckets: [Double], _ samples: [(labels: [String: String], counts: HistogramCounts)]) -> String {
        var text = "# HELP \(name) \(escaped(help, quotes: false))\n"
        text += "# TYPE \(name) histogram\n"
        for (labels, counts) in samples {
            let own = ordered(labels).map { "\($0.0)=\"\(escaped($0.1, quotes: true))\"" }
            func series(_ suffix: String, le: String? = nil) -> String {
                let all = own + (le.map { ["le=\"\($0)\""] } ?? [])
                return name + suffix + (all.isEmpty ? "" : "{\(all.joined(separator: ","))}")
            }
            for (bound, count) in zip(buckets, counts.atOrBelow) { text += "\(series("_bucket", le: "\(bound)")) \(count)\n" }
            text += "\(series("_bucket", le: "+Inf")) \(counts.count)\n"
            text += "\(series("_sum")) \(counts.sum)\n"
            text += "\(series("_count")) \(counts.count)\n"
        }
        return text
    }

    /// A help text (backslash and line feed escaped) or a label value (double quote too).
    private static func escaped(_ text: String, quotes: Bool) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            case "\"" where quotes: escaped += "\\\""
            default: escaped.append(character)
            }
        }
        return escaped
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

/// One series of a histogram counted elsewhere: for each bucket bound, the observations at or below
/// it (cumulative, as the format has them); all observations and their sum.
public struct HistogramCounts: Sendable, Equatable {
    public var atOrBelow: [Int]
    public var count: Int
    public var sum: Double

    public init(atOrBelow: [Int], count: Int, sum: Double) {
        self.atOrBelow = atOrBelow
        self.count = count
        self.sum = sum
    }
}

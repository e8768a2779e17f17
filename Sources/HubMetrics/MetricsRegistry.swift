import Foundation
import Synchronization

/// The hub's own metrics, in the Prometheus text format (`/metrics`). An explicit registry handed to
/// the services that count (no process-wide bootstrap), so that tests run several hubs in one process.
/// Counters are kept here; gauges and histograms that describe state (dead-letter depth, lag, the
/// latencies the ledger holds) are read when scraped.
public final class MetricsRegistry: Sendable {
    private struct Key: Hashable { var name: String; var labels: [String: String] }
    private struct State {
        var help: [String: (type: String, text: String)] = [:]
        var counters: [Key: Double] = [:]
    }

    private let state = Mutex(State())
    private let gauges = Mutex([(name: String, help: String, read: @Sendable () async -> [(labels: [String: String], value: Double)])]())
    private let computedHistograms = Mutex([(name: String, help: String, buckets: [Double],
                                             read: @Sendable () async -> [(labels: [String: String], values: [Double])])]())

    public init() {}

    public func increment(_ name: String, help: String, labels: [String: String] = [:], by amount: Double = 1) {
        state.withLock { state in
            state.help[name] = state.help[name] ?? ("counter", help)
            state.counters[Key(name: name, labels: labels), default: 0] += amount
        }
    }

    /// A gauge read at every scrape.
    public func gauge(_ name: String, help: String, _ read: @escaping @Sendable () async -> [(labels: [String: String], value: Double)]) {
        gauges.withLock { $0.append((name, help, read)) }
    }

    /// A histogram computed at every scrape from observations kept elsewhere (the ledger), so that it
    /// survives a restart and a rebuild.
    public func histogram(_ name: String, help: String, buckets: [Double],
                          _ read: @escaping @Sendable () async -> [(labels: [String: String], values: [Double])]) {
        computedHistograms.withLock { $0.append((name, help, buckets, read)) }
    }

    public func counterValue(_ name: String, labels: [String: String] = [:]) -> Double {
        state.withLock { $0.counters[Key(name: name, labels: labels)] ?? 0 }
    }

    /// Every metric in the Prometheus text exposition format (0.0.4).
    public func render() async -> String {
        let snapshot = state.withLock { $0 }
        var out = ""
        for name in Set(snapshot.counters.keys.map(\.name)).sorted() {
            out += "# HELP \(name) \(snapshot.help[name]?.text ?? "")\n# TYPE \(name) counter\n"
            for (key, value) in snapshot.counters.filter({ $0.key.name == name }).sorted(by: { Self.labels($0.key.labels) < Self.labels($1.key.labels) }) {
                out += "\(name)\(Self.labels(key.labels)) \(Self.number(value))\n"
            }
        }
        for histogram in computedHistograms.withLock({ $0 }).sorted(by: { $0.name < $1.name }) {
            out += "# HELP \(histogram.name) \(histogram.help)\n# TYPE \(histogram.name) histogram\n"
            for sample in await histogram.read() {
                out += Self.histogramLines(histogram.name, sample.labels, buckets: histogram.buckets,
                                           counts: histogram.buckets.map { bound in sample.values.filter { $0 <= bound }.count },
                                           sum: sample.values.reduce(0, +), count: sample.values.count)
            }
        }
        for gauge in gauges.withLock({ $0 }).sorted(by: { $0.name < $1.name }) {
            out += "# HELP \(gauge.name) \(gauge.help)\n# TYPE \(gauge.name) gauge\n"
            for sample in await gauge.read() { out += "\(gauge.name)\(Self.labels(sample.labels)) \(Self.number(sample.value))\n" }
        }
        return out
    }

    /// One histogram's series: a cumulative bucket per upper bound, then +Inf, the sum and the count.
    private static func histogramLines(_ name: String, _ labels: [String: String], buckets: [Double], counts: [Int], sum: Double, count: Int) -> String {
        var out = ""
        for (bound, inBucket) in zip(buckets, counts) {
            out += "\(name)_bucket\(Self.labels(labels.merging(["le": number(bound)]) { $1 })) \(inBucket)\n"
        }
        out += "\(name)_bucket\(Self.labels(labels.merging(["le": "+Inf"]) { $1 })) \(count)\n"
        out += "\(name)_sum\(Self.labels(labels)) \(number(sum))\n"
        out += "\(name)_count\(Self.labels(labels)) \(count)\n"
        return out
    }

    private static func labels(_ labels: [String: String]) -> String {
        guard !labels.isEmpty else { return "" }
        let escaped = labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\($0.value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n"))\"" }
        return "{" + escaped.joined(separator: ",") + "}"
    }

    private static func number(_ value: Double) -> String {
        value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}

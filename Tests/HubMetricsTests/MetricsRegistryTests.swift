import Foundation
import HubMetrics
import KetenhubTestSupport
import Testing

@Suite("Metrics registry")
struct MetricsRegistryTests {
    @Test("the Prometheus text format through swift-prometheus: help and type once per metric, escaped label values, cumulative buckets; promtool accepts it")
    func exposition() async throws {
        let metrics = MetricsRegistry()
        metrics.increment("ketenhub_x_total", help: "X.", labels: ["organisation": "om"])
        metrics.increment("ketenhub_x_total", help: "X.", labels: ["organisation": "om"], by: 2)
        metrics.increment("ketenhub_x_total", help: "X.", labels: ["organisation": "a\"b\\c"])
        metrics.increment("ketenhub_x_total", help: "Another help text is not a second metric.", labels: ["organisation": "rvdk"])
        let depth = DepthBox(4)
        metrics.gauge("ketenhub_depth", help: "Depth.") { [([:], Double(depth.value))] }
        // Counted elsewhere (the ledger): 0.5 s, 2 s and 30 s.
        metrics.histogram("ketenhub_latency_seconds", help: "Latency.", buckets: [1, 10]) {
            [(["organisation": "om"], HistogramCounts(atOrBelow: [1, 2], count: 3, sum: 32.5)),
             (["organisation": "a\"b\\c"], HistogramCounts(atOrBelow: [0, 0], count: 0, sum: 0))]
        }
        metrics.histogram("ketenhub_quiet_seconds", help: "Nothing observed yet.", buckets: [1]) { [] }
        #expect(metrics.counterValue("ketenhub_x_total", labels: ["organisation": "om"]) == 3)
        let text = await metrics.render()
        let lines = Set(text.split(separator: "\n").map(String.init))
        for expected in [
            "# HELP ketenhub_x_total X.", "# TYPE ketenhub_x_total counter",
            #"ketenhub_x_total{organisation="om"} 3"#, #"ketenhub_x_total{organisation="a\"b\\c"} 1"#, #"ketenhub_x_total{organisation="rvdk"} 1"#,
            "# TYPE ketenhub_latency_seconds histogram",
            #"ketenhub_latency_seconds_bucket{organisation="om",le="1.0"} 1"#, #"ketenhub_latency_seconds_bucket{organisation="om",le="10.0"} 2"#,
            #"ketenhub_latency_seconds_bucket{organisation="om",le="+Inf"} 3"#,
            #"ketenhub_latency_seconds_sum{organisation="om"} 32.5"#, #"ketenhub_latency_seconds_count{organisation="om"} 3"#,
            #"ketenhub_latency_seconds_bucket{organisation="a\"b\\c",le="+Inf"} 0"#,
            "# TYPE ketenhub_depth gauge", "ketenhub_depth 4.0",
        ] {
            #expect(lines.contains(expected), "\(expected) in:\n\(text)")
        }
        #expect(text.components(separatedBy: "# TYPE ketenhub_x_total").count == 2, "one TYPE line per metric")
        #expect(!text.contains("ketenhub_quiet_seconds"), "a histogram with no series is not written")
        // A gauge read at scrape shows the value of that scrape, never a stale one beside it.
        depth.value = 7
        let again = await metrics.render()
        #expect(again.contains("ketenhub_depth 7.0") && !again.contains("ketenhub_depth 4.0"))
        #expect(again.components(separatedBy: #"ketenhub_latency_seconds_count{organisation="om"}"#).count == 2)
        try await checkWithPromtool(again)
    }
}

final class DepthBox: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Int
    init(_ value: Int) { stored = value }
    var value: Int {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}


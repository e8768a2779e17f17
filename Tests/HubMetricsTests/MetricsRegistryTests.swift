import HubMetrics
import Testing

@Suite("Metrics registry")
struct MetricsRegistryTests {
    @Test("the Prometheus text format: help and type once per metric, escaped label values, cumulative histogram buckets")
    func exposition() async {
        let metrics = MetricsRegistry()
        metrics.increment("ketenhub_x_total", help: "X.", labels: ["organisation": "om"])
        metrics.increment("ketenhub_x_total", help: "X.", labels: ["organisation": "om"], by: 2)
        metrics.increment("ketenhub_x_total", help: "X.", labels: ["organisation": "a\"b\\c"])
        metrics.gauge("ketenhub_depth", help: "Depth.") { [([:], 4)] }
        metrics.histogram("ketenhub_latency_seconds", help: "Latency.", buckets: [1, 10]) { [(["organisation": "om"], [0.5, 2, 30])] }
        #expect(metrics.counterValue("ketenhub_x_total", labels: ["organisation": "om"]) == 3)
        #expect(await metrics.render() == """
            # HELP ketenhub_x_total X.
            # TYPE ketenhub_x_total counter
            ketenhub_x_total{organisation="a\\"b\\\\c"} 1
            ketenhub_x_total{organisation="om"} 3
            # HELP ketenhub_latency_seconds Latency.
            # TYPE ketenhub_latency_seconds histogram
            ketenhub_latency_seconds_bucket{le="1",organisation="om"} 1
            ketenhub_latency_seconds_bucket{le="10",organisation="om"} 2
            ketenhub_latency_seconds_bucket{le="+Inf",organisation="om"} 3
            ketenhub_latency_seconds_sum{organisation="om"} 32.5
            ketenhub_latency_seconds_count{organisation="om"} 3
            # HELP ketenhub_depth Depth.
            # TYPE ketenhub_depth gauge
            ketenhub_depth 4

            """)
    }
}

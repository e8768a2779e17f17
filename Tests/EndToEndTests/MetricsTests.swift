import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import KetenhubDemo
import KetenhubTestSupport
import Testing

/// `/metrics` of a running hub, scraped before the simulated partners send and after every delivery is acknowledged.
@Suite("Hub metrics", .serialized)
struct MetricsTests {
    static func scrape(_ address: URL) async throws -> String {
        let (data, response) = try await httpData(for: URLRequest(url: address.appendingPathComponent("metrics")))
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        return String(decoding: data, as: UTF8.self)
    }

    /// The sum of a metric's samples whose labels contain all of `matching`.
    static func sum(_ text: String, _ name: String, _ matching: [String] = []) -> Double {
        text.split(separator: "\n").filter { line in
            !line.hasPrefix("#") && (line.hasPrefix(name + "{") || line.hasPrefix(name + " ")) && matching.allSatisfy { line.contains($0) }
        }.compactMap { Double($0.split(separator: " ").last ?? "") }.reduce(0, +)
    }

    @Test("the counters move: accepted, rejected, routed, decisions, deliveries and acknowledgements by organisation; dead letters; lag; latency")
    func countersMove() async throws {
        var settings = DemoTests.settings(cases: 3, seed: 4)
        settings.brokenEvery = 8
        let before = Scraped()
        let finished = try await DemoHub(settings: settings, logger: testLogger).run(exitWhenDone: true, running: { address, _, _ in
            await before.set((try? await Self.scrape(address)) ?? "")
        }, inspect: { hub in
            let text = try await Self.scrape(hub.httpAddress)
            await before.setAfter(text)
        })
        let report = try #require(finished)
        let (start, end) = await (before.text, before.after)
        #expect(Self.sum(start, "ketenhub_events_accepted_total") == 0)
        #expect(Self.sum(end, "ketenhub_events_accepted_total") == Double(report.acceptedEvents))
        // By sending organisation: the police unit of each case's region.
        let units = Set(report.sentFacts.map(\.organisation).filter { $0.hasPrefix("politie-") })
        #expect(!units.isEmpty && units.allSatisfy { Self.sum(end, "ketenhub_events_accepted_total", ["organisation=\"\($0)\""]) > 0 })
        #expect(Self.sum(end, "ketenhub_messages_rejected_total") == Double(report.rejectedMessages))
        #expect(Self.sum(end, "ketenhub_events_routed_total") == Double(report.acceptedEvents))
        #expect(Self.sum(end, "ketenhub_decisions_total", ["outcome=\"permit\""]) == Double(report.permits))
        #expect(Self.sum(end, "ketenhub_decisions_total", ["outcome=\"deny\""]) == Double(report.denies))
        let delivered = report.deliveries.values.map(\.count).reduce(0, +)
        #expect(Self.sum(end, "ketenhub_deliveries_total", ["outcome=\"delivered\""]) == Double(delivered))
        for (organisation, count) in report.acks {
            #expect(Self.sum(end, "ketenhub_acknowledgements_total", ["organisation=\"\(organisation)\""]) == Double(count), "\(organisation)")
        }
        #expect(Self.sum(end, "ketenhub_dead_letters") == Double(report.deadLetters))
        #expect(end.contains("ketenhub_consumer_lag{group=\"ketenhub-router\"}"))
        #expect(end.contains("# TYPE ketenhub_acknowledgement_latency_seconds histogram"))
        #expect(Self.sum(end, "ketenhub_acknowledgement_latency_seconds_count") > 0)
        try await checkWithPromtool(start)
        try await checkWithPromtool(end)
    }
}

actor Scraped {
    var text = ""
    var after = ""
    func set(_ value: String) { text = value }
    func setAfter(_ value: String) { after = value }
}

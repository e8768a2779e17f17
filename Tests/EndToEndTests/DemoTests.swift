import CanonicalEvents
import Foundation
import KetenhubDemo
import KetenhubTestSupport
import PartnerAdapters
import PartnerSimulation
import SharingPolicy
import Testing

/// The whole hub with simulated partners, in-process: what each back-office received is compared
/// with what the sharing matrix permits for the generated cases, computed here with the policy
/// module on its own.
@Suite("The whole hub, end to end", .serialized)
struct DemoTests {
    static func settings(cases: Int, seed: UInt64) -> DemoHub.Settings {
        var settings = DemoHub.Settings()
        settings.cases = cases
        settings.seed = seed
        settings.httpPort = 0
        settings.matrixDirectory = packageRoot.appendingPathComponent("Contracts/matrix")
        settings.formatsDirectory = packageRoot.appendingPathComponent("Contracts/partners")
        settings.clocksFile = packageRoot.appendingPathComponent("Contracts/sla/clocks.yaml")
        settings.consoleDirectory = packageRoot.appendingPathComponent("Console")
        return settings
    }

    /// The deliveries the matrix permits for the cases, by organisation, in the order the cases' facts
    /// are sent: each fact as the hub sees it (rendered natively by its partner, translated back),
    /// routed in order with the policy module alone.
    static func expectedDeliveries(_ settings: DemoHub.Settings) throws -> [String: [(deliveryId: String, eventId: String, caseId: String)]] {
        let matrix = try MatrixLoader.loadValid(directory: settings.matrixDirectory)
        let formats = try PartnerFormats.load(directory: settings.formatsDirectory)
        let evaluator = PolicyEvaluator(matrix: matrix)
        var state = RoutingState()
        var expected: [String: [(String, String, String)]] = [:]
        let facts = CaseTimelines(seed: settings.seed, registry: matrix.organisations).facts(cases: settings.cases)
        for (fact, native) in try PartnerSimulator.messages(facts, formats: formats) {
            // As the partners send them (most without the chain case id), resolved as the hub resolves their references.
            let translator = PartnerTranslator(format: formats.format(for: fact.organisation)!)
            let cases = fact.event.partnerref.map { [$0: fact.event.ketencaseid] } ?? [:]
            for event in try translator.translate(Array(native.utf8), from: fact.organisation, cases: cases) {
                guard let step = state.route(event, with: evaluator) else { continue }
                for (recipient, delivery) in step.deliveries {
                    expected[recipient, default: []].append((delivery.decisionid!, delivery.id, delivery.ketencaseid))  // a release delivers an earlier event
                }
            }
        }
        return expected
    }

    /// For a failure: each delivery offered twice, with what the worker recorded of it (a status per
    /// time it delivered it; the attempts of each).
    static func describe(_ duplicates: [(organisation: String, deliveryId: String)], _ report: DemoHub.Report) -> String {
        duplicates.map { organisation, deliveryId in
            let statuses = report.deliveryStatuses.filter { $0.organisation == organisation && $0.deliveryId == deliveryId }
            return "\(organisation) \(deliveryId): \(statuses.count) statuses, attempts \(statuses.map(\.attempts)), at \(statuses.map(\.at))"
        }.joined(separator: "; ")
    }

    @Test("50 cases, seed 7: each back-office received exactly what the matrix permits, once, acknowledged, and nothing else")
    func fiftyCases() async throws {
        let settings = Self.settings(cases: 50, seed: 7)
        let expected = try Self.expectedDeliveries(settings)
        let report = try #require(try await DemoHub(settings: settings, logger: testLogger).run(exitWhenDone: true))

        #expect(expected.values.map(\.count).reduce(0, +) > 500, "the cases must exercise the matrix")
        #expect(Set(report.deliveries.keys) == Set(expected.keys))
        for (organisation, deliveries) in expected {
            let received = report.deliveries[organisation] ?? []
            #expect(received.count == deliveries.count, "\(organisation)")
            #expect(Set(received.map(\.deliveryId)) == Set(deliveries.map(\.deliveryId)), "\(organisation)")
            #expect(Set(received.map(\.eventId)) == Set(deliveries.map(\.eventId)), "\(organisation)")
            #expect(report.acks[organisation] == deliveries.count, "\(organisation)")
        }
        #expect(report.duplicateDeliveries == 0, "\(Self.describe(report.duplicates, report))")
        #expect(report.unexpectedCases == 0, "every message filed under the case its partner meant")
        #expect(report.permits == expected.values.map(\.count).reduce(0, +))
        let simulated = CaseTimelines(seed: 7, registry: try MatrixLoader.loadValid(directory: settings.matrixDirectory).organisations).facts(cases: 50)
        let facts = simulated.count
        #expect(report.acceptedEvents == facts)
        // Several regions of each regional type send and receive.
        for prefix in ["politie-", "om-", "vt-", "rvdk-"] {
            #expect(Set(simulated.map(\.organisation).filter { $0.hasPrefix(prefix) }).count >= 2, "\(prefix) senders")
            #expect(report.deliveries.keys.filter { $0.hasPrefix(prefix) && !(report.deliveries[$0] ?? []).isEmpty }.count >= 2, "\(prefix) recipients")
        }
        #expect(report.rejectedMessages == facts / settings.brokenEvery)
        #expect(report.deadLetters == report.rejectedMessages)
        #expect(report.sentMessages == facts + report.rejectedMessages)
    }

    @Test("a partner endpoint that answers 503 for a while gets every delivery once, in order per case")
    func outage() async throws {
        var settings = Self.settings(cases: 6, seed: 11)
        settings.brokenEvery = 0
        // The police unit that receives most of these cases' deliveries is down for a while.
        let all = try Self.expectedDeliveries(settings)
        let unit = try #require(all.filter { $0.key.hasPrefix("politie-") }.max { ($0.value.count, $1.key) < ($1.value.count, $0.key) }?.key)
        settings.outage = (unit, .seconds(4))
        let expected = all[unit] ?? []
        #expect(!expected.isEmpty)
        let report = try #require(try await DemoHub(settings: settings, logger: testLogger).run(exitWhenDone: true))

        #expect((report.unavailableAnswers[unit] ?? 0) >= 2, "the outage must have turned deliveries away")
        let statuses = report.deliveryStatuses.filter { $0.organisation == unit }
        #expect(statuses.count == expected.count)
        #expect(statuses.allSatisfy { $0.outcome == .delivered })
        #expect(statuses.contains { $0.attempts > 1 }, "some deliveries took several attempts")
        let contracts = try RecordContracts.load()
        for status in report.deliveryStatuses {
            #expect(contracts.validate(try JSONValue(encoding: status), against: "delivery-status.schema.json") == [])
        }
        let received = report.deliveries[unit] ?? []
        #expect(received.count == expected.count)
        #expect(report.duplicateDeliveries == 0, "\(Self.describe(report.duplicates, report))")
        #expect(report.acks[unit] == expected.count)
        // In order per case: the events of each case arrive in the order they were routed.
        for caseId in Set(expected.map(\.caseId)) {
            #expect(received.filter { $0.ketencaseid == caseId }.map(\.eventId) == expected.filter { $0.caseId == caseId }.map(\.eventId), "\(caseId)")
        }
    }
}

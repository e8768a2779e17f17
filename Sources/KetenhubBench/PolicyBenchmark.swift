import CanonicalEvents
import Foundation
import SharingPolicy

/// Decision time of the policy evaluator on a generated matrix of `rules` rules (over every event
/// type and recipient, a third of them conditional), for the events of synthetic cases.
///
/// The same events are decided in `rounds` passes and their median is reported: one pass takes
/// about a quarter of a second, and on a shared machine a single one ranged from 2,200 to 3,800 ns
/// per decision from run to run. The evaluator keeps nothing between calls, so a later pass does
/// the same work as the first.
public struct PolicyBenchmark: Sendable {
    public struct Result: Sendable, Codable {
        /// The median over the rounds.
        public var policy_ns_per_decision: Double
        public var policy_ns_per_decision_by_round: [Double]
        public var rules: Int
        /// Decisions per round.
        public var decisions: Int
    }

    public var rules = 1_000
    public var events = 20_000
    public var rounds = 5
    public var base: SharingMatrix

    public init(base: SharingMatrix) { self.base = base }

    public func generatedMatrix() -> SharingMatrix {
        let catalogue = ContractCatalogue.embedded
        let eventNames = catalogue.eventNames
        let recipients = base.organisations.types.map(\.type)
        var generated: [SharingRule] = []
        for index in 0..<rules {
            let event = eventNames[index % eventNames.count]
            let fields = (catalogue.schemas.documents["\(event).schema.json"]?["$defs"]?["data"]?["properties"]?.objectValue ?? [:])
                .keys.sorted().prefix(1 + index % 6).map { "/data/\($0)" }
            var conditions = RuleConditions()
            switch index % 6 {
            case 0: conditions.consent = .victimInformed
            case 1: conditions.caseAttributes["suspectMinor"] = index % 12 == 1
            default: break
            }
            generated.append(SharingRule(
                id: String(format: "GEN-%04d", index), events: [event], producers: index % 2 == 0 ? [] : ["politie", "om", "vt", "3ro", "rvdk", "shn"],
                recipient: recipients[(index / eventNames.count) % recipients.count], purpose: "bescherming-slachtoffer", legalBasis: "wjsg-veilig-thuis",
                disclosure: Disclosure.allCases[index % 3], fields: fields, conditions: conditions,
                validFrom: index % 5 == 0 ? "2026-01-01" : nil, validUntil: nil, justification: nil, region: nil,
                location: SourceLocation(file: "generated", line: index)))
        }
        var matrix = SharingMatrix(version: "bench-\(rules)", organisations: base.organisations, legalBases: base.legalBases,
                                   baseline: generated, regional: [:], notShared: [:])
        matrix.victimAddress = base.victimAddress  // cases find their Veilig Thuis as they do under the shipped matrix
        return matrix
    }

    public func run() -> Result {
        let evaluator = PolicyEvaluator(matrix: generatedMatrix())
        let cases = SyntheticCases()
        var stream: [CloudEvent] = []
        var number = 0
        while stream.count < events {
            number += 1
            stream += cases.events(case: number)
        }
        // Case and consent state as the router would have it, built once: the benchmark times decisions only.
        var state = RoutingState()
        var contexts: [(CloudEvent, CaseState)] = []
        for event in stream {
            var caseState = state.cases[event.ketencaseid] ?? CaseState(caseId: event.ketencaseid)
            caseState.absorb(event, matrix: evaluator.matrix)
            if let consent = ConsentRecord(event) { state.consent.record(consent) }
            state.cases[event.ketencaseid] = caseState
            contexts.append((event, caseState))
        }
        var decisions = 0
        var byRound: [Double] = []
        for _ in 0..<max(1, rounds) {
            decisions = 0
            let start = ContinuousClock.now
            for (event, caseState) in contexts {
                decisions += evaluator.evaluate(event, case: caseState, consent: state.consent).count
            }
            let elapsed = ContinuousClock.now - start
            byRound.append((elapsed.seconds * 1e9 / Double(decisions)).rounded())
        }
        return Result(policy_ns_per_decision: median(byRound), policy_ns_per_decision_by_round: byRound,
                      rules: rules, decisions: decisions)
    }
}

/// The median of the rounds' figures (of an even number, the mean of the middle two): what every
/// benchmark reports over its rounds.
func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

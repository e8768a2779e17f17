import CanonicalEvents
import SharingPolicy
import Testing

/// Of several rules that permit one event to one recipient, the decision names the one disclosing
/// most, of equals the first by id, and marks every other as outranked: chosen while the candidates
/// are read (in id order), so a wider rule later in the order must still win and an equal one must not.
@Suite("Best permitting rule")
struct BestRuleTests {
    typealias F = Fixtures

    static func rule(_ id: String, _ disclosure: Disclosure) -> SharingRule {
        SharingRule(id: id, events: ["gedragsaanwijzing"], producers: [], recipient: "shn", purpose: "bescherming-slachtoffer",
                    legalBasis: F.matrix.legalBases.keys.sorted().first!, disclosure: disclosure, fields: ["/data/orderId"],
                    conditions: RuleConditions(), validFrom: nil, validUntil: nil, justification: nil, region: nil,
                    location: SourceLocation(file: "test", line: 1))
    }

    /// SHN's decision on a gedragsaanwijzing under a matrix of just these rules.
    static func decision(_ rules: [SharingRule]) throws -> Decision {
        let base = F.matrix
        let matrix = SharingMatrix(version: "best-rule", organisations: base.organisations, legalBases: base.legalBases,
                                   baseline: rules, regional: [:], notShared: [:])
        let event = F.event("gedragsaanwijzing/valid/opgelegd", case: "KZ-2026-BST001", id: "ga-best-1")
        let decisions = PolicyEvaluator(matrix: matrix).evaluate(event, case: CaseState(caseId: event.ketencaseid), consent: ConsentState())
        return try #require(decisions.first { $0.recipient == "shn" })
    }

    @Test("the widest disclosure wins wherever it comes in id order; of equals, the lower id; the others are outranked by it",
          arguments: [
              ([("R-1", Disclosure.dat), ("R-2", .inhoud), ("R-3", .inhoud), ("R-4", .voorwaarden)], "R-2"),
              ([("R-1", Disclosure.inhoud), ("R-2", .voorwaarden), ("R-3", .inhoud)], "R-1"),
              ([("R-1", Disclosure.dat), ("R-2", .dat), ("R-3", .voorwaarden)], "R-3"),
              ([("R-1", Disclosure.voorwaarden)], "R-1"),
          ])
    func best(_ rules: [(String, Disclosure)], _ chosen: String) throws {
        let decision = try Self.decision(rules.map { Self.rule($0.0, $0.1) })
        #expect(decision.outcome == .permit)
        #expect(decision.ruleId == chosen)
        #expect(decision.disclosure == rules.first { $0.0 == chosen }?.1)
        #expect(decision.considered.map(\.ruleId) == rules.map(\.0))
        for considered in decision.considered {
            if considered.ruleId == chosen {
                #expect(considered.applied && considered.reason == nil)
            } else {
                #expect(!considered.applied && considered.reason == "rule \(chosen) discloses more")
            }
        }
    }
}

import CanonicalEvents
import Foundation
import KetenhubTestSupport
import SharingPolicy
import Testing

@Suite("Matrix diff and replay")
struct DiffReplayTests {
    /// The shipped matrix with GA-SHN opened up (no consent condition, another purpose) and a field dropped.
    static func proposed() throws -> SharingMatrix {
        var matrix = Fixtures.matrix
        let index = try #require(matrix.baseline.firstIndex { $0.id == "GA-SHN" })
        matrix.baseline[index].conditions = RuleConditions()
        matrix.baseline[index].purpose = "bescherming-slachtoffer"
        matrix.baseline[index].fields.removeAll { $0 == "/data/endedOn" }
        matrix.baseline.removeAll { $0.id == "MLD-VT" }
        matrix.version = "proposed"
        return matrix
    }

    @Test("diff lists per event type and recipient exactly what changes")
    func diff() throws {
        let changes = MatrixDiff.compare(Fixtures.matrix, try Self.proposed())
        #expect(changes.map(\.description) == [
            "gedragsaanwijzing → shn [national]: GA-SHN: purpose informeren-slachtoffer → bescherming-slachtoffer; fields -/data/endedOn; conditions 'consent victim-informed' → ''",
            "melding → vt [national]: MLD-VT: removed (was dat on wpg-veilig-thuis for veiligheidsbeoordeling, 4 fields)",
        ])
        #expect(MatrixDiff.compare(Fixtures.matrix, Fixtures.matrix) == [])
    }

    @Test("replay lists every recorded decision the proposed matrix would change, and only those")
    func replay() throws {
        let events = [Fixtures.event("vt-melding/valid/melding-met-kind", case: "KZ-2026-RPL001"),
                      Fixtures.event("melding/valid/aangifte-belaging", case: "KZ-2026-RPL001"),
                      Fixtures.event("gedragsaanwijzing/valid/opgelegd", case: "KZ-2026-RPL001"),
                      Fixtures.event("vonnis/valid/vrijspraak", case: "KZ-2026-RPL001")]
        let timeline = Timeline()
        var recorded: [String: [String: DecisionReplay.Outcome]] = [:]
        for event in events {
            let step = try #require(timeline.route(event))
            for decision in step.decisions { recorded[CaseState.routingKey(of: event), default: [:]][decision.recipient] = .init(decision) }
        }
        #expect(DecisionReplay.replay(events, recorded: recorded, with: Fixtures.evaluator) == [])

        let changes = DecisionReplay.replay(events, recorded: recorded, with: PolicyEvaluator(matrix: try Self.proposed()))
        #expect(changes.map { "\($0.eventID) \($0.recipient)" } == ["pol-mld-2026-0101 vt-amsterdam-amstelland", "om-ga-2026-0311-v1 shn"])
        #expect(changes[0].recorded?.ruleID == "MLD-VT")
        #expect(changes[0].proposed?.outcome == .deny)
        #expect(changes[1].recorded?.outcome == .deny)
        #expect(changes[1].proposed == DecisionReplay.Outcome(outcome: .permit, ruleID: "GA-SHN", disclosure: .voorwaarden,
                                                              fields: ["/data/orderId", "/data/action", "/data/protectedPersons",
                                                                       "/data/conditions[type=contactverbod|locatieverbod|gebiedsverbod|enkelband]",
                                                                       "/data/startDate", "/data/endDate", "/data/contactPerson"]))
    }
}

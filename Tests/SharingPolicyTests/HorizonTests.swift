import CanonicalEvents
import Foundation
import KetenhubTestSupport
import SharingPolicy
import Testing

/// The routing state's memory of routed events, under a deduplication horizon.
@Suite("Deduplication horizon")
struct HorizonTests {
    static let matrix = try! MatrixLoader.loadValid(directory: packageRoot.appendingPathComponent("Contracts/matrix"))

    @Test("a case remembers the events of the horizon, not its whole history: 2,000 events over 2,000 days leave at most twice the horizon's")
    func memoryStaysFlat() throws {
        let example = try #require(contractExamples("valid").first { $0.event == "gedragsaanwijzing" })
        let template = try CloudEvent(structured: JSONValue.parse(Data(contentsOf: example.url)))
        let evaluator = PolicyEvaluator(matrix: Self.matrix)
        var state = RoutingState()
        let start = try #require(HubTime.day("2020-01-01"))
        var largest = 0
        for number in 0..<2_000 {
            var event = template
            event.id = "ga-\(number)"
            let day = String(HubTime.text(start.addingTimeInterval(Double(number) * 86_400)).prefix(10))
            event.time = day + "T10:00:00Z"
            // A 30-day horizon that moves with the newest event, as a router's does.
            state.forgetBefore = String(HubTime.text(start.addingTimeInterval(Double(number - 30) * 86_400)).prefix(10))
            #expect(state.decide(event, with: evaluator) != nil)
            largest = max(largest, state.cases[event.ketencaseid]!.routed.count)
            // Within the horizon, the same event again is routed once.
            #expect(state.decide(event, with: evaluator) == nil)
        }
        #expect(largest <= 128, "a case remembered \(largest) events of a 31-day horizon")
        let remembered = state.cases[template.ketencaseid]!.routed.values
        #expect(remembered.allSatisfy { $0 >= "2025-03-25" }, "only recent days are remembered")
        // Without a horizon (the simulator, a replay) nothing is forgotten.
        var everything = RoutingState()
        for number in 0..<200 {
            var event = template
            event.id = "ga-\(number)"
            event.time = String(HubTime.text(start.addingTimeInterval(Double(number) * 86_400)).prefix(10)) + "T10:00:00Z"
            _ = everything.decide(event, with: evaluator)
        }
        #expect(everything.cases[template.ketencaseid]!.routed.count == 200)
    }
}

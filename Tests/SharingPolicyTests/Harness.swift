import CanonicalEvents
import Foundation
import KetenhubTestSupport
import SharingPolicy

/// The shipped matrix, and events made from the contract examples.
enum Fixtures {
    static let matrixDirectory = packageRoot.appendingPathComponent("Contracts/matrix")
    static let matrix: SharingMatrix = try! MatrixLoader.loadValid(directory: matrixDirectory)
    static let evaluator = PolicyEvaluator(matrix: matrix)

    static let victim = "psn:" + String(repeating: "a", count: 32)
    static let suspect = "psn:" + String(repeating: "b", count: 32)

    /// An example event moved into `caseId`, with its data edited.
    static func event(_ example: String, case caseId: String, id: String? = nil, time: String? = nil,
                      edit: (inout [String: JSONValue]) -> Void = { _ in }) -> CloudEvent {
        let url = packageRoot.appendingPathComponent("Contracts/examples/\(example).json")
        var event = try! CloudEvent(structured: JSONValue.parse(Data(contentsOf: url)))
        event.ketencaseid = caseId
        if let id { event.id = id }
        if let time { event.time = time }
        var data = event.data.objectValue!
        edit(&data)
        event.data = .object(data)
        precondition(ContractCatalogue.embedded.validate(event: event.structured).isEmpty, "fixture \(example) no longer meets its contract")
        return event
    }
}

/// Feeds a case's events through the routing step, as the router does.
final class Timeline {
    var state = RoutingState()
    let evaluator: PolicyEvaluator

    init(evaluator: PolicyEvaluator = Fixtures.evaluator) {
        self.evaluator = evaluator
    }

    func route(_ event: CloudEvent) -> RoutingStep? { state.route(event, with: evaluator) }
}

extension RoutingStep {
    var recipients: Set<String> { Set(deliveries.map(\.recipient)) }

    /// The recipients whose delivery of this event waits for a fact of the case.
    var held: Set<String> { Set(decisions.filter { $0.outcome == .hold }.map(\.recipient)) }

    /// The data fields a recipient received, by name.
    func fields(of recipient: String) -> Set<String> {
        Set(deliveries.first { $0.recipient == recipient }?.event.data.objectValue?.keys.map { $0 } ?? [])
    }

    func decision(for recipient: String) -> Decision? { decisions.first { $0.recipient == recipient } }
}

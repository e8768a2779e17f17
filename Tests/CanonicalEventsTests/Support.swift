import CanonicalEvents
import Foundation
import KetenhubTestSupport

enum Contracts {
    static let root = packageRoot.appendingPathComponent("Contracts")
    static let events = root.appendingPathComponent("events")
    static let examples = root.appendingPathComponent("examples")

    /// Every example file of one kind (`valid` or `invalid`), as "event/kind/name.json" paths relative to examples/.
    static func examples(_ kind: String) -> [String] {
        contractExamples(kind).map(\.relativePath)
    }

    static func json(_ relativePath: String) throws -> JSONValue {
        try JSONValue.parse(Data(contentsOf: examples.appendingPathComponent(relativePath)))
    }

    /// The JSON Pointer and reason an invalid example's .error file states.
    static func expectedProblem(_ relativePath: String) throws -> ValidationProblem {
        let errorFile = examples.appendingPathComponent(String(relativePath.dropLast(".json".count)) + ".error")
        let lines = try String(contentsOf: errorFile, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        return ValidationProblem(pointer: JSONPointer(String(lines[0])), reason: String(lines[1]))
    }
}

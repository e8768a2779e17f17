import CanonicalEvents
import Foundation

enum Contracts {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Contracts")
    static let events = root.appendingPathComponent("events")
    static let examples = root.appendingPathComponent("examples")

    /// Every example file of one kind (`valid` or `invalid`), as "event/kind/name.json" paths relative to examples/.
    static func examples(_ kind: String) -> [String] {
        let eventNames = (try? FileManager.default.contentsOfDirectory(atPath: examples.path)) ?? []
        return eventNames.sorted().flatMap { event in
            let folder = examples.appendingPathComponent(event).appendingPathComponent(kind)
            let files = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
            return files.filter { $0.hasSuffix(".json") }.sorted().map { "\(event)/\(kind)/\($0)" }
        }
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

/// One thing wrong with a document: where (a JSON Pointer into it) and why, in plain words.
public struct ValidationProblem: Sendable, Hashable, CustomStringConvertible {
    public var pointer: JSONPointer
    public var reason: String

    public init(pointer: JSONPointer, reason: String) {
        self.pointer = pointer
        self.reason = reason
    }

    public var description: String { "\(pointer.description.isEmpty ? "\"\"" : pointer.description): \(reason)" }
}

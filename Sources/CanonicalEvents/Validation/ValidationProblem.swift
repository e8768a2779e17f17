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

extension ValidationProblem {
    /// The most scalars of a name from the checked document (a member name nobody expected) that a
    /// problem repeats: a reason is read by operators and goes into logs and dead letters, so it
    /// stays short and printable whatever a partner sent.
    public static let maximumQuotedName = 64

    /// A name from the document as a problem may repeat it: control characters escaped, and cut
    /// after `maximumQuotedName` scalars. Values are never repeated (they may be personal data);
    /// names of members are structure.
    public static func quotedName(_ name: String) -> String {
        var quoted = ""
        for (count, scalar) in name.unicodeScalars.enumerated() {
            if count == maximumQuotedName { quoted += "…"; break }
            if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar == "\u{2028}" || scalar == "\u{2029}" {
                quoted += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                quoted.unicodeScalars.append(scalar)
            }
        }
        return quoted
    }
}

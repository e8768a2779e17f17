import Foundation

/// One thing wrong with a partner's message: where in the native message, and why, in plain words.
/// A receipt lists every problem; the dead-letter record keeps them with the original bytes.
public struct AdapterProblem: Sendable, Hashable, Codable, CustomStringConvertible {
    public var location: String
    public var reason: String

    public init(location: String, reason: String) {
        self.location = location
        self.reason = reason
    }

    public var description: String { location.isEmpty ? reason : "\(location): \(reason)" }
}

/// A message refused as a whole (too large, not UTF-8, not well-formed, hostile): no part of it is used.
public struct AdapterRefusal: Error, Sendable, CustomStringConvertible {
    public var problems: [AdapterProblem]

    public init(_ problems: [AdapterProblem]) { self.problems = problems }
    public init(location: String = "", _ reason: String) { problems = [AdapterProblem(location: location, reason: reason)] }

    public var description: String { problems.map(\.description).joined(separator: "; ") }
}

/// The checks every message passes before any parser sees it.
enum InputGuard {
    /// Refuses a message over the partner's limit, judged on its length alone.
    static func checkSize(_ bytes: [UInt8], limit: Int, partner: String) throws {
        if bytes.count > limit {
            throw AdapterRefusal("the message is \(bytes.count) bytes; messages from \(partner) may be at most \(limit) bytes")
        }
        if bytes.isEmpty { throw AdapterRefusal("the message is empty") }
    }

    /// The text of a message that must be UTF-8, or where it stops being UTF-8.
    static func utf8Text(_ bytes: [UInt8]) throws -> String {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var offset = 0
        var line = 1
        loop: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar):
                // Control characters are not text: XML does not allow them, a partner's system would
                // pass them on to others, and NUL bytes are what UTF-16 without a byte-order mark
                // looks like, which a parser could read past the checks made on this text.
                if scalar.value < 0x20 && scalar != "\t" && scalar != "\n" && scalar != "\r" {
                    throw AdapterRefusal(location: "byte \(offset) (line \(line))",
                                         "the message holds the control character U+\(String(format: "%04X", scalar.value)); messages are UTF-8 text, with no control characters but tab, line feed and carriage return (NUL bytes: the message may be UTF-16, which is not accepted)")
                }
                offset += UTF8.width(scalar)
                if scalar == "\n" { line += 1 }
            case .emptyInput:
                break loop
            case .error:
                throw AdapterRefusal(location: "byte \(offset) (line \(line))", "the message is not valid UTF-8")
            }
        }
        // A byte-order mark is tolerated; it carries no content.
        let text = String(decoding: bytes, as: UTF8.self)
        return text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text
    }
}

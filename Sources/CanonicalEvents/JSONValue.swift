import Foundation

/// Any JSON value. Canonical events are validated, projected and compared in this form, so that
/// nothing a partner sent is lost or reformatted on its way through the hub.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var objectValue: [String: JSONValue]? {
        if case .object(let members) = self { return members }
        return nil
    }

    public var numberValue: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let items) = self { return items }
        return nil
    }

    /// The name JSON Schema gives this value's type (an integral number is an "integer").
    var schemaTypeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number(let value): value.rounded() == value ? "integer" : "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// Parses JSON text; the error names the position of the problem.
    public static func parse(_ data: Data) throws -> JSONValue {
        try JSONParser.parse(data)
    }

    /// Compact JSON with sorted keys: the same value always gives the same bytes.
    public func encoded() -> Data { Data(encodedBytes()) }

    /// The same bytes as `encoded()`, without making them `Data`: what a record value takes.
    public func encodedBytes() -> [UInt8] {
        var writer = JSONWriter()
        write(into: &writer)
        return writer.bytes
    }

    /// The same, written in `writer`'s buffer (emptied first) and copied out: for many values in a
    /// row (a batch's deliveries), which then share one buffer instead of each growing its own.
    public func encodedBytes(using writer: inout JSONWriter) -> [UInt8] {
        writer.removeAll()
        write(into: &writer)
        return writer.copiedBytes
    }

    /// Indented JSON with sorted keys, for people.
    public func encoded(pretty: Bool) -> Data {
        guard pretty else { return encoded() }
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return try! encoder.encode(self)  // a JSONValue always encodes
    }

    /// Appends the value to `writer`, objects with sorted keys.
    public func write(into writer: inout JSONWriter) {
        switch self {
        case .null: writer.null()
        case .bool(let value): writer.bool(value)
        case .number(let value): writer.number(value)
        case .string(let value): writer.string(value)
        case .array(let items):
            writer.beginArray()
            for item in items { item.write(into: &writer) }
            writer.endArray()
        case .object(let members):
            writer.beginObject()
            // The members' places sorted by key: sorting the members themselves copied every key
            // and value into an array first (a retain and a release each).
            var order = Array(members.indices)
            order.sort { members.keys[$0] < members.keys[$1] }
            for index in order {
                writer.key(members.keys[index])
                members.values[index].write(into: &writer)
            }
            writer.endObject()
        }
    }

    /// The value as it would appear in an error message: strings bare, everything else as JSON.
    public var rendered: String {
        if case .string(let value) = self { return value }
        return String(decoding: encoded(), as: UTF8.self)
    }
}

extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value):
            // Integral numbers are written without a fraction, as partners wrote them.
            if value.rounded() == value, abs(value) < 9.0e15 {
                try container.encode(Int64(value))
            } else {
                try container.encode(value)
            }
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

/// RFC 6901 JSON Pointers, built one step at a time.
public struct JSONPointer: Sendable, Hashable, CustomStringConvertible, Comparable {
    public private(set) var tokens: [String]

    public init(tokens: [String] = []) { self.tokens = tokens }

    public init(_ text: String) {
        tokens = text.isEmpty ? [] : text.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map { token in
            token.contains("~") ? token.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~") : String(token)
        }
    }

    public static let root = JSONPointer()

    public func appending(_ token: String) -> JSONPointer { JSONPointer(tokens: tokens + [token]) }
    public func appending(_ index: Int) -> JSONPointer { appending(String(index)) }

    public var description: String {
        tokens.map { "/" + $0.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1") }.joined()
    }

    public static func < (lhs: JSONPointer, rhs: JSONPointer) -> Bool { lhs.description < rhs.description }

    /// The value this pointer designates in `value`, if any.
    public func resolve(in value: JSONValue) -> JSONValue? {
        var current = value
        for token in tokens {
            switch current {
            case .object(let members):
                guard let next = members[token] else { return nil }
                current = next
            case .array(let items):
                guard let index = Int(token), items.indices.contains(index) else { return nil }
                current = items[index]
            default:
                return nil
            }
        }
        return current
    }
}

extension Sequence where Element == UInt8 {
    /// Lower-case hexadecimal, for digests and ids (written for every decision the router records).
    /// Inlinable, so that each caller gets it specialised for its byte sequence: the generic version,
    /// iterating a digest through witness tables, took two microseconds for sixteen bytes.
    @inlinable
    public var hexString: String {
        withContiguousStorageIfAvailable(Self.hexString(of:)) ?? Self.hexString(of: Array(self))
    }

    @inlinable
    static func hexString<Bytes: Collection<UInt8>>(of bytes: Bytes) -> String {
        let digits: StaticString = "0123456789abcdef"
        return String(unsafeUninitializedCapacity: bytes.count * 2) { buffer in
            digits.withUTF8Buffer { digits in
                var index = 0
                for byte in bytes {
                    buffer[index] = digits[Int(byte >> 4)]
                    buffer[index + 1] = digits[Int(byte & 0x0F)]
                    index += 2
                }
            }
            return bytes.count * 2
        }
    }
}

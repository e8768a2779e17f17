@testable import CanonicalEvents
import Foundation
import Testing

/// Validation judges an instance first with a verdict (yes or no, stopping at the first problem)
/// and lists its problems only when it fails: the two must agree on every instance.
@Suite("Validation verdicts and reports")
struct ValidationFindingsTests {
    /// Every value of `value` with the path to it (object members and array items, at every depth).
    static func paths(in value: JSONValue, _ path: [String] = []) -> [[String]] {
        switch value {
        case .object(let members): [path] + members.flatMap { paths(in: $0.value, path + [$0.key]) }
        case .array(let items): [path] + items.indices.flatMap { paths(in: items[$0], path + [String($0)]) }
        default: [path]
        }
    }

    /// `value` with the value at `path` replaced (or removed, when `replacement` is nil).
    static func changing(_ value: JSONValue, at path: ArraySlice<String>, to replacement: JSONValue?) -> JSONValue? {
        guard let token = path.first else { return replacement }
        switch value {
        case .object(var members):
            guard let member = members[token] else { return value }
            members[token] = changing(member, at: path.dropFirst(), to: replacement)
            return .object(members)
        case .array(var items):
            guard let position = Int(token) else { return value }
            if let changed = changing(items[position], at: path.dropFirst(), to: replacement) {
                items[position] = changed
            } else {
                items.remove(at: position)
            }
            return .array(items)
        default:
            return value
        }
    }

    static let replacements: [JSONValue?] = [
        nil, .null, .bool(true), .number(-3), .number(1.5), .string(""), .string(String(repeating: "x", count: 300)),
        .string("2025-02-30"), .array([]), .array([.number(1), .number(1)]), .object([:]), .object(["unexpected": .null]),
    ]

    @Test("on every example, and on every example with any one value removed or replaced, the verdict and the report agree")
    func verdictAgreesWithReport() throws {
        let catalogue = ContractCatalogue.embedded
        var (valid, invalid) = (0, 0)
        for path in Contracts.examples("valid") + Contracts.examples("invalid") {
            let example = try Contracts.json(path)
            for location in Self.paths(in: example) where !location.isEmpty {
                for replacement in Self.replacements {
                    guard let changed = Self.changing(example, at: location[...], to: replacement) else { continue }
                    let file = changed["type"]?.stringValue.flatMap { catalogue.schemaByEventType[$0] } ?? ContractCatalogue.envelopeSchema
                    let judged = catalogue.schemas.validate(changed, against: file)
                    let reported = try #require(catalogue.schemas.report(changed, against: file))
                    #expect(judged == reported, "\(path) at /\(location.joined(separator: "/"))")
                    if reported.isEmpty { valid += 1 } else { invalid += 1 }
                }
            }
        }
        // Both outcomes are exercised many times over.
        #expect(valid > 300)
        #expect(invalid > 10_000)
    }

    @Test("a type keyword admits integers as numbers, and numbers with a fraction only as numbers")
    func types() {
        let schemas = SchemaSet(documents: [
            "integer.json": .object(["type": .string("integer")]),
            "number.json": .object(["type": .string("number")]),
            "either.json": .object(["type": .array([.string("string"), .string("null")])]),
        ])
        #expect(schemas.validate(.number(3), against: "integer.json") == [])
        #expect(schemas.validate(.number(3.5), against: "integer.json").map(\.reason) == ["expected an integer, found a number"])
        #expect(schemas.validate(.number(3), against: "number.json") == [])
        #expect(schemas.validate(.number(3.5), against: "number.json") == [])
        #expect(schemas.validate(.null, against: "either.json") == [])
        #expect(schemas.validate(.bool(false), against: "either.json").map(\.reason) == ["expected a string or null, found a boolean"])
    }
}

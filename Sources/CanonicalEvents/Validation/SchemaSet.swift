import Foundation

/// A set of JSON Schema (2020-12) documents that refer to each other by file name, and a validator
/// over them. It implements the keywords the hub's contracts use (`$ref`, `allOf`, `anyOf`,
/// `oneOf`, `not`, `if`/`then`/`else`, `type`, `const`, `enum`, `properties`, `required`,
/// `additionalProperties`, `items`, `minItems`, `maxItems`, `uniqueItems`, `minLength`,
/// `maxLength`, `pattern`, `format` date/date-time/uri, `minimum`, `maximum`); annotations such as
/// `title` and `description` are ignored. Every problem is reported, each with its JSON Pointer.
public final class SchemaSet: Sendable {
    /// Schema documents by file name, for example `gedragsaanwijzing.schema.json`.
    public let documents: [String: JSONValue]
    /// Every `pattern` of every document, compiled once.
    private let patterns: [String: CompiledPattern]
    /// Every `$ref` of every document, resolved once: keyed by referring file and reference.
    private let references: [String: (file: String, schema: JSONValue)]

    public init(documents: [String: JSONValue]) {
        self.documents = documents
        var patterns: [String: CompiledPattern] = [:]
        func collect(_ value: JSONValue) {
            switch value {
            case .object(let members):
                if let pattern = members["pattern"]?.stringValue, let regex = try? NSRegularExpression(pattern: pattern) {
                    patterns[pattern] = CompiledPattern(regex: regex)
                }
                members.values.forEach(collect)
            case .array(let items):
                items.forEach(collect)
            default:
                break
            }
        }
        documents.values.forEach(collect)
        self.patterns = patterns
        var references: [String: (file: String, schema: JSONValue)] = [:]
        func collectReferences(_ value: JSONValue, in file: String) {
            switch value {
            case .object(let members):
                if let reference = members["$ref"]?.stringValue, let target = Self.lookUp(reference, from: file, in: documents) {
                    references[file + "\u{0}" + reference] = target
                }
                members.values.forEach { collectReferences($0, in: file) }
            case .array(let items):
                items.forEach { collectReferences($0, in: file) }
            default:
                break
            }
        }
        for (file, document) in documents { collectReferences(document, in: file) }
        self.references = references
    }

    /// Validates `instance` against the document named `file`.
    public func validate(_ instance: JSONValue, against file: String) -> [ValidationProblem] {
        guard let schema = documents[file] else {
            return [ValidationProblem(pointer: .root, reason: "no schema named \(file)")]
        }
        var problems: [ValidationProblem] = []
        check(instance, schema, in: file, at: .root, &problems)
        var seen = Set<ValidationProblem>()
        return problems.filter { seen.insert($0).inserted }
    }

    /// The schema a `$ref` designates, and the document it lives in (for its own relative refs).
    func resolve(_ reference: String, from file: String) -> (file: String, schema: JSONValue)? {
        references[file + "\u{0}" + reference] ?? Self.lookUp(reference, from: file, in: documents)
    }

    private static func lookUp(_ reference: String, from file: String, in documents: [String: JSONValue]) -> (file: String, schema: JSONValue)? {
        let parts = reference.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)
        let target = parts[0].isEmpty ? file : String(parts[0].split(separator: "/").last!)
        guard let document = documents[target] else { return nil }
        let fragment = parts.count > 1 ? String(parts[1]) : ""
        guard let schema = JSONPointer(fragment).resolve(in: document) else { return nil }
        return (target, schema)
    }

    private func check(_ instance: JSONValue, _ schema: JSONValue, in file: String, at pointer: JSONPointer,
                       _ problems: inout [ValidationProblem]) {
        func fail(_ reason: String, _ at: JSONPointer? = nil) {
            problems.append(ValidationProblem(pointer: at ?? pointer, reason: reason))
        }
        switch schema {
        case .bool(true): return
        case .bool(false): return fail("no value is allowed here")
        case .object: break
        default: return fail("the schema here is not a schema")
        }

        if let reference = schema["$ref"]?.stringValue {
            if let (target, referenced) = resolve(reference, from: file) {
                check(instance, referenced, in: target, at: pointer, &problems)
            } else {
                fail("the schema refers to \(reference), which does not exist")
            }
        }
        for sub in schema["allOf"]?.arrayValue ?? [] {
            check(instance, sub, in: file, at: pointer, &problems)
        }
        if let alternatives = schema["anyOf"]?.arrayValue,
           !alternatives.contains(where: { passes(instance, $0, in: file, at: pointer) }) {
            fail("does not match any of the allowed forms")
        }
        if let alternatives = schema["oneOf"]?.arrayValue {
            let matches = alternatives.filter { passes(instance, $0, in: file, at: pointer) }.count
            if matches != 1 { fail(matches == 0 ? "does not match any of the allowed forms" : "matches more than one of the allowed forms") }
        }
        if let excluded = schema["not"], passes(instance, excluded, in: file, at: pointer) {
            fail("is not allowed here")
        }
        if let condition = schema["if"] {
            let branch = passes(instance, condition, in: file, at: pointer) ? schema["then"] : schema["else"]
            if let branch { check(instance, branch, in: file, at: pointer, &problems) }
        }

        if let expected = schema["type"] {
            let allowed = expected.arrayValue?.compactMap(\.stringValue) ?? [expected.stringValue].compactMap { $0 }
            let actual = instance.schemaTypeName
            let matches = allowed.contains(actual) || (actual == "integer" && allowed.contains("number"))
            if !matches {
                // Further keywords would only repeat the same mistake.
                return fail("expected \(allowed.map(Self.article).joined(separator: " or ")), found \(Self.article(actual))")
            }
        }
        if let expected = schema["const"], expected != instance {
            fail("expected '\(expected.rendered)', found '\(instance.rendered)'")
        }
        if let allowed = schema["enum"]?.arrayValue, !allowed.contains(instance) {
            fail("'\(instance.rendered)' is not one of: \(allowed.map(\.rendered).joined(separator: ", "))")
        }

        switch instance {
        case .string(let text):
            checkString(text, schema, fail)
        case .number(let value):
            if case .number(let minimum)? = schema["minimum"], value < minimum {
                fail("\(instance.rendered) is less than the minimum \(JSONValue.number(minimum).rendered)")
            }
            if case .number(let maximum)? = schema["maximum"], value > maximum {
                fail("\(instance.rendered) is more than the maximum \(JSONValue.number(maximum).rendered)")
            }
        case .array(let items):
            if case .number(let minimum)? = schema["minItems"], Double(items.count) < minimum {
                fail("must have at least \(Int(minimum)) item\(minimum == 1 ? "" : "s")")
            }
            if case .number(let maximum)? = schema["maxItems"], Double(items.count) > maximum {
                fail("must have at most \(Int(maximum)) item\(maximum == 1 ? "" : "s")")
            }
            if schema["uniqueItems"] == .bool(true), Set(items).count != items.count {
                fail("items must be unique")
            }
            if let itemSchema = schema["items"] {
                for (index, item) in items.enumerated() {
                    check(item, itemSchema, in: file, at: pointer.appending(index), &problems)
                }
            }
        case .object(let members):
            for name in schema["required"]?.arrayValue?.compactMap(\.stringValue) ?? [] where members[name] == nil {
                fail("required property '\(name)' is missing", pointer.appending(name))
            }
            let declared = schema["properties"]?.objectValue ?? [:]
            for name in members.keys.sorted() {
                let member = members[name]!
                if let propertySchema = declared[name] {
                    check(member, propertySchema, in: file, at: pointer.appending(name), &problems)
                } else if let additional = schema["additionalProperties"] {
                    if additional == .bool(false) {
                        fail("property '\(name)' is not allowed", pointer.appending(name))
                    } else {
                        check(member, additional, in: file, at: pointer.appending(name), &problems)
                    }
                }
            }
        default:
            break
        }
    }

    private func checkString(_ text: String, _ schema: JSONValue, _ fail: (String, JSONPointer?) -> Void) {
        let length = text.count
        if case .number(let minimum)? = schema["minLength"], Double(length) < minimum {
            fail(minimum == 1 ? "must not be empty" : "must have at least \(Int(minimum)) characters", nil)
        }
        if case .number(let maximum)? = schema["maxLength"], Double(length) > maximum {
            fail("must have at most \(Int(maximum)) characters", nil)
        }
        if let pattern = schema["pattern"]?.stringValue, !matches(text, pattern) {
            fail("'\(text)' does not match the pattern \(pattern)", nil)
        }
        if let format = schema["format"]?.stringValue, let check = Self.formats[format], !check(text) {
            fail("'\(text)' is not a valid \(format)\(Self.formatHints[format] ?? "")", nil)
        }
    }

    /// ECMA-262-style search (unanchored unless the pattern anchors itself). A pattern that does
    /// not compile matches nothing, so a broken contract rejects rather than admits.
    private func matches(_ text: String, _ pattern: String) -> Bool {
        patterns[pattern]?.matches(text) ?? false
    }

    private func passes(_ instance: JSONValue, _ schema: JSONValue, in file: String, at pointer: JSONPointer) -> Bool {
        var problems: [ValidationProblem] = []
        check(instance, schema, in: file, at: pointer, &problems)
        return problems.isEmpty
    }

    private static func article(_ type: String) -> String {
        switch type {
        case "null": "null"
        case "integer", "object", "array": "an \(type)"
        default: "a \(type)"
        }
    }

    private static let formatHints = ["date": " (YYYY-MM-DD)", "date-time": " (RFC 3339, with a UTC offset)"]

    private static let dateTimePattern = CompiledPattern(regex: try! NSRegularExpression(
        pattern: #"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"#))
    private static let datePattern = CompiledPattern(regex: try! NSRegularExpression(pattern: #"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"#))
    private static let uriPattern = CompiledPattern(regex: try! NSRegularExpression(pattern: #"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$"#))

    private static let formats: [String: @Sendable (String) -> Bool] = [
        "date": { isCalendarDate($0) },
        "date-time": { text in
            guard text.count >= 10, isCalendarDate(String(text.prefix(10))) else { return false }
            return dateTimePattern.matches(text)
        },
        "uri": { uriPattern.matches($0) },
    ]

    private static func isCalendarDate(_ text: String) -> Bool {
        guard datePattern.matches(text) else { return false }
        let fields = text.split(separator: "-").compactMap { Int($0) }
        let (year, month, day) = (fields[0], fields[1], fields[2])
        guard (1...12).contains(month), day >= 1 else { return false }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        return day <= days
    }
}

/// `NSRegularExpression` is immutable and documented thread-safe.
private struct CompiledPattern: @unchecked Sendable {
    let regex: NSRegularExpression

    func matches(_ text: String) -> Bool {
        regex.firstMatch(in: text, range: NSRange(location: 0, length: text.utf16.count)) != nil
    }
}

extension SchemaSet {
    /// Whether documents of `file` declare a value at `tokens` (a JSON Pointer's tokens, with `*` for
    /// any element of an array). Used to check that a sharing rule names only fields that exist.
    public func declares(path tokens: [String], in file: String) -> Bool {
        guard let root = documents[file] else { return false }
        var candidates = expand(root, in: file)
        for token in tokens {
            var next: [(String, JSONValue)] = []
            for (document, schema) in candidates {
                let child = token == "*" ? schema["items"] : schema["properties"]?[token]
                if let child { next += expand(child, in: document) }
            }
            if next.isEmpty { return false }
            candidates = next
        }
        return true
    }

    /// A schema with everything it composes: its `$ref`, `allOf`, `anyOf`, `oneOf` and conditional branches.
    private func expand(_ schema: JSONValue, in file: String, depth: Int = 0) -> [(String, JSONValue)] {
        guard depth < 32, case .object = schema else { return [] }
        var result = [(file, schema)]
        if let reference = schema["$ref"]?.stringValue, let (target, referenced) = resolve(reference, from: file) {
            result += expand(referenced, in: target, depth: depth + 1)
        }
        for keyword in ["allOf", "anyOf", "oneOf"] {
            for sub in schema[keyword]?.arrayValue ?? [] { result += expand(sub, in: file, depth: depth + 1) }
        }
        for keyword in ["then", "else"] {
            if let sub = schema[keyword] { result += expand(sub, in: file, depth: depth + 1) }
        }
        return result
    }
}

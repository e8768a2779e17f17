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
    /// Every `$ref` of every document, resolved once: keyed by referring file and reference.
    private let references: [String: (file: String, schema: JSONValue)]
    /// The documents compiled to a table of nodes: validation reads no schema keyword by name.
    private let validator: CompiledValidator

    public init(documents: [String: JSONValue]) {
        self.documents = documents
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
        validator = CompiledValidator(documents: documents, references: references)
    }

    /// Validates `instance` against the document named `file`.
    public func validate(_ instance: JSONValue, against file: String) -> [ValidationProblem] {
        guard let root = validator.roots[file] else {
            return [ValidationProblem(pointer: .root, reason: "no schema named \(file)")]
        }
        // Nearly every instance is valid: the verdict alone says so; only a failed one is checked
        // again for its report.
        return validator.passes(instance, root) ? [] : report(instance, root)
    }

    /// Every problem of `instance` under the document named `file`, found without asking for the
    /// verdict first (for the tests, which check that the two agree).
    func report(_ instance: JSONValue, against file: String) -> [ValidationProblem]? {
        validator.roots[file].map { report(instance, $0) }
    }

    private func report(_ instance: JSONValue, _ root: CompiledValidator.Index) -> [ValidationProblem] {
        var report = Report()
        validator.check(instance, root, &report)
        var seen = Set<ValidationProblem>()
        return report.problems.filter { seen.insert($0).inserted }
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

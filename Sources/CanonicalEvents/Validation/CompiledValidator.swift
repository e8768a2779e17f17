import Foundation

/// The schema documents compiled once into a flat table of nodes. Every event the router reads is
/// validated, and looking keywords up by name in the schema's JSON for every value of every event
/// cost more than the rest of routing together; a node holds what its keywords say, ready to apply.
///
/// Nodes refer to each other by index, so that a `$ref` cycle (a recursive schema) is just an index.
/// The checks, their order and their wording are those of the JSON Schema keywords `SchemaSet` lists.
struct CompiledValidator: Sendable {
    typealias Index = Int

    enum Shape: Sendable { case anything, nothing, notASchema, schema }

    /// A node's keywords, as the compiler fills them in.
    struct Keywords: Sendable {
        var shape = Shape.schema
        var reference: Index?
        var brokenReference: String?
        var allOf: [Index] = []
        var anyOf: [Index]?
        var oneOf: [Index]?
        var not: Index?
        var condition: (test: Index, then: Index?, otherwise: Index?)?
        var types: TypeSet?
        var const: JSONValue?
        var enumeration: [JSONValue]?
        var minimum: Double?
        var maximum: Double?
        var minItems: Double?
        var maxItems: Double?
        var uniqueItems = false
        var items: Index?
        var required: [String] = []
        var properties: [String: Index] = [:]
        var additionalProperties: Index?
        var forbidsAdditionalProperties = false
        var minLength: Double?
        var maxLength: Double?
        var pattern: PatternKeyword?
        var format: (name: String, check: @Sendable (String) -> Bool)?
    }

    /// A class whose keywords are a constant, so that reading a node while checking an event costs
    /// one reference, and reading a keyword (`node.keywords.pattern`) copies that keyword only and
    /// checks nothing at run time (the keywords of a class's variable were checked for exclusive
    /// access at every read, a tenth of validation).
    final class Node: Sendable {
        let keywords: Keywords

        init(_ keywords: Keywords) { self.keywords = keywords }
    }

    /// A `pattern` keyword: the pattern as written, and its compiled form (nil if it does not
    /// compile: then it matches nothing). A class, read by reference.
    final class PatternKeyword: Sendable {
        let text: String
        let compiled: Pattern?

        init(text: String, compiled: Pattern?) {
            self.text = text
            self.compiled = compiled
        }
    }

    private(set) var nodes: [Node] = []
    /// The node of each document, by file name.
    private(set) var roots: [String: Index] = [:]

    init(documents: [String: JSONValue], references: [String: (file: String, schema: JSONValue)]) {
        var compiler = Compiler(references: references)
        for (file, document) in documents.sorted(by: { $0.key < $1.key }) {
            roots[file] = compiler.compile(document, in: file)
        }
        nodes = compiler.nodes
    }

    // MARK: - Validation

    /// Applies the node to `instance`, telling `findings` what is wrong. The same code serves both
    /// kinds of findings: specialised for a `Verdict` it builds no reason and no pointer and stops at
    /// the first problem; for a `Report` it lists them all.
    func check<F: Findings>(_ instance: JSONValue, _ index: Index, _ findings: inout F) {
        let node = nodes[index]
        switch node.keywords.shape {
        case .anything: return
        case .nothing: return findings.fail("no value is allowed here")
        case .notASchema: return findings.fail("the schema here is not a schema")
        case .schema: break
        }

        if let reference = node.keywords.reference { check(instance, reference, &findings) }
        if let broken = node.keywords.brokenReference { findings.fail("the schema refers to \(broken), which does not exist") }
        for sub in node.keywords.allOf { check(instance, sub, &findings) }
        if findings.isSettled { return }
        if let alternatives = node.keywords.anyOf, !alternatives.contains(where: { passes(instance, $0) }) {
            findings.fail("does not match any of the allowed forms")
        }
        if let alternatives = node.keywords.oneOf {
            let matches = alternatives.filter { passes(instance, $0) }.count
            if matches != 1 { findings.fail(matches == 0 ? "does not match any of the allowed forms" : "matches more than one of the allowed forms") }
        }
        if let excluded = node.keywords.not, passes(instance, excluded) { findings.fail("is not allowed here") }
        if let condition = node.keywords.condition {
            let branch = passes(instance, condition.test) ? condition.then : condition.otherwise
            if let branch { check(instance, branch, &findings) }
        }
        if findings.isSettled { return }

        if let allowed = node.keywords.types, !allowed.admits(instance) {
            // Further keywords would only repeat the same mistake.
            return findings.fail("expected \(allowed.names.map(Self.article).joined(separator: " or ")), found \(Self.article(instance.schemaTypeName))")
        }
        if let expected = node.keywords.const, expected != instance {
            findings.fail("expected '\(expected.rendered)'")
        }
        if let allowed = node.keywords.enumeration, !allowed.contains(instance) {
            findings.fail("is not one of: \(allowed.map(\.rendered).joined(separator: ", "))")
        }

        switch instance {
        case .string(let text):
            checkString(text, node, &findings)
        case .number(let value):
            if let minimum = node.keywords.minimum, value < minimum {
                findings.fail("\(instance.rendered) is less than the minimum \(JSONValue.number(minimum).rendered)")
            }
            if let maximum = node.keywords.maximum, value > maximum {
                findings.fail("\(instance.rendered) is more than the maximum \(JSONValue.number(maximum).rendered)")
            }
        case .array(let items):
            if let minimum = node.keywords.minItems, Double(items.count) < minimum {
                findings.fail("must have at least \(Int(minimum)) item\(minimum == 1 ? "" : "s")")
            }
            if let maximum = node.keywords.maxItems, Double(items.count) > maximum {
                findings.fail("must have at most \(Int(maximum)) item\(maximum == 1 ? "" : "s")")
            }
            if node.keywords.uniqueItems, Set(items).count != items.count { findings.fail("items must be unique") }
            if let itemNode = node.keywords.items {
                for (position, item) in items.enumerated() {
                    if findings.isSettled { return }
                    findings.enter(String(position))
                    check(item, itemNode, &findings)
                    findings.leave()
                }
            }
        case .object(let members):
            for name in node.keywords.required where members[name] == nil {
                findings.enter(name)
                findings.fail("required property '\(name)' is missing")
                findings.leave()
            }
            // Members in the dictionary's order (sorting every object's names cost a tenth of
            // validation); only when one has a problem again in name order, so that a report lists
            // its problems in the same order every time.
            let clean = findings.count
            checkMembers(members, node, &findings)
            if findings.count > clean, !findings.isSettled {
                findings.discard(since: clean)
                checkMembers(members.sorted { $0.key < $1.key }, node, &findings)
            }
        default:
            break
        }
    }

    private func checkMembers<Members: Sequence<(key: String, value: JSONValue)>, F: Findings>(
        _ order: Members, _ node: Node, _ findings: inout F
    ) {
        for (name, member) in order {
            if findings.isSettled { return }
            if let propertyNode = node.keywords.properties[name] {
                findings.enter(name)
                check(member, propertyNode, &findings)
                findings.leave()
            } else if node.keywords.forbidsAdditionalProperties {
                findings.enter(ValidationProblem.quotedName(name))
                findings.fail("property '\(ValidationProblem.quotedName(name))' is not allowed")
                findings.leave()
            } else if let additional = node.keywords.additionalProperties {
                findings.enter(name)
                check(member, additional, &findings)
                findings.leave()
            }
        }
    }

    private func checkString<F: Findings>(_ text: String, _ node: Node, _ findings: inout F) {
        if node.keywords.minLength != nil || node.keywords.maxLength != nil {
            // JSON Schema counts code points; a string has at least a quarter as many as its UTF-8
            // bytes and at most as many, so most strings are judged without counting (every string
            // of every event has a maxLength).
            let bytes = text.utf8.count
            var counted: Int?
            func length() -> Int {
                if let counted { return counted }
                let count = text.unicodeScalars.count
                counted = count
                return count
            }
            var wrongLength = false
            if let minimum = node.keywords.minLength, Double(bytes) < minimum || (Double(bytes / 4) < minimum && Double(length()) < minimum) {
                findings.fail(minimum == 1 ? "must not be empty" : "must have at least \(Int(minimum)) characters")
                wrongLength = true
            }
            if let maximum = node.keywords.maxLength, Double(bytes) > maximum && Double(length()) > maximum {
                findings.fail("must have at most \(Int(maximum)) characters")
                wrongLength = true
            }
            // A string of the wrong length is refused already; its pattern and format would only
            // repeat that (and a partner's megabyte need not be matched).
            if wrongLength { return }
        }
        // ECMA-262-style search (unanchored unless the pattern anchors itself).
        if let pattern = node.keywords.pattern, !(pattern.compiled?.matches(text) ?? false) {
            findings.fail("does not match the pattern \(pattern.text)")
        }
        if let format = node.keywords.format, !format.check(text) {
            findings.fail("is not a valid \(format.name)\(Self.formatHints[format.name] ?? "")")
        }
    }

    /// Whether `instance` conforms to the node (`anyOf`, `oneOf`, `not` and `if` need no more).
    func passes(_ instance: JSONValue, _ index: Index) -> Bool {
        var verdict = Verdict()
        check(instance, index, &verdict)
        return !verdict.failed
    }

    private static func article(_ type: String) -> String {
        switch type {
        case "null": "null"
        case "integer", "object", "array": "an \(type)"
        default: "a \(type)"
        }
    }

    // MARK: - Compilation

    private struct Compiler {
        let references: [String: (file: String, schema: JSONValue)]
        var nodes: [Node] = []
        /// The node of each `$ref` target already compiled (or being compiled), by file and reference.
        var referenced: [String: Index] = [:]
        var patterns: [String: Pattern?] = [:]

        init(references: [String: (file: String, schema: JSONValue)]) { self.references = references }

        mutating func compile(_ schema: JSONValue, in file: String) -> Index {
            let index = nodes.count
            nodes.append(Node(Keywords()))
            nodes[index] = node(for: schema, in: file)
            return index
        }

        private mutating func node(for schema: JSONValue, in file: String) -> Node {
            var node = Keywords()
            switch schema {
            case .bool(true): node.shape = .anything; return Node(node)
            case .bool(false): node.shape = .nothing; return Node(node)
            case .object: break
            default: node.shape = .notASchema; return Node(node)
            }
            if let reference = schema["$ref"]?.stringValue {
                let key = file + "\u{0}" + reference
                if let known = referenced[key] {
                    node.reference = known
                } else if let (target, targetSchema) = references[key] {
                    // Reserve the target's index first, so that a reference back to it ends here.
                    let index = nodes.count
                    nodes.append(Node(Keywords()))
                    referenced[key] = index
                    nodes[index] = self.node(for: targetSchema, in: target)
                    node.reference = index
                } else {
                    node.brokenReference = reference
                }
            }
            node.allOf = (schema["allOf"]?.arrayValue ?? []).map { compile($0, in: file) }
            node.anyOf = schema["anyOf"]?.arrayValue.map { $0.map { compile($0, in: file) } }
            node.oneOf = schema["oneOf"]?.arrayValue.map { $0.map { compile($0, in: file) } }
            node.not = schema["not"].map { compile($0, in: file) }
            if let condition = schema["if"] {
                node.condition = (compile(condition, in: file), schema["then"].map { compile($0, in: file) },
                                  schema["else"].map { compile($0, in: file) })
            }
            if let expected = schema["type"] {
                node.types = TypeSet(names: expected.arrayValue?.compactMap(\.stringValue) ?? [expected.stringValue].compactMap { $0 })
            }
            node.const = schema["const"]
            node.enumeration = schema["enum"]?.arrayValue
            node.minimum = schema["minimum"]?.numberValue
            node.maximum = schema["maximum"]?.numberValue
            node.minItems = schema["minItems"]?.numberValue
            node.maxItems = schema["maxItems"]?.numberValue
            node.uniqueItems = schema["uniqueItems"] == .bool(true)
            node.items = schema["items"].map { compile($0, in: file) }
            node.required = schema["required"]?.arrayValue?.compactMap(\.stringValue) ?? []
            for (name, property) in (schema["properties"]?.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
                node.properties[name] = compile(property, in: file)
            }
            if let additional = schema["additionalProperties"] {
                if additional == .bool(false) { node.forbidsAdditionalProperties = true } else { node.additionalProperties = compile(additional, in: file) }
            }
            node.minLength = schema["minLength"]?.numberValue
            node.maxLength = schema["maxLength"]?.numberValue
            if let pattern = schema["pattern"]?.stringValue {
                if patterns[pattern] == nil {
                    patterns[pattern] = .some(Pattern(pattern))
                }
                node.pattern = PatternKeyword(text: pattern, compiled: patterns[pattern]!)
            }
            if let format = schema["format"]?.stringValue, let check = CompiledValidator.formats[format] {
                node.format = (format, check)
            }
            return Node(node)
        }
    }

    // MARK: - Formats

    private static let formatHints = ["date": " (YYYY-MM-DD)", "date-time": " (RFC 3339, with a UTC offset)"]

    private static let dateTimePattern = Pattern(
        #"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"#)!
    private static let uriPattern = Pattern(#"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$"#)!

    static let formats: [String: @Sendable (String) -> Bool] = [
        "date": { $0.utf8.count == 10 && startsWithCalendarDate($0) },
        "date-time": { text in
            guard startsWithCalendarDate(text) else { return false }
            return dateTimePattern.matches(text)
        },
        "uri": { uriPattern.matches($0) },
    ]

    /// Whether `text` begins with `YYYY-MM-DD` naming a day that exists. Read byte by byte: every
    /// event carries several dates, and this is asked of each.
    private static func startsWithCalendarDate(_ text: String) -> Bool {
        var fields = [0, 0, 0]
        var length = 0
        for byte in text.utf8.prefix(10) {
            defer { length += 1 }
            if length == 4 || length == 7 {
                guard byte == UInt8(ascii: "-") else { return false }
                continue
            }
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return false }
            let field = length < 4 ? 0 : length < 7 ? 1 : 2
            fields[field] = fields[field] * 10 + Int(byte - UInt8(ascii: "0"))
        }
        let (year, month, day) = (fields[0], fields[1], fields[2])
        guard length == 10, (1...12).contains(month), day >= 1 else { return false }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        return day <= days
    }
}

/// `NSRegularExpression` is immutable and documented thread-safe.
struct CompiledPattern: @unchecked Sendable {
    let regex: NSRegularExpression

    func matches(_ text: String) -> Bool {
        regex.firstMatch(in: text, range: NSRange(location: 0, length: text.utf16.count)) != nil
    }
}

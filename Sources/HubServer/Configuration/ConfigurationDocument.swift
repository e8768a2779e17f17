import Foundation
import Yams

/// A configuration file refused at start: which key, in which file, on which line, and what is wrong.
/// The message never repeats a value (a misplaced secret must not reach a log).
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public let key: String
    public let file: String
    public let line: Int
    public let problem: String

    public var description: String { "\(file):\(line): \(key.isEmpty ? "the file" : key): \(problem)" }
}

/// One value of a configuration file with its place in it (the dotted key and the line), so that
/// every refusal can name both. Read once at start, on the thread that starts the node.
struct ConfigurationValue {
    let node: Node
    let key: String
    let file: String
    /// The line of the key this value stands under (a mapping's own mark is its first entry).
    var keyLine: Int?

    var line: Int { node.mark?.line ?? 1 }

    func error(_ problem: String) -> ConfigurationError {
        ConfigurationError(key: key, file: file, line: line, problem: problem)
    }

    private var scalar: Node.Scalar? { node.scalar }

    func string() throws -> String {
        // A plain `8080` or `true` is a number or a truth value in YAML, not text.
        guard let scalar, scalar.style != .plain || node.resolvedTag == .str else {
            throw error("expected text, found \(kind)")
        }
        return scalar.string
    }

    func int(in range: ClosedRange<Int>) throws -> Int {
        guard let scalar, node.resolvedTag == .int, let value = Int(scalar.string) else { throw error("expected a whole number, found \(kind)") }
        guard range.contains(value) else { throw error("expected a number from \(range.lowerBound) to \(range.upperBound)") }
        return value
    }

    func strings() throws -> [String] {
        guard let sequence = node.sequence else { throw error("expected a list, found \(kind)") }
        return try sequence.enumerated().map { index, item in
            try ConfigurationValue(node: item, key: "\(key)[\(index)]", file: file).string()
        }
    }

    func mapping() throws -> ConfigurationMapping { try ConfigurationMapping(self) }

    /// A path, relative to the configuration file's directory unless absolute.
    func path() throws -> URL {
        let text = try string()
        guard !text.isEmpty else { throw error("expected a path, found empty text") }
        let base = URL(fileURLWithPath: file).deletingLastPathComponent()
        return text.hasPrefix("/") ? URL(fileURLWithPath: text) : base.appendingPathComponent(text).standardizedFileURL
    }

    /// A secret: `{env: NAME}` or `{file: PATH}`, resolved now. Text written inline is refused: a
    /// configuration file is copied into ConfigMaps, tickets and backups; a secret is not.
    func secret() throws -> String {
        guard node.mapping != nil else {
            throw error("a secret is referenced as {env: NAME} or {file: PATH}, never written inline")
        }
        let reference = try mapping()
        let env = reference.optional("env")
        let file = reference.optional("file")
        try reference.finish()
        switch (env, file) {
        case (let env?, nil):
            let name = try env.string()
            guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
                throw error("the environment variable \(name) is not set")
            }
            return value
        case (nil, let file?):
            let url = try file.path()
            guard let data = FileManager.default.contents(atPath: url.path) else {
                throw error("the secret file \(url.path) cannot be read")
            }
            var text = String(decoding: data, as: UTF8.self)
            while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
            return text
        default:
            throw error("a secret is referenced by exactly one of env or file")
        }
    }

    var kind: String {
        switch node {
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        case .scalar(let scalar):
            switch node.resolvedTag {
            case .int: "a number"
            case .float: "a number"
            case .bool: "true or false"
            case .null: "nothing"
            default: scalar.string.isEmpty ? "empty text" : "text"
            }
        }
    }
}

/// A mapping being read: every key taken is remembered, and `finish` refuses the keys nobody took,
/// so that a misspelt key is an error at start rather than a setting silently left at its default.
final class ConfigurationMapping {
    let value: ConfigurationValue
    private let entries: [(key: String, node: Node, keyNode: Node)]
    private var taken: Set<String> = []
    /// The keys the reader asked for, named when an unknown key is refused.
    private var asked: Set<String> = []

    init(_ value: ConfigurationValue) throws {
        guard let mapping = value.node.mapping else { throw value.error("expected a mapping, found \(value.kind)") }
        self.value = value
        var entries: [(key: String, node: Node, keyNode: Node)] = []
        for (keyNode, node) in mapping {
            let key = try ConfigurationValue(node: keyNode, key: value.key, file: value.file).string()
            guard !entries.contains(where: { $0.key == key }) else {
                throw ConfigurationValue(node: keyNode, key: Self.join(value.key, key), file: value.file).error("the key appears twice")
            }
            entries.append((key, node, keyNode))
        }
        self.entries = entries
    }

    static func join(_ prefix: String, _ key: String) -> String { prefix.isEmpty ? key : "\(prefix).\(key)" }

    func optional(_ key: String) -> ConfigurationValue? {
        asked.insert(key)
        guard let entry = entries.first(where: { $0.key == key }) else { return nil }
        taken.insert(key)
        if case .scalar = entry.node, entry.node.resolvedTag == .null { return nil }
        return ConfigurationValue(node: entry.node, key: Self.join(value.key, key), file: value.file, keyLine: entry.keyNode.mark?.line)
    }

    func required(_ key: String, because reason: String = "") throws -> ConfigurationValue {
        guard let found = optional(key) else {
            throw ConfigurationError(key: Self.join(value.key, key), file: value.file, line: value.keyLine ?? 1,
                                     problem: "required\(reason.isEmpty ? "" : " \(reason)") but missing")
        }
        return found
    }

    /// Every entry, taken, for mappings whose keys are names (organisations, librdkafka properties).
    func all() -> [(name: String, value: ConfigurationValue)] {
        entries.map { entry in
            taken.insert(entry.key)
            return (entry.key, ConfigurationValue(node: entry.node, key: Self.join(value.key, entry.key), file: value.file,
                                                  keyLine: entry.keyNode.mark?.line))
        }
    }

    /// Refuses, before anything is read, a key not among `known`: a misspelt key is named as such,
    /// not reported as the missing key it was meant to be.
    func allowOnly(_ known: [String]) throws {
        asked.formUnion(known)
        if let unknown = entries.first(where: { !known.contains($0.key) }) {
            throw ConfigurationValue(node: unknown.keyNode, key: Self.join(value.key, unknown.key), file: value.file)
                .error("unknown key (known here: \(known.sorted().joined(separator: ", ")))")
        }
    }

    func finish() throws {
        if let unknown = entries.first(where: { !taken.contains($0.key) }) {
            throw ConfigurationValue(node: unknown.keyNode, key: Self.join(value.key, unknown.key), file: value.file)
                .error("unknown key (known here: \(asked.sorted().joined(separator: ", ")))")
        }
    }
}

enum ConfigurationDocument {
    /// The file's root mapping.
    static func root(file: String) throws -> ConfigurationMapping {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ConfigurationError(key: "", file: file, line: 0, problem: "cannot be read")
        }
        let text = String(decoding: data, as: UTF8.self)
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw ConfigurationError(key: "", file: file, line: Self.line(of: error), problem: "is not valid YAML")
        }
        guard let node else { throw ConfigurationError(key: "", file: file, line: 1, problem: "is empty") }
        return try ConfigurationValue(node: node, key: "", file: file).mapping()
    }

    private static func line(of error: YamlError) -> Int {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): mark.line
        default: 1
        }
    }
}

extension Node {
    /// The tag YAML resolves the node to: `8080` is an int, `"8080"` a str.
    var resolvedTag: Tag.Name { Tag.Name(rawValue: tag.rawValue) }
}

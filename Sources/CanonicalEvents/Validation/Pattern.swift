import Foundation

/// A JSON Schema `pattern` (ECMA-262 syntax, not implicitly anchored), compiled once.
///
/// The contracts' patterns use a small part of the syntax: anchors, literals, classes with ranges,
/// `\d \s \w` and escaped punctuation, groups with alternatives, and greedy `? * + {n} {n,} {n,m}`.
/// Those are matched here by a backtracking matcher over Unicode scalars; it does for a record what
/// `NSRegularExpression` does without bridging every string to ICU, which cost the router a third of
/// its validation time. A pattern using anything else (lookarounds, back-references, lazy
/// quantifiers, ...) falls back to `NSRegularExpression`.
struct Pattern: Sendable {
    private enum Engine: Sendable {
        case simple(PatternProgram)
        case foundation(CompiledPattern)
    }

    private let engine: Engine

    init?(_ source: String) {
        var parser = PatternParser(source)
        if let node = parser.parse() {
            engine = .simple(PatternProgram(node))
        } else if let regex = try? NSRegularExpression(pattern: source) {
            engine = .foundation(CompiledPattern(regex: regex))
        } else {
            return nil
        }
    }

    /// Whether the pattern is matched by the simple matcher (for the differential tests).
    var isSimple: Bool { if case .simple = engine { true } else { false } }

    func matches(_ text: String) -> Bool {
        switch engine {
        case .foundation(let compiled): return compiled.matches(text)
        case .simple(let program): return program.matches(text)
        }
    }
}

/// A parsed pattern.
indirect enum PatternNode: Sendable {
    case scalar(ScalarClass)
    case sequence([PatternNode])
    case alternatives([PatternNode])
    case repetition(PatternNode, min: Int, max: Int?)
    case start
    case end
}

/// A pattern flattened into a table of operations, matched in continuation-passing style: each
/// operation matches at an index and calls `next` with where it ended, trying its longest
/// alternative first (greedy) and backtracking on false. The table holds plain values and the
/// continuations are non-escaping closures, so matching neither counts references nor allocates
/// beyond the scalars of the text.
struct PatternProgram: Sendable {
    struct Operation: Sendable {
        enum Kind: UInt8, Sendable { case scalar, sequence, alternatives, repetition, start, end }
        var kind: Kind
        var set = ScalarClass()
        /// sequence, alternatives: their operations are `children[first ..< first + count]`;
        /// repetition: `first` is the repeated operation.
        var first = 0
        var count = 0
        var min = 0
        /// -1: unbounded.
        var max = -1
    }

    private var operations: [Operation] = []
    private var children: [Int] = []
    private var root = 0

    init(_ node: PatternNode) { root = add(node) }

    private mutating func add(_ node: PatternNode) -> Int {
        var operation: Operation
        switch node {
        case .scalar(let set): operation = Operation(kind: .scalar, set: set)
        case .start: operation = Operation(kind: .start)
        case .end: operation = Operation(kind: .end)
        case .repetition(let inner, let min, let max):
            operation = Operation(kind: .repetition, first: add(inner), min: min, max: max ?? -1)
        case .sequence(let nodes), .alternatives(let nodes):
            let indices = nodes.map { add($0) }
            operation = Operation(kind: { if case .sequence = node { .sequence } else { .alternatives } }(), first: children.count, count: indices.count)
            children += indices
        }
        operations.append(operation)
        return operations.count - 1
    }

    func matches(_ text: String) -> Bool {
        let scalars = Array(text.unicodeScalars)
        return operations.withUnsafeBufferPointer { operations in
            children.withUnsafeBufferPointer { children in
                scalars.withUnsafeBufferPointer { text in
                    let matcher = Matcher(operations: operations, children: children, text: text)
                    // Not anchored: a match may start anywhere (the contracts' patterns anchor with ^ and $).
                    return (0...text.count).contains { matcher.match(root, $0) { _ in true } }
                }
            }
        }
    }

    private struct Matcher {
        let operations: UnsafeBufferPointer<Operation>
        let children: UnsafeBufferPointer<Int>
        let text: UnsafeBufferPointer<Unicode.Scalar>

        func match(_ index: Int, _ position: Int, _ next: (Int) -> Bool) -> Bool {
            let operation = operations[index]
            switch operation.kind {
            case .scalar:
                return position < text.count && operation.set.contains(text[position]) && next(position + 1)
            case .sequence:
                return sequence(operation.first, operation.first + operation.count, position, next)
            case .alternatives:
                return (operation.first..<operation.first + operation.count).contains { match(children[$0], position, next) }
            case .repetition:
                return repetition(operation, done: 0, position, next)
            case .start:
                return position == 0 && next(position)
            case .end:
                return position == text.count && next(position)
            }
        }

        private func sequence(_ child: Int, _ end: Int, _ position: Int, _ next: (Int) -> Bool) -> Bool {
            guard child < end else { return next(position) }
            return match(children[child], position) { after in sequence(child + 1, end, after, next) }
        }

        private func repetition(_ operation: Operation, done: Int, _ position: Int, _ next: (Int) -> Bool) -> Bool {
            if operation.max < 0 || done < operation.max {
                // One more (an iteration that consumes nothing ends the repetition, as ECMA-262 says).
                let more = match(operation.first, position) { after in
                    after != position && repetition(operation, done: done + 1, after, next)
                }
                if more { return true }
            }
            return done >= operation.min && next(position)
        }
    }
}

/// A set of scalars: ASCII as a bitmap; beyond ASCII only what `\s` (Unicode white space) says,
/// negated or not.
struct ScalarClass: Sendable {
    var low: UInt64 = 0
    var high: UInt64 = 0
    var unicodeSpace = false
    var negated = false

    static let digits = ScalarClass(ranges: [("0", "9")])
    static let word = ScalarClass(ranges: [("a", "z"), ("A", "Z"), ("0", "9"), ("_", "_")])
    static let space: ScalarClass = {
        var set = ScalarClass(ranges: [("\t", "\r"), (" ", " ")])
        set.unicodeSpace = true
        return set
    }()
    static let any: ScalarClass = {
        var set = ScalarClass(ranges: [("\n", "\n"), ("\r", "\r")])
        set.negated = true
        return set
    }()

    init(ranges: [(Unicode.Scalar, Unicode.Scalar)] = []) {
        for (from, to) in ranges { insert(from, to) }
    }

    mutating func insert(_ from: Unicode.Scalar, _ to: Unicode.Scalar) {
        for value in from.value...min(to.value, 127) {
            if value < 64 { low |= 1 << UInt64(value) } else { high |= 1 << UInt64(value - 64) }
        }
    }

    mutating func formUnion(_ other: ScalarClass) {
        precondition(!other.negated, "only positive classes are merged")
        low |= other.low
        high |= other.high
        unicodeSpace = unicodeSpace || other.unicodeSpace
    }

    func contains(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        let member: Bool
        if value < 64 {
            member = low & (1 << UInt64(value)) != 0
        } else if value < 128 {
            member = high & (1 << UInt64(value - 64)) != 0
        } else {
            member = unicodeSpace && scalar.properties.isWhitespace
        }
        return member != negated
    }
}

/// Parses the supported part of ECMA-262 pattern syntax; nil for anything else.
struct PatternParser {
    private let scalars: [Unicode.Scalar]
    private var position = 0

    init(_ source: String) { scalars = Array(source.unicodeScalars) }

    mutating func parse() -> PatternNode? {
        guard let node = alternatives(), position == scalars.count else { return nil }
        return node
    }

    private var current: Unicode.Scalar? { position < scalars.count ? scalars[position] : nil }

    private mutating func alternatives() -> PatternNode? {
        var options: [PatternNode] = []
        while true {
            guard let option = sequence() else { return nil }
            options.append(option)
            guard current == "|" else { break }
            position += 1
        }
        return options.count == 1 ? options[0] : .alternatives(options)
    }

    private mutating func sequence() -> PatternNode? {
        var nodes: [PatternNode] = []
        while let scalar = current, scalar != "|", scalar != ")" {
            guard var node = atom() else { return nil }
            if let (min, max) = quantifier() {
                guard current != "?" else { return nil }  // lazy quantifiers are not supported here
                node = .repetition(node, min: min, max: max)
            } else if position < scalars.count, "?*+{".unicodeScalars.contains(scalars[position]) {
                return nil  // a quantifier this parser cannot read
            }
            nodes.append(node)
        }
        return nodes.count == 1 ? nodes[0] : .sequence(nodes)
    }

    private mutating func atom() -> PatternNode? {
        guard let scalar = current else { return nil }
        position += 1
        switch scalar {
        case "^": return .start
        case "$": return .end
        case ".": return .scalar(.any)
        case "(":
            if current == "?" { return nil }  // lookarounds and non-capturing groups: not supported here
            guard let inner = alternatives(), current == ")" else { return nil }
            position += 1
            return inner
        case "[": return characterClass().map(PatternNode.scalar)
        case "\\": return escape().map(PatternNode.scalar)
        case "*", "+", "?", "{", ")", "]", "}": return nil
        default:
            // A literal beyond ASCII is left to `NSRegularExpression`.
            return scalar.isASCII ? .scalar(ScalarClass(ranges: [(scalar, scalar)])) : nil
        }
    }

    /// `?`, `*`, `+`, `{n}`, `{n,}`, `{n,m}`.
    private mutating func quantifier() -> (Int, Int?)? {
        guard let scalar = current else { return nil }
        switch scalar {
        case "?": position += 1; return (0, 1)
        case "*": position += 1; return (0, nil)
        case "+": position += 1; return (1, nil)
        case "{":
            let start = position
            position += 1
            guard let min = number() else { position = start; return nil }
            var max: Int? = min
            if current == "," {
                position += 1
                max = number()
            }
            guard current == "}", max.map({ $0 >= min }) ?? true else { position = start; return nil }
            position += 1
            return (min, max)
        default: return nil
        }
    }

    private mutating func number() -> Int? {
        var digits = ""
        while let scalar = current, ("0"..."9").contains(scalar) {
            digits.unicodeScalars.append(scalar)
            position += 1
        }
        return Int(digits)
    }

    /// After a backslash: a class escape or an escaped punctuation character.
    private mutating func escape() -> ScalarClass? {
        guard let scalar = current else { return nil }
        position += 1
        switch scalar {
        case "d": return .digits
        case "w": return .word
        case "s": return .space
        case "D", "W", "S":
            var set = scalar == "D" ? ScalarClass.digits : scalar == "W" ? .word : .space
            set.negated = true
            return set
        case "t": return ScalarClass(ranges: [("\t", "\t")])
        case "n": return ScalarClass(ranges: [("\n", "\n")])
        case "r": return ScalarClass(ranges: [("\r", "\r")])
        default:
            // Only punctuation stands for itself; letters and digits are other escapes (\b, \1, \u...).
            guard scalar.isASCII, !scalar.properties.isAlphabetic, !("0"..."9").contains(scalar) else { return nil }
            return ScalarClass(ranges: [(scalar, scalar)])
        }
    }

    /// `[...]` after its `[`.
    private mutating func characterClass() -> ScalarClass? {
        var set = ScalarClass()
        let negated = current == "^"
        if negated { position += 1 }
        var first = true
        while let scalar = current, scalar != "]" || first {
            first = false
            position += 1
            var from = scalar
            if scalar == "\\" {
                guard let escaped = escape() else { return nil }
                if escaped.negated { return nil }  // [\S] and the like: not supported here
                // A single escaped character may start a range; a class escape may not.
                if let single = escaped.single { from = single } else {
                    set.formUnion(escaped)
                    continue
                }
            }
            guard from.isASCII else { return nil }
            if current == "-", position + 1 < scalars.count, scalars[position + 1] != "]" {
                position += 1
                guard var to = current else { return nil }
                position += 1
                if to == "\\" {
                    guard let escaped = escape(), let single = escaped.single else { return nil }
                    to = single
                }
                guard to.isASCII, from.value <= to.value else { return nil }
                set.insert(from, to)
            } else {
                set.insert(from, from)
            }
        }
        guard current == "]" else { return nil }
        position += 1
        set.negated = negated
        return set
    }
}

private extension ScalarClass {
    /// The one ASCII scalar this class holds, if it holds exactly one and nothing else.
    var single: Unicode.Scalar? {
        guard !negated, !unicodeSpace, (low.nonzeroBitCount + high.nonzeroBitCount) == 1 else { return nil }
        let value = low != 0 ? UInt32(low.trailingZeroBitCount) : UInt32(64 + high.trailingZeroBitCount)
        return Unicode.Scalar(value)
    }
}

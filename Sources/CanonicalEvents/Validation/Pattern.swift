import Foundation

/// A JSON Schema `pattern` (ECMA-262 syntax, not implicitly anchored), compiled once.
///
/// The contracts' patterns use a small part of the syntax: anchors, literals, classes with ranges,
/// `\d \s \w`, `\uXXXX` (ASCII) and escaped punctuation, groups with alternatives, and greedy `? * + {n} {n,} {n,m}`.
/// Those are matched here by an automaton over Unicode scalars (`PatternProgram`); it does for a record what
/// `NSRegularExpression` does without bridging every string to ICU, which cost the router a third of
/// its validation time. A pattern using anything else (lookarounds, back-references, lazy
/// quantifiers, ...) falls back to `NSRegularExpression`.
struct Pattern: Sendable {
    private enum Engine: Sendable {
        /// `^[class]{min,max}$` (the contracts' free-text pattern): every scalar in the class.
        case run(ScalarClass, min: Int, max: Int?)
        case automaton(PatternAutomaton)
        case simple(PatternProgram)
        case foundation(CompiledPattern)
    }

    private let engine: Engine

    init?(_ source: String) {
        var parser = PatternParser(source)
        let node = parser.parse()
        if case .sequence(let parts)? = node, parts.count == 3, case .start = parts[0], case .end = parts[2],
           case .repetition(.scalar(let set), let min, let max) = parts[1] {
            engine = .run(set, min: min, max: max)
        } else if let node, let program = PatternProgram(node) {
            engine = PatternAutomaton(program).map(Engine.automaton) ?? .simple(program)
        } else if let regex = try? NSRegularExpression(pattern: source) {
            engine = .foundation(CompiledPattern(regex: regex))
        } else {
            return nil
        }
    }

    /// Whether the pattern is matched by the simple matcher (for the differential tests).
    var isSimple: Bool { if case .foundation = engine { false } else { true } }

    /// Whether the pattern is matched by a deterministic automaton (for the differential tests).
    var isAutomaton: Bool { if case .automaton = engine { true } else { false } }

    /// The same pattern matched by following the Thompson automaton's states, as before the
    /// deterministic one is built (for the differential tests).
    var nondeterministic: PatternProgram? {
        switch engine {
        case .automaton(let automaton): automaton.program
        case .simple(let program): program
        case .run, .foundation: nil
        }
    }

    func matches(_ text: String) -> Bool {
        switch engine {
        case .run(let set, let min, let max):
            var count = 0
            for scalar in text.unicodeScalars {
                guard set.contains(scalar) else { return false }
                count += 1
            }
            return count >= min && max.map { count <= $0 } ?? true
        case .foundation(let compiled): return compiled.matches(text)
        case .automaton(let automaton): return automaton.matches(text)
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

/// A pattern compiled to a Thompson automaton and matched by following every state at once, one
/// scalar of the text at a time (as RE2 and Go's regexp do). Time is linear in the text and the
/// pattern, and nothing recurses per scalar: a partner's string of a million characters costs a
/// million steps, never the stack (a backtracking matcher recursed once per scalar, and a string of
/// ~10,000 digits in a date-time ended the process). Only whether there is a match is asked, so the
/// order in which alternatives are tried does not matter and no backtracking is needed.
struct PatternProgram: Sendable {
    enum Instruction: Sendable {
        /// Consume one scalar of the set, then go on at the next instruction.
        case scalar(ScalarClass)
        /// Go on at both.
        case split(Int, Int)
        case jump(Int)
        /// `^`, `$`: go on at the next instruction only at the start, or the end, of the text.
        case start, end
        case match
    }

    /// The most instructions a pattern may expand to (counted repetitions are written out).
    static let maximumInstructions = 10_000

    private(set) var instructions: [Instruction] = []
    /// Whether every match must begin at the start of the text (the pattern begins with `^`).
    private(set) var anchoredAtStart = false

    /// Nil when the pattern would expand beyond `maximumInstructions`.
    init?(_ node: PatternNode) {
        guard emit(node) else { return nil }
        instructions.append(.match)
        if case .start = instructions.first { anchoredAtStart = true }
    }

    /// Appends the instructions of `node`; false once the program grows too large. Recurses over the
    /// pattern's own structure, which the contracts write, never over a partner's text.
    private mutating func emit(_ node: PatternNode) -> Bool {
        guard instructions.count < Self.maximumInstructions else { return false }
        switch node {
        case .scalar(let set): instructions.append(.scalar(set))
        case .start: instructions.append(.start)
        case .end: instructions.append(.end)
        case .sequence(let nodes):
            for node in nodes { guard emit(node) else { return false } }
        case .alternatives(let options):
            // split(first, rest) first; jump(end) ... each option but the last jumps past the others.
            var exits: [Int] = []
            for (position, option) in options.enumerated() {
                let split = instructions.count
                if position < options.count - 1 { instructions.append(.split(split + 1, -1)) }
                guard emit(option) else { return false }
                if position < options.count - 1 {
                    exits.append(instructions.count)
                    instructions.append(.jump(-1))
                    instructions[split] = .split(split + 1, instructions.count)
                }
            }
            for exit in exits { instructions[exit] = .jump(instructions.count) }
        case .repetition(let inner, let min, let max):
            for _ in 0..<min { guard emit(inner) else { return false } }
            if let max {
                // Each optional copy may be skipped, and skipping one skips the rest.
                var skips: [Int] = []
                for _ in min..<max {
                    skips.append(instructions.count)
                    instructions.append(.split(instructions.count + 1, -1))
                    guard emit(inner) else { return false }
                }
                for skip in skips { instructions[skip] = .split(skip + 1, instructions.count) }
            } else {
                let loop = instructions.count
                instructions.append(.split(loop + 1, -1))
                guard emit(inner) else { return false }
                instructions.append(.jump(loop))
                instructions[loop] = .split(loop + 1, instructions.count)
            }
        }
        return true
    }

    func matches(_ text: String) -> Bool {
        var run = Run(count: instructions.count)
        return instructions.withUnsafeBufferPointer { program in
            let scalars = text.unicodeScalars
            var index = scalars.startIndex
            var atStart = true
            while true {
                let atEnd = index == scalars.endIndex
                // Not anchored: a match may start at any position (the contracts' patterns anchor with ^ and $).
                if atStart || !anchoredAtStart {
                    if run.add(0, program, atStart: atStart, atEnd: atEnd) { return true }
                }
                if run.current.isEmpty && anchoredAtStart { return false }
                if atEnd { return false }
                if run.step(over: scalars[index], program, atEnd: scalars.index(after: index) == scalars.endIndex) { return true }
                index = scalars.index(after: index)
                atStart = false
            }
        }
    }

    /// The states reached so far, and the scratch space to move them on: a state is kept at most
    /// once per position (`seen` holds the position it was last added at), so empty loops end.
    private struct Run {
        var current: [Int32] = []
        var next: [Int32] = []
        var seen: [Int32]
        var stack: [Int32] = []
        var position: Int32 = 0

        init(count: Int) {
            seen = [Int32](repeating: -1, count: count)
            current.reserveCapacity(count)
            next.reserveCapacity(count)
        }

        /// Adds the states reachable from `pc` without consuming a scalar to `current`; true on reaching `match`.
        mutating func add(_ pc: Int, _ program: UnsafeBufferPointer<Instruction>, atStart: Bool, atEnd: Bool) -> Bool {
            stack.append(Int32(pc))
            while let top = stack.popLast() {
                let pc = Int(top)
                if seen[pc] == position { continue }
                seen[pc] = position
                switch program[pc] {
                case .scalar: current.append(top)
                case .split(let first, let second):
                    stack.append(Int32(second))
                    stack.append(Int32(first))
                case .jump(let target): stack.append(Int32(target))
                case .start: if atStart { stack.append(top + 1) }
                case .end: if atEnd { stack.append(top + 1) }
                case .match:
                    stack.removeAll(keepingCapacity: true)
                    return true
                }
            }
            return false
        }

        /// Moves every state over `scalar` to the next position; true on reaching `match`.
        mutating func step(over scalar: Unicode.Scalar, _ program: UnsafeBufferPointer<Instruction>, atEnd: Bool) -> Bool {
            swap(&current, &next)
            current.removeAll(keepingCapacity: true)
            position += 1
            for pc in next {
                guard case .scalar(let set) = program[Int(pc)], set.contains(scalar) else { continue }
                if add(Int(pc) + 1, program, atStart: false, atEnd: atEnd) { return true }
            }
            return false
        }
    }
}

/// A `PatternProgram` made deterministic (subset construction, done once when the contracts are
/// compiled): one table lookup per scalar of the text, where following the Thompson automaton's
/// states costs a walk over all of them and their scratch arrays (a quarter of the router's
/// parse-and-validate time). Scalars are read in 130 classes, which is all a `ScalarClass` can
/// tell apart: each ASCII scalar, non-ASCII white space, other non-ASCII.
///
/// A state is the set of the program's states reached at one position (`scalar`, `end` and `match`
/// instructions, after following splits and jumps). `^` holds only in the first state; `$` is
/// decided when the text ends (`acceptsAtEnd`); reaching `match` ends the search there
/// (`acceptsNow`): patterns are not implicitly anchored. A pattern whose automaton would exceed
/// `maximumStates` keeps the program.
struct PatternAutomaton: Sendable {
    static let classes = 130
    static let maximumStates = 2_048

    let program: PatternProgram
    /// `transitions[state * classes + class]`: the next state, or -1 when no match can follow.
    private let transitions: [Int32]
    private let acceptsNow: [Bool]
    private let acceptsAtEnd: [Bool]

    init?(_ program: PatternProgram) {
        let code = program.instructions
        /// The `scalar`, `end` and `match` instructions reached from `seeds` without reading a scalar.
        func closure(_ seeds: [Int], atStart: Bool) -> [Int32] {
            var reached = Set<Int>()
            var stack = seeds
            var kept: [Int32] = []
            while let pc = stack.popLast() {
                guard reached.insert(pc).inserted else { continue }
                switch code[pc] {
                case .scalar, .end, .match: kept.append(Int32(pc))
                case .split(let first, let second): stack += [second, first]
                case .jump(let target): stack.append(target)
                case .start: if atStart { stack.append(pc + 1) }
                }
            }
            return kept.sorted()
        }
        /// Whether `match` is reached from `pc` once the text has ended.
        func matchesAtEnd(from pc: Int, atStart: Bool) -> Bool {
            var reached = Set<Int>()
            var stack = [pc]
            while let pc = stack.popLast() {
                guard reached.insert(pc).inserted else { continue }
                switch code[pc] {
                case .match: return true
                case .scalar: continue
                case .split(let first, let second): stack += [second, first]
                case .jump(let target): stack.append(target)
                case .start: if atStart { stack.append(pc + 1) }
                case .end: stack.append(pc + 1)
                }
            }
            return false
        }
        struct Key: Hashable { var states: [Int32]; var first: Bool }
        var keys = [Key(states: closure([0], atStart: true), first: true)]
        var index = [keys[0]: 0]
        var transitions: [Int32] = []
        var acceptsNow: [Bool] = []
        var acceptsAtEnd: [Bool] = []
        var next = 0
        while next < keys.count {
            let key = keys[next]
            next += 1
            acceptsNow.append(key.states.contains { if case .match = code[Int($0)] { true } else { false } })
            acceptsAtEnd.append(key.states.contains { pc in
                switch code[Int(pc)] {
                case .match: true
                case .end: matchesAtEnd(from: Int(pc) + 1, atStart: key.first)
                default: false
                }
            })
            for symbol in 0..<Self.classes {
                let scalar = Self.representative(of: symbol)
                var seeds: [Int] = key.states.compactMap { pc in
                    guard case .scalar(let set) = code[Int(pc)], set.contains(scalar) else { return nil }
                    return Int(pc) + 1
                }
                if !program.anchoredAtStart { seeds.append(0) }  // a match may begin at any position
                let states = closure(seeds, atStart: false)
                guard !states.isEmpty else {
                    transitions.append(-1)
                    continue
                }
                let target = Key(states: states, first: false)
                if let known = index[target] {
                    transitions.append(Int32(known))
                } else {
                    guard keys.count < Self.maximumStates else { return nil }
                    index[target] = keys.count
                    transitions.append(Int32(keys.count))
                    keys.append(target)
                }
            }
        }
        self.program = program
        self.transitions = transitions
        self.acceptsNow = acceptsNow
        self.acceptsAtEnd = acceptsAtEnd
    }

    /// A scalar of each class, to test the program's sets with.
    private static func representative(of symbol: Int) -> Unicode.Scalar {
        switch symbol {
        case 0..<128: Unicode.Scalar(UInt8(symbol))
        case 128: "\u{00A0}"  // white space
        default: "\u{00E9}"
        }
    }

    private static func symbol(of scalar: Unicode.Scalar) -> Int {
        scalar.value < 128 ? Int(scalar.value) : scalar.properties.isWhitespace ? 128 : 129
    }

    func matches(_ text: String) -> Bool {
        var state = 0
        if acceptsNow[0] { return true }
        return transitions.withUnsafeBufferPointer { table in
            for scalar in text.unicodeScalars {
                state = Int(table[state * Self.classes + Self.symbol(of: scalar)])
                if state < 0 { return false }
                if acceptsNow[state] { return true }
            }
            return acceptsAtEnd[state]
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
        case "u":
            // \uXXXX: four hex digits; an ASCII scalar only (beyond ASCII, NSRegularExpression).
            guard position + 4 <= scalars.count,
                  let value = UInt32(String(String.UnicodeScalarView(scalars[position..<position + 4])), radix: 16),
                  value < 128, let scalar = Unicode.Scalar(value) else { return nil }
            position += 4
            return ScalarClass(ranges: [(scalar, scalar)])
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

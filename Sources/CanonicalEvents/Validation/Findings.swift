/// Where `CompiledValidator.check` puts what it finds. Nearly every event the hub validates is
/// valid, and for those only a yes or no is needed: a `Verdict` builds no reason and no pointer and
/// stops at the first problem. Only an instance that fails is checked again into a `Report`, which
/// lists every problem with its JSON Pointer. Both go through the same checking code, so they
/// cannot disagree: a verdict fails exactly when a report would hold a problem.
protocol Findings {
    /// Whether no further check can change the outcome (a verdict that failed).
    var isSettled: Bool { get }
    /// How many problems so far (a verdict: 0 or 1).
    var count: Int { get }
    /// Forgets the problems after the first `count` (to list them again in another order).
    mutating func discard(since count: Int)
    /// The next checks are of the member or item named `token`, until `leave()`.
    mutating func enter(_ token: @autoclosure () -> String)
    mutating func leave()
    mutating func fail(_ reason: @autoclosure () -> String)
}

/// Whether an instance conforms, and nothing more.
struct Verdict: Findings {
    private(set) var failed = false

    var isSettled: Bool { failed }
    var count: Int { failed ? 1 : 0 }
    mutating func discard(since count: Int) { if count == 0 { failed = false } }
    mutating func enter(_ token: @autoclosure () -> String) {}
    mutating func leave() {}
    mutating func fail(_ reason: @autoclosure () -> String) { failed = true }
}

/// Every problem of an instance, each with where it is.
struct Report: Findings {
    private(set) var problems: [ValidationProblem] = []
    /// The location of the value being checked, as JSON Pointer tokens.
    private var path: [String] = []

    var isSettled: Bool { false }
    var count: Int { problems.count }
    mutating func discard(since count: Int) { problems.removeSubrange(count...) }
    mutating func enter(_ token: @autoclosure () -> String) { path.append(token()) }
    mutating func leave() { path.removeLast() }
    mutating func fail(_ reason: @autoclosure () -> String) {
        problems.append(ValidationProblem(pointer: JSONPointer(tokens: path), reason: reason()))
    }
}

/// The types a schema's `type` keyword allows, as bits, so that checking a value's type compares
/// no strings; `names` keeps them as written, for the problem's wording.
struct TypeSet: Sendable {
    let names: [String]
    private let bits: UInt8

    private static let bitOfName: [String: UInt8] = [
        "null": 1, "boolean": 2, "integer": 4, "number": 8, "string": 16, "array": 32, "object": 64,
    ]

    init(names: [String]) {
        self.names = names
        bits = names.reduce(0) { $0 | (Self.bitOfName[$1] ?? 0) }
    }

    /// JSON Schema's rule: a number without a fraction is an `integer`, and every integer is a `number`.
    func admits(_ instance: JSONValue) -> Bool {
        switch instance {
        case .null: bits & 1 != 0
        case .bool: bits & 2 != 0
        case .number(let value): bits & 8 != 0 || (bits & 4 != 0 && value.rounded() == value)
        case .string: bits & 16 != 0
        case .array: bits & 32 != 0
        case .object: bits & 64 != 0
        }
    }
}

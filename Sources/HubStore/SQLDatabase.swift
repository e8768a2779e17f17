/// A value bound to, or read from, a statement. Text and integers are all the hub's tables hold; a
/// null keeps its type, which PostgreSQL needs to plan `? IS NULL OR column = ?`.
public enum SQLValue: Sendable, Equatable {
    case text(String?)
    case integer(Int?)
}

/// What can be bound to a statement's `?`.
public protocol SQLBindable: Sendable {
    var sqlValue: SQLValue { get }
    /// This type's null (an absent optional).
    static var sqlNull: SQLValue { get }
}

extension String: SQLBindable {
    public var sqlValue: SQLValue { .text(self) }
    public static var sqlNull: SQLValue { .text(nil) }
}

extension Int: SQLBindable {
    public var sqlValue: SQLValue { .integer(self) }
    public static var sqlNull: SQLValue { .integer(nil) }
}

/// Kept as 0 and 1 on both backends.
extension Bool: SQLBindable {
    public var sqlValue: SQLValue { .integer(self ? 1 : 0) }
    public static var sqlNull: SQLValue { .integer(nil) }
}

extension Optional: SQLBindable where Wrapped: SQLBindable {
    public var sqlValue: SQLValue { self?.sqlValue ?? Wrapped.sqlNull }
    public static var sqlNull: SQLValue { Wrapped.sqlNull }
}

/// One statement in the SQL both backends speak: `?` placeholders, `ON CONFLICT`, `RETURNING`, and
/// no function only one of them has (the smaller of two values is `SQLStatement.least`, not `MIN(a, b)`).
public struct SQLStatement: Sendable {
    public var sql: String
    public var arguments: [SQLValue]

    public init(_ sql: String, _ arguments: any SQLBindable...) {
        self.sql = sql
        self.arguments = arguments.map(\.sqlValue)
    }

    public init(sql: String, arguments: [SQLValue]) {
        self.sql = sql
        self.arguments = arguments
    }

    /// The smaller of two nullable values, null only when both are: what an upsert keeps of a time
    /// ("the earliest") whichever fact came first.
    public static func least(_ a: String, _ b: String) -> String {
        "CASE WHEN \(a) IS NULL THEN \(b) WHEN \(b) IS NULL OR \(a) <= \(b) THEN \(a) ELSE \(b) END"
    }

    /// The larger of two values that are not null.
    public static func greatest(_ a: String, _ b: String) -> String {
        "CASE WHEN \(a) >= \(b) THEN \(a) ELSE \(b) END"
    }
}

/// One row of a result, by column name.
public struct SQLRow: Sendable {
    public var values: [String: SQLValue]

    public init(values: [String: SQLValue]) { self.values = values }

    public subscript<Value: SQLDecodable>(_ column: String) -> Value {
        Value(sql: values[column] ?? .text(nil))
    }
}

/// What a column can be read as. A null read as a non-optional text is empty, as a number zero:
/// the hub's schema keeps those columns NOT NULL.
public protocol SQLDecodable {
    init(sql: SQLValue)
}

/// A value a column holds, or nil for null.
public protocol SQLScalar {
    static func from(_ value: SQLValue) -> Self?
}

extension String: SQLScalar, SQLDecodable {
    public static func from(_ value: SQLValue) -> String? {
        switch value {
        case .text(let text): text
        case .integer(let number): number.map(String.init)
        }
    }
    public init(sql: SQLValue) { self = String.from(sql) ?? "" }
}

extension Int: SQLScalar, SQLDecodable {
    public static func from(_ value: SQLValue) -> Int? {
        switch value {
        case .integer(let number): number
        case .text(let text): text.flatMap { Int($0) }
        }
    }
    public init(sql: SQLValue) { self = Int.from(sql) ?? 0 }
}

extension Bool: SQLScalar, SQLDecodable {
    public static func from(_ value: SQLValue) -> Bool? { Int.from(value).map { $0 != 0 } }
    public init(sql: SQLValue) { self = Bool.from(sql) ?? false }
}

extension Optional: SQLDecodable where Wrapped: SQLScalar {
    public init(sql: SQLValue) { self = Wrapped.from(sql) }
}

/// Where the hub keeps its state: an SQL database. Every call runs off Swift's cooperative pool (GRDB
/// on its own dispatch queue, postgres-nio on its event loops) and is safe from any task.
public protocol SQLDatabase: Sendable {
    var backend: SQLBackend { get }
    /// Runs the statements in one transaction, in order; each statement's rows (for `RETURNING`).
    /// On PostgreSQL a transaction that lost a deadlock or a serialization conflict to another
    /// node's is run again.
    @discardableResult
    func write(_ statements: [SQLStatement]) async throws -> [[SQLRow]]
    /// Runs the queries in one read transaction, so that they see one state.
    func read(_ statements: [SQLStatement]) async throws -> [[SQLRow]]
    /// Applies the schema's migrations not applied yet, under a lock other nodes wait on; refuses
    /// a database that has migrations this code does not know. Returns the ids it applied.
    func migrate(_ schema: SQLSchema) async throws -> [String]
    /// The migrations applied so far, in order.
    func appliedMigrations() async throws -> [String]
    func close() async
}

extension SQLDatabase {
    public func read(_ statement: SQLStatement) async throws -> [SQLRow] { try await read([statement])[0] }
    @discardableResult
    public func write(_ statement: SQLStatement) async throws -> [SQLRow] { try await write([statement])[0] }
}

public enum SQLBackend: String, Sendable, CaseIterable {
    case sqlite
    case postgres
}

/// A refusal of the store: what is wrong, never the data.
public struct StoreError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

import Foundation
import Logging
import PostgresNIO

/// A PostgreSQL database through postgres-nio's connection pool: several hub nodes share one. Every
/// query suspends the calling task while postgres-nio's event loops do the work.
///
/// The pool runs in a task this type starts and `close()` ends, so that a store is usable as soon as
/// it is made (the node migrates before its services start).
public final class PostgresDatabase: SQLDatabase {
    private let client: PostgresClient
    private let runner: Task<Void, Never>
    private let schemaName: String?
    private let logger: Logger
    public var backend: SQLBackend { .postgres }

    public init(location: PostgresLocation, password: String?, logger: Logger) {
        var configuration = PostgresClient.Configuration(host: location.host, port: location.port, username: location.user,
                                                         password: password ?? location.password, database: location.database,
                                                         tls: location.tls)
        if let schema = location.schema { configuration.options.additionalStartupParameters = [("search_path", schema)] }
        configuration.options.maximumConnections = 10
        client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        let client = self.client
        // Started at once (not at the executor's leisure): the pool must run before the first lease.
        runner = Task.immediate { await client.run() }
        schemaName = location.schema
        self.logger = logger
    }

    /// Error codes of a transaction that lost to a concurrent one and may simply run again:
    /// serialization_failure and deadlock_detected.
    private static let retryable: Set<String> = ["40001", "40P01"]

    public func write(_ statements: [SQLStatement]) async throws -> [[SQLRow]] {
        for attempt in 1... {
            do {
                return try await transaction("BEGIN", statements)
            } catch let error as PSQLError where attempt < 10 && Self.retryable.contains(error.serverInfo?[.sqlState] ?? "") {
                try await Task.sleep(for: .milliseconds(Int.random(in: 5...50) * attempt))
            }
        }
        fatalError("unreachable")
    }

    public func read(_ statements: [SQLStatement]) async throws -> [[SQLRow]] {
        try await transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", statements)
    }

    private func transaction(_ begin: String, _ statements: [SQLStatement]) async throws -> [[SQLRow]] {
        try await client.withConnection { connection in
            try await connection.query(PostgresQuery(unsafeSQL: begin), logger: logger)
            do {
                var results: [[SQLRow]] = []
                for statement in statements { results.append(try await Self.run(statement, on: connection, logger: logger)) }
                try await connection.query("COMMIT", logger: logger)
                return results
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
        }
    }

    private static func run(_ statement: SQLStatement, on connection: PostgresConnection, logger: Logger) async throws -> [SQLRow] {
        let (sql, bindings) = try postgresQuery(statement)
        var rows: [SQLRow] = []
        for try await row in try await connection.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger) {
            var values: [String: SQLValue] = [:]
            for cell in row {
                switch cell.dataType {
                case .int2, .int4, .int8: values[cell.columnName] = .integer(try cell.decode(Int?.self))
                default: values[cell.columnName] = .text(try cell.decode(String?.self))
                }
            }
            rows.append(SQLRow(values: values))
        }
        return rows
    }

    /// `?` becomes `$n`, cast to the bound value's type (an untyped null cannot be planned in
    /// `$1 IS NULL`). A `?` inside a quoted literal stays.
    static func postgresQuery(_ statement: SQLStatement) throws -> (String, PostgresBindings) {
        var sql = ""
        var bindings = PostgresBindings(capacity: statement.arguments.count)
        var quoted = false
        var index = 0
        for character in statement.sql {
            if character == "'" { quoted.toggle() }
            guard character == "?", !quoted else { sql.append(character); continue }
            guard index < statement.arguments.count else { throw StoreError("a statement has more placeholders than arguments") }
            switch statement.arguments[index] {
            case .text(let text):
                bindings.append(text)
                sql += "$\(index + 1)::text"
            case .integer(let number):
                bindings.append(number)
                sql += "$\(index + 1)::bigint"
            }
            index += 1
        }
        guard index == statement.arguments.count else { throw StoreError("a statement has more arguments than placeholders") }
        return (sql, bindings)
    }

    /// One transaction under an advisory lock (two nodes starting at once: the second waits, then
    /// finds the migrations applied). PostgreSQL's DDL is transactional: a migration applies whole.
    public func migrate(_ schema: SQLSchema) async throws -> [String] {
        try await client.withConnection { connection in
            if let schemaName {
                try await connection.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA IF NOT EXISTS \"\(schemaName)\""), logger: logger)
            }
            try await connection.query("BEGIN", logger: logger)
            do {
                try await connection.query("SELECT pg_advisory_xact_lock(\(Self.migrationLock))", logger: logger)
                try await connection.query(PostgresQuery(unsafeSQL: Self.migrationsTable), logger: logger)
                var applied: Set<String> = []
                for try await id in try await connection.query("SELECT id FROM ketenhub_migrations", logger: logger).decode(String.self) {
                    applied.insert(id)
                }
                try schema.refuseUnknown(applied: applied)
                var done: [String] = []
                for migration in schema.migrations where !applied.contains(migration.id) {
                    for sql in Self.statements(migration.postgres ?? "") {
                        try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
                    }
                    try await connection.query("INSERT INTO ketenhub_migrations (id, applied_at) VALUES (\(migration.id), now()::text)", logger: logger)
                    done.append(migration.id)
                }
                try await connection.query("COMMIT", logger: logger)
                return done
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
        }
    }

    public func appliedMigrations() async throws -> [String] {
        try await client.withConnection { connection in
            try await connection.query(PostgresQuery(unsafeSQL: Self.migrationsTable), logger: logger)
            var ids: [String] = []
            for try await id in try await connection.query("SELECT id FROM ketenhub_migrations ORDER BY seq", logger: logger).decode(String.self) {
                ids.append(id)
            }
            return ids
        }
    }

    /// Any number: the key every hub node takes to migrate.
    private static let migrationLock = 7_306_228_431
    private static let migrationsTable = """
        CREATE TABLE IF NOT EXISTS ketenhub_migrations (
            seq BIGSERIAL, id TEXT COLLATE "C" PRIMARY KEY, applied_at TEXT NOT NULL)
        """

    /// A migration's statements, one by one (the extended protocol takes one per query): split at
    /// each `;` outside a function body quoted with `$$`. The hub's DDL has no `;` inside a literal;
    /// comment lines are dropped.
    static func statements(_ sql: String) -> [String] {
        let code = sql.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("--") }.joined(separator: "\n")
        var statements: [String] = []
        var current = ""
        var inBody = false
        var rest = Substring(code)
        while let character = rest.first {
            if rest.hasPrefix("$$") {
                inBody.toggle()
                current += "$$"
                rest = rest.dropFirst(2)
                continue
            }
            if character == ";", !inBody {
                statements.append(current)
                current = ""
            } else {
                current.append(character)
            }
            rest = rest.dropFirst()
        }
        statements.append(current)
        return statements.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
    }

    public func close() async {
        runner.cancel()
        _ = await runner.value
    }
}

/// `postgres://user[:password]@host[:port]/database[?schema=NAME&sslmode=disable|prefer|require]`.
/// `schema` keeps the hub's tables in a schema of their own (created if missing); `sslmode` as
/// libpq has it, `prefer` unless given.
public struct PostgresLocation: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    public var schema: String?
    public var sslMode: String

    public init(url text: String) throws {
        guard let url = URLComponents(string: text), ["postgres", "postgresql"].contains(url.scheme ?? ""),
              let host = url.host, !host.isEmpty else {
            throw StoreError("expected postgres://user@host:port/database")
        }
        guard let user = url.user, !user.isEmpty else { throw StoreError("a postgres:// store names its user (postgres://user@host/database)") }
        let database = String(url.path.drop { $0 == "/" })
        guard !database.isEmpty else { throw StoreError("a postgres:// store names its database (postgres://user@host/database)") }
        self.host = host
        self.port = url.port ?? 5432
        self.user = user
        self.password = url.password
        self.database = database
        sslMode = "prefer"
        for item in url.queryItems ?? [] {
            switch (item.name, item.value ?? "") {
            case ("schema", let name):
                guard name.range(of: "^[a-z_][a-z0-9_]{0,62}$", options: .regularExpression) != nil else {
                    throw StoreError("schema: expected a lower-case SQL name (letters, digits, _)")
                }
                schema = name
            case ("sslmode", let mode) where ["disable", "prefer", "require"].contains(mode):
                sslMode = mode
            default:
                throw StoreError("unknown or invalid parameter \(item.name) (parameters: schema, sslmode=disable|prefer|require)")
            }
        }
    }

    var tls: PostgresClient.Configuration.TLS {
        switch sslMode {
        case "disable": .disable
        case "require": .require(.makeClientConfiguration())
        default: .prefer(.makeClientConfiguration())
        }
    }
}

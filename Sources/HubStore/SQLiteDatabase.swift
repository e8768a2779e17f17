import Foundation
import GRDB

/// An SQLite database through GRDB: a file, or memory. GRDB runs every access on its own serial
/// queue; the async calls here suspend the caller's task instead of blocking a cooperative thread.
public final class SQLiteDatabase: SQLDatabase {
    private let queue: DatabaseQueue
    public var backend: SQLBackend { .sqlite }

    /// Several processes of one host may open the same file (a gateway node reads what a ledger
    /// node writes): each waits for the other's write instead of failing at once.
    public init(path: String?) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        queue = try path.map { try DatabaseQueue(path: $0, configuration: configuration) } ?? DatabaseQueue()
    }

    public func write(_ statements: [SQLStatement]) async throws -> [[SQLRow]] {
        try await queue.write { db in try statements.map { try Self.run($0, in: db) } }
    }

    public func read(_ statements: [SQLStatement]) async throws -> [[SQLRow]] {
        try await queue.read { db in try statements.map { try Self.run($0, in: db) } }
    }

    private static func run(_ statement: SQLStatement, in db: Database) throws -> [SQLRow] {
        let arguments = StatementArguments(statement.arguments.map { value -> (any DatabaseValueConvertible)? in
            switch value {
            case .text(let text): text
            case .integer(let number): number
            }
        })
        return try Row.fetchAll(db, sql: statement.sql, arguments: arguments).map { row in
            var values: [String: SQLValue] = [:]
            for (column, value) in row {
                switch value.storage {
                case .int64(let number): values[column] = .integer(Int(number))
                case .string(let text): values[column] = .text(text)
                case .double(let number): values[column] = .text(String(number))
                case .blob, .null: values[column] = .text(nil)
                }
            }
            return SQLRow(values: values)
        }
    }

    /// GRDB's migrator keeps the applied ids (table `grdb_migrations`, as files of earlier versions
    /// have them). Two processes migrating one file at once: a migration the other applied between
    /// our check and our write fails here, and the next attempt finds it applied.
    public func migrate(_ schema: SQLSchema) async throws -> [String] {
        let migrator = schema.migrations.reduce(into: DatabaseMigrator()) { migrator, migration in
            migrator.registerMigration(migration.id) { db in
                if let sql = migration.sqlite { try db.execute(sql: sql) }
            }
        }
        for attempt in 1... {
            do {
                let before = try await queue.read { db in try migrator.appliedIdentifiers(db) }
                try schema.refuseUnknown(applied: before)
                let queue = self.queue
                // GRDB's migrator blocks its caller: it runs on a thread of Dispatch's, not the pool's.
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                    DispatchQueue.global().async { continuation.resume(with: Result { try migrator.migrate(queue) }) }
                }
                return schema.identifiers.filter { !before.contains($0) }
            } catch let error as StoreError {
                throw error
            } catch where attempt < 20 {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        return []
    }

    public func appliedMigrations() async throws -> [String] {
        try await queue.read { db in
            guard try db.tableExists("grdb_migrations") else { return [] }
            return try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY rowid")
        }
    }

    public func close() async {
        try? queue.close()
    }
}

import Foundation
import GRDB
import SharingPolicy

/// Where matrix versions are kept: SQLite here, PostgreSQL next (several hub nodes share one store).
public protocol MatrixVersionStore: Sendable {
    func save(_ version: MatrixVersion) throws
    func versions() throws -> [MatrixVersion]
}

public final class SQLiteMatrixVersionStore: MatrixVersionStore {
    private let database: DatabaseQueue

    /// A store in the file at `path` (it may be the ledger's file), or in memory without one.
    public init(path: String? = nil) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        database = try path.map { try DatabaseQueue(path: $0, configuration: configuration) } ?? DatabaseQueue()
        var migrator = DatabaseMigrator()
        migrator.registerMigration("matrix-v1") { db in
            try db.execute(sql: """
                CREATE TABLE matrix_versions (
                    number INTEGER PRIMARY KEY, matrix_version TEXT NOT NULL, state TEXT NOT NULL,
                    proposed_by TEXT NOT NULL, proposed_at TEXT NOT NULL, approved_by TEXT, approved_at TEXT,
                    activated_by TEXT, active_from TEXT, files TEXT NOT NULL);
                """)
        }
        try migrator.migrateSharedFile(database)
    }

    public func save(_ version: MatrixVersion) throws {
        let files = String(decoding: try JSONEncoder().encode(version.bundle.files), as: UTF8.self)
        try database.write { db in
            try db.execute(sql: """
                INSERT OR REPLACE INTO matrix_versions
                    (number, matrix_version, state, proposed_by, proposed_at, approved_by, approved_at, activated_by, active_from, files)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [version.number, version.matrixVersion, version.state.rawValue, version.proposedBy, version.proposedAt,
                                 version.approvedBy, version.approvedAt, version.activatedBy, version.activeFrom, files])
        }
    }

    public func versions() throws -> [MatrixVersion] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM matrix_versions ORDER BY number").map { row in
                let files = try JSONDecoder().decode([String: String].self, from: Data((row["files"] as String).utf8))
                var version = MatrixVersion(number: row["number"], matrixVersion: row["matrix_version"], proposedBy: row["proposed_by"],
                                            proposedAt: row["proposed_at"], bundle: MatrixBundle(files: files))
                version.state = MatrixVersion.State(rawValue: row["state"]) ?? .proposed
                version.approvedBy = row["approved_by"]
                version.approvedAt = row["approved_at"]
                version.activatedBy = row["activated_by"]
                version.activeFrom = row["active_from"]
                return version
            }
        }
    }
}

extension DatabaseMigrator {
    /// Migrates a file other processes may be migrating at the same moment (two nodes starting on one
    /// file): a migration another process applied between our check and our write fails here, and
    /// the next attempt finds it applied.
    func migrateSharedFile(_ database: DatabaseQueue) throws {
        for attempt in 1... {
            do {
                return try migrate(database)
            } catch where attempt < 20 {
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
    }
}

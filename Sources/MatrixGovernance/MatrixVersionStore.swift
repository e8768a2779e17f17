import Foundation
import HubStore
import SharingPolicy

/// Where matrix versions are kept. Several API nodes may share one store: a new version takes the
/// next number only if no other node took it first, and a transition applies only to a version
/// still in the state it was read in, so that two officers approving at once give one approval.
public protocol MatrixVersionStore: Sendable {
    /// Stores a new version under its number; false when that number is taken.
    func insert(_ version: MatrixVersion) async throws -> Bool
    /// Stores a transition of a version that was `from`; false when it no longer is (another node
    /// moved it first).
    func update(_ version: MatrixVersion, from: MatrixVersion.State) async throws -> Bool
    func versions() async throws -> [MatrixVersion]
    /// One version, files included; nil if no version has that number.
    func version(_ number: Int) async throws -> MatrixVersion?
    /// Every version's number and state, in number order, without the files: what is read every
    /// second (the governance publisher) must not grow with the size of every version ever proposed.
    func states() async throws -> [(number: Int, state: MatrixVersion.State)]
}

/// The matrix versions in the hub's SQL store (table `matrix_versions`, on SQLite or PostgreSQL).
public final class SQLMatrixVersionStore: MatrixVersionStore {
    let database: any SQLDatabase

    public init(database: any SQLDatabase) {
        self.database = database
    }

    public func insert(_ version: MatrixVersion) async throws -> Bool {
        let files = String(decoding: try JSONEncoder().encode(version.bundle.files), as: UTF8.self)
        let inserted = try await database.write(SQLStatement("""
            INSERT INTO matrix_versions
                (number, matrix_version, state, proposed_by, proposed_at, approved_by, approved_at, activated_by, active_from, files)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING number
            """, version.number, version.matrixVersion, version.state.rawValue, version.proposedBy, version.proposedAt,
            version.approvedBy, version.approvedAt, version.activatedBy, version.activeFrom, files))
        return !inserted.isEmpty
    }

    public func update(_ version: MatrixVersion, from: MatrixVersion.State) async throws -> Bool {
        let updated = try await database.write(SQLStatement("""
            UPDATE matrix_versions SET state = ?, approved_by = ?, approved_at = ?, activated_by = ?, active_from = ?
            WHERE number = ? AND state = ? RETURNING number
            """, version.state.rawValue, version.approvedBy, version.approvedAt, version.activatedBy, version.activeFrom,
            version.number, from.rawValue))
        return !updated.isEmpty
    }

    public func versions() async throws -> [MatrixVersion] {
        try await database.read(SQLStatement("SELECT * FROM matrix_versions ORDER BY number")).map(Self.version(from:))
    }

    public func version(_ number: Int) async throws -> MatrixVersion? {
        try await database.read(SQLStatement("SELECT * FROM matrix_versions WHERE number = ?", number)).first.map(Self.version(from:))
    }

    public func states() async throws -> [(number: Int, state: MatrixVersion.State)] {
        try await database.read(SQLStatement("SELECT number, state FROM matrix_versions ORDER BY number")).map { row in
            (row["number"], MatrixVersion.State(rawValue: row["state"]) ?? .proposed)
        }
    }

    private static func version(from row: SQLRow) throws -> MatrixVersion {
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

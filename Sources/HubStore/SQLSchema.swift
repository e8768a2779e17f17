/// A schema as the ordered migrations that build it. Each migration has an id, recorded in the
/// database when applied, and its SQL for each backend; nil where a backend has nothing to do (a
/// step from before that backend was supported, which its first migration already covers).
public struct SQLSchema: Sendable {
    public var migrations: [SQLMigration]

    public init(migrations: [SQLMigration]) { self.migrations = migrations }

    public var identifiers: [String] { migrations.map(\.id) }

    /// Refuses a database migrated by a newer version of the hub: its tables may mean something this
    /// code would misread, and writing them could destroy what the newer code relies on.
    func refuseUnknown(applied: some Collection<String>) throws {
        let unknown = applied.filter { !identifiers.contains($0) }
        guard unknown.isEmpty else {
            throw StoreError("""
                the store's schema is newer than this version of ketenhub (it has migration\(unknown.count == 1 ? "" : "s") \
                \(unknown.sorted().joined(separator: ", ")), which this version does not know): run the version that migrated it, or a newer one
                """)
        }
    }
}

public struct SQLMigration: Sendable {
    public var id: String
    public var sqlite: String?
    public var postgres: String?

    public init(_ id: String, sqlite: String?, postgres: String?) {
        self.id = id
        self.sqlite = sqlite
        self.postgres = postgres
    }
}

import Logging

/// Where a node keeps the hub's state, from the configuration's store URL: `sqlite:PATH` (a file),
/// `sqlite::memory:` (gone with the process; the demo's default) or `postgres://...` (shared by
/// several nodes; see `PostgresLocation`).
public enum StoreLocation: Sendable, Equatable {
    case sqlite(path: String?)
    case postgres(PostgresLocation)

    /// Opens the database and, unless `migrating` is false, applies the schema's migrations not
    /// applied yet (refusing a schema newer than this code).
    public func open(password: String? = nil, migrating: Bool = true, logger: Logger) async throws -> any SQLDatabase {
        let database: any SQLDatabase = switch self {
        case .sqlite(let path): try SQLiteDatabase(path: path)
        case .postgres(let location): PostgresDatabase(location: location, password: password, logger: logger)
        }
        if migrating {
            do {
                _ = try await database.migrate(HubSchema.schema)
            } catch {
                await database.close()
                throw error
            }
        }
        return database
    }

    public var backend: SQLBackend {
        switch self {
        case .sqlite: .sqlite
        case .postgres: .postgres
        }
    }
}

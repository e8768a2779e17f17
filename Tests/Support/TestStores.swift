import DeliveryLedger
import Foundation
import HubStore
import Logging
import MatrixGovernance
import Testing

/// The store backends a parameterised test runs on: both, unless `KETENHUB_TEST_BACKENDS` names
/// fewer (`sqlite` on a machine without PostgreSQL). PostgreSQL is the server `make test` starts
/// (`scripts/with-postgres.sh`), at `KETENHUB_TEST_POSTGRES_URL`; each store gets a schema of its own.
public enum StoreBackend: String, Sendable, CaseIterable, CustomTestStringConvertible {
    case sqlite
    case postgres

    public static var all: [StoreBackend] {
        guard let names = ProcessInfo.processInfo.environment["KETENHUB_TEST_BACKENDS"] else { return allCases }
        return names.split(separator: ",").compactMap { StoreBackend(rawValue: $0.trimmingCharacters(in: .whitespaces)) }
    }

    public var testDescription: String { rawValue }

    /// Where a new, empty store of this backend is: SQLite in memory (or at `file`), PostgreSQL in a
    /// new schema of the test server, or in `schema` to share one between nodes.
    public func location(file: String? = nil, schema: String? = nil) throws -> StoreLocation {
        switch self {
        case .sqlite:
            return .sqlite(path: file)
        case .postgres:
            guard let url = ProcessInfo.processInfo.environment["KETENHUB_TEST_POSTGRES_URL"] else {
                throw StoreError("""
                    no PostgreSQL server for the tests: run them with `make test` (which starts one through \
                    scripts/with-postgres.sh) or set KETENHUB_TEST_POSTGRES_URL; KETENHUB_TEST_BACKENDS=sqlite runs SQLite alone
                    """)
            }
            let name = schema ?? Self.newSchema()
            return .postgres(try PostgresLocation(url: url + (url.contains("?") ? "&" : "?") + "schema=\(name)"))
        }
    }

    public static func newSchema() -> String { "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16) }

    /// A new, migrated, empty database.
    public func database() async throws -> any SQLDatabase {
        try await location().open(logger: Logger(label: "ketenhub.test.store"))
    }

    public func ledger() async throws -> SQLLedgerStore {
        SQLLedgerStore(database: try await database())
    }

    public func versions() async throws -> SQLMatrixVersionStore {
        SQLMatrixVersionStore(database: try await database())
    }
}

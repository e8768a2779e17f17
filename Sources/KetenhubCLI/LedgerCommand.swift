import ArgumentParser
import Foundation
import HubServer
import HubStore

/// `ketenhub ledger ...`: the hub's store outside a running node.
struct LedgerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger",
        abstract: "The hub's store (ledger, matrix versions, API call log): schema migrations.",
        subcommands: [Migrate.self]
    )

    /// Applies the schema's migrations to the store a node's configuration names, as every node does
    /// at start: for operators who migrate before rolling out a new version. Prints JSON.
    struct Migrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Migrate the store of a node's configuration file to this version's schema; refuses a newer schema.",
            discussion: "Prints {\"backend\", \"applied\", \"schema\"}: the migrations applied now, and every migration of this version's schema."
        )

        @Option(help: "The node's configuration file (YAML).")
        var config: String

        func run() async throws {
            let configuration = try loadNodeConfiguration(config)
            let logger = commandLogger("ketenhub.ledger", level: configuration.logLevel)
            let database = try await configuration.store.open(password: configuration.storePassword, migrating: false, logger: logger)
            do {
                let applied = try await database.migrate(HubSchema.schema)
                await database.close()
                let answer: [String: any Sendable] = ["backend": database.backend.rawValue, "applied": applied, "schema": HubSchema.schema.identifiers]
                print(String(decoding: try JSONSerialization.data(withJSONObject: answer, options: [.sortedKeys]), as: UTF8.self))
            } catch let error as StoreError {
                await database.close()
                printError("ketenhub ledger migrate: \(error.description)")
                throw ExitCode(2)
            } catch {
                await database.close()
                throw error
            }
        }
    }
}

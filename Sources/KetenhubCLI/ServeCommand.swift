import ArgumentParser
import Foundation
import HubServer
import Kafka
import Logging

/// `ketenhub serve --config FILE`: one node of the hub, with the roles its configuration file lists,
/// against the Kafka cluster the file names. Runs until SIGTERM or SIGINT, then drains and exits 0.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run one node of the hub from its configuration file (until SIGTERM or SIGINT).",
        discussion: "The file is documented by Contracts/config/hub.schema.json; deploy/ketenhub.yaml is a commented example."
    )

    @Option(help: "The node's configuration file (YAML).")
    var config: String

    func run() async throws {
        let configuration = try loadNodeConfiguration(config)
        let logger = commandLogger("ketenhub.\(configuration.node)", level: configuration.logLevel)
        let roles = configuration.roles.sorted().map(\.rawValue).joined(separator: ", ")
        let node = try await HubNode(configuration: configuration, logger: logger) { address in
            printNow("Ketenhub \(Ketenhub.version) node \(configuration.node) (\(roles)) serving on \(address.absoluteString)")
        }
        node.bootstrapMetricsSystem()
        let running = node.runningParts
        let watchdog = StopWatchdog(limit: .seconds(configuration.http.drainSeconds + 30)) { running.current }
        try await node.run()
        watchdog.disarm()
        printNow("node \(configuration.node) stopped")
    }
}

/// A node's configuration file, read and checked; a refusal is printed as `file:line: key: problem`
/// and ends the command with exit code 2. Its librdkafka properties go to every client of the process.
func loadNodeConfiguration(_ file: String) throws -> HubConfiguration {
    let configuration: HubConfiguration
    do {
        configuration = try HubConfiguration.load(file: file)
    } catch let error as ConfigurationError {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode(2)
    }
    KafkaClientSettings.processProperties = configuration.kafka.properties
    return configuration
}

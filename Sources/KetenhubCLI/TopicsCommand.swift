import ArgumentParser
import Foundation
import HubServer
import HubTopology
import Kafka
import Logging
import SharingPolicy

/// `ketenhub topics create --config FILE`: the hub's topics on the cluster a node's configuration
/// names, with the partition counts and configurations of deploy/README's table, through the admin
/// API (Apache Kafka). On the embedded cluster `ketenhub broker --hub-topics` makes the same topics
/// through the mock's own API, which has no CreateTopics request.
struct TopicsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topics",
        abstract: "The hub's Kafka topics.",
        subcommands: [Create.self, Plan.self]
    )

    /// The topics the code uses, for manifests and their checks.
    struct Plan: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the hub's topics (name, partitions, configuration) for the organisations of a matrix, as JSON."
        )

        @Option(help: "The sharing matrix directory whose organisations get delivery topics.")
        var matrix: String = MatrixCommand.defaultDirectory

        func run() throws {
            let organisations = try MatrixLoader.loadValid(directory: URL(fileURLWithPath: matrix)).organisations.organisations.map(\.code)
            let topics = HubTopics().specifications(organisations: organisations).map { topic -> [String: Any] in
                ["name": topic.name, "partitions": Int(topic.partitions), "configs": topic.configs]
            }
            let data = try JSONSerialization.data(withJSONObject: topics, options: [.prettyPrinted, .sortedKeys])
            printNow(String(decoding: data, as: UTF8.self))
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create the hub's topics that do not exist yet; refuse existing ones whose partition count differs."
        )

        @Option(help: "A node's configuration file (its Kafka settings and matrix directory are used).")
        var config: String

        func run() async throws {
            let configuration = try loadNodeConfiguration(config)
            let organisations = try MatrixLoader.loadValid(directory: configuration.matrix).organisations.organisations.map(\.code)
            let wanted = HubTopics().specifications(organisations: organisations)
            let admin = try KafkaAdmin(settings: KafkaClientSettings(bootstrapServers: configuration.kafka.bootstrapServers,
                                                                     clientID: "ketenhub-topics"),
                                       logger: commandLogger("ketenhub.topics", level: .warning))
            defer { admin.shutdown() }
            let existing = Dictionary(try await admin.listTopics().map { ($0.name, $0.partitionCount) }, uniquingKeysWith: { first, _ in first })
            let wrong = wanted.filter { topic in existing[topic.name].map { $0 != Int(topic.partitions) } ?? false }
            guard wrong.isEmpty else {
                for topic in wrong {
                    FileHandle.standardError.write(Data("error: \(topic.name) has \(existing[topic.name]!) partitions; the hub needs \(topic.partitions)\n".utf8))
                }
                throw ExitCode(1)
            }
            let missing = wanted.filter { existing[$0.name] == nil }
            if !missing.isEmpty { try await admin.createTopics(missing) }
            for topic in wanted {
                printNow("\(missing.contains { $0.name == topic.name } ? "created" : "exists ")  \(topic.name)  \(topic.partitions) partitions")
            }
        }
    }
}

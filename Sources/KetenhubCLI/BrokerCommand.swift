import ArgumentParser
import EmbeddedKafka
import Foundation
import HubTopology
import Kafka
import Logging
import SharingPolicy

/// `ketenhub broker`: the embedded cluster as a process of its own, for other processes to connect to.
struct BrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broker",
        abstract: "Run the embedded Kafka cluster (librdkafka's in-memory mock; not for production).",
        discussion: "Prints the bootstrap servers and runs until SIGINT or SIGTERM. Production runs on Apache Kafka."
    )

    @Option(help: "Number of brokers.")
    var brokers = 3

    @Option(name: .customLong("port-file"), help: "Write the bootstrap servers as the first line of this file once the cluster accepts connections.")
    var portFile: String?

    @Option(name: .customLong("topic"), help: "A topic to create at start, as NAME or NAME:PARTITIONS (repeatable).")
    var topics: [String] = []

    @Flag(name: .customLong("hub-topics"), help: "Create the hub's topics (as `ketenhub topics create` does on Apache Kafka), for the organisations of --matrix.")
    var hubTopics = false

    @Option(help: "The sharing matrix directory whose organisations get delivery topics (with --hub-topics).")
    var matrix: String = MatrixCommand.defaultDirectory

    @Option(help: "With --hub-topics: the partitions of the canonical topic, and so of the routers' state and audit topics (one each per routed partition).")
    var partitions: Int32 = HubTopics().partitions

    func validate() throws {
        guard brokers >= 1 else { throw ValidationError("--brokers must be at least 1") }
        guard partitions >= 1 else { throw ValidationError("--partitions must be at least 1") }
        for topic in topics { _ = try Self.parseTopic(topic) }
    }

    func run() async throws {
        var specifications = try topics.map(Self.parseTopic)
        if hubTopics {
            let organisations = try MatrixLoader.loadValid(directory: URL(fileURLWithPath: matrix)).organisations.organisations.map(\.code)
            var hub = HubTopics()
            hub.partitions = partitions
            specifications += hub.specifications(organisations: organisations)
        }
        let session = EmbeddedClusterSession(brokers: brokers, topics: specifications, portFile: portFile,
                                             logger: Logger(label: "ketenhub.broker"))
        try await session.run { cluster in printNow(cluster.bootstrapServers) }
    }

    static func parseTopic(_ text: String) throws -> KafkaTopicSpecification {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard let name = parts.first, !name.isEmpty, parts.count <= 2 else {
            throw ValidationError("--topic \(text): expected NAME or NAME:PARTITIONS")
        }
        var partitions: Int32 = 1
        if parts.count == 2 {
            guard let count = Int32(parts[1]), count >= 1 else {
                throw ValidationError("--topic \(text): the partition count must be a positive number")
            }
            partitions = count
        }
        return KafkaTopicSpecification(name: String(name), partitions: partitions)
    }
}

/// Runs the embedded cluster until SIGINT or SIGTERM: creates the topics, waits until the cluster
/// answers over TCP, announces it (stdout, port file), runs `started`, then waits for the signal.
struct EmbeddedClusterSession {
    var brokers: Int
    var topics: [KafkaTopicSpecification]
    var portFile: String?
    var logger: Logger

    func run(started: (EmbeddedCluster) async throws -> Void) async throws {
        let signals = TerminationSignals()
        let cluster = try EmbeddedCluster(brokers: brokers, logger: logger)
        defer { cluster.shutdown() }
        try await cluster.createTopics(topics)
        try await cluster.waitUntilReachable()
        if let portFile { try writeAtomically("\(cluster.bootstrapServers)\n", to: portFile) }
        defer { if let portFile { try? FileManager.default.removeItem(atPath: portFile) } }
        try await started(cluster)
        let signal = await signals.next()
        logger.info("stopping the embedded cluster", metadata: ["signal": "\(signal)"])
    }

    /// Written whole under a temporary name, then renamed: a reader never sees half a line.
    private func writeAtomically(_ text: String, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp")
        try Data(text.utf8).write(to: temporary)
        guard rename(temporary.path, url.path) == 0 else {
            throw ValidationError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }
}

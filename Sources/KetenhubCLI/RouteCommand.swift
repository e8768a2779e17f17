import ArgumentParser
import EmbeddedKafka
import Foundation
import HubServer
import HubTopology
import Kafka
import Logging
import Router
import SharingPolicy

/// `ketenhub route`: the routing service, on a given cluster or on an embedded one.
struct RouteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "route",
        abstract: "Run the routing service until SIGINT or SIGTERM.",
        discussion: "Without --bootstrap it starts an embedded cluster (librdkafka's mock, not for production) with the hub's topics."
    )

    @Option(help: "Bootstrap servers of the Kafka cluster.")
    var bootstrap: String?

    @Option(help: "The sharing matrix directory.")
    var matrix: String = MatrixCommand.defaultDirectory

    @Option(name: .customLong("batch-size"), help: "Events per transaction at most.")
    var batchSize = RouterConfiguration.defaults.batchSize

    @Option(name: .customLong("batch-bytes"), help: "Bytes of keys and values per transaction at most (a larger record goes alone): with --batch-size it bounds what a partition's router holds, however large the records.")
    var batchBytes = RouterConfiguration.defaults.batchBytes

    @Option(name: .customLong("linger-ms"), help: "How long a batch waits for more events after its first (none by default: it takes what has arrived).")
    var lingerMilliseconds = RouterConfiguration.defaults.lingerMilliseconds

    @Option(name: .customLong("transactional-id"), help: "The prefix of the routers' transactional ids (the same on every router node): each input partition's router writes as <prefix>-<partition>.")
    var transactionalID = RouterConfiguration.defaults.transactionalID

    @Option(name: .customLong("group"), help: "The consumer group the router nodes share the canonical topic's partitions in.")
    var groupID = RouterConfiguration.defaults.groupID

    @Option(name: .customLong("session-timeout-ms"), help: "How long the group waits for a silent router node before it hands the node's partitions to the others (Apache Kafka refuses less than 6000 by default; the embedded cluster needs more than 3000).")
    var sessionTimeoutMilliseconds = RouterConfiguration.defaults.sessionTimeoutMilliseconds

    @Option(name: .customLong("dedup-horizon-days"), help: "How far back (by the day events happened) the router remembers what it routed: an event older than this is refused with a dead letter, never routed twice.")
    var deduplicationHorizonDays = RouterConfiguration.defaults.deduplicationHorizonDays

    func validate() throws {
        // The embedded cluster waits 3 s for a new group's first members, during which a joining member
        // sends no heartbeat: a shorter session drops it before it is assigned, and it joins again, forever.
        guard sessionTimeoutMilliseconds > 3_000 else { throw ValidationError("--session-timeout-ms must be more than 3000") }
        let (sizes, bytes) = (RouterConfiguration.batchSizeRange, RouterConfiguration.batchBytesRange)
        guard sizes.contains(batchSize) else { throw ValidationError("--batch-size must be from \(sizes.lowerBound) to \(sizes.upperBound)") }
        guard bytes.contains(batchBytes) else { throw ValidationError("--batch-bytes must be from \(bytes.lowerBound) to \(bytes.upperBound)") }
        guard deduplicationHorizonDays >= 1 else { throw ValidationError("--dedup-horizon-days must be at least 1") }
    }

    @Flag(name: .customLong("create-topics"), help: "Create the hub's topics through the admin API first (Apache Kafka).")
    var createTopics = false

    func run() async throws {
        let logger = commandLogger("ketenhub.router", level: .info)
        let sharingMatrix = try MatrixLoader.loadValid(directory: URL(fileURLWithPath: matrix))
        let signals = TerminationSignals()
        var embedded: EmbeddedCluster?
        var configuration = RouterConfiguration(bootstrapServers: bootstrap ?? "")
        let topics = configuration.topics.specifications(organisations: sharingMatrix.organisations.organisations.map(\.code))
        if bootstrap == nil {
            let cluster = try EmbeddedCluster(brokers: 3, logger: logger)
            try await cluster.createTopics(topics)
            configuration.bootstrapServers = cluster.bootstrapServers
            configuration.fetchMaxWaitMilliseconds = EmbeddedCluster.fetchMaxWaitMilliseconds
            embedded = cluster
            printNow("embedded cluster (librdkafka mock, not for production): \(cluster.bootstrapServers)")
        } else if createTopics {
            let admin = try KafkaAdmin(settings: KafkaClientSettings(bootstrapServers: configuration.bootstrapServers), logger: logger)
            try await admin.createTopics(topics)
            admin.shutdown()
        }
        configuration.batchSize = batchSize
        configuration.batchBytes = batchBytes
        configuration.lingerMilliseconds = lingerMilliseconds
        configuration.transactionalID = transactionalID
        configuration.groupID = groupID
        configuration.sessionTimeoutMilliseconds = sessionTimeoutMilliseconds
        configuration.deduplicationHorizonDays = deduplicationHorizonDays

        let router = RouterSupervisor(configuration: configuration, schedule: MatrixSchedule(sharingMatrix), logger: logger)
        let reader = TopicReader(bootstrapServers: configuration.bootstrapServers, logger: logger)
        let service = Task {
            // Crash-only: a failed instance is replaced by a new one that starts from the topics.
            while !Task.isCancelled {
                do {
                    // The repository's matrix is version 1; the governance topic says what is in force.
                    try await router.runFollowingGovernance(reader: reader, topics: configuration.topics)
                } catch {
                    // Stopped by a signal: the service ends with the cancellation, which is no failure.
                    if Task.isCancelled { break }
                    logger.error("routing service stopped; restarting", metadata: ["error": "\(error)"])
                    try? await Task.sleep(for: .seconds(1))
                }
            }
        }
        printNow("routing with matrix \(sharingMatrix.version) as version 1, and the versions activated since (governance topic)")
        _ = await signals.next()
        service.cancel()
        await service.value
        embedded?.shutdown()
    }
}

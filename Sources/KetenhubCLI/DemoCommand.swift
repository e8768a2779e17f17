import ArgumentParser
import CanonicalEvents
import EmbeddedKafka
import Foundation
import Kafka
import KetenhubBench
import Logging
import Router
import SharingPolicy

/// `ketenhub demo`: the hub on the embedded cluster: the hub's topics, the routing service with the
/// shipped sharing matrix, and made-up cases fed in, with what each organisation received.
/// The partner adapters and the consoles join it as they are built.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run Ketenhub on the embedded cluster until Ctrl-C."
    )

    @Option(help: "Made-up chain cases to feed in.")
    var cases = 20

    @Option(help: "The sharing matrix directory.")
    var matrix: String = MatrixCommand.defaultDirectory

    func run() async throws {
        var logger = Logger(label: "ketenhub.demo")
        logger.logLevel = .warning
        let sharingMatrix = try MatrixLoader.loadValid(directory: URL(fileURLWithPath: matrix))
        let topics = HubTopics()
        let organisations = sharingMatrix.organisations.organisations.map(\.code)
        let session = EmbeddedClusterSession(brokers: 3, topics: topics.specifications(organisations: organisations), portFile: nil, logger: logger)
        try await session.run { cluster in
            printNow("Ketenhub \(Ketenhub.version) demo")
            printNow("embedded cluster (librdkafka's in-memory mock, not for production): \(cluster.bootstrapServers)")
            printNow("sharing matrix \(sharingMatrix.version): \(sharingMatrix.baseline.count) baseline rules")
            var configuration = RouterConfiguration(bootstrapServers: cluster.bootstrapServers)
            configuration.fetchMaxWaitMilliseconds = EmbeddedCluster.fetchMaxWaitMilliseconds
            let router = RoutingService(configuration: configuration, matrix: sharingMatrix, logger: logger)
            Task { try await router.run() }

            let events = (1...max(1, cases)).flatMap { SyntheticCases().events(case: $0) }
            let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers), logger: logger)
            try await producer.sendAll(events.map { KafkaProducerMessage(topic: topics.canonical, cloudEvent: $0.kafkaRecord()) })
            await producer.shutdown()
            printNow("published \(events.count) canonical events of \(cases) cases; routing ...")
            while router.committedRecords < events.count { try await Task.sleep(for: .milliseconds(100)) }

            let reader = TopicReader(bootstrapServers: cluster.bootstrapServers, logger: logger)
            let decisions = try await reader.readAll(topics.audit).values.flatMap { $0 }
                .compactMap { try? JSONDecoder().decode(DecisionRecord.self, from: Data($0.value)) }
            printNow("decisions: \(decisions.filter { $0.outcome == .permit }.count) permits, \(decisions.filter { $0.outcome == .deny }.count) denies")
            for organisation in organisations {
                let count = try await reader.readAll(topics.deliveries(organisation)).values.map(\.count).reduce(0, +)
                if count > 0 { printNow("  \(topics.deliveries(organisation)): \(count) deliveries") }
            }
            printNow("watch a partner's deliveries:  kcat -C -b \(cluster.bootstrapServers) -t \(topics.deliveries("politie")) -f '%k %h\\n%s\\n'")
            printNow("try a rule:  swift run ketenhub matrix simulate --event Contracts/examples/gedragsaanwijzing/valid/opgelegd.json")
            printNow("Ctrl-C stops the demo.")
        }
    }
}

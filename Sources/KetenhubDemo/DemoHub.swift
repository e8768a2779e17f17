import CanonicalEvents
import EmbeddedKafka
import Foundation
import HubAccess
import HubServer
import HubStore
import DeliveryLedger
import HubTopology
import Hummingbird
import Kafka
import Logging
import PartnerAdapters
import PartnerGateway
import PartnerSimulation
import Router
import ServiceLifecycle
import SharingPolicy

/// The whole hub on the embedded cluster, with simulated partners around it: the adapters (HTTP and
/// drop directories), the routing service, delivery to every partner with acknowledgements, and
/// partner back-offices feeding made-up cases. What `make demo` runs and the end-to-end test checks.
public struct DemoHub: Sendable {
    public struct Settings: Sendable {
        public var cases = 20
        public var seed: UInt64 = 7
        public var httpPort = 8080
        /// Every how many messages the simulated partners also send a broken one (0: never).
        public var brokenEvery = 9
        public var matrixDirectory = URL(fileURLWithPath: "Contracts/matrix")
        public var formatsDirectory = URL(fileURLWithPath: "Contracts/partners")
        public var clocksFile = URL(fileURLWithPath: "Contracts/sla/clocks.yaml")
        public var retry = RetryPolicy(initial: .milliseconds(100), maximum: .seconds(2))
        /// A back-office that is down (answers 503) for a while from the first delivery it is offered.
        public var outage: (organisation: String, duration: Duration)?
        /// Where the ledger and the matrix versions are kept: SQLite in memory unless told otherwise.
        public var store: StoreLocation = .sqlite(path: nil)
        /// The web console's pages, served at `/`.
        public var consoleDirectory = URL(fileURLWithPath: "Console")
        /// A credentials file (`ketenhub credentials add`) whose tokens the hub accepts besides the
        /// demo's own, read again within seconds when it changes.
        public var credentialStore: String?
        /// Whether the demo is the process (the command): SIGINT and SIGTERM stop it, and swift-metrics
        /// goes into its registry. A test process keeps both to itself.
        public var ownsProcess = false
        public init() {}
    }

    /// What the run did: counts as `ketenhub demo` prints them, and the detail a test checks.
    public struct Report: Sendable {
        public var acceptedEvents: Int
        public var rejectedMessages: Int
        public var sentMessages: Int
        public var permits: Int
        public var denies: Int
        public var deliveries: [String: [SimulatedBackOffices.Received]]
        /// Which deliveries a back-office was offered again after it had taken them.
        public var duplicates: [(organisation: String, deliveryId: String)]
        public var duplicateDeliveries: Int { duplicates.count }
        /// Deliveries a back-office turned away (503) during its outage, by organisation.
        public var unavailableAnswers: [String: Int]
        public var acks: [String: Int]
        public var deadLetters: Int
        /// The delivery-status records, as the outbound side wrote them.
        public var deliveryStatuses: [DeliveryStatus]
        public var sentFacts: [SimulatedFact]
        /// Accepted messages the hub filed under another chain case than the simulated partners expect (none).
        public var unexpectedCases = 0

        public var json: JSONValue {
            .object([
                "accepted": .number(Double(acceptedEvents)), "rejected": .number(Double(rejectedMessages)),
                "messages": .number(Double(sentMessages)), "permits": .number(Double(permits)), "denies": .number(Double(denies)),
                "deliveries": .object(deliveries.mapValues { .number(Double($0.count)) }),
                "acks": .object(acks.mapValues { .number(Double($0)) }), "deadLetters": .number(Double(deadLetters)),
                "unexpectedCases": .number(Double(unexpectedCases)),
            ])
        }
    }

    public let settings: Settings
    let logger: Logger

    /// The parts of the demo that run, its node's among them: a stop that takes too long names them.
    public let runningParts = RunningParts()

    public init(settings: Settings, logger: Logger) {
        self.settings = settings
        self.logger = logger
    }

    /// The running hub, for a caller that inspects it before it stops.
    public struct Running: Sendable {
        public var bootstrapServers: String
        public var topics: HubTopics
        public var ledger: any LedgerStore
        /// The hub's HTTP address (partner endpoints, `/metrics`).
        public var httpAddress: URL
    }

    /// The demo's credentials: one per organisation (partner), two privacy officers (one proposes, the
    /// other approves), two operators (one proposes a case link, the other confirms) and an admin.
    static func demoPrincipals(organisations: [String]) -> [Principal] {
        organisations.map { Principal(name: $0, role: .partner($0)) } + [
            Principal(name: "operator", role: .operator_), Principal(name: "operator-2", role: .operator_),
            Principal(name: "privacy-officer", role: .privacyOfficer),
            Principal(name: "privacy-officer-2", role: .privacyOfficer), Principal(name: "admin", role: .admin),
        ]
    }

    /// The configuration of the demo's one node: every role, on the embedded cluster, delivering to
    /// the simulated back-offices (over HTTP, or to outboxes for the partners that send batch files).
    func nodeConfiguration(cluster: String, matrix: SharingMatrix, formats: PartnerFormats, batchPartners: [String],
                           work: URL, backOffices: URL) -> HubConfiguration {
        var kafka = HubConfiguration.KafkaSettings(bootstrapServers: cluster)
        kafka.fetchMaxWaitMilliseconds = EmbeddedCluster.fetchMaxWaitMilliseconds
        // Most of the delivery workers are idle most of the time.
        kafka.deliveryFetchMaxWaitMilliseconds = 200
        var configuration = HubConfiguration(node: "demo", roles: Set(HubConfiguration.Role.allCases), kafka: kafka)
        configuration.store = settings.store
        configuration.credentials = settings.credentialStore
        configuration.matrix = settings.matrixDirectory
        configuration.formats = settings.formatsDirectory
        configuration.clocks = settings.clocksFile
        configuration.console = settings.consoleDirectory
        configuration.http.port = settings.httpPort
        configuration.http.drainSeconds = 2
        configuration.dropDirectory = work.appendingPathComponent("inbox")
        configuration.retry = settings.retry
        // The organisations the simulated cases can reach (their six regions' and the national ones):
        // the registry has 56, and a delivery worker each would be 56 Kafka consumers in one process.
        let reachable = CaseTimelines(seed: settings.seed, registry: matrix.organisations).organisations(registry: matrix.organisations)
        for organisation in HubNode.recipients(matrix) where reachable.contains(organisation) && formats.format(for: organisation) != nil {
            configuration.transports[organisation] = batchPartners.contains(organisation)
                ? .directory(work.appendingPathComponent("outbox").appendingPathComponent(organisation))
                : .http(backOffices.appendingPathComponent("backoffice/\(organisation)/deliveries"))
        }
        return configuration
    }

    /// Starts everything; `running` is called once the hub serves (with its address and the tokens by
    /// principal name); with `exitWhenDone` the simulated cases are fed in, and the report returned once every
    /// delivery has been acknowledged; otherwise it runs until the node stops (SIGINT or SIGTERM with
    /// `handlesSignals`) or the task is cancelled.
    public func run(exitWhenDone: Bool, running: @Sendable (URL, [String: String], String) async -> Void = { _, _, _ in },
                    progress: @escaping @Sendable (String) -> Void = { _ in },
                    inspect: @Sendable (Running) async throws -> Void = { _ in }) async throws -> Report? {
        let matrix = try MatrixLoader.loadValid(try MatrixBundle(directory: settings.matrixDirectory))
        let formats = try PartnerFormats.load(directory: settings.formatsDirectory)
        let topics = HubTopics()
        let organisations = matrix.organisations.organisations.map(\.code)
        let cluster = try EmbeddedCluster(brokers: 3, logger: logger)
        defer { cluster.shutdown() }
        try await cluster.createTopics(topics.specifications(organisations: organisations))
        let bootstrap = cluster.bootstrapServers
        let (generated, principalTokens) = Credentials.generate(for: Self.demoPrincipals(organisations: organisations))
        let tokens = Dictionary(uniqueKeysWithValues: principalTokens.map { ($0.key.name, $0.value) })
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("ketenhub-demo-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: work) }
        let batchPartners = formats.formats.values.filter { $0.syntax == .csv }.flatMap(\.organisations).filter { !$0.hasSuffix("*") }

        return try await withThrowingTaskGroup(of: Void.self) { group in
            let backOffices = SimulatedBackOffices(hub: URL(string: "http://127.0.0.1:\(settings.httpPort)")!, tokens: tokens, logger: logger)
            let backOfficeRouter = Router(context: BasicRequestContext.self)
            backOffices.addRoutes(to: backOfficeRouter)
            let backOfficePort = PortBox()
            // Stopped by graceful shutdown, never by cancelling its task: NIO traps when a serving task is
            // cancelled while a connection is accepted but not yet served (apple/swift-nio#3481).
            let backOfficeServer = ServiceGroup(configuration: .init(services: [
                Application(router: backOfficeRouter, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                            onServerRunning: { backOfficePort.set($0.localAddress?.port ?? 0) }, logger: logger),
            ], logger: logger))
            let parts = runningParts
            group.addTask { try await parts.run("simulated-back-offices") { try await backOfficeServer.run() } }
            let backOfficeURL = URL(string: "http://127.0.0.1:\(try await backOfficePort.value())")!
            if let outage = settings.outage { await backOffices.makeUnavailable(outage.organisation, for: outage.duration) }

            let configuration = nodeConfiguration(cluster: bootstrap, matrix: matrix, formats: formats, batchPartners: batchPartners,
                                                  work: work, backOffices: backOfficeURL)
            let hubPort = PortBox()
            let node = try await HubNode(configuration: configuration, extraCredentials: generated, handlesSignals: settings.ownsProcess,
                                         runningParts: parts, logger: logger) { hubPort.set($0.port ?? 0) }
            if settings.ownsProcess { node.bootstrapMetricsSystem() }
            // The node runs beside the group: it ends on a signal (or `stop()`), and then the demo ends.
            let nodeRun = Task { try await node.run() }
            let hubURL = URL(string: "http://127.0.0.1:\(try await hubPort.value())")!
            await backOffices.setHub(hubURL)
            for case .directory(let outbox) in configuration.transports.values {
                let organisation = outbox.lastPathComponent
                group.addTask {
                    try await parts.run("simulated-outbox-\(organisation)") {
                        while !Task.isCancelled {
                            await backOffices.collect(outbox: outbox, organisation: organisation)
                            try await Task.sleep(for: .milliseconds(100))
                        }
                    }
                }
            }
            await running(hubURL, tokens, bootstrap)

            let router = node.router!
            let simulator = PartnerSimulator(formats: formats, hub: hubURL, tokens: tokens,
                                             transports: Dictionary(uniqueKeysWithValues: batchPartners.map { ($0, .directory(configuration.dropDirectory!)) }),
                                             logger: logger)
            let facts = CaseTimelines(seed: settings.seed, registry: matrix.organisations).facts(cases: settings.cases)
            guard exitWhenDone else {
                group.addTask {
                    try await parts.run("progress-line") {
                        var last = ""
                        while !Task.isCancelled {
                            try await Task.sleep(for: .seconds(5))
                            let received = await backOffices.all.mapValues(\.count)
                            let acknowledged = await backOffices.acknowledgements
                            let line = "back-offices received " + received.keys.sorted().map { "\($0) \(received[$0]!)" }.joined(separator: ", ")
                                + "; acknowledged \(acknowledged.values.reduce(0, +)); routed \(router.committedRecords) events"
                            if line != last { progress(line) }  // said once, until something moves
                            last = line
                        }
                    }
                }
                group.addTask {
                    // Sending may outlive the node (a signal while partners still send): it is cancelled with the group.
                    let outcome = try await parts.run("simulated-partners") { try await simulator.send(facts, brokenEvery: settings.brokenEvery) }
                    progress("the simulated partners sent \(outcome.messages) messages: \(outcome.accepted) accepted (\(outcome.acceptedEvents) events), "
                             + "\(outcome.rejected) refused and dead-lettered")
                }
                // Cancelled: the node stops as on SIGTERM (a cancelled server can trap in NIO, see above).
                _ = try? await withTaskCancellationHandler { try await nodeRun.value } onCancel: { Task { await node.stop() } }
                await backOfficeServer.triggerGracefulShutdown()
                group.cancelAll()
                return nil
            }
            let sending = Task { try await simulator.send(facts, brokenEvery: settings.brokenEvery) }
            do {
                let outcome = try await sending.value
                let report = try await waitUntilDone(outcome: outcome, facts: facts, router: router, backOffices: backOffices,
                                                     bootstrap: bootstrap, topics: topics, recipients: HubNode.recipients(matrix))
                try await inspect(Running(bootstrapServers: bootstrap, topics: topics, ledger: node.ledger!, httpAddress: hubURL))
                await node.stop()
                _ = try? await nodeRun.value
                await backOfficeServer.triggerGracefulShutdown()
                group.cancelAll()
                return report
            } catch {
                sending.cancel()
                await node.stop()
                _ = try? await nodeRun.value
                await backOfficeServer.triggerGracefulShutdown()
                throw error
            }
        }
    }

    /// Waits until every accepted event is routed and every delivery on the delivery topics has reached
    /// its back-office and been acknowledged to the hub; then counts.
    private func waitUntilDone(outcome: PartnerSimulator.Outcome, facts: [SimulatedFact], router: RouterSupervisor, backOffices: SimulatedBackOffices,
                               bootstrap: String, topics: HubTopics, recipients: [String]) async throws -> Report {
        let reader = TopicReader(bootstrapServers: bootstrap, logger: logger)
        let deadline = ContinuousClock.now + .seconds(180)
        while router.committedRecords < outcome.acceptedEvents {
            guard ContinuousClock.now < deadline else { throw DemoError.timedOut("routing \(outcome.acceptedEvents) events") }
            try await Task.sleep(for: .milliseconds(100))
        }
        var expected: [String: Set<String>] = [:]
        for organisation in recipients {
            let records = try await reader.readAll(topics.deliveries(organisation)).values.flatMap { $0 }
            expected[organisation] = Set(records.compactMap { record in record.header("ce_decisionid")?.stringValue })
        }
        while true {
            let received = await backOffices.all
            let acks = try await acknowledgementCounts(reader: reader, topics: topics)
            let done = expected.allSatisfy { organisation, ids in
                (received[organisation]?.count ?? 0) >= ids.count && (acks[organisation] ?? 0) >= ids.count
            }
            if done {
                let decisions = try await reader.readAll(topics.audit).values.flatMap { $0 }
                    .compactMap { try? JSONDecoder().decode(DecisionRecord.self, from: Data($0.value)) }
                let unique = Dictionary(decisions.map { ($0.decisionId, $0) }, uniquingKeysWith: { first, _ in first }).values
                let deadLetters = try await reader.readAll(topics.deadLetter).values.map(\.count).reduce(0, +)
                let statuses = try await reader.readAll(topics.deliveryStatus).values.flatMap { $0 }
                    .compactMap { try? JSONDecoder().decode(DeliveryStatus.self, from: Data($0.value)) }
                return Report(acceptedEvents: outcome.acceptedEvents, rejectedMessages: outcome.rejected, sentMessages: outcome.messages,
                              permits: unique.filter { $0.outcome == .permit }.count, denies: unique.filter { $0.outcome == .deny }.count,
                              deliveries: received, duplicates: await backOffices.duplicates, unavailableAnswers: await backOffices.unavailableAnswers, acks: acks,
                              deadLetters: deadLetters, deliveryStatuses: statuses, sentFacts: facts, unexpectedCases: outcome.unexpectedCases)
            }
            guard ContinuousClock.now < deadline else { throw DemoError.timedOut("deliveries and acknowledgements") }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// Acknowledgements on the hub's topic, once per delivery, by organisation.
    private func acknowledgementCounts(reader: TopicReader, topics: HubTopics) async throws -> [String: Int] {
        let events = try await reader.readAll(topics.acknowledgements).values.flatMap { $0 }
            .compactMap { try? CloudEvent(kafkaRecord: CloudEventRecord($0)) }
        let unique = Dictionary(events.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first }).values
        return Dictionary(grouping: unique, by: { $0.producer ?? "" }).mapValues(\.count)
    }
}

public enum DemoError: Error, CustomStringConvertible {
    case timedOut(String)
    public var description: String {
        switch self { case .timedOut(let what): "the demo did not finish \(what) in time" }
    }
}

/// The port a server got, once it is listening.
final class PortBox: @unchecked Sendable {
    private let lock = NSLock()
    private var port: Int?

    func set(_ value: Int) { lock.withLock { port = value } }

    func value() async throws -> Int {
        for _ in 0..<200 {
            if let port = lock.withLock({ port }) { return port }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw DemoError.timedOut("starting an HTTP server")
    }
}

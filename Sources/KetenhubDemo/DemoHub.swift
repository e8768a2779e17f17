import CanonicalEvents
import DeliveryLedger
import EmbeddedKafka
import Foundation
import HubAPI
import HubAccess
import HubMetrics
import HubTopology
import Hummingbird
import Kafka
import Logging
import MatrixGovernance
import NIOCore
import PartnerAdapters
import PartnerGateway
import PartnerSimulation
import Router
import SLAClocks
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
        /// A back-office that is down (answers 503) for a while at the start.
        public var outage: (organisation: String, duration: Duration)?
        /// The ledger's SQLite file (the matrix versions are kept in it too); in memory without one.
        public var ledgerPath: String?
        /// The web console's pages, served at `/`.
        public var consoleDirectory = URL(fileURLWithPath: "Console")
        /// A credentials file (`ketenhub credentials add`) whose tokens the hub accepts besides the
        /// demo's own, read again within seconds when it changes.
        public var credentialStore: String?
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
        public var duplicateDeliveries: Int
        /// Deliveries a back-office turned away (503) during its outage, by organisation.
        public var unavailableAnswers: [String: Int]
        public var acks: [String: Int]
        public var deadLetters: Int
        /// The delivery-status records, as the outbound side wrote them.
        public var deliveryStatuses: [DeliveryStatus]
        public var sentFacts: [SimulatedFact]

        public var json: JSONValue {
            .object([
                "accepted": .number(Double(acceptedEvents)), "rejected": .number(Double(rejectedMessages)),
                "messages": .number(Double(sentMessages)), "permits": .number(Double(permits)), "denies": .number(Double(denies)),
                "deliveries": .object(deliveries.mapValues { .number(Double($0.count)) }),
                "acks": .object(acks.mapValues { .number(Double($0)) }), "deadLetters": .number(Double(deadLetters)),
            ])
        }
    }

    public let settings: Settings
    let logger: Logger

    public init(settings: Settings, logger: Logger) {
        self.settings = settings
        self.logger = logger
    }

    /// The organisations that can receive deliveries: every one but the VT organisations whose
    /// municipalities are not registered yet (they receive nothing).
    static func recipients(_ matrix: SharingMatrix) -> [String] {
        matrix.organisations.organisations.filter { $0.type != "vt" || !$0.municipalities.isEmpty }.map(\.code).sorted()
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
    /// other approves), an operator and an admin.
    static func demoPrincipals(organisations: [String]) -> [Principal] {
        organisations.map { Principal(name: $0, role: .partner($0)) } + [
            Principal(name: "operator", role: .operator_), Principal(name: "privacy-officer", role: .privacyOfficer),
            Principal(name: "privacy-officer-2", role: .privacyOfficer), Principal(name: "admin", role: .admin),
        ]
    }

    /// Starts everything; `running` is called once the hub serves (with its address and the tokens by
    /// principal name); with `exitWhenDone` the simulated cases are fed in, and the report returned once every
    /// delivery has been acknowledged; otherwise it runs until cancelled.
    public func run(exitWhenDone: Bool, running: @Sendable (URL, [String: String], String) async -> Void = { _, _, _ in },
                    progress: @escaping @Sendable (String) -> Void = { _ in },
                    inspect: @Sendable (Running) async throws -> Void = { _ in }) async throws -> Report? {
        let baseline = try MatrixBundle(directory: settings.matrixDirectory)
        let matrix = try MatrixLoader.loadValid(baseline)
        let formats = try PartnerFormats.load(directory: settings.formatsDirectory)
        let topics = HubTopics()
        let organisations = matrix.organisations.organisations.map(\.code)
        let cluster = try EmbeddedCluster(brokers: 3, logger: logger)
        defer { cluster.shutdown() }
        try await cluster.createTopics(topics.specifications(organisations: organisations))
        let bootstrap = cluster.bootstrapServers

        let (generated, principalTokens) = Credentials.generate(for: Self.demoPrincipals(organisations: organisations))
        let credentials: any CredentialLookup = try settings.credentialStore.map { try ReloadingCredentials(path: $0, fixed: generated) } ?? generated
        let tokens = Dictionary(uniqueKeysWithValues: principalTokens.map { ($0.key.name, $0.value) })
        var producerConfiguration = KafkaProducerConfiguration(bootstrapServers: bootstrap, clientID: "ketenhub-gateway")
        producerConfiguration.client.overrides = HubTopics.deadLetterProducerOverrides
        let producer = try KafkaProducer(configuration: producerConfiguration, logger: logger)
        let metrics = MetricsRegistry()
        let gateway = InboundGateway(formats: formats, producer: producer, topics: topics, metrics: metrics, logger: logger)
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("ketenhub-demo-\(UUID().uuidString.prefix(8))")
        let batchPartners = formats.formats.values.filter { $0.syntax == .csv }.flatMap(\.organisations).filter { !$0.hasSuffix("*") }
        let dropDirectories = DropDirectoryInbound(root: work.appendingPathComponent("inbox"), organisations: batchPartners, gateway: gateway, logger: logger)

        var routerConfiguration = RouterConfiguration(bootstrapServers: bootstrap)
        routerConfiguration.fetchMaxWaitMilliseconds = EmbeddedCluster.fetchMaxWaitMilliseconds
        routerConfiguration.metrics = metrics
        let matrices = MatrixSchedule(matrix)
        let router = RoutingService(configuration: routerConfiguration, matrices: matrices, logger: logger)
        let ledger = try SQLiteLedgerStore(path: settings.ledgerPath)
        let acknowledgements = AcknowledgementPublisher(producer: producer, topics: topics, metrics: metrics) { deliveryId in
            try ledger.delivery(deliveryId).map { .init(organisation: $0.organisation, ketencaseid: $0.ketencaseid) }
        }
        let inbound = HTTPInbound(gateway: gateway, credentials: credentials, acknowledgements: acknowledgements)
        let governance = try MatrixGovernance(store: try SQLiteMatrixVersionStore(path: settings.ledgerPath), schedule: matrices, baseline: baseline)
        let replayer = Replayer(gateway: gateway, producer: producer, topics: topics, bootstrapServers: bootstrap, logger: logger)
        let clocks = SLAEvaluator(clocks: try SLAClock.load(settings.clocksFile))
        let projector = LedgerProjector(bootstrapServers: bootstrap, topics: topics, store: ledger, keptFields: clocks.keptFields, logger: logger)
        let monitor = SLAMonitor(evaluator: clocks, ledger: ledger, producer: producer, topics: topics, metrics: metrics, logger: logger)
        let admin = try KafkaAdmin(settings: KafkaClientSettings(bootstrapServers: bootstrap, clientID: "ketenhub-metrics"), logger: logger)
        defer { admin.shutdown() }
        Self.registerStateMetrics(metrics, ledger: ledger, admin: admin, topics: topics, organisations: Self.recipients(matrix))

        return try await withThrowingTaskGroup(of: Void.self) { group in
            let hubRouter = Router(context: BasicRequestContext.self)
            inbound.addRoutes(to: hubRouter)
            hubRouter.get("health") { _, _ in "ok" }
            OperatorAPI(ledger: ledger, credentials: credentials, actions: Self.actions(replayer, topics: topics, bootstrap: bootstrap, logger: logger))
                .addRoutes(to: hubRouter)
            PrivacyOfficerAPI(governance: governance, ledger: ledger, credentials: credentials) { proposed in
                try await RecordedDecisions.read(bootstrapServers: bootstrap, topics: topics).replay(with: proposed)
            }.addRoutes(to: hubRouter)
            hubRouter.middlewares.add(FileMiddleware(settings.consoleDirectory.path, searchForIndexHtml: true, logger: logger))
            hubRouter.get("metrics") { _, _ in
                Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                         body: .init(byteBuffer: ByteBuffer(string: await metrics.render())))
            }
            let hubPort = PortBox()
            group.addTask {
                try await Application(router: hubRouter, configuration: .init(address: .hostname("127.0.0.1", port: settings.httpPort)),
                                      onServerRunning: { hubPort.set($0.localAddress?.port ?? 0) }, logger: logger).run()
            }
            let hubURL = URL(string: "http://127.0.0.1:\(try await hubPort.value())")!

            let backOffices = SimulatedBackOffices(hub: hubURL, tokens: tokens, logger: logger)
            let backOfficeRouter = Router(context: BasicRequestContext.self)
            backOffices.addRoutes(to: backOfficeRouter)
            let backOfficePort = PortBox()
            group.addTask {
                try await Application(router: backOfficeRouter, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                                      onServerRunning: { backOfficePort.set($0.localAddress?.port ?? 0) }, logger: logger).run()
            }
            let backOfficeURL = URL(string: "http://127.0.0.1:\(try await backOfficePort.value())")!
            if let outage = settings.outage { await backOffices.makeUnavailable(outage.organisation, for: outage.duration) }

            group.addTask { try await dropDirectories.run() }
            group.addTask { try await router.run() }
            group.addTask { try await projector.run(fetchMaxWaitMilliseconds: EmbeddedCluster.fetchMaxWaitMilliseconds) }
            group.addTask {
                try await monitor.loadRaised(bootstrapServers: bootstrap)
                try await monitor.run(every: .seconds(5))
            }
            let outboxes = work.appendingPathComponent("outbox")
            for organisation in Self.recipients(matrix) {
                guard let format = formats.format(for: organisation) else { continue }
                let transport: DeliveryTransport = batchPartners.contains(organisation)
                    ? .directory(outboxes.appendingPathComponent(organisation))
                    : .http(backOfficeURL.appendingPathComponent("backoffice/\(organisation)/deliveries"))
                let worker = DeliveryWorker(organisation: organisation, transport: transport, translator: PartnerTranslator(format: format),
                                            bootstrapServers: bootstrap, topics: topics, retry: settings.retry,
                                            fetchMaxWaitMilliseconds: EmbeddedCluster.fetchMaxWaitMilliseconds, metrics: metrics, logger: logger)
                group.addTask { try await worker.run() }
                if case .directory(let outbox) = transport {
                    group.addTask {
                        while !Task.isCancelled {
                            await backOffices.collect(outbox: outbox, organisation: organisation)
                            try await Task.sleep(for: .milliseconds(100))
                        }
                    }
                }
            }
            await running(hubURL, tokens, bootstrap)

            let simulator = PartnerSimulator(formats: formats, hub: hubURL, tokens: tokens,
                                             transports: Dictionary(uniqueKeysWithValues: batchPartners.map { ($0, .directory(dropDirectories.root)) }),
                                             logger: logger)
            let facts = CaseTimelines(seed: settings.seed).facts(cases: settings.cases)
            let sending = Task { try await simulator.send(facts, brokenEvery: settings.brokenEvery) }
            guard exitWhenDone else {
                group.addTask {
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
                let outcome = try await sending.value
                progress("the simulated partners sent \(outcome.messages) messages: \(outcome.accepted) accepted (\(outcome.acceptedEvents) events), "
                         + "\(outcome.rejected) refused and dead-lettered")
                try await group.next()  // runs until cancelled or a part fails
                return nil
            }
            let outcome = try await sending.value
            let report = try await waitUntilDone(outcome: outcome, facts: facts, router: router, backOffices: backOffices,
                                                 bootstrap: bootstrap, topics: topics, recipients: Self.recipients(matrix))
            try await inspect(Running(bootstrapServers: bootstrap, topics: topics, ledger: ledger, httpAddress: hubURL))
            group.cancelAll()
            await producer.shutdown()
            try? FileManager.default.removeItem(at: work)
            return report
        }
    }

    /// Waits until every accepted event is routed and every delivery on the delivery topics has reached
    /// its back-office and been acknowledged to the hub; then counts.
    private func waitUntilDone(outcome: PartnerSimulator.Outcome, facts: [SimulatedFact], router: RoutingService, backOffices: SimulatedBackOffices,
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
                              deliveries: received, duplicateDeliveries: await backOffices.duplicateCount,
                              unavailableAnswers: await backOffices.unavailableAnswers, acks: acks,
                              deadLetters: deadLetters, deliveryStatuses: statuses, sentFacts: facts)
            }
            guard ContinuousClock.now < deadline else { throw DemoError.timedOut("deliveries and acknowledgements") }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// What the API needs of the running hub: replays through the gateway and the delivery topics, and
    /// a delivery's content for its recipient, read back from its delivery topic.
    static func actions(_ replayer: Replayer, topics: HubTopics, bootstrap: String, logger: Logger) -> HubActions {
        let refusal = { @Sendable (error: any Error) -> any Error in
            switch error as? Replayer.Refusal {
            case .notFound(let reason): APIRefusal(.notFound, reason)
            case .notReplayable(let reason): APIRefusal(.conflict, reason)
            case nil: error
            }
        }
        return HubActions(
            replayDeadLetter: { id, principal in
                do { return try await replayer.replayDeadLetter(id, requestedBy: principal) } catch { throw refusal(error) }
            },
            replayDelivery: { id, organisation, principal in
                do { return try await replayer.replayDelivery(id, organisation: organisation, requestedBy: principal) } catch { throw refusal(error) }
            },
            deliveryContent: { organisation, id in
                let records = try await TopicReader(bootstrapServers: bootstrap, logger: logger).readAll(topics.deliveries(organisation))
                let record = records.values.flatMap { $0 }.first { $0.header("ce_decisionid")?.stringValue == id }
                return try record.map { try CloudEvent(kafkaRecord: CloudEventRecord($0)).data }
            })
    }

    /// The metrics that describe state, read when scraped: dead letters from the ledger, consumer lag
    /// from the cluster, and the latency from acceptance to acknowledgement.
    static func registerStateMetrics(_ metrics: MetricsRegistry, ledger: any LedgerStore, admin: KafkaAdmin, topics: HubTopics, organisations: [String]) {
        metrics.gauge("ketenhub_dead_letters", help: "Dead letters in the ledger.") {
            [([:], Double((try? ledger.deadLetters().count) ?? 0))]
        }
        metrics.gauge("ketenhub_dead_letter_oldest_age_seconds", help: "Age of the oldest dead letter.") {
            let oldest = (try? ledger.deadLetters())?.compactMap { ISO8601DateFormatter().date(from: $0.receivedAt) }.min()
            return [([:], oldest.map { Date().timeIntervalSince($0) } ?? 0)]
        }
        metrics.gauge("ketenhub_consumer_lag", help: "Records not yet processed, by consumer group.") {
            var samples: [(labels: [String: String], value: Double)] = []
            let groups = [("ketenhub-router", topics.canonical)] + organisations.map { ("ketenhub-outbound-\($0)", topics.deliveries($0)) }
            for (group, topic) in groups {
                if let lag = try? await admin.consumerGroupLag(groupID: group, topics: [topic]) {
                    samples.append((["group": group], Double(lag.map(\.lag).reduce(0, +))))
                }
            }
            return samples
        }
        metrics.histogram("ketenhub_acknowledgement_latency_seconds",
                          help: "From the hub's acceptance of an event to the partner's acknowledgement of its delivery.",
                          buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600]) {
            ((try? ledger.acknowledgementLatencies()) ?? [:]).sorted { $0.key < $1.key }.map { (["organisation": $0.key], $0.value) }
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

import CanonicalEvents
import DeliveryLedger
import Foundation
import HubAPI
import HubAccess
import HubMetrics
import HubStore
import HubTopology
import Hummingbird
import Kafka
import Logging
import Metrics
import MatrixGovernance
import NIOCore
import PartnerAdapters
import PartnerGateway
import Router
import SLAClocks
import ServiceLifecycle
import SharingPolicy
import Synchronization

/// One node of the hub, assembled from its configuration: the services of its roles, run under
/// swift-service-lifecycle, and one HTTP server with `/healthz`, `/readyz`, `/metrics` and the
/// endpoints of its roles. `ketenhub serve` runs one; `ketenhub demo` runs one with every role on
/// the embedded cluster. This is the only place where the hub's services are put together.
///
/// Stopping (SIGTERM, SIGINT, or `stop()`) goes in the reverse order of starting: partner endpoints
/// drain (503 with `Retry-After`, requests in flight finish), the HTTP server stops, the drop
/// directories stop, the router and the workers finish and commit the batch in hand, the ledger and
/// the monitor stop, and the shared producer flushes last.
public final class HubNode: Sendable {
    public let configuration: HubConfiguration
    public let metrics = MetricsRegistry()
    public let topics = HubTopics()
    /// The router of this node, if it runs one.
    public let router: RouterSupervisor?
    public let drain: DrainState
    /// The node's parts that have not ended: a stop that takes too long names them (`StopWatchdog`).
    public let runningParts: RunningParts
    private let parts: Parts
    private let group: ServiceGroup
    private let logger: Logger

    /// Everything a role uses, made once.
    struct Parts: Sendable {
        var matrix: SharingMatrix
        var baseline: MatrixBundle
        var formats: PartnerFormats
        var credentials: any CredentialLookup
        var ledger: (any LedgerStore)?
        var producer: KafkaProducer?
        var gateway: InboundGateway?
        var governance: MatrixGovernance?
        var workers: [DeliveryWorker]
    }

    /// - Parameters:
    ///   - extraCredentials: tokens accepted besides the credentials file's (the demo's own).
    ///   - handlesSignals: SIGTERM and SIGINT stop the node gracefully (off in a test process).
    ///   - serving: called once the HTTP server listens, with its address.
    ///   - runningParts: where the node's parts say they run (the demo shares one with its own parts).
    public init(configuration: HubConfiguration, extraCredentials: Credentials? = nil, handlesSignals: Bool = true,
                runningParts: RunningParts = RunningParts(), logger: Logger,
                serving: @escaping @Sendable (URL) async -> Void = { _ in }) async throws {
        self.runningParts = runningParts
        self.configuration = configuration
        self.logger = logger
        let roles = configuration.roles
        let cluster = configuration.kafka.bootstrapServers
        let topics = self.topics
        let metrics = self.metrics
        let baseline = try MatrixBundle(directory: configuration.matrix)
        let matrix = try MatrixLoader.loadValid(baseline)
        let formats = try PartnerFormats.load(directory: configuration.formats)
        // The matrix versions this node routes and answers under (the router follows the governance topic).
        let schedule = MatrixSchedule(matrix)
        drain = DrainState()

        let credentials: any CredentialLookup = try configuration.credentials.map { try ReloadingCredentials(path: $0, fixed: extraCredentials) }
            ?? extraCredentials ?? Credentials(digests: [:])
        // The store, migrated to this version's schema before any service starts (refused when newer).
        var database: (any SQLDatabase)?
        var ledger: (any LedgerStore)?
        var versions: (any MatrixVersionStore)?
        if !roles.isDisjoint(with: [.gateway, .ledger, .sla, .api]) {
            let opened = try await configuration.store.open(password: configuration.storePassword, logger: logger)
            database = opened
            ledger = SQLLedgerStore(database: opened)
            if roles.contains(.api) { versions = SQLMatrixVersionStore(database: opened) }
        }
        var producer: KafkaProducer?
        if !roles.isDisjoint(with: [.gateway, .sla, .api, .ledger]) {
            var settings = KafkaProducerConfiguration(bootstrapServers: cluster, clientID: "ketenhub-\(configuration.node)")
            settings.client.overrides = HubTopics.deadLetterProducerOverrides
            producer = try KafkaProducer(configuration: settings, logger: logger)
        }
        let reader = TopicReader(bootstrapServers: cluster, logger: logger)
        let organisationTypes = Dictionary(matrix.organisations.organisations.map { ($0.code, $0.type) }) { first, _ in first }
        // Partners' references resolve to chain cases under the opening rules of the matrix the node starts with.
        let chainCases = producer.map { producer in
            InboundGateway.ChainCases(registry: ReferenceRegistry(reader: reader, producer: producer, topic: topics.references), rules: matrix.chainCases,
                                      organisationTypes: organisationTypes)
        }
        let gateway = producer.map { InboundGateway(formats: formats, chainCases: chainCases, producer: $0, topics: topics, metrics: metrics, logger: logger) }
        var governance: MatrixGovernance?
        if let versions { governance = try await MatrixGovernance(store: versions, schedule: schedule, baseline: baseline) }
        let workers = try Self.workers(configuration, formats: formats, matrix: matrix, topics: topics, metrics: metrics, logger: logger)
        let parts = Parts(matrix: matrix, baseline: baseline, formats: formats, credentials: credentials, ledger: ledger, producer: producer,
                          gateway: gateway, governance: governance, workers: workers)
        self.parts = parts

        var routerConfiguration = RouterConfiguration(bootstrapServers: cluster)
        routerConfiguration.fetchMaxWaitMilliseconds = configuration.kafka.fetchMaxWaitMilliseconds
        routerConfiguration.transactionalID = configuration.transactionalID
        routerConfiguration.batchSize = configuration.routerBatchSize
        routerConfiguration.batchBytes = configuration.routerBatchBytes
        routerConfiguration.metrics = metrics
        let router = roles.contains(.router) ? RouterSupervisor(configuration: routerConfiguration, schedule: schedule, logger: logger) : nil
        self.router = router

        // In starting order; the group stops them in the reverse order.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        func add(_ name: String, _ body: @escaping @Sendable () async throws -> Void) {
            services.append(.init(service: NodeService(name: name, running: runningParts, logger: logger, body: body),
                                  successTerminationBehavior: .ignore))
        }
        /// A part that only closes something once the node stops.
        func closing(_ name: String, _ close: @escaping @Sendable () async -> Void) -> ServiceGroupConfiguration.ServiceConfiguration {
            .init(service: NamedService(name: name, running: runningParts, service: ClosureService {
                try? await gracefulShutdown()
                await close()
            }), successTerminationBehavior: .ignore)
        }
        if let database { services.append(closing("database") { await database.close() }) }
        if let producer { services.append(closing("producer") { await producer.shutdown() }) }
        if let registry = chainCases?.registry { services.append(closing("reference-registry") { await registry.close() }) }
        if roles.contains(.ledger), let ledger {
            let clocks = SLAEvaluator(clocks: try SLAClock.load(configuration.clocks))
            let projector = LedgerProjector(bootstrapServers: cluster, topics: topics, store: ledger, keptFields: clocks.keptFields, logger: logger)
            // The matrix's automatic linking rules; a four-eyes rule waits for two operators (API).
            let linker = producer.map { producer in
                LedgerProjector.Linker(rules: matrix.chainCases.linking.filter { $0.decision == .automatic }.map {
                    LedgerProjector.AutomaticLink(rule: $0.id, role: $0.role.rawValue, says: $0.says)
                }, producer: producer)
            }
            add("ledger") { try await projector.run(fetchMaxWaitMilliseconds: configuration.kafka.fetchMaxWaitMilliseconds, linker: linker) }
            let retention = RetentionJob(store: ledger, policy: configuration.retention, logger: logger)
            add("retention") { try await retention.run() }
        }
        if roles.contains(.sla), let ledger, let producer {
            let monitor = SLAMonitor(evaluator: SLAEvaluator(clocks: try SLAClock.load(configuration.clocks), organisationTypes: organisationTypes),
                                     ledger: ledger, producer: producer,
                                     topics: topics, metrics: metrics, logger: logger)
            add("sla") {
                try await monitor.loadRaised(bootstrapServers: cluster)
                try await monitor.run(every: .seconds(5))
            }
        }
        if let governance, let producer {
            add("governance-publisher") {
                try await GovernanceTopic.publish(governance: governance, producer: producer, reader: reader, topics: topics, logger: logger)
            }
        }
        if let router {
            add("router") { try await router.runFollowingGovernance(reader: reader, topics: topics) }
        }
        for worker in workers { add("delivery-\(worker.organisation)") { try await worker.run() } }
        if roles.contains(.gateway), let gateway, let root = configuration.dropDirectory {
            let batchPartners = formats.formats.values.filter { $0.syntax == .csv }.flatMap(\.organisations).filter { !$0.hasSuffix("*") }
            let drop = DropDirectoryInbound(root: root, organisations: batchPartners, gateway: gateway, logger: logger)
            add("drop-directories") { try await drop.run() }
        }
        let admin = try KafkaAdmin(settings: KafkaClientSettings(bootstrapServers: cluster, clientID: "ketenhub-\(configuration.node)-admin"),
                                   timeoutMilliseconds: 3_000, logger: logger)
        // It joins the admin's thread: never on Swift's pool.
        services.insert(closing("admin") { await onThreadOfItsOwn { admin.shutdown() } }, at: 0)
        var lag: ConsumerLagProbe?
        if roles.contains(.api) {
            let lagAdmin = try KafkaAdmin(settings: KafkaClientSettings(bootstrapServers: cluster, clientID: "ketenhub-\(configuration.node)-lag"),
                                          timeoutMilliseconds: 3_000, logger: logger)
            // The delivery groups of this node's workers where it delivers, else of every recipient.
            let delivered = workers.isEmpty ? Self.recipients(matrix) : workers.map(\.organisation)
            let groups = [(routerConfiguration.groupID, topics.canonical)] + delivered.map { (DeliveryWorker.consumerGroup(delivering: $0), topics.deliveries($0)) }
            let probe = ConsumerLagProbe(admin: lagAdmin, groups: groups)
            lag = probe
            add("consumer-lag") { try await probe.run(every: .seconds(15)) }
            services.insert(closing("lag-admin") { await onThreadOfItsOwn { lagAdmin.shutdown() } }, at: 0)
        }
        let httpRouter = Self.httpRouter(configuration, parts: parts, admin: admin, drain: drain, metrics: metrics, router: router, lag: lag,
                                         topics: topics, logger: logger)
        let application = Application(router: httpRouter,
                                      server: .http1(configuration: .init(idleTimeout: .seconds(Int64(configuration.http.idleSeconds)))),
                                      configuration: .init(address: .hostname(configuration.http.host, port: configuration.http.port)),
                                      onServerRunning: { channel in
                                          let port = channel.localAddress?.port ?? configuration.http.port
                                          await serving(URL(string: "http://\(configuration.http.host):\(port)")!)
                                      }, logger: logger)
        services.append(.init(service: NamedService(name: "http", running: runningParts, service: application)))
        let drain = self.drain
        let drainLimit = Duration.seconds(configuration.http.drainSeconds)
        services.append(closing("drain") { await drain.drain(waitingAtMost: drainLimit) })

        var groupConfiguration = ServiceGroupConfiguration(services: services, logger: logger)
        if handlesSignals { groupConfiguration.gracefulShutdownSignals = [.sigterm, .sigint] }
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(configuration.http.drainSeconds + 20)
        // The last resort for a part that ignores its cancellation: the process ends (crash-only).
        // Not 5 s: on a loaded two-core machine with a dozen nodes in one test process, parts that
        // do end took longer than that to be scheduled again, and the fatal error ended every test
        // of the process. `ketenhub serve`'s watchdog (`http.drainSeconds` + 30 s) names the parts
        // still running before this one fires after a graceful shutdown.
        groupConfiguration.maximumCancellationDuration = .seconds(30)
        group = ServiceGroup(configuration: groupConfiguration)
    }

    /// Runs the node until SIGTERM or SIGINT (or `stop()`), then stops it in order.
    public func run() async throws { try await group.run() }

    /// Sends swift-metrics (librdkafka's statistics among them) into this node's registry, so that
    /// `/metrics` shows them too. Once per process: for the command that runs the node.
    public func bootstrapMetricsSystem() {
        MetricsSystem.bootstrap(metrics.metricsFactory)
    }

    /// Stops the node as SIGTERM does.
    public func stop() async { await group.triggerGracefulShutdown() }

    /// The node's ledger, if its roles keep one.
    public var ledger: (any LedgerStore)? { parts.ledger }

    /// The organisations that can receive deliveries: every registered one.
    public static func recipients(_ matrix: SharingMatrix) -> [String] {
        matrix.organisations.organisations.map(\.code).sorted()
    }

    private static func workers(_ configuration: HubConfiguration, formats: PartnerFormats, matrix: SharingMatrix, topics: HubTopics,
                                metrics: MetricsRegistry, logger: Logger) throws -> [DeliveryWorker] {
        guard configuration.roles.contains(.delivery) else { return [] }
        let recipients = Set(recipients(matrix))
        return try configuration.transports.keys.sorted().map { organisation in
            guard recipients.contains(organisation), let format = formats.deliveryFormat(for: organisation) else {
                throw HubNodeError.unknownOrganisation(organisation)
            }
            return DeliveryWorker(organisation: organisation, transport: configuration.transports[organisation]!,
                                  translator: PartnerTranslator(format: format), bootstrapServers: configuration.kafka.bootstrapServers,
                                  topics: topics, retry: configuration.retry,
                                  fetchMaxWaitMilliseconds: configuration.kafka.deliveryFetchMaxWaitMilliseconds ?? configuration.kafka.fetchMaxWaitMilliseconds,
                                  metrics: metrics, logger: logger)
        }
    }
}

public enum HubNodeError: Error, CustomStringConvertible {
    case unknownOrganisation(String)

    public var description: String {
        switch self {
        case .unknownOrganisation(let code):
            "delivery.transports.\(code): no organisation of the matrix with a partner format has this code"
        }
    }
}

/// The names of the parts of a process that run, each said when it starts and when it ends (any
/// thread). Once a stop is asked for, the names left are the parts still stopping.
public final class RunningParts: Sendable {
    private let names = Mutex<[String]>([])

    public init() {}

    /// In the order they started.
    public var current: [String] { names.withLock { $0 } }

    /// Runs `body` as the part `name`: listed from its start until it returns or throws.
    public func run<T>(_ name: String, _ body: () async throws -> T) async rethrows -> T {
        names.withLock { $0.append(name) }
        defer {
            names.withLock { list in
                if let index = list.firstIndex(of: name) { list.remove(at: index) }
            }
        }
        return try await body()
    }
}

/// A service of the node's group that says in `running` that it runs.
struct NamedService<Wrapped: Service>: Service {
    let name: String
    let running: RunningParts
    let service: Wrapped

    func run() async throws { try await running.run(name) { try await service.run() } }
}

/// One long-running part of a node under the service group. Crash-only: when the part fails, it is
/// started again (a second later) and takes up from the topics; graceful shutdown cancels it, and
/// each part finishes the work in hand on cancellation (a router its batch, a worker its delivery).
/// Listed in `running` under its name while it runs, restarts included.
struct NodeService: Service {
    let name: String
    let running: RunningParts
    let logger: Logger
    let body: @Sendable () async throws -> Void

    func run() async throws {
        await running.run(name) {
            await cancelWhenGracefulShutdown {
                while !Task.isCancelled {
                    do {
                        try await body()
                        return
                    } catch {
                        if Task.isCancelled { return }
                        logger.error("\(name) stopped; starting it again", metadata: ["error": "\(error)"])
                        try? await Task.sleep(for: .seconds(1))
                    }
                }
            }
        }
    }
}


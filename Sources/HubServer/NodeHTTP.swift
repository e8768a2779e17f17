import CanonicalEvents
import DeliveryLedger
import Foundation
import HubAPI
import HubAccess
import HubMetrics
import HubTopology
import Hummingbird
import Kafka
import Logging
import NIOCore
import PartnerGateway
import Router

extension HubNode {
    /// The node's HTTP endpoints: `/healthz`, `/readyz` and `/metrics` on every node (without a
    /// token: probes and Prometheus), the partner endpoints on a gateway, the API and the console on
    /// an api node.
    static func httpRouter(_ configuration: HubConfiguration, parts: Parts, admin: KafkaAdmin, drain: DrainState, metrics: MetricsRegistry,
                           router: RouterSupervisor?, lag: ConsumerLagProbe?, topics: HubTopics, logger: Logger) -> Hummingbird.Router<BasicRequestContext> {
        let hubRouter = Hummingbird.Router(context: BasicRequestContext.self)
        hubRouter.add(middleware: UnreadBodyMiddleware())  // first: it wraps every route and every refusal
        hubRouter.add(middleware: SecurityHeadersMiddleware())
        hubRouter.add(middleware: DrainMiddleware(drain: drain))
        let cluster = configuration.kafka.bootstrapServers
        let roles = configuration.roles
        hubRouter.get("healthz") { _, _ in Response.json(.ok, ["status": "alive"]) }
        let readiness = Readiness(configuration: configuration, admin: admin, ledger: parts.ledger, router: router, workers: parts.workers,
                                  drain: drain, topics: topics, organisations: recipients(parts.matrix), logger: logger)
        hubRouter.get("readyz") { _, _ in
            let report = await readiness.check()
            return Response.json(report.ready ? .ok : .serviceUnavailable, report)
        }
        hubRouter.get("metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: ByteBuffer(string: await metrics.render())))
        }
        if roles.contains(.gateway), let gateway = parts.gateway, let producer = parts.producer, let ledger = parts.ledger {
            let acknowledgements = AcknowledgementPublisher(producer: producer, topics: topics, metrics: metrics) { deliveryId in
                try await ledger.delivery(deliveryId).map { .init(organisation: $0.organisation, ketencaseid: $0.ketencaseid) }
            }
            HTTPInbound(gateway: gateway, credentials: parts.credentials, acknowledgements: acknowledgements).addRoutes(to: hubRouter)
        }
        if roles.contains(.api), let ledger = parts.ledger, let governance = parts.governance, let gateway = parts.gateway,
           let producer = parts.producer {
            let replayer = Replayer(gateway: gateway, producer: producer, topics: topics, bootstrapServers: cluster, logger: logger)
            OperatorAPI(ledger: ledger, credentials: parts.credentials, actions: actions(replayer, topics: topics, bootstrap: cluster, logger: logger))
                .addRoutes(to: hubRouter)
            let linkingRules = parts.matrix.chainCases.linking.map {
                CaseLinkAPI.Rule(id: $0.id, role: $0.role.rawValue, fourEyes: $0.decision == .fourEyes, says: $0.says)
            }
            CaseLinkAPI(ledger: ledger, credentials: parts.credentials, rules: linkingRules) { step in
                try await producer.send(try KafkaProducerMessage(topic: topics.caseLinks, key: step.linkId, json: step))
            }.addRoutes(to: hubRouter)
            PrivacyOfficerAPI(governance: governance, ledger: ledger, credentials: parts.credentials) { proposed in
                try await RecordedDecisions.read(bootstrapServers: cluster, topics: topics).replay(with: proposed)
            }.addRoutes(to: hubRouter)
            registerStateMetrics(metrics, ledger: ledger, lag: lag)
        }
        hubRouter.middlewares.add(MethodNotAllowedMiddleware(routes: hubRouter.routes.map { ($0.path, $0.method) }))
        if roles.contains(.api) {
            hubRouter.middlewares.add(FileMiddleware(configuration.console.path, searchForIndexHtml: true, logger: logger))
        }
        return hubRouter
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
    static func registerStateMetrics(_ metrics: MetricsRegistry, ledger: any LedgerStore, lag: ConsumerLagProbe?) {
        metrics.gauge("ketenhub_dead_letters", help: "Dead letters in the ledger.") {
            [([:], Double((try? await ledger.deadLetterSummary().count) ?? 0))]
        }
        metrics.gauge("ketenhub_dead_letter_oldest_age_seconds", help: "Age of the oldest dead letter.") {
            let oldest = (try? await ledger.deadLetterSummary().oldestReceivedAt).flatMap { $0.flatMap(HubTime.date) }
            return [([:], oldest.map { Date().timeIntervalSince($0) } ?? 0)]
        }
        if let lag {
            metrics.gauge("ketenhub_consumer_lag", help: "Records not yet processed, by consumer group (measured every 15 s).") { lag.samples }
        }
        metrics.histogram("ketenhub_acknowledgement_latency_seconds",
                          help: "From the hub's acceptance of an event to the partner's acknowledgement of its delivery.",
                          buckets: LatencyCounts.boundsMilliseconds.map { Double($0) / 1000 }) {
            let counted = (try? await ledger.acknowledgementLatencies()) ?? [:]
            return counted.sorted { $0.key < $1.key }.map { organisation, latencies in
                (["organisation": organisation], HistogramCounts(atOrBelow: latencies.atOrBelow, count: latencies.count,
                                                                  sum: Double(latencies.totalMilliseconds) / 1000))
            }
        }
    }
}

/// `/readyz`: whether this node can do its work now: Kafka reachable with the hub's topics, its ledger
/// reachable, its router routing and its workers assigned; and not stopping.
struct Readiness: Sendable {
    struct Report: Encodable, Sendable {
        var ready: Bool
        var node: String
        var roles: [String]
        /// By check: "ok" or what is wrong (never a secret, never personal data).
        var checks: [String: String]
    }

    let configuration: HubConfiguration
    let admin: KafkaAdmin
    let ledger: (any LedgerStore)?
    let router: RouterSupervisor?
    let workers: [DeliveryWorker]
    let drain: DrainState
    let topics: HubTopics
    let organisations: [String]
    let logger: Logger

    func check() async -> Report {
        var checks: [String: String] = [:]
        checks["kafka"] = await kafka()
        if let ledger {
            do { _ = try await ledger.delivery("readiness-probe"); checks["ledger"] = "ok" } catch { checks["ledger"] = "the ledger store does not answer" }
        }
        if let router { checks["router"] = router.isRouting ? "ok" : "not routing yet" }
        for worker in workers { checks["delivery-\(worker.organisation)"] = worker.isAssigned ? "ok" : "not assigned yet" }
        if drain.isDraining { checks["draining"] = "the node is stopping" }
        return Report(ready: checks.values.allSatisfy { $0 == "ok" }, node: configuration.node,
                      roles: configuration.roles.map(\.rawValue).sorted(), checks: checks)
    }

    /// Reachable, with every topic the node's roles use present (and visible to its principal).
    private func kafka() async -> String {
        do {
            let present = Set(try await admin.listTopics().map(\.name))
            let needed = configuration.roles.flatMap { $0.topics(topics, organisations: organisations, delivering: workers.map(\.organisation)) }
            let missing = Set(needed).filter { !present.contains($0) }
            return missing.isEmpty ? "ok" : "topics missing: \(missing.sorted().joined(separator: ", "))"
        } catch {
            return "Kafka does not answer"
        }
    }
}

extension HubConfiguration.Role {
    /// The topics a role reads or writes: what `/readyz` checks, and what the role's Kafka principal
    /// is granted in deploy/strimzi/users.yaml.
    func topics(_ topics: HubTopics, organisations: [String], delivering: [String]) -> [String] {
        let deliveries = organisations.map(topics.deliveries)
        return switch self {
        case .gateway: [topics.canonical, topics.deadLetter, topics.acknowledgements]
        case .router: [topics.canonical, topics.audit, topics.caseState, topics.consentState, topics.routerCheckpoints, topics.deadLetter,
                       topics.governance] + deliveries
        case .delivery: delivering.map(topics.deliveries) + [topics.deliveryStatus]
        case .ledger: [topics.canonical, topics.audit, topics.deliveryStatus, topics.acknowledgements, topics.deadLetter, topics.replays, topics.alerts]
        case .sla: [topics.alerts]
        case .api: [topics.canonical, topics.audit, topics.deadLetter, topics.replays, topics.governance] + deliveries
        }
    }
}

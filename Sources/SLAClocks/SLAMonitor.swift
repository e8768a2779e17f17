import DeliveryLedger
import Foundation
import HubMetrics
import HubTopology
import Kafka
import Logging

/// Runs the SLA clocks over the ledger now and then, and publishes each alert once on the alert
/// topic (keyed by the chain case), where the console and the metrics pick it up.
public final class SLAMonitor: Sendable {
    private let evaluator: SLAEvaluator
    private let ledger: any LedgerStore
    private let producer: KafkaProducer
    private let topics: HubTopics
    private let raised = RaisedAlerts()
    private let metrics: MetricsRegistry?
    private let logger: Logger

    public init(evaluator: SLAEvaluator, ledger: any LedgerStore, producer: KafkaProducer, topics: HubTopics = HubTopics(),
                metrics: MetricsRegistry? = nil, logger: Logger) {
        self.metrics = metrics
        self.evaluator = evaluator
        self.ledger = ledger
        self.producer = producer
        self.topics = topics
        self.logger = logger
    }

    /// Evaluates at `now` and publishes the alerts not published before; returns those.
    @discardableResult
    public func tick(at now: Date = Date()) async throws -> [SLAAlert] {
        let fresh = try await evaluator.alerts(at: now, in: ledger).filter { raised.insert($0.alertId) }
        if !fresh.isEmpty {
            try await producer.sendAll(try fresh.map { try KafkaProducerMessage(topic: topics.alerts, key: $0.ketencaseid, json: $0) })
            for alert in fresh {
                metrics?.increment("ketenhub_sla_alerts_total", help: "SLA warnings, breaches and escalations raised.",
                                   labels: ["clock": alert.clock, "severity": alert.severity.rawValue])
                logger.warning("SLA \(alert.severity.rawValue)", metadata: ["clock": "\(alert.clock)", "case": "\(alert.ketencaseid)", "message": "\(alert.message)"])
            }
        }
        return fresh
    }

    /// Remembers the alerts already on the alert topic, so that a restarted monitor raises none twice.
    public func loadRaised(bootstrapServers: String) async throws {
        let records = try await TopicReader(bootstrapServers: bootstrapServers, logger: logger).readAll(topics.alerts).values.flatMap { $0 }
        for record in records {
            if let alert = try? JSONDecoder().decode(SLAAlert.self, from: Data(record.value)) { _ = raised.insert(alert.alertId) }
        }
    }

    /// Ticks every `interval` until the task is cancelled.
    public func run(every interval: Duration = .seconds(10)) async throws {
        while !Task.isCancelled {
            try await tick()
            try await Task.sleep(for: interval)
        }
    }
}

/// The alert ids already published (read back from the alert topic at start, see `loadRaised`).
private final class RaisedAlerts: @unchecked Sendable {
    private let lock = NSLock()
    private var ids: Set<String> = []
    func insert(_ id: String) -> Bool { lock.withLock { ids.insert(id).inserted } }
}

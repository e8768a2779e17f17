import CanonicalEvents
import Foundation
import HubMetrics
import HubTopology
import Kafka

/// Publishes partners' acknowledgements of deliveries as canonical `acknowledgement` events on the
/// acknowledgement topic: proof of delivery for the hub, never routed to partners.
public struct AcknowledgementPublisher: Sendable {
    /// What a partner sends: which delivery, and what became of it.
    public struct Submission: Codable, Sendable {
        public var deliveryId: String
        /// The delivery's chain case (its `ce-ketencaseid`): the acknowledgement is keyed by it, like the delivery.
        public var ketencaseid: String
        public var status: String
        public var reason: String?

        public init(deliveryId: String, ketencaseid: String, status: String, reason: String? = nil) {
            self.deliveryId = deliveryId
            self.ketencaseid = ketencaseid
            self.status = status
            self.reason = reason
        }
    }

    public struct Invalid: Error { public var reason: String }

    let producer: KafkaProducer
    let topics: HubTopics
    let metrics: MetricsRegistry?

    public init(producer: KafkaProducer, topics: HubTopics = HubTopics(), metrics: MetricsRegistry? = nil) {
        self.producer = producer
        self.topics = topics
        self.metrics = metrics
    }

    /// The event published. Its id is derived from the delivery and status, so repeating an
    /// acknowledgement does not count twice.
    @discardableResult
    public func publish(_ ack: Submission, from organisation: String) async throws -> CloudEvent {
        guard let status = Acknowledgement.Status(rawValue: ack.status) else {
            throw Invalid(reason: "status must be received, processed or rejected, not '\(ack.status)'")
        }
        if status == .rejected, (ack.reason ?? "").isEmpty { throw Invalid(reason: "a rejection needs a reason") }
        let data = Acknowledgement(deliveryId: ack.deliveryId, organisation: organisation, status: status,
                                        acknowledgedAt: ISO8601DateFormatter().string(from: Date()), reason: ack.reason)
        let event = try CloudEvent(id: "ack-\(ack.deliveryId)-\(ack.status)", source: "urn:ketenhub:\(organisation)",
                                   time: data.acknowledgedAt, ketencaseid: ack.ketencaseid, data: data)
        let problems = ContractCatalogue.embedded.validate(event: event.structured)
        guard problems.isEmpty else { throw Invalid(reason: problems.map(\.description).joined(separator: "; ")) }
        try await producer.send(KafkaProducerMessage(topic: topics.acknowledgements, cloudEvent: event.kafkaRecord()))
        metrics?.increment("ketenhub_acknowledgements_total", help: "Partners' acknowledgements of deliveries.",
                           labels: ["organisation": organisation, "status": ack.status])
        return event
    }
}

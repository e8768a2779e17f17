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
    /// The delivery is another organisation's: only its recipient acknowledges it.
    public struct NotOwn: Error { public var reason: String }
    /// The hub knows no delivery with this id to this organisation.
    public struct Unknown: Error { public var reason: String }

    /// A delivery as the hub knows it: to whom, in which chain case.
    public struct KnownDelivery: Sendable {
        public var organisation: String
        public var ketencaseid: String?

        public init(organisation: String, ketencaseid: String?) {
            self.organisation = organisation
            self.ketencaseid = ketencaseid
        }
    }

    let producer: KafkaProducer
    let topics: HubTopics
    let metrics: MetricsRegistry?
    /// The hub's record of a delivery by id (the ledger, in a hub that keeps one); nil when it has none yet.
    let deliveries: (@Sendable (String) async throws -> KnownDelivery?)?
    /// How long to wait for a delivery the record does not know yet: a partner may acknowledge a
    /// delivery before the ledger has read it from the topics.
    let waitForUnknown: Duration

    public init(producer: KafkaProducer, topics: HubTopics = HubTopics(), metrics: MetricsRegistry? = nil,
                waitForUnknown: Duration = .seconds(3), deliveries: (@Sendable (String) async throws -> KnownDelivery?)? = nil) {
        self.producer = producer
        self.topics = topics
        self.metrics = metrics
        self.waitForUnknown = waitForUnknown
        self.deliveries = deliveries
    }

    /// The event published. Its id is derived from the delivery and status, so repeating an
    /// acknowledgement does not count twice.
    @discardableResult
    public func publish(_ ack: Submission, from organisation: String) async throws -> CloudEvent {
        guard let status = Acknowledgement.Status(rawValue: ack.status) else {
            // The value is not repeated: a partner's field may hold anything, personal data included,
            // and this reason is read by operators in the dead letter.
            throw Invalid(reason: "status must be received, processed or rejected")
        }
        if status == .rejected, (ack.reason ?? "").isEmpty { throw Invalid(reason: "a rejection needs a reason") }
        // A partner speaks only for itself: the delivery's id names its recipient.
        guard let recipient = Acknowledgement.recipient(ofDelivery: ack.deliveryId) else {
            throw Unknown(reason: "deliveryId is not the id of a delivery of this hub (dec-, 32 hex digits, -, the recipient)")
        }
        guard recipient == organisation else {
            throw NotOwn(reason: "\(organisation) may acknowledge only its own deliveries; this one is addressed to another organisation")
        }
        if let deliveries {
            guard let known = try await Self.waitFor(ack.deliveryId, in: deliveries, upTo: waitForUnknown), known.organisation == organisation else {
                throw Unknown(reason: "\(organisation) has no delivery with this id")
            }
            if let ketencaseid = known.ketencaseid, ketencaseid != ack.ketencaseid {
                throw Invalid(reason: "ketencaseid is not the chain case of this delivery")
            }
        }
        let data = Acknowledgement(deliveryId: ack.deliveryId, organisation: organisation, status: status,
                                        acknowledgedAt: HubTime.text(Date(), fractionalSeconds: true), reason: ack.reason)
        let event = try CloudEvent(id: "ack-\(ack.deliveryId)-\(ack.status)", source: "urn:ketenhub:\(organisation)",
                                   time: data.acknowledgedAt, ketencaseid: ack.ketencaseid, data: data)
        let problems = ContractCatalogue.embedded.validate(event: event.structured)
        guard problems.isEmpty else { throw Invalid(reason: problems.map(\.description).joined(separator: "; ")) }
        try await producer.send(KafkaProducerMessage(topic: topics.acknowledgements, cloudEvent: event.kafkaRecord()))
        metrics?.increment("ketenhub_acknowledgements_total", help: "Partners' acknowledgements of deliveries.",
                           labels: ["organisation": organisation, "status": ack.status])
        return event
    }

    private static func waitFor(_ deliveryId: String, in deliveries: @Sendable (String) async throws -> KnownDelivery?,
                                upTo patience: Duration) async throws -> KnownDelivery? {
        let deadline = ContinuousClock.now + patience
        while true {
            if let known = try await deliveries(deliveryId) { return known }
            guard ContinuousClock.now < deadline else { return nil }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}

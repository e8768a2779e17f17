import Kafka

/// The hub's topics (see `Contracts/asyncapi.yaml`), with the partition counts they are created with.
public struct HubTopics: Sendable {
    public var canonical = "ketenhub.events.canonical"
    public var audit = "ketenhub.audit.decisions"
    public var caseState = "ketenhub.router.cases"
    public var consentState = "ketenhub.consent.state"
    /// Where each canonical partition's router stood after each transaction that committed input
    /// (partition for partition): what the partition's next router starts from.
    public var routerCheckpoints = "ketenhub.router.checkpoints"
    public var deadLetter = "ketenhub.deadletter"
    public var acknowledgements = "ketenhub.acknowledgements"
    public var alerts = "ketenhub.alerts"
    public var deliveryPrefix = "ketenhub.deliveries."
    /// What became of each delivery to a partner (delivered, failed), written by the outbound side.
    public var deliveryStatus = "ketenhub.delivery-status"
    /// Operators' replays of dead letters and deliveries, written by the API.
    public var replays = "ketenhub.replays"
    /// Activated matrix versions, keyed by version number, for every router node to follow.
    public var governance = "ketenhub.governance"
    /// Each organisation's own references and the chain case each belongs to (compacted, keyed by
    /// organisation and reference), written by the gateway.
    public var references = "ketenhub.references"
    /// Links between chain cases, each step a record (keyed by link id).
    public var caseLinks = "ketenhub.case-links"
    /// The canonical topic's partitions; the audit, state and checkpoint topics have as many,
    /// partition for partition, so that each input partition has its own audit chain and state.
    public var partitions: Int32 = 6

    /// The largest dead letter: it keeps the refused message whole (a partner's message may be
    /// 2 MiB, base64 in the letter) with its first problems. The dead-letter topic takes records this
    /// large (`max.message.bytes`), and every producer that writes dead letters may send them
    /// (`message.max.bytes`); Kafka's default of 1 MB would refuse the letter of a large message,
    /// and the message would be neither taken nor recorded.
    public static let maximumDeadLetterBytes = 4 << 20

    /// The producer settings for a client that writes dead letters.
    public static let deadLetterProducerOverrides = ["message.max.bytes": String(maximumDeadLetterBytes)]

    public init() {}

    public func deliveries(_ organisation: String) -> String { deliveryPrefix + organisation }

    /// The topics the router writes: its decisions, state and dead letters, and every organisation's deliveries.
    public func isRouterOutput(_ topic: String) -> Bool {
        [audit, caseState, consentState, routerCheckpoints, deadLetter].contains(topic) || topic.hasPrefix(deliveryPrefix)
    }

    /// Every topic the hub needs, for these organisations.
    public func specifications(organisations: [String]) -> [KafkaTopicSpecification] {
        [
            KafkaTopicSpecification(name: canonical, partitions: partitions),
            KafkaTopicSpecification(name: audit, partitions: partitions, configs: ["retention.ms": "-1"]),
            KafkaTopicSpecification(name: caseState, partitions: partitions, configs: ["cleanup.policy": "compact"]),
            KafkaTopicSpecification(name: consentState, partitions: partitions, configs: ["cleanup.policy": "compact"]),
            // Compaction keeps each partition's newest checkpoint, which is the committed one (read_committed).
            KafkaTopicSpecification(name: routerCheckpoints, partitions: partitions, configs: ["cleanup.policy": "compact"]),
            KafkaTopicSpecification(name: deadLetter, partitions: 3,
                                    configs: ["retention.ms": "-1", "max.message.bytes": String(Self.maximumDeadLetterBytes)]),
            KafkaTopicSpecification(name: acknowledgements, partitions: 3),
            KafkaTopicSpecification(name: alerts, partitions: 3),
            KafkaTopicSpecification(name: deliveryStatus, partitions: 3),
            KafkaTopicSpecification(name: replays, partitions: 1, configs: ["retention.ms": "-1"]),
            // A version carries its matrix files whole; compaction keeps the newest record per version.
            KafkaTopicSpecification(name: governance, partitions: 1,
                                    configs: ["cleanup.policy": "compact", "max.message.bytes": String(Self.maximumDeadLetterBytes)]),
            KafkaTopicSpecification(name: references, partitions: 3, configs: ["cleanup.policy": "compact"]),
            KafkaTopicSpecification(name: caseLinks, partitions: 1, configs: ["retention.ms": "-1"]),
        ] + organisations.sorted().map { KafkaTopicSpecification(name: deliveries($0), partitions: 3) }
    }
}

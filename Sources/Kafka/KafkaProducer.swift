import Logging

/// An idempotent producer (`acks=all`): every `send` returns when the broker has the record, or
/// throws a `KafkaError` of kind `.delivery` naming why it has not.
public final class KafkaProducer: Sendable {
    private let core: ProducerCore

    public init(configuration: KafkaProducerConfiguration, logger: Logger = Logger(label: "kafka.producer")) throws {
        precondition(configuration.transactionalID == nil, "use KafkaTransactionalProducer for a transactional.id")
        core = try ProducerCore(properties: configuration.properties, logger: logger)
    }

    @discardableResult
    public func send(_ message: KafkaProducerMessage) async throws -> KafkaDeliveryReport {
        try await core.send(message)
    }

    /// Enqueues all records together and returns their reports in the same order.
    @discardableResult
    public func sendAll(_ messages: [KafkaProducerMessage]) async throws -> [KafkaDeliveryReport] {
        try await core.sendAll(messages)
    }

    /// Learns the partition leaders of every topic on the cluster now, in one request, and makes
    /// the topic handles of those it will write to, so that the first record to each does not wait
    /// for its topic's metadata (see `ProducerTopics`).
    public func loadTopicMetadata(timeoutMilliseconds: Int32 = 10_000, writingTo willWrite: (String) -> Bool) async throws {
        try await core.loadTopicMetadata(timeoutMilliseconds: timeoutMilliseconds, writingTo: willWrite)
    }

    public func flush(timeoutMilliseconds: Int32 = 10_000) async throws {
        try await core.flush(timeoutMilliseconds: timeoutMilliseconds)
    }

    public func shutdown() async {
        await core.shutdown()
    }
}

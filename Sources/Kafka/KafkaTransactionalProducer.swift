import CRdKafka
import Logging
import Synchronization

/// A transactional producer: records and consumer offsets committed atomically, for exactly-once
/// consume-transform-produce on Apache Kafka.
///
/// Life cycle: `uninitialised --initTransactions--> ready --begin--> inTransaction
/// --commit/abort--> ready`; any fatal error moves it to `failed`, `shutdown` to `closed`.
/// Errors are classified the way librdkafka classifies them and handled here accordingly:
/// retriable calls are retried, an abortable error aborts the transaction before it is thrown
/// (the caller then redoes the work from its last committed offsets), a fatal one fails the producer.
public final class KafkaTransactionalProducer: Sendable {
    public enum State: Sendable, Equatable {
        case uninitialised, ready, inTransaction, failed, closed
    }

    let core: ProducerCore
    private let logger: Logger
    private let state = Mutex(State.uninitialised)
    private let timeoutMilliseconds: Int32
    private let retryAttempts = 5

    public init(configuration: KafkaProducerConfiguration, logger: Logger = Logger(label: "kafka.transactional-producer")) throws {
        precondition(configuration.transactionalID != nil, "a transactional producer needs a transactional.id")
        precondition(configuration.messageTimeoutMilliseconds < configuration.transactionTimeoutMilliseconds,
                     "message.timeout.ms must be below transaction.timeout.ms")
        core = try ProducerCore(properties: configuration.properties, transactional: true, logger: logger)
        self.logger = logger
        timeoutMilliseconds = Int32(configuration.transactionTimeoutMilliseconds / 2)
    }

    public var currentState: State { state.withLock { $0 } }

    /// Registers the transactional id with the coordinator and fences older instances of it.
    public func initTransactions() async throws {
        try expect(.uninitialised, for: "initTransactions")
        let timeout = timeoutMilliseconds
        try await perform("init transactions") { rd_kafka_init_transactions($0, timeout) }
        transition(to: .ready)
    }

    /// Learns the partition leaders of every topic on the cluster now, in one request, and makes
    /// the topic handles of those it will write to, so that the first transaction does not ask for
    /// each new topic's partitions (see `ProducerTopics`) before its records can be sent.
    public func loadTopicMetadata(timeoutMilliseconds: Int32 = 10_000, writingTo willWrite: (String) -> Bool) async throws {
        try await core.loadTopicMetadata(timeoutMilliseconds: timeoutMilliseconds, writingTo: willWrite)
    }

    /// The topics this producer has a topic handle for (written to, or adopted with their metadata).
    var topicsWithHandles: Set<String> { core.topics.names }

    public func beginTransaction() throws {
        try expect(.ready, for: "beginTransaction")
        if let error = rd_kafka_begin_transaction(core.client.handle) {
            throw failIfFatal(KafkaError.transaction(consuming: error, "begin transaction"))
        }
        transition(to: .inTransaction)
    }

    /// Records handed to the producer and not yet delivered (queued, lingering or in flight).
    public var outstandingRecords: Int { core.outstandingRecords }

    @discardableResult
    public func send(_ message: KafkaProducerMessage) async throws -> KafkaDeliveryReport {
        try expect(.inTransaction, for: "send")
        return try await core.send(message)
    }

    @discardableResult
    public func sendAll(_ messages: [KafkaProducerMessage]) async throws -> [KafkaDeliveryReport] {
        try expect(.inTransaction, for: "send")
        return try await core.sendAll(messages)
    }

    /// Sends records in the transaction and returns once all are delivered (throwing the first
    /// failure), without a report per record: for the many records of a batch whose offsets
    /// nobody reads.
    public func deliverAll(_ messages: [KafkaProducerMessage]) async throws {
        try expect(.inTransaction, for: "send")
        try await core.deliverAll(messages)
    }

    /// Adds the consumer's positions (the next offsets to read) to the transaction, so that they are
    /// committed if and only if the records produced in it are.
    public func sendOffsetsToTransaction(_ offsets: [KafkaTopicPartitionOffset], consumer: KafkaConsumer) async throws {
        try expect(.inTransaction, for: "sendOffsetsToTransaction")
        guard !offsets.isEmpty else { return }
        let metadata = try consumer.groupMetadata()
        let timeout = timeoutMilliseconds
        try await perform("send offsets to transaction") { handle in
            let list = TopicPartitionList.make(offsets)
            defer { rd_kafka_topic_partition_list_destroy(list) }
            return rd_kafka_send_offsets_to_transaction(handle, list, metadata.pointer, timeout)
        }
    }

    public func commitTransaction() async throws {
        try expect(.inTransaction, for: "commitTransaction")
        let timeout = timeoutMilliseconds
        try await perform("commit transaction") { rd_kafka_commit_transaction($0, timeout) }
        transition(to: .ready)
    }

    public func abortTransaction() async throws {
        try expect(.inTransaction, for: "abortTransaction")
        let timeout = timeoutMilliseconds
        try await perform("abort transaction") { rd_kafka_abort_transaction($0, timeout) }
        transition(to: .ready)
    }

    /// Runs `body` inside a transaction and commits it; if `body` or the commit fails, the
    /// transaction is aborted (unless the producer failed fatally) and the error rethrown.
    @discardableResult
    public func withTransaction<T: Sendable>(_ body: (KafkaTransactionalProducer) async throws -> T) async throws -> T {
        try beginTransaction()
        do {
            let result = try await body(self)
            try await commitTransaction()
            return result
        } catch {
            if currentState == .inTransaction { try? await abortTransaction() }
            throw error
        }
    }

    public func shutdown() async {
        if currentState == .inTransaction { try? await abortTransaction() }
        transition(to: .closed)
        await core.shutdown()
    }

    // MARK: - Error reactions

    /// Runs a blocking transactional call on the control thread and reacts to its error class.
    private func perform(_ name: String, _ call: @escaping @Sendable (OpaquePointer) -> OpaquePointer?) async throws {
        let client = core.client
        var attempt = 0
        while true {
            attempt += 1
            let error = try await core.control.run { call(client.handle).map(TransactionErrorBox.init) }
            guard let error else { return }
            let failure = KafkaError.transaction(consuming: error.pointer, name)
            switch failure.kind {
            case .transaction(.retriable) where attempt < retryAttempts:
                logger.warning("retrying after retriable error", metadata: ["error": "\(failure)", "attempt": "\(attempt)"])
                try await Task.sleep(for: .milliseconds(100 * attempt))
                continue
            case .transaction(.abortable):
                if currentState == .inTransaction {
                    let timeout = timeoutMilliseconds
                    if let abortError = try await core.control.run({ rd_kafka_abort_transaction(client.handle, timeout).map(TransactionErrorBox.init) }) {
                        throw failIfFatal(KafkaError.transaction(consuming: abortError.pointer, "abort after \(name)"))
                    }
                    transition(to: .ready)
                }
                throw failure
            default:
                throw failIfFatal(failure)
            }
        }
    }

    private func failIfFatal(_ error: KafkaError) -> KafkaError {
        if error.kind == .transaction(.fatal) {
            logger.error("transactional producer failed fatally", metadata: ["error": "\(error)"])
            transition(to: .failed)
            // Nothing sent in the transaction will commit now, and librdkafka may keep the records'
            // delivery reports until the records time out (minutes): whoever waits for them is told now.
            core.failOutstanding(with: error)
        }
        return error
    }

    private func expect(_ expected: State, for call: String) throws {
        let current = currentState
        guard current == expected else {
            throw KafkaError(kind: .state, reason: "\(call) needs state \(expected), the producer is \(current)")
        }
    }

    private func transition(to next: State) {
        state.withLock { current in
            // Terminal states stay terminal.
            if current == .closed || (current == .failed && next != .closed) { return }
            current = next
        }
    }
}

/// Carries an `rd_kafka_error_t *` from the control thread back to the awaiting task.
private struct TransactionErrorBox: @unchecked Sendable {
    let pointer: OpaquePointer
}

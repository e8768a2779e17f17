import CRdKafka

/// A librdkafka error code (`rd_kafka_resp_err_t`), named the way librdkafka names it.
public struct KafkaErrorCode: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32

    public init(rawValue: Int32) { self.rawValue = rawValue }

    init(_ err: rd_kafka_resp_err_t) { self.rawValue = err.rawValue }

    var rdKafka: rd_kafka_resp_err_t { rd_kafka_resp_err_t(rawValue: rawValue) }

    /// librdkafka's symbolic name, for example `TOPIC_AUTHORIZATION_FAILED` or `_MSG_TIMED_OUT`.
    public var name: String { String(cString: rd_kafka_err2name(rdKafka)) }
    public var description: String { String(cString: rd_kafka_err2str(rdKafka)) }

    public static let noError = KafkaErrorCode(RD_KAFKA_RESP_ERR_NO_ERROR)
    public static let messageTimedOut = KafkaErrorCode(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT)
    public static let queueFull = KafkaErrorCode(RD_KAFKA_RESP_ERR__QUEUE_FULL)
    public static let timedOut = KafkaErrorCode(RD_KAFKA_RESP_ERR__TIMED_OUT)
    public static let topicAuthorizationFailed = KafkaErrorCode(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED)
    public static let notLeaderForPartition = KafkaErrorCode(RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION)
    public static let notEnoughReplicas = KafkaErrorCode(RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS)
    public static let requestTimedOut = KafkaErrorCode(RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT)
    public static let concurrentTransactions = KafkaErrorCode(RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS)
    public static let coordinatorNotAvailable = KafkaErrorCode(RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE)
    public static let unknownTopicOrPartition = KafkaErrorCode(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
    public static let messageSizeTooLarge = KafkaErrorCode(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE)
    public static let producerFenced = KafkaErrorCode(RD_KAFKA_RESP_ERR_PRODUCER_FENCED)
    public static let invalidProducerEpoch = KafkaErrorCode(RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH)
    public static let invalidTransactionState = KafkaErrorCode(RD_KAFKA_RESP_ERR__STATE)
}

/// How a transactional call failed, which decides what the caller must do next
/// (librdkafka's own classification, `rd_kafka_error_is_fatal` and friends).
public enum TransactionErrorClass: Sendable, Equatable {
    /// The same call may simply be retried.
    case retriable
    /// The transaction must be aborted; the work it held is redone from the last committed offsets.
    case abortable
    /// The producer is unusable (for example fenced by a newer instance); create a new one.
    case fatal
}

/// Every error the Kafka module throws.
public struct KafkaError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The configuration was rejected by librdkafka.
        case configuration
        /// The broker did not accept a produced message (from its delivery report).
        case delivery
        /// A transactional call failed; the class says what to do.
        case transaction(TransactionErrorClass)
        /// Work on a partition that this consumer no longer owns after a rebalance.
        case partitionRevoked
        /// The consumer or admin client reported an error.
        case client
        /// An admin operation failed.
        case admin
        /// The client was already shut down, or is in a state that forbids the call.
        case state
    }

    public let kind: Kind
    public let code: KafkaErrorCode?
    public let reason: String

    public init(kind: Kind, code: KafkaErrorCode? = nil, reason: String) {
        self.kind = kind
        self.code = code
        self.reason = reason
    }

    public var description: String {
        if let code { return "\(kind): \(code.name): \(reason)" }
        return "\(kind): \(reason)"
    }

    static func client(_ err: rd_kafka_resp_err_t, _ context: String) -> KafkaError {
        let code = KafkaErrorCode(err)
        return KafkaError(kind: .client, code: code, reason: "\(context): \(code.description)")
    }

    /// Takes ownership of `error` (destroys it) and classifies it for transactional use.
    static func transaction(consuming error: OpaquePointer, _ context: String) -> KafkaError {
        defer { rd_kafka_error_destroy(error) }
        let errorClass: TransactionErrorClass
        if rd_kafka_error_is_fatal(error) != 0 {
            errorClass = .fatal
        } else if rd_kafka_error_txn_requires_abort(error) != 0 {
            errorClass = .abortable
        } else if rd_kafka_error_is_retriable(error) != 0 {
            errorClass = .retriable
        } else {
            // librdkafka documents every other transactional error as fatal.
            errorClass = .fatal
        }
        let code = KafkaErrorCode(rd_kafka_error_code(error))
        let text = String(cString: rd_kafka_error_string(error))
        return KafkaError(kind: .transaction(errorClass), code: code, reason: "\(context): \(text)")
    }
}

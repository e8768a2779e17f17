import CRdKafka
import Logging
import Synchronization

/// Which partitions this consumer owns, and since which assignment. A record remembers the
/// generation it was fetched under; once its partition is revoked (even if it comes back later)
/// that generation is gone, so offsets for it are refused: work on a revoked partition is fenced.
final class AssignmentTracker: Sendable {
    private struct State {
        var generation: UInt64 = 0
        var owned: [KafkaTopicPartition: UInt64] = [:]
    }

    private let state = Mutex(State())
    /// Counts the changes that take partitions away, each counted after it is made. While the count
    /// stands still, a partition found owned under a generation still is (assignments only add), so
    /// a reader that checked one record of a partition need not lock for the next (`OwnershipCheck`).
    private let revocations = Atomic<UInt64>(0)
    private let logger: Logger
    /// With manual commits, commit the stored offsets before giving partitions away, so the next
    /// owner starts after the records this one finished (records it did not finish are redone).
    private let commitOnRevoke: Bool
    private let listener: KafkaRebalanceListener?

    init(logger: Logger, commitOnRevoke: Bool, listener: KafkaRebalanceListener?) {
        self.logger = logger
        self.commitOnRevoke = commitOnRevoke
        self.listener = listener
    }

    var partitions: Set<KafkaTopicPartition> { state.withLock { Set($0.owned.keys) } }

    func generation(of partition: KafkaTopicPartition) -> UInt64? { state.withLock { $0.owned[partition] } }

    func owns(_ partition: KafkaTopicPartition, generation: UInt64) -> Bool {
        state.withLock { $0.owned[partition] == generation }
    }

    var revocationCount: UInt64 { revocations.load(ordering: .sequentiallyConsistent) }

    private func revoked() { revocations.wrappingAdd(1, ordering: .sequentiallyConsistent) }

    /// Records an assignment the application made itself (no group rebalance involved).
    func assignManually(_ partitions: [KafkaTopicPartition]) {
        state.withLock { state in
            state.generation += 1
            state.owned = Dictionary(uniqueKeysWithValues: partitions.map { ($0, state.generation) })
        }
        revoked()
    }

    /// The rebalance callback; runs on the consumer's poll thread (or inside close).
    func rebalance(_ rk: OpaquePointer, _ err: rd_kafka_resp_err_t, _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?) {
        let changed = TopicPartitionList.elements(list).map(\.0)
        switch err {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            let generation = state.withLock { state in
                state.generation += 1
                for partition in changed { state.owned[partition] = state.generation }
                return state.generation
            }
            logger.info("partitions assigned", metadata: ["partitions": "\(changed.map(\.description).sorted())"])
            var committed: [KafkaTopicPartition: Int64]? = [:]
            if listener != nil {
                // The positions the listener is told are the ones fetching starts from: asked once, here,
                // and assigned explicitly (otherwise librdkafka asks again, and a commit landing between
                // the two askings would give the listener and the fetcher different starts).
                let err = rd_kafka_committed(rk, list, 10_000)
                if err == RD_KAFKA_RESP_ERR_NO_ERROR {
                    for (partition, offset, _) in TopicPartitionList.elements(list) where offset >= 0 { committed?[partition] = offset }
                } else {
                    logger.error("committed offsets not read at assignment", metadata: ["error": "\(KafkaErrorCode(err).name)"])
                    committed = nil
                }
            }
            rd_kafka_assign(rk, list)
            listener?.assigned(changed, committed, generation)
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            // Still owned while the listener ends its work on them: the group waits for this callback.
            listener?.revoking(changed)
            if commitOnRevoke {
                let result = rd_kafka_commit(rk, nil, 0)
                if result != RD_KAFKA_RESP_ERR_NO_ERROR && result != RD_KAFKA_RESP_ERR__NO_OFFSET {
                    logger.warning("commit before revocation failed", metadata: ["error": "\(KafkaErrorCode(result).name)"])
                }
            }
            state.withLock { state in
                for partition in changed { state.owned[partition] = nil }
            }
            revoked()
            logger.info("partitions revoked", metadata: ["partitions": "\(changed.map(\.description).sorted())"])
            rd_kafka_assign(rk, nil)
        default:
            logger.error("rebalance failed", metadata: ["error": "\(KafkaErrorCode(err).name)"])
            listener?.revoking(Array(partitions))
            state.withLock { $0.owned.removeAll() }
            revoked()
            rd_kafka_assign(rk, nil)
        }
    }
}

/// What a consumer-group member does when its assignment changes. Both run on the consumer's poll
/// thread (inside a poll, or inside `close`), never on Swift's pool, and may block it: with the
/// eager protocol the group's rebalance waits until every member has returned from `revoking`, so
/// a member that ends its work on a partition there hands it over exactly. `revoking` must not wait
/// for a poll of the same consumer, nor for anything `close` waits for when called from there.
public struct KafkaRebalanceListener: Sendable {
    /// The partitions given to this member; the committed offsets fetching starts from (a partition
    /// without one starts as `auto.offset.reset` says; nil if they could not be read); and the
    /// assignment generation their records carry.
    public var assigned: @Sendable (_ partitions: [KafkaTopicPartition], _ committed: [KafkaTopicPartition: Int64]?, _ generation: UInt64) -> Void
    /// The partitions about to be taken away; still owned until this returns.
    public var revoking: @Sendable ([KafkaTopicPartition]) -> Void

    public init(assigned: @escaping @Sendable ([KafkaTopicPartition], [KafkaTopicPartition: Int64]?, UInt64) -> Void,
                revoking: @escaping @Sendable ([KafkaTopicPartition]) -> Void) {
        self.assigned = assigned
        self.revoking = revoking
    }
}

/// Whether records still belong to the assignment they were fetched under, checked by one reader
/// (a consumer's message iterator): a record of the partition and generation last found owned passes
/// without a lock as long as no partition has been taken away since.
struct OwnershipCheck {
    private var lastOwned: (topic: String, partition: Int32, generation: UInt64, revocations: UInt64)?

    mutating func owns(_ message: KafkaConsumerMessage, under assignment: AssignmentTracker) -> Bool {
        let revocations = assignment.revocationCount
        if let last = lastOwned, last.revocations == revocations, last.partition == message.partition,
           last.generation == message.assignmentGeneration, last.topic == message.topic {
            return true
        }
        // The count is read before the check: a revocation made meanwhile is counted after it, so
        // the next record checks again.
        guard assignment.owns(message.topicPartition, generation: message.assignmentGeneration) else { return false }
        lastOwned = (message.topic, message.partition, message.assignmentGeneration, revocations)
        return true
    }
}

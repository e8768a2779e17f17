import CRdKafka
import Foundation
import Logging
import Synchronization

/// A consumer-group member. Records arrive through `messages`, an `AsyncSequence` fed in batches by
/// a poll thread of the consumer's own (librdkafka's queue is the backpressure). Offsets are stored
/// and committed explicitly: `storeOffset` + `commit` for at-least-once processing, or
/// `KafkaTransactionalProducer.sendOffsetsToTransaction` for exactly-once.
public final class KafkaConsumer: Sendable {
    private let client: RDKafkaClient
    private let queue: ConsumerQueue
    let assignment: AssignmentTracker
    /// `rd_kafka_consume_batch_queue` and close run here.
    private let pollThread: ClientThread
    /// Commits run here, so that they do not wait behind a poll.
    private let control: ClientThread
    private let batchSize: Int
    private let pollBuffer = PollBuffer()
    private let logger: Logger
    private let closed = Mutex(false)

    /// `rebalanceListener` is told of each change of assignment (see `KafkaRebalanceListener`).
    public init(configuration: KafkaConsumerConfiguration, logger: Logger = Logger(label: "kafka.consumer"),
                rebalanceListener: KafkaRebalanceListener? = nil) throws {
        let properties = configuration.properties
        let name = configuration.client.clientID
        let assignment = AssignmentTracker(logger: logger, commitOnRevoke: configuration.autoCommitIntervalMilliseconds == nil,
                                           listener: rebalanceListener)
        let statistics = properties["statistics.interval.ms"] != nil ? StatisticsRecorder(client: name) : nil
        let callbacks = ClientCallbacks(logger: logger, statistics: statistics) { rk, err, list in
            assignment.rebalance(rk, err, list)
        }
        client = try RDKafkaClient(kind: .consumer, properties: properties, callbacks: callbacks)
        // One queue for records, rebalances, logs and statistics.
        rd_kafka_poll_set_consumer(client.handle)
        queue = ConsumerQueue(pointer: rd_kafka_queue_get_consumer(client.handle))
        self.assignment = assignment
        self.pollThread = ClientThread(name: "\(name)-poll")
        self.control = ClientThread(name: "\(name)-control")
        self.batchSize = configuration.pollBatchSize
        self.logger = logger
    }

    public func subscribe(topics: [String]) throws {
        let list = TopicPartitionList.make(topics.map { KafkaTopicPartition(topic: $0, partition: RD_KAFKA_PARTITION_UA) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = rd_kafka_subscribe(client.handle, list)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError.client(err, "subscribe to \(topics)") }
    }

    /// Reads exactly these partitions from these offsets, without joining the group (offsets can still
    /// be committed under the group id). Use `KafkaOffset.beginning` to read a partition from its start.
    public func assign(_ offsets: [KafkaTopicPartitionOffset]) throws {
        let list = TopicPartitionList.make(offsets)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = rd_kafka_assign(client.handle, list)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError.client(err, "assign") }
        assignment.assignManually(offsets.map(\.topicPartition))
    }

    /// The group's committed offsets for these partitions (nil where it committed none).
    public func committedOffsets(_ partitions: [KafkaTopicPartition], timeoutMilliseconds: Int32 = 10_000) async throws -> [KafkaTopicPartition: Int64?] {
        let client = self.client
        return try await control.run {
            let list = TopicPartitionList.make(partitions)
            defer { rd_kafka_topic_partition_list_destroy(list) }
            let err = rd_kafka_committed(client.handle, list, timeoutMilliseconds)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError.client(err, "committed offsets") }
            var result: [KafkaTopicPartition: Int64?] = [:]
            for (partition, offset, _) in TopicPartitionList.elements(list) { result[partition] = offset >= 0 ? offset : nil }
            return result
        }
    }

    /// The next offset the consumer will fetch per assigned partition (past transaction markers), nil where unknown.
    public func positions(_ partitions: [KafkaTopicPartition]) throws -> [KafkaTopicPartition: Int64?] {
        let list = TopicPartitionList.make(partitions)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = rd_kafka_position(client.handle, list)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError.client(err, "positions") }
        var result: [KafkaTopicPartition: Int64?] = [:]
        for (partition, offset, _) in TopicPartitionList.elements(list) { result[partition] = offset >= 0 ? offset : nil }
        return result
    }

    /// Low and high watermark of each partition, asked of the brokers.
    public func watermarks(_ partitions: [KafkaTopicPartition], timeoutMilliseconds: Int32 = 10_000) async throws -> [KafkaTopicPartition: (low: Int64, high: Int64)] {
        let client = self.client
        return try await control.run {
            var result: [KafkaTopicPartition: (low: Int64, high: Int64)] = [:]
            for partition in partitions {
                var low: Int64 = 0
                var high: Int64 = 0
                let err = rd_kafka_query_watermark_offsets(client.handle, partition.topic, partition.partition, &low, &high, timeoutMilliseconds)
                if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError.client(err, "watermarks of \(partition)") }
                result[partition] = (low, high)
            }
            return result
        }
    }

    /// How many partitions a topic has, from the cluster's metadata.
    public func partitionCount(topic: String, timeoutMilliseconds: Int32 = 10_000) async throws -> Int {
        let client = self.client
        return try await control.run {
            guard let metadata = try KafkaAdmin.metadata(client.handle, timeout: timeoutMilliseconds).first(where: { $0.name == topic }),
                  metadata.partitionCount > 0 else {
                throw KafkaError(kind: .client, code: .unknownTopicOrPartition, reason: "topic \(topic) does not exist")
            }
            return metadata.partitionCount
        }
    }

    /// The records of the subscribed topics. Iterate from one task only.
    public var messages: KafkaConsumerMessages { KafkaConsumerMessages(consumer: self) }

    /// The partitions this member owns right now.
    public var assignedPartitions: Set<KafkaTopicPartition> { assignment.partitions }

    /// Whether `message`'s partition is still owned under the assignment it was fetched in.
    public func owns(_ message: KafkaConsumerMessage) -> Bool {
        assignment.owns(message.topicPartition, generation: message.assignmentGeneration)
    }

    /// Marks `message` processed; the next `commit` (or the commit before a revocation) includes it.
    /// Throws `.partitionRevoked` if the partition was taken away since the record was fetched.
    public func storeOffset(_ message: KafkaConsumerMessage) throws {
        try fence(message)
        let list = TopicPartitionList.make([message.nextOffset])
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = rd_kafka_offsets_store(client.handle, list)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            // librdkafka answers _STATE for a partition revoked between our check and the store.
            throw KafkaError(kind: .partitionRevoked, code: KafkaErrorCode(err), reason: "offset store for \(message.topicPartition)")
        }
    }

    /// Commits the stored offsets synchronously.
    public func commit() async throws {
        let client = self.client
        let err = try await control.run { rd_kafka_commit(client.handle, nil, 0) }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__NO_OFFSET {
            throw KafkaError.client(err, "commit")
        }
    }

    /// Commits these positions synchronously (for an assigned consumer that tracks its own progress).
    public func commit(_ offsets: [KafkaTopicPartitionOffset]) async throws {
        guard !offsets.isEmpty else { return }
        let client = self.client
        let err = try await control.run {
            let list = TopicPartitionList.make(offsets)
            defer { rd_kafka_topic_partition_list_destroy(list) }
            return rd_kafka_commit(client.handle, list, 0)
        }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError.client(err, "commit") }
    }

    /// Asks for these positions to be committed and returns at once, without the broker's answer: for
    /// a consumer whose progress is also kept elsewhere (the router's, in its transactions), where a
    /// commit that does not arrive only means some records are read, and deduplicated, again.
    public func commitWithoutWaiting(_ offsets: [KafkaTopicPartitionOffset]) throws {
        guard !offsets.isEmpty else { return }
        let list = TopicPartitionList.make(offsets)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        // Asynchronous: librdkafka only enqueues the request, so this does not block the calling thread.
        let err = rd_kafka_commit(client.handle, list, 1)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError.client(err, "commit") }
    }

    /// Commits the position after `message` synchronously (fenced like `storeOffset`).
    public func commit(_ message: KafkaConsumerMessage) async throws {
        try fence(message)
        let client = self.client
        let next = message.nextOffset
        let err = try await control.run {
            let list = TopicPartitionList.make([next])
            defer { rd_kafka_topic_partition_list_destroy(list) }
            return rd_kafka_commit(client.handle, list, 0)
        }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError.client(err, "commit \(next.topicPartition)") }
    }

    public func pause(_ partitions: [KafkaTopicPartition]) throws {
        try changeFlow(partitions, rd_kafka_pause_partitions, "pause")
    }

    public func resume(_ partitions: [KafkaTopicPartition]) throws {
        try changeFlow(partitions, rd_kafka_resume_partitions, "resume")
    }

    /// What a transactional producer needs to commit this member's offsets in its transaction.
    public func groupMetadata() throws -> KafkaConsumerGroupMetadata {
        guard let pointer = rd_kafka_consumer_group_metadata(client.handle) else {
            throw KafkaError(kind: .state, reason: "the consumer has no group metadata")
        }
        return KafkaConsumerGroupMetadata(pointer: pointer)
    }

    /// Leaves the group (committing stored offsets before the revocation), then destroys the handle;
    /// waits for that at most 30 s (`closeTimeout`).
    public func close() async {
        guard closed.withLock({ was in defer { was = true }; return !was }) else { return }
        // The poll under way ends first: up to its timeout, or a rebalance callback's whole work.
        let pollThread = self.pollThread
        await onThreadOfItsOwn { pollThread.shutdown() }
        let client = self.client
        let queue = self.queue
        let closedInTime = await control.run(within: Self.closeTimeout) {
            rd_kafka_queue_destroy(queue.pointer)
            rd_kafka_consumer_close(client.handle)
            client.destroy()
        }
        guard closedInTime else {
            // librdkafka 2.0.2's close can wait forever for its own group thread in the revocation it
            // makes (seen once in a benchmark: `rd_kafka_assign` called from the rebalance callback
            // inside `rd_kafka_consumer_close`, the group thread idle). The handle is left as it is;
            // the group hands the partitions on once the session times out, as after a crash.
            logger.error("consumer close did not finish; its handle is left open", metadata: ["waited": "\(Self.closeTimeout)"])
            return
        }
        control.shutdown()
    }

    /// How long `close` waits for librdkafka to leave the group and destroy the handle.
    private static let closeTimeout = Duration.seconds(30)

    var isClosed: Bool { closed.withLock { $0 } }

    /// Fetches up to one batch of records on the poll thread (waiting at most 100 ms).
    func poll() async throws -> [KafkaConsumerMessage] {
        try await poll(maxMessages: batchSize, timeoutMilliseconds: 100)
    }

    /// Fetches up to `maxMessages` records: waits at most `timeoutMilliseconds` for the first, then
    /// takes those already fetched, for callers that close batches on size or time. An empty result
    /// means nothing arrived.
    public func poll(maxMessages: Int, timeoutMilliseconds: Int32) async throws -> [KafkaConsumerMessage] {
        guard !isClosed else { return [] }
        let queue = self.queue
        let batchSize = max(1, maxMessages)
        let assignment = self.assignment
        let logger = self.logger
        let buffer = self.pollBuffer
        return try await pollThread.run {
            let pointers = buffer.pointers(batchSize)
            // rd_kafka_consume_batch_queue waits until the batch is full or the time is up; wait for
            // the first record only, then take what is queued already.
            var count = rd_kafka_consume_batch_queue(queue.pointer, timeoutMilliseconds, pointers.baseAddress, 1)
            guard count > 0 else { return [] }
            if batchSize > 1 {
                count += max(0, rd_kafka_consume_batch_queue(queue.pointer, 0, pointers.baseAddress! + 1, batchSize - 1))
            }
            var messages: [KafkaConsumerMessage] = []
            messages.reserveCapacity(count)
            var failure: KafkaError?
            // A batch's records come in runs of one partition: the topic's name is made, and the
            // partition's generation looked up, when the partition changes (rebalances run inside
            // the calls above, on this thread, so none changes what is owned during this loop).
            var topic: (handle: OpaquePointer?, name: String) = (nil, "")
            var owned: (handle: OpaquePointer?, partition: Int32, generation: UInt64?) = (nil, -1, nil)
            for pointer in pointers[0..<count] {
                guard let pointer else { continue }
                defer { rd_kafka_message_destroy(pointer) }
                let raw = pointer.pointee
                if raw.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                    if raw.err == RD_KAFKA_RESP_ERR__FATAL {
                        failure = KafkaError.client(raw.err, "consumer failed")
                    } else if raw.err != RD_KAFKA_RESP_ERR__PARTITION_EOF {
                        logger.warning("consumer error", metadata: ["error": "\(KafkaErrorCode(raw.err).name)"])
                    }
                    continue
                }
                if topic.handle != raw.rkt { topic = (raw.rkt, String(cString: rd_kafka_topic_name(raw.rkt))) }
                if owned.handle != raw.rkt || owned.partition != raw.partition {
                    owned = (raw.rkt, raw.partition, assignment.generation(of: KafkaTopicPartition(topic: topic.name, partition: raw.partition)))
                }
                // Records of a partition revoked inside this very poll are dropped, not handed out.
                guard let generation = owned.generation else { continue }
                messages.append(KafkaConsumerMessage(
                    topic: topic.name, partition: raw.partition, offset: raw.offset,
                    key: raw.key.map { Array(UnsafeRawBufferPointer(start: $0, count: raw.key_len)) },
                    value: raw.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: raw.len)) } ?? [],
                    headers: HeaderList.read(pointer),
                    timestamp: Self.timestamp(pointer),
                    assignmentGeneration: generation))
            }
            if let failure { throw failure }
            return messages
        }
    }

    private static func timestamp(_ pointer: UnsafeMutablePointer<rd_kafka_message_t>) -> Date? {
        var type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let milliseconds = rd_kafka_message_timestamp(pointer, &type)
        guard type != RD_KAFKA_TIMESTAMP_NOT_AVAILABLE, milliseconds >= 0 else { return nil }
        return Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }

    private func fence(_ message: KafkaConsumerMessage) throws {
        guard owns(message) else {
            throw KafkaError(kind: .partitionRevoked,
                             reason: "\(message.topicPartition) was revoked after offset \(message.offset) was fetched")
        }
    }

    private func changeFlow(_ partitions: [KafkaTopicPartition],
                            _ call: (OpaquePointer?, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?) -> rd_kafka_resp_err_t,
                            _ name: String) throws {
        let list = TopicPartitionList.make(partitions)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = call(client.handle, list)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError.client(err, "\(name) \(partitions)") }
    }
}

/// The records of a consumer, in batches fetched on its poll thread. Records of a partition that was
/// revoked after their batch was fetched are skipped. Ends when the consumer closes or the task is cancelled.
public struct KafkaConsumerMessages: AsyncSequence, Sendable {
    public typealias Element = KafkaConsumerMessage
    let consumer: KafkaConsumer

    public struct AsyncIterator: AsyncIteratorProtocol {
        let consumer: KafkaConsumer
        /// The batch fetched last, in reverse: records are moved out from its end, not copied.
        var batch: [KafkaConsumerMessage] = []
        var ownership = OwnershipCheck()

        public mutating func next() async throws -> KafkaConsumerMessage? {
            while true {
                while let message = batch.popLast() {
                    if ownership.owns(message, under: consumer.assignment) { return message }
                }
                if Task.isCancelled || consumer.isClosed { return nil }
                do {
                    batch = try await consumer.poll()
                    batch.reverse()
                } catch let error as KafkaError where error.kind == .state {
                    return nil  // closed while waiting
                }
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(consumer: consumer) }
}

/// A consumer's group generation and member id, for `sendOffsetsToTransaction`.
public final class KafkaConsumerGroupMetadata: @unchecked Sendable {
    let pointer: OpaquePointer

    init(pointer: OpaquePointer) { self.pointer = pointer }

    deinit { rd_kafka_consumer_group_metadata_destroy(pointer) }
}

/// The array `rd_kafka_consume_batch_queue` fills, kept from poll to poll (used on the poll thread only,
/// one poll at a time: hence `@unchecked Sendable`).
final class PollBuffer: @unchecked Sendable {
    private var storage = UnsafeMutableBufferPointer<UnsafeMutablePointer<rd_kafka_message_t>?>(start: nil, count: 0)

    /// Room for `count` message pointers.
    func pointers(_ count: Int) -> UnsafeMutableBufferPointer<UnsafeMutablePointer<rd_kafka_message_t>?> {
        if storage.count < count {
            storage.deallocate()
            storage = .allocate(capacity: count)
            storage.initialize(repeating: nil)
        }
        return storage
    }

    deinit { storage.deallocate() }
}

/// `rd_kafka_queue_t *` is thread-safe.
struct ConsumerQueue: @unchecked Sendable {
    let pointer: OpaquePointer
}

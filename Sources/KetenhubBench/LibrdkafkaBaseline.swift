import CRdKafka
import Foundation
import Synchronization

/// The same work as the client's benchmarks, as a C programmer writes it on librdkafka's own API:
/// plain loops through the `CRdKafka` target (no wrapper of ours), each on a thread of its own, with
/// the client's own configuration. The benchmarks report the client's figures as ratios to these.
enum LibrdkafkaBaseline {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// A handle made from the given properties.
    static func handle(_ kind: rd_kafka_type_t, _ properties: [String: String], configure: (OpaquePointer) -> Void = { _ in }) throws -> OpaquePointer {
        let conf = rd_kafka_conf_new()!
        var error = [CChar](repeating: 0, count: 512)
        for (name, value) in properties where rd_kafka_conf_set(conf, name, value, &error, error.count) != RD_KAFKA_CONF_OK {
            rd_kafka_conf_destroy(conf)
            throw Failure(description: "\(name): \(text(error))")
        }
        configure(conf)
        guard let handle = rd_kafka_new(kind, conf, &error, error.count) else { throw Failure(description: text(error)) }
        return handle
    }

    /// A producer's delivery reports, counted by the callback librdkafka calls from `rd_kafka_poll`,
    /// `rd_kafka_flush` and a transaction's commit, on the thread that calls them. A C producer
    /// needs one: without a report callback librdkafka queues no reports, so `rd_kafka_flush` (which
    /// a commit calls) notices that the last record was delivered only at its next 10 ms check,
    /// and every transaction would take up to 10 ms more per wait than librdkafka needs.
    final class Deliveries {
        var ok = 0
        var failed = 0

        /// Sets the report callback on a producer's configuration; the counter must outlive the producer.
        func counted(_ conf: OpaquePointer) {
            rd_kafka_conf_set_dr_msg_cb(conf) { _, message, opaque in
                let deliveries = Unmanaged<Deliveries>.fromOpaque(opaque!).takeUnretainedValue()
                if message!.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR { deliveries.ok += 1 } else { deliveries.failed += 1 }
            }
            rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(self).toOpaque())
        }
    }

    /// librdkafka's error text from its buffer.
    private static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Produces `count` records (key: the index in decimal, value: `payload`) with `rd_kafka_produce`
    /// on one topic handle, serving delivery reports with `rd_kafka_poll`; returns the seconds from
    /// the first record to the last delivery report.
    static func produce(properties: [String: String], topic: String, count: Int, payload: [UInt8]) throws -> Double {
        let delivered = Deliveries()
        defer { withExtendedLifetime(delivered) {} }  // until the producer is destroyed
        let producer = try handle(RD_KAFKA_PRODUCER, properties, configure: delivered.counted)
        defer { rd_kafka_destroy(producer) }
        let topicHandle = rd_kafka_topic_new(producer, topic, nil)
        defer { rd_kafka_topic_destroy(topicHandle) }
        // The topic's partitions first, as the client learns them before a topic's first record
        // (otherwise a record named while the first connection is set up waits for the 1 s topic scan).
        var metadata: UnsafePointer<rd_kafka_metadata>?
        guard rd_kafka_metadata(producer, 0, topicHandle, &metadata, 10_000) == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw Failure(description: "no metadata for \(topic)")
        }
        rd_kafka_metadata_destroy(metadata)
        let start = ContinuousClock.now
        var payload = payload
        for index in 0..<count {
            var key = Array(String(index).utf8)
            while rd_kafka_produce(topicHandle, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, &payload, payload.count, &key, key.count, nil) != 0 {
                guard rd_kafka_last_error() == RD_KAFKA_RESP_ERR__QUEUE_FULL else { throw Failure(description: "produce: \(rd_kafka_last_error())") }
                rd_kafka_poll(producer, 1)
            }
            if index % 1_000 == 0 { rd_kafka_poll(producer, 0) }
        }
        while delivered.ok + delivered.failed < count { rd_kafka_poll(producer, 10) }
        guard delivered.failed == 0 else { throw Failure(description: "\(delivered.failed) records not delivered") }
        return (ContinuousClock.now - start).seconds
    }

    /// A consumer-group member subscribed to `topic`, polled with `rd_kafka_consumer_poll` on its own
    /// thread; `finish` returns the seconds from its first record to its `count`th.
    final class Consumer: @unchecked Sendable {
        private let handle: OpaquePointer
        private let done = DispatchSemaphore(value: 0)
        private let lock = NSLock()
        private var result: Result<Double, Failure>?

        init(properties: [String: String], topic: String, count: Int) throws {
            handle = try LibrdkafkaBaseline.handle(RD_KAFKA_CONSUMER, properties)
            rd_kafka_poll_set_consumer(handle)
            let list = rd_kafka_topic_partition_list_new(1)
            rd_kafka_topic_partition_list_add(list, topic, RD_KAFKA_PARTITION_UA)
            let err = rd_kafka_subscribe(handle, list)
            rd_kafka_topic_partition_list_destroy(list)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw Failure(description: "subscribe: \(err)") }
            Thread { [self] in
                let handle = self.handle
                var seen = 0
                var checksum = 0
                var first: ContinuousClock.Instant?
                let deadline = ContinuousClock.now + .seconds(120)
                while seen < count {
                    // The clock is read only while idle: per record it cost this loop a third of its time.
                    guard let message = rd_kafka_consumer_poll(handle, 100) else {
                        if ContinuousClock.now < deadline { continue } else { break }
                    }
                    if message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                        if first == nil { first = .now }
                        // What the client hands on per record, as a C consumer reads it: the key and
                        // value where they are, and the headers (which librdkafka parses on first access).
                        var headers: OpaquePointer?
                        if rd_kafka_message_headers(message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR, let headers {
                            checksum &+= rd_kafka_header_cnt(headers)
                        }
                        checksum &+= message.pointee.key_len &+ message.pointee.len
                        seen += 1
                    }
                    rd_kafka_message_destroy(message)
                }
                let outcome: Result<Double, Failure> = seen == count && checksum > 0 ? .success((ContinuousClock.now - first!).seconds)
                    : .failure(Failure(description: "the baseline consumer read \(seen) of \(count) records"))
                self.lock.withLock { self.result = outcome }
                self.done.signal()
            }.start()
        }

        /// Waits (on the calling thread) for the count, then closes the consumer.
        func finish() throws -> Double {
            done.wait()
            rd_kafka_consumer_close(handle)
            rd_kafka_destroy(handle)
            return try lock.withLock { result! }.get()
        }
    }

    /// Runs `body` on a thread of its own and waits for it without holding a cooperative thread.
    static func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }
}

extension LibrdkafkaBaseline {
    /// The router's Kafka work as a C programmer writes it: read the input topic from its start in
    /// batches, and per batch, in one transaction, write each record to every target topic and send
    /// the batch's offsets. Runs on the calling thread (blocking); returns events per second, from
    /// its first batch read to its last commit.
    static func transactionalCopy(consumerProperties: [String: String], producerProperties: [String: String], input: String,
                                  partitions: Int32, targets: [String], batchSize: Int, total: Int) throws -> Double {
        let consumer = try handle(RD_KAFKA_CONSUMER, consumerProperties)
        defer {
            rd_kafka_consumer_close(consumer)
            rd_kafka_destroy(consumer)
        }
        rd_kafka_poll_set_consumer(consumer)
        let assignment = rd_kafka_topic_partition_list_new(partitions)
        for partition in 0..<partitions {
            rd_kafka_topic_partition_list_add(assignment, input, partition).pointee.offset = Int64(RD_KAFKA_OFFSET_BEGINNING)
        }
        rd_kafka_assign(consumer, assignment)
        rd_kafka_topic_partition_list_destroy(assignment)

        let deliveries = Deliveries()
        defer { withExtendedLifetime(deliveries) {} }  // until the producer is destroyed
        let producer = try handle(RD_KAFKA_PRODUCER, producerProperties, configure: deliveries.counted)
        defer { rd_kafka_destroy(producer) }
        try check(rd_kafka_init_transactions(producer, 30_000), "init_transactions")
        let targetHandles = targets.map { rd_kafka_topic_new(producer, $0, nil) }
        defer { targetHandles.forEach { rd_kafka_topic_destroy($0) } }
        let metadata = rd_kafka_consumer_group_metadata(consumer)
        defer { rd_kafka_consumer_group_metadata_destroy(metadata) }

        // Timed from the first batch read (see `TransactionalCopy.run`).
        var start: ContinuousClock.Instant?
        var copied = 0
        var batch = [UnsafeMutablePointer<rd_kafka_message_t>?](repeating: nil, count: batchSize)
        while copied < total {
            let queue = rd_kafka_queue_get_consumer(consumer)
            let count = batch.withUnsafeMutableBufferPointer { rd_kafka_consume_batch_queue(queue, 100, $0.baseAddress, batchSize) }
            rd_kafka_queue_destroy(queue)
            guard count > 0 else { continue }
            if start == nil { start = .now }
            try check(rd_kafka_begin_transaction(producer), "begin_transaction")
            let offsets = rd_kafka_topic_partition_list_new(partitions)
            for message in batch[0..<count] {
                guard let message else { continue }
                let record = message.pointee
                if record.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                    for target in targetHandles {
                        while rd_kafka_produce(target, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, record.payload, record.len,
                                               record.key, record.key_len, nil) != 0 {
                            rd_kafka_poll(producer, 1)
                        }
                    }
                    let position = rd_kafka_topic_partition_list_find(offsets, input, record.partition)
                        ?? rd_kafka_topic_partition_list_add(offsets, input, record.partition)!
                    position.pointee.offset = record.offset + 1
                    copied += 1
                }
                rd_kafka_message_destroy(message)
            }
            let sent = rd_kafka_send_offsets_to_transaction(producer, offsets, metadata, 30_000)
            rd_kafka_topic_partition_list_destroy(offsets)
            try check(sent, "send_offsets_to_transaction")
            try check(rd_kafka_commit_transaction(producer, 30_000), "commit_transaction")
        }
        return Double(total) / (ContinuousClock.now - start!).seconds
    }

    /// Throws the error's text; frees it either way.
    private static func check(_ error: OpaquePointer?, _ call: String) throws {
        guard let error else { return }
        let text = String(cString: rd_kafka_error_string(error))
        rd_kafka_error_destroy(error)
        throw Failure(description: "\(call): \(text)")
    }
}

extension LibrdkafkaBaseline {
    /// The router's transactions at an offered load, as a C programmer writes them: the latency a
    /// router could reach on this cluster and machine if its own work took no time. A thread per
    /// input partition, each with a consumer of that partition and a transactional
    /// producer. Per batch (the records waiting, then those arriving within `lingerMilliseconds`, as
    /// the router batches), in one transaction: the first round (`Plan.firstRound`), waited for; then
    /// the second (`Plan.deliveries`, `Plan.secondRound`), waited for (the router's rule: no delivery
    /// before its decision is stored); the input offsets; commit. Every record is a copy of the input
    /// record's key and value. Reads its input from the beginning; runs until `stop`.
    final class TransactionalRelay: @unchecked Sendable {
        struct Plan: Sendable {
            var input: String
            var partitions: Int32
            /// First round, per event: `firstRound` records to the input partition's own partition of
            /// `recordTopic` (the decision records), and every `stateEvery`th event one to that
            /// partition of each of `stateTopics` (the case and consent state; none when empty).
            var recordTopic: String
            var firstRound: Int
            var stateTopics: [String] = []
            var stateEvery = 1
            /// Second round, per event: `deliveries` copies with the input's headers, each to one of
            /// `deliveryTopics` chosen by the event's key and the copy's place (an event's recipients
            /// are its case's), partitioned by the key as the router's deliveries are; and
            /// `secondRound` more to `recordTopic`. Per transaction, one record to the input
            /// partition's own partition of `checkpointTopic`, when there is one.
            var deliveryTopics: [String]
            var deliveries = 1
            var secondRound: Int
            var checkpointTopic: String?
            var lingerMilliseconds: Int

            /// Records per event, the checkpoints left out (one per transaction).
            var recordsPerEvent: Double {
                Double(firstRound + deliveries + secondRound) + Double(stateTopics.count) / Double(max(1, stateEvery))
            }
        }

        private let stopping = Atomic<Bool>(false)
        private let relayed = Atomic<Int>(0)
        private let finished = DispatchGroup()
        private let failure = Mutex<Failure?>(nil)
        private let firstBatch = Mutex<ContinuousClock.Instant?>(nil)

        /// Input records whose transaction committed.
        var committedRecords: Int { relayed.load(ordering: .relaxed) }
        /// When any thread first read a batch (a throughput run is timed from there, as the copy is).
        var firstBatchRead: ContinuousClock.Instant? { firstBatch.withLock { $0 } }
        /// Whether a thread stopped on a failure (`stop` throws it).
        var failed: Bool { failure.withLock { $0 != nil } }

        init(consumerProperties: [String: String], producerProperties: [String: String], plan: Plan) {
            for partition in 0..<plan.partitions {
                finished.enter()
                Thread { [self] in
                    defer { finished.leave() }
                    do {
                        try relay(partition, consumerProperties: consumerProperties, producerProperties: producerProperties, plan: plan)
                    } catch let error as Failure {
                        failure.withLock { $0 = $0 ?? error }
                    } catch {
                        failure.withLock { $0 = $0 ?? Failure(description: "\(error)") }
                    }
                }.start()
            }
        }

        /// Stops every thread after its transaction (blocking), and throws the first failure.
        func stop() throws {
            stopping.store(true, ordering: .relaxed)
            finished.wait()
            if let failure = failure.withLock({ $0 }) { throw failure }
        }

        /// A stable number from a record's key (FNV-1a): the same case, the same recipients.
        private static func keyHash(_ message: rd_kafka_message_t) -> Int {
            guard let key = message.key else { return 0 }
            var hash: UInt32 = 2_166_136_261
            for byte in UnsafeRawBufferPointer(start: key, count: message.key_len) { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
            return Int(hash >> 1)
        }

        private func relay(_ partition: Int32, consumerProperties: [String: String], producerProperties: [String: String], plan: Plan) throws {
            let consumer = try LibrdkafkaBaseline.handle(RD_KAFKA_CONSUMER, consumerProperties)
            defer {
                rd_kafka_consumer_close(consumer)
                rd_kafka_destroy(consumer)
            }
            rd_kafka_poll_set_consumer(consumer)
            let assignment = rd_kafka_topic_partition_list_new(1)
            rd_kafka_topic_partition_list_add(assignment, plan.input, partition).pointee.offset = Int64(RD_KAFKA_OFFSET_BEGINNING)
            rd_kafka_assign(consumer, assignment)
            rd_kafka_topic_partition_list_destroy(assignment)
            var properties = producerProperties
            properties["transactional.id"] = "bench-relay-\(partition)"
            let reports = Deliveries()
            defer { withExtendedLifetime(reports) {} }  // until the producer is destroyed
            let producer = try LibrdkafkaBaseline.handle(RD_KAFKA_PRODUCER, properties, configure: reports.counted)
            defer { rd_kafka_destroy(producer) }
            try LibrdkafkaBaseline.check(rd_kafka_init_transactions(producer, 30_000), "init_transactions")
            let records = rd_kafka_topic_new(producer, plan.recordTopic, nil)
            let states = plan.stateTopics.map { rd_kafka_topic_new(producer, $0, nil) }
            let deliveries = plan.deliveryTopics.map { rd_kafka_topic_new(producer, $0, nil) }
            let checkpoints = plan.checkpointTopic.flatMap { rd_kafka_topic_new(producer, $0, nil) }
            defer { ([records, checkpoints] + states + deliveries).compactMap { $0 }.forEach { rd_kafka_topic_destroy($0) } }
            let metadata = rd_kafka_consumer_group_metadata(consumer)
            defer { rd_kafka_consumer_group_metadata_destroy(metadata) }
            let queue = rd_kafka_queue_get_consumer(consumer)
            defer { rd_kafka_queue_destroy(queue) }

            func produce(_ topic: OpaquePointer?, _ partition: Int32, _ message: rd_kafka_message_t, headers: OpaquePointer? = nil) throws {
                let error = ketenhub_produce(producer, topic, partition, message.key, message.key_len, message.payload, message.len, headers, nil)
                guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
                    if let headers { rd_kafka_headers_destroy(headers) }
                    throw Failure(description: "produce: \(String(cString: rd_kafka_err2str(error)))")
                }
            }
            func waitForAcknowledgements() throws {
                let error = rd_kafka_flush(producer, 30_000)
                guard error == RD_KAFKA_RESP_ERR_NO_ERROR else { throw Failure(description: "flush: \(String(cString: rd_kafka_err2str(error)))") }
                guard reports.failed == 0 else { throw Failure(description: "\(reports.failed) records not delivered") }
            }

            var batch = [UnsafeMutablePointer<rd_kafka_message_t>?](repeating: nil, count: 500)
            while !stopping.load(ordering: .relaxed) {
                guard let first = rd_kafka_consumer_poll(consumer, 100) else { continue }
                batch[0] = first
                var count = 1
                let deadline = ContinuousClock.now + .milliseconds(plan.lingerMilliseconds)
                var wait: Int32 = 0  // what is waiting first, then what arrives before the deadline
                while count < batch.count {
                    let read = batch.withUnsafeMutableBufferPointer { rd_kafka_consume_batch_queue(queue, wait, $0.baseAddress! + count, $0.count - count) }
                    count += max(0, read)
                    let left = deadline - ContinuousClock.now
                    guard left > .zero else { break }
                    wait = Int32(max(1, left.components.attoseconds / 1_000_000_000_000_000))
                }
                let messages = batch[0..<count].compactMap { $0 }
                defer { messages.forEach { rd_kafka_message_destroy($0) } }
                let read = messages.filter { $0.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR }
                guard let last = read.last else { continue }
                firstBatch.withLock { $0 = $0 ?? .now }
                try LibrdkafkaBaseline.check(rd_kafka_begin_transaction(producer), "begin_transaction")
                for message in read {
                    for _ in 0..<plan.firstRound { try produce(records, partition, message.pointee) }
                    if message.pointee.offset % Int64(max(1, plan.stateEvery)) == 0 {
                        for state in states { try produce(state, partition, message.pointee) }
                    }
                }
                try waitForAcknowledgements()
                for message in read {
                    var headers: OpaquePointer?
                    _ = rd_kafka_message_headers(message, &headers)
                    let recipients = Self.keyHash(message.pointee)
                    for copy in 0..<plan.deliveries {
                        try produce(deliveries[(recipients + copy) % deliveries.count], RD_KAFKA_PARTITION_UA, message.pointee,
                                    headers: headers.map { rd_kafka_headers_copy($0) })
                    }
                    for _ in 0..<plan.secondRound { try produce(records, partition, message.pointee) }
                }
                if let checkpoints { try produce(checkpoints, partition, last.pointee) }
                try waitForAcknowledgements()
                let offsets = rd_kafka_topic_partition_list_new(1)
                rd_kafka_topic_partition_list_add(offsets, plan.input, partition).pointee.offset = last.pointee.offset + 1
                let sent = rd_kafka_send_offsets_to_transaction(producer, offsets, metadata, 30_000)
                rd_kafka_topic_partition_list_destroy(offsets)
                try LibrdkafkaBaseline.check(sent, "send_offsets_to_transaction")
                try LibrdkafkaBaseline.check(rd_kafka_commit_transaction(producer, 30_000), "commit_transaction")
                relayed.add(read.count, ordering: .relaxed)
            }
        }
    }
}

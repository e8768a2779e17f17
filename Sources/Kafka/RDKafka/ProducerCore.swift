import CRdKafka
import Logging
import Synchronization

/// What both producer kinds share: the handle, the poll loop serving its delivery reports, and a
/// thread for its blocking calls (flush, transactions, destroy).
final class ProducerCore: Sendable {
    let client: RDKafkaClient
    let control: ClientThread
    private let registry: DeliveryReportRegistry
    let topics: ProducerTopics
    private let events: ProducerEvents
    private let pollLoop: PollLoop
    private let closed = Atomic(false)
    /// Batches of records being handed to librdkafka now. A batch is counted before the closed flag
    /// is read, and shutdown sets the flag before it waits for the count to fall to zero (both
    /// sequentially consistent): so either the batch sees the producer closed, or shutdown waits for
    /// it, and the client and its topic handles are never destroyed under a produce call.
    private let producing = Atomic(0)

    /// `transactional`: a fatal error fails the records waiting for their reports (`ProducerEvents`).
    init(properties: [String: String], transactional: Bool = false, logger: Logger) throws {
        let name = properties["client.id"] ?? "producer"
        let registry = DeliveryReportRegistry()
        let statistics = properties["statistics.interval.ms"] != nil ? StatisticsRecorder(client: name) : nil
        let callbacks = ClientCallbacks(logger: logger, statistics: statistics, deliveryReportsAsEvents: true)
        let client = try RDKafkaClient(kind: .producer, properties: properties, callbacks: callbacks)
        self.client = client
        self.registry = registry
        self.control = ClientThread(name: "\(name)-control")
        self.topics = ProducerTopics(client: client, control: control)
        let events = ProducerEvents(client: client, registry: registry, failsRecordsOnFatalError: transactional)
        self.events = events
        self.pollLoop = PollLoop(name: "\(name)-poll") { events.serve(timeoutMilliseconds: 100) }
    }

    var isClosed: Bool { closed.load(ordering: .sequentiallyConsistent) }

    /// Counts a batch as being produced, unless the producer is closed.
    private func beginProducing() -> Bool {
        producing.wrappingAdd(1, ordering: .sequentiallyConsistent)
        guard !isClosed else {
            producing.wrappingSubtract(1, ordering: .sequentiallyConsistent)
            return false
        }
        return true
    }
    private static let shutDown = KafkaError(kind: .state, reason: "the producer is shut down")

    /// Records librdkafka holds not yet delivered (queued or in flight); a non-blocking read, from any thread.
    var outstandingRecords: Int { Int(rd_kafka_outq_len(client.handle)) }

    /// Enqueues the record and returns when its delivery report arrives. Once enqueued the record
    /// cannot be recalled, so cancelling the awaiting task does not stop it.
    func send(_ message: KafkaProducerMessage) async throws -> KafkaDeliveryReport {
        try await sendAll([message])[0]
    }

    /// Enqueues the records in the given order (so records of one key keep it, and librdkafka
    /// batches them) and returns their reports in the same order once all have arrived.
    func sendAll(_ messages: [KafkaProducerMessage]) async throws -> [KafkaDeliveryReport] {
        try await deliver(messages, keepingReports: true)
    }

    /// As `sendAll`, but keeps no reports: returns once every record is delivered, or throws the
    /// first failure. For a transaction's records, thousands per commit, whose offsets nobody reads.
    func deliverAll(_ messages: [KafkaProducerMessage]) async throws {
        _ = try await deliver(messages, keepingReports: false)
    }

    private func deliver(_ messages: [KafkaProducerMessage], keepingReports: Bool) async throws -> [KafkaDeliveryReport] {
        guard messages.count <= DeliveryTag.batchLimit else {
            var reports: [KafkaDeliveryReport] = []
            for start in stride(from: 0, to: messages.count, by: DeliveryTag.batchLimit) {
                reports += try await deliver(Array(messages[start..<min(start + DeliveryTag.batchLimit, messages.count)]), keepingReports: keepingReports)
            }
            return reports
        }
        let batch = DeliveryBatch(records: messages, keepsReports: keepingReports)
        let number = registry.register(batch)
        // Counted once for the batch: shutdown waits for the rest of it to be enqueued (or, on a
        // full queue, to see the producer closed) before it flushes.
        guard beginProducing() else {
            for index in messages.indices { registry.complete(DeliveryTag(batch: number, index: index), with: .failure(Self.shutDown)) }
            return try await batch.wait()
        }
        defer { producing.wrappingSubtract(1, ordering: .sequentiallyConsistent) }
        // A batch's records mostly share their topic: its handle is looked up when the topic changes.
        // (Records are read in place, by index: a copy of each would count four references up and down.)
        var topic: (name: String, handle: OpaquePointer)?
        for index in messages.indices {
            let tag = DeliveryTag(batch: number, index: index)
            if topic?.name != messages[index].topic { topic = (messages[index].topic, await topics.handle(messages[index].topic)) }
            var err = produce(messages[index], to: topic!.handle, tag: tag)
            while err == RD_KAFKA_RESP_ERR__QUEUE_FULL && !Task.isCancelled && !isClosed {
                // Deliveries drain librdkafka's local queue: wait for them without holding a thread.
                try? await Task.sleep(for: .milliseconds(2))
                err = produce(messages[index], to: topic!.handle, tag: tag)
            }
            if err == RD_KAFKA_RESP_ERR__QUEUE_FULL && isClosed {
                registry.complete(tag, with: .failure(Self.shutDown))
            } else if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                // Refused, so no report will come for it.
                let code = KafkaErrorCode(err)
                registry.complete(tag, with: .failure(KafkaError(kind: .delivery, code: code, reason: "record for \(messages[index].topic) not enqueued: \(code.description)")))
            }
        }
        return try await batch.wait()
    }

    /// Fails every record waiting for its delivery report with `error`; a report that comes later
    /// finds nobody waiting. For a producer that failed fatally.
    func failOutstanding(with error: KafkaError) { registry.failAll(with: error) }

    /// Hands one record to librdkafka (non-blocking: a full local queue is an answer, not a wait).
    /// A synchronous call, so that the common case costs no suspension point per record.
    private func produce(_ message: KafkaProducerMessage, to topic: OpaquePointer, tag: DeliveryTag) -> rd_kafka_resp_err_t {
        let headers = HeaderList.make(message.headers)
        let err = message.value.withUnsafeBytes { value in
            withOptionalBytes(message.key) { key in
                ketenhub_produce(client.handle, topic, message.partition ?? RD_KAFKA_PARTITION_UA,
                                 key.baseAddress, key.count, value.baseAddress, value.count,
                                 headers, UnsafeMutableRawPointer(bitPattern: tag.raw))
            }
        }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR, let headers { rd_kafka_headers_destroy(headers) }
        return err
    }

    func flush(timeoutMilliseconds: Int32) async throws {
        let client = self.client
        let err = try await control.run { rd_kafka_flush(client.handle, timeoutMilliseconds) }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError.client(err, "flush") }
    }

    /// Flushes what is queued (up to the timeout), then stops the threads and destroys the handle.
    func shutdown(flushTimeoutMilliseconds: Int32 = 10_000) async {
        guard closed.compareExchange(expected: false, desired: true, ordering: .sequentiallyConsistent).exchanged else { return }
        // Batches being handed over finish first (a produce call is short; a new topic's first
        // record may wait up to a second for its metadata; a full queue gives up on seeing `closed`).
        // (Slept in a task of its own: a cancelled caller's sleep would return at once and spin.)
        while producing.load(ordering: .sequentiallyConsistent) > 0 { await Task.detached { try? await Task.sleep(for: .milliseconds(1)) }.value }
        let client = self.client
        _ = try? await control.run { rd_kafka_flush(client.handle, flushTimeoutMilliseconds) }
        let pollLoop = self.pollLoop
        await onThreadOfItsOwn { pollLoop.stop() }  // it waits for the poll under way
        let topics = self.topics, events = self.events
        _ = try? await control.run {
            events.destroy()
            topics.destroyAll()
            client.destroy()
        }
        registry.failAll(with: KafkaError(kind: .delivery, reason: "the producer shut down before the record's delivery report"))
        control.shutdown()
    }
}

private func withOptionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer) -> R) -> R {
    guard let bytes else { return body(UnsafeRawBufferPointer(start: nil, count: 0)) }
    return bytes.withUnsafeBytes(body)
}

import CRdKafka
import Logging
import Synchronization

/// What both producer kinds share: the handle, the thread that produces its records and serves its
/// events (`ProducerThread`), and a thread for its blocking calls (flush, transactions, destroy).
final class ProducerCore: Sendable {
    let client: RDKafkaClient
    let control: ClientThread
    private let registry: DeliveryReportRegistry
    let topics: ProducerTopics
    private let events: ProducerEvents
    private let thread: ProducerThread
    /// Batches being prepared on a task (their topics' handles made) and handed to the producer
    /// thread. A batch is counted before the closed flag is read, and shutdown sets the flag before
    /// it waits for the count to fall to zero (both sequentially consistent): so either the batch
    /// sees the producer closed, or shutdown waits for it to be handed over, and the client and its
    /// topic handles are never destroyed under it.
    private let preparing = Atomic(0)

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
        events = ProducerEvents(client: client, registry: registry, failsRecordsOnFatalError: transactional)
        thread = ProducerThread(name: "\(name)-produce", client: client, topics: topics, registry: registry, events: events)
    }

    /// Records librdkafka holds not yet delivered (queued or in flight); a non-blocking read, from any thread.
    var outstandingRecords: Int { Int(rd_kafka_outq_len(client.handle)) }

    /// Enqueues the record and returns when its delivery report arrives. Once handed over the record
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
        guard !messages.isEmpty else { return [] }  // (registered, a batch of none would never be completed, nor forgotten)
        guard messages.count <= DeliveryTag.batchLimit else {
            var reports: [KafkaDeliveryReport] = []
            for start in stride(from: 0, to: messages.count, by: DeliveryTag.batchLimit) {
                reports += try await deliver(Array(messages[start..<min(start + DeliveryTag.batchLimit, messages.count)]), keepingReports: keepingReports)
            }
            return reports
        }
        preparing.wrappingAdd(1, ordering: .sequentiallyConsistent)
        guard !thread.isClosed else {
            preparing.wrappingSubtract(1, ordering: .sequentiallyConsistent)
            throw ProducerThread.shutDown
        }
        let batch = DeliveryBatch(records: messages, keepsReports: keepingReports)
        let number = registry.register(batch)
        // Each topic's handle first, here: a new topic's metadata request (up to a second) holds up
        // this batch, not the producer thread.
        var prepared: String?
        for index in messages.indices where messages[index].topic != prepared {
            _ = await topics.handle(messages[index].topic)
            prepared = messages[index].topic
        }
        thread.hand(ProducerThread.Handoff(records: messages, batch: number))
        preparing.wrappingSubtract(1, ordering: .sequentiallyConsistent)
        return try await batch.wait()
    }

    /// Fails every record waiting for its delivery report with `error`; a report that comes later
    /// finds nobody waiting. For a producer that failed fatally.
    func failOutstanding(with error: KafkaError) { registry.failAll(with: error) }

    /// Learns every topic's partition leaders in one request and makes the handles of the topics `willWrite` names.
    func loadTopicMetadata(timeoutMilliseconds: Int32, writingTo willWrite: (String) -> Bool) async throws {
        let client = self.client
        let metadata = try await control.run { try KafkaAdmin.metadata(client.handle, timeout: timeoutMilliseconds) }
        topics.adopt(metadata.map(\.name).filter(willWrite))
    }

    func flush(timeoutMilliseconds: Int32) async throws {
        let client = self.client, thread = self.thread
        let err = try await control.run {
            thread.waitUntilHandedOver()
            return rd_kafka_flush(client.handle, timeoutMilliseconds)
        }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError.client(err, "flush") }
    }

    /// Flushes what is queued (up to the timeout), then stops the threads and destroys the handle.
    func shutdown(flushTimeoutMilliseconds: Int32 = 10_000) async {
        guard thread.close() else { return }
        // Batches being prepared are handed over first (a new topic's first record may wait up to a
        // second for its metadata). (Slept in a task of its own: a cancelled caller's sleep would
        // return at once and spin.)
        while preparing.load(ordering: .sequentiallyConsistent) > 0 { await Task.detached { try? await Task.sleep(for: .milliseconds(1)) }.value }
        let client = self.client, thread = self.thread
        // Then the producer thread hands them to librdkafka (a batch that meets a full queue fails
        // now), and the flush waits for their reports, which the thread serves.
        _ = try? await control.run {
            thread.waitUntilHandedOver()
            return rd_kafka_flush(client.handle, flushTimeoutMilliseconds)
        }
        let topics = self.topics, events = self.events
        _ = try? await control.run {
            thread.stop()
            events.destroy()
            topics.destroyAll()
            client.destroy()
        }
        registry.failAll(with: KafkaError(kind: .delivery, reason: "the producer shut down before the record's delivery report"))
        control.shutdown()
    }
}

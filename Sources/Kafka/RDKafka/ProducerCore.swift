import CRdKafka
import Logging
import Synchronization

/// What both producer kinds share: the handle, the poll loop serving its delivery reports, and a
/// thread for its blocking calls (flush, transactions, destroy).
final class ProducerCore: Sendable {
    let client: RDKafkaClient
    let control: ClientThread
    private let registry: DeliveryReportRegistry
    private let pollLoop: PollLoop
    private let closed = Mutex(false)

    init(properties: [String: String], logger: Logger) throws {
        let name = properties["client.id"] ?? "producer"
        let registry = DeliveryReportRegistry()
        let statistics = properties["statistics.interval.ms"] != nil ? StatisticsRecorder(client: name) : nil
        let callbacks = ClientCallbacks(logger: logger, statistics: statistics, deliveryReports: registry)
        let client = try RDKafkaClient(kind: .producer, properties: properties, callbacks: callbacks)
        self.client = client
        self.registry = registry
        self.control = ClientThread(name: "\(name)-control")
        self.pollLoop = PollLoop(name: "\(name)-poll") { _ = rd_kafka_poll(client.handle, 100) }
    }

    var isClosed: Bool { closed.withLock { $0 } }

    /// Enqueues the record and returns when its delivery report arrives. Once enqueued the record
    /// cannot be recalled, so cancelling the awaiting task does not stop it.
    func send(_ message: KafkaProducerMessage) async throws -> KafkaDeliveryReport {
        while true {
            do {
                return try await attemptSend(message)
            } catch let error as KafkaError where error.code == .queueFull {
                // librdkafka's local queue is full: wait for deliveries to drain it, never block a thread.
                try await Task.sleep(for: .milliseconds(2))
            }
        }
    }

    /// Enqueues every record at once (so librdkafka batches them) and returns their reports in order.
    func sendAll(_ messages: [KafkaProducerMessage]) async throws -> [KafkaDeliveryReport] {
        try await withThrowingTaskGroup(of: (Int, KafkaDeliveryReport).self) { group in
            for (index, message) in messages.enumerated() {
                group.addTask { (index, try await self.send(message)) }
            }
            var reports = [KafkaDeliveryReport?](repeating: nil, count: messages.count)
            for try await (index, report) in group { reports[index] = report }
            return reports.map { $0! }
        }
    }

    private func attemptSend(_ message: KafkaProducerMessage) async throws -> KafkaDeliveryReport {
        guard !isClosed else { throw KafkaError(kind: .state, reason: "the producer is shut down") }
        return try await withCheckedThrowingContinuation { continuation in
            let id = registry.register(continuation)
            let headers = HeaderList.make(message.headers)
            let err = message.value.withUnsafeBytes { value in
                withOptionalBytes(message.key) { key in
                    ketenhub_produce(client.handle, message.topic, message.partition ?? RD_KAFKA_PARTITION_UA,
                                     key.baseAddress, key.count, value.baseAddress, value.count,
                                     headers, UnsafeMutableRawPointer(bitPattern: id))
                }
            }
            if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                if let headers { rd_kafka_headers_destroy(headers) }
                registry.fail(id, with: KafkaError(kind: .delivery, code: KafkaErrorCode(err),
                                                   reason: "record for \(message.topic) not enqueued: \(KafkaErrorCode(err).description)"))
            }
        }
    }

    func flush(timeoutMilliseconds: Int32) async throws {
        let client = self.client
        let err = try await control.run { rd_kafka_flush(client.handle, timeoutMilliseconds) }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError.client(err, "flush") }
    }

    /// Flushes what is queued (up to the timeout), then stops the threads and destroys the handle.
    func shutdown(flushTimeoutMilliseconds: Int32 = 10_000) async {
        guard closed.withLock({ was in defer { was = true }; return !was }) else { return }
        let client = self.client
        _ = try? await control.run { rd_kafka_flush(client.handle, flushTimeoutMilliseconds) }
        pollLoop.stop()
        _ = try? await control.run { client.destroy() }
        control.shutdown()
    }
}

private func withOptionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer) -> R) -> R {
    guard let bytes else { return body(UnsafeRawBufferPointer(start: nil, count: 0)) }
    return bytes.withUnsafeBytes(body)
}

import CRdKafka
import Synchronization

/// The tag a produced record carries as its opaque pointer: which batch it belongs to and its place
/// in it. Batch numbers start at 1: a null opaque pointer is no record of ours.
struct DeliveryTag {
    static let indexBits = 24
    /// Records per registered batch; longer lists are registered in parts.
    static let batchLimit = 1 << indexBits

    let raw: UInt
    init(raw: UInt) { self.raw = raw }
    init(batch: UInt, index: Int) { raw = batch << Self.indexBits | UInt(index) }
    var batch: UInt { raw >> Self.indexBits }
    var index: Int { Int(raw & UInt(Self.batchLimit - 1)) }
}

/// Matches delivery reports to their records. A batch of records is registered once (a registration
/// per record cost a lock, a closure and a dictionary entry for each of thousands per transaction);
/// the delivery-report callback (on the producer's poll thread) completes each record of it once.
final class DeliveryReportRegistry: Sendable {
    private struct State {
        var nextBatch: UInt = 1
        var waiting: [UInt: DeliveryBatch] = [:]
    }

    private let state = Mutex(State())

    /// Registers a batch; its records are tagged `DeliveryTag(batch:index:)` with the number returned.
    func register(_ batch: DeliveryBatch) -> UInt {
        state.withLock { state in
            let number = state.nextBatch
            state.nextBatch += 1
            state.waiting[number] = batch
            return number
        }
    }

    /// Completes one record; the batch is forgotten once its last record is complete.
    func complete(_ tag: DeliveryTag, with result: Result<KafkaDeliveryReport, KafkaError>) {
        guard let batch = batch(of: tag) else { return }
        complete(tag, of: batch, with: result)
    }

    private func batch(of tag: DeliveryTag) -> DeliveryBatch? { state.withLock { $0.waiting[tag.batch] } }

    private func complete(_ tag: DeliveryTag, of batch: DeliveryBatch, with result: Result<KafkaDeliveryReport, KafkaError>) {
        if batch.complete(tag.index, result) {
            _ = state.withLock { $0.waiting.removeValue(forKey: tag.batch) }
        }
    }

    /// For records still waiting when the handle is gone.
    func failAll(with error: KafkaError) {
        let waiting = state.withLock { state in
            defer { state.waiting.removeAll() }
            return state.waiting.values
        }
        waiting.forEach { $0.failRemaining(with: error) }
    }

    func complete(_ message: rd_kafka_message_t) {
        let tag = DeliveryTag(raw: UInt(bitPattern: message._private))
        guard let batch = batch(of: tag) else { return }
        let result: Result<KafkaDeliveryReport, KafkaError>
        if message.err == RD_KAFKA_RESP_ERR_NO_ERROR {
            // The topic is filled in from the batch's records when its reports are handed over.
            result = .success(KafkaDeliveryReport(topic: "", partition: message.partition, offset: message.offset))
        } else {
            let topic = message.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
            let code = KafkaErrorCode(message.err)
            result = .failure(KafkaError(kind: .delivery, code: code, reason: "record for \(topic) not delivered: \(code.description)"))
        }
        complete(tag, of: batch, with: result)
    }
}

/// Collects the delivery outcomes of records enqueued together and hands them, in enqueue order,
/// to the one task that waits for them: every report, or, for a batch that keeps none (a
/// transaction's records), only whether all were delivered.
final class DeliveryBatch: Sendable {
    private struct State {
        var done: [Bool]
        var reports: [KafkaDeliveryReport?]
        /// The failure of the first record (in enqueue order) that failed.
        var failure: (index: Int, error: KafkaError)?
        var remaining: Int
        var waiter: CheckedContinuation<[KafkaDeliveryReport], any Error>?

        func outcome(records: [KafkaProducerMessage]) -> Result<[KafkaDeliveryReport], any Error> {
            if let failure { return .failure(failure.error) }
            return .success(zip(reports, records).map { report, record in
                var report = report!
                report.topic = record.topic
                return report
            })
        }
    }

    let keepsReports: Bool
    /// The batch's records, for the topic of each report (kept only when reports are kept): a
    /// report carries its record's topic without the delivery callback making a string per record.
    private let records: [KafkaProducerMessage]
    private let state: Mutex<State>

    init(records: [KafkaProducerMessage], keepsReports: Bool = true) {
        let count = records.count
        self.records = keepsReports ? records : []
        self.keepsReports = keepsReports
        state = Mutex(State(done: Array(repeating: false, count: count), reports: keepsReports ? Array(repeating: nil, count: count) : [],
                            failure: nil, remaining: count, waiter: nil))
    }

    /// Records one record's outcome (the first for each record counts); true when it was the batch's last.
    @discardableResult
    func complete(_ index: Int, _ result: Result<KafkaDeliveryReport, KafkaError>) -> Bool {
        let (finished, waiter, outcome): (Bool, CheckedContinuation<[KafkaDeliveryReport], any Error>?, Result<[KafkaDeliveryReport], any Error>?) =
            state.withLock { state in
                guard !state.done[index] else { return (false, nil, nil) }
                state.done[index] = true
                state.remaining -= 1
                switch result {
                case .success(let report) where keepsReports: state.reports[index] = report
                case .success: break
                case .failure(let error):
                    if state.failure.map({ index < $0.index }) ?? true { state.failure = (index, error) }
                }
                guard state.remaining == 0 else { return (false, nil, nil) }
                defer { state.waiter = nil }
                return (true, state.waiter, state.outcome(records: records))
            }
        if let waiter, let outcome { waiter.resume(with: outcome) }
        return finished
    }

    /// Fails every record without an outcome yet.
    func failRemaining(with error: KafkaError) {
        let open = state.withLock { state in state.done.indices.filter { !state.done[$0] } }
        for index in open { complete(index, .failure(error)) }
    }

    /// Returns the reports (none for a batch that keeps none) once every record has an outcome;
    /// throws the first failure (in enqueue order) if any failed.
    func wait() async throws -> [KafkaDeliveryReport] {
        try await withCheckedThrowingContinuation { continuation in
            let outcome: Result<[KafkaDeliveryReport], any Error>? = state.withLock { state in
                guard state.remaining == 0 else {
                    state.waiter = continuation
                    return nil
                }
                return state.outcome(records: records)
            }
            if let outcome { continuation.resume(with: outcome) }
        }
    }
}

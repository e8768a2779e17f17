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
/// the producer thread completes each record of it once, a run of one batch's reports at a time.
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

    /// Completes one record (one librdkafka refused); the batch is forgotten once its last record is complete.
    func complete(_ tag: DeliveryTag, with result: Result<KafkaDeliveryReport, KafkaError>) {
        guard let batch = batch(tag.batch) else { return }
        if batch.complete(tag.index, result) { forget(tag.batch) }
    }

    /// Completes the records of delivery reports, in their order: the reports of one produce request
    /// hold runs of records of one batch (a batch's records to one partition are queued together), and
    /// each run is looked up and completed under one lock.
    func complete(_ reports: UnsafeBufferPointer<UnsafePointer<rd_kafka_message_t>?>) {
        var start = 0
        while start < reports.count {
            let number = DeliveryTag(raw: UInt(bitPattern: reports[start]!.pointee._private)).batch
            var end = start + 1
            while end < reports.count, DeliveryTag(raw: UInt(bitPattern: reports[end]!.pointee._private)).batch == number { end += 1 }
            if let batch = batch(number), batch.complete(UnsafeBufferPointer(rebasing: reports[start..<end])) { forget(number) }
            start = end
        }
    }

    private func batch(_ number: UInt) -> DeliveryBatch? { state.withLock { $0.waiting[number] } }

    private func forget(_ number: UInt) { _ = state.withLock { $0.waiting.removeValue(forKey: number) } }

    /// For records still waiting when the handle is gone.
    func failAll(with error: KafkaError) {
        let waiting = state.withLock { state in
            defer { state.waiting.removeAll() }
            return state.waiting.values
        }
        waiting.forEach { $0.failRemaining(with: error) }
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
        var waiter: CheckedContinuation<Void, Never>?

        /// Records one record's outcome, unless it has one (the first for each record counts).
        mutating func record(_ index: Int, _ result: Result<KafkaDeliveryReport, KafkaError>, keepingReports: Bool) {
            guard !done[index] else { return }
            done[index] = true
            remaining -= 1
            switch result {
            case .success(let report) where keepingReports: reports[index] = report
            case .success: break
            case .failure(let error):
                if failure.map({ index < $0.index }) ?? true { failure = (index, error) }
            }
        }

        /// Once every record has its outcome: true, and the waiting task (if it waits yet) to resume.
        mutating func finish() -> (finished: Bool, waiter: CheckedContinuation<Void, Never>?) {
            guard remaining == 0 else { return (false, nil) }
            defer { waiter = nil }
            return (true, waiter)
        }

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
    /// report carries its record's topic without the producer thread making a string per record.
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
        let (finished, waiter) = state.withLock { state in
            state.record(index, result, keepingReports: keepsReports)
            return state.finish()
        }
        waiter?.resume()
        return finished
    }

    /// Records the outcomes of delivery reports of this batch's records; true when one was the batch's last.
    func complete(_ reports: UnsafeBufferPointer<UnsafePointer<rd_kafka_message_t>?>) -> Bool {
        let (finished, waiter) = state.withLock { state in
            for report in reports {
                let message = report!.pointee
                state.record(DeliveryTag(raw: UInt(bitPattern: message._private)).index, Self.result(of: message), keepingReports: keepsReports)
            }
            return state.finish()
        }
        waiter?.resume()
        return finished
    }

    /// A delivery report's outcome. The topic of a delivered record is filled in from the batch's
    /// records when its reports are handed over.
    private static func result(of message: rd_kafka_message_t) -> Result<KafkaDeliveryReport, KafkaError> {
        guard message.err != RD_KAFKA_RESP_ERR_NO_ERROR else {
            return .success(KafkaDeliveryReport(topic: "", partition: message.partition, offset: message.offset))
        }
        let topic = message.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
        let code = KafkaErrorCode(message.err)
        return .failure(KafkaError(kind: .delivery, code: code, reason: "record for \(topic) not delivered: \(code.description)"))
    }

    /// Fails every record without an outcome yet.
    func failRemaining(with error: KafkaError) {
        let open = state.withLock { state in state.done.indices.filter { !state.done[$0] } }
        for index in open { complete(index, .failure(error)) }
    }

    /// Returns the reports (none for a batch that keeps none) once every record has an outcome;
    /// throws the first failure (in enqueue order) if any failed.
    /// (The reports are put together here, on the waiting task, not on the producer thread that
    /// completes the last record.)
    func wait() async throws -> [KafkaDeliveryReport] {
        await withCheckedContinuation { continuation in
            let complete = state.withLock { state in
                guard state.remaining == 0 else {
                    state.waiter = continuation
                    return false
                }
                return true
            }
            if complete { continuation.resume() }
        }
        return try state.withLock { $0.outcome(records: records) }.get()
    }
}

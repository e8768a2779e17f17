import CRdKafka
import Synchronization

/// The tag a produced record carries as its opaque pointer: which batch it belongs to and its place
/// in it. Tag 0 is a record whose report nobody waits for (a transaction's commit settles it).
struct DeliveryTag: Equatable {
    static let indexBits = 24
    /// Records per registered batch; `sendAll` registers longer lists in parts.
    static let batchLimit = 1 << indexBits
    static let unawaited = DeliveryTag(raw: 0)

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
        guard tag != .unawaited, let batch = state.withLock({ $0.waiting[tag.batch] }) else { return }
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
        guard tag != .unawaited else { return }
        let topic = message.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
        if message.err == RD_KAFKA_RESP_ERR_NO_ERROR {
            complete(tag, with: .success(KafkaDeliveryReport(topic: topic, partition: message.partition, offset: message.offset)))
        } else {
            let code = KafkaErrorCode(message.err)
            complete(tag, with: .failure(KafkaError(kind: .delivery, code: code, reason: "record for \(topic) not delivered: \(code.description)")))
        }
    }
}

/// Collects the delivery reports of records enqueued together and hands them, in enqueue order,
/// to the one task that waits for them.
final class DeliveryBatch: Sendable {
    private struct State {
        var results: [Result<KafkaDeliveryReport, KafkaError>?]
        var remaining: Int
        var waiter: CheckedContinuation<[KafkaDeliveryReport], any Error>?
    }

    private let state: Mutex<State>

    init(count: Int) {
        state = Mutex(State(results: Array(repeating: nil, count: count), remaining: count, waiter: nil))
    }

    /// Records one report; true when it was the batch's last.
    @discardableResult
    func complete(_ index: Int, _ result: Result<KafkaDeliveryReport, KafkaError>) -> Bool {
        let (finished, waiter, results): (Bool, CheckedContinuation<[KafkaDeliveryReport], any Error>?, [Result<KafkaDeliveryReport, KafkaError>?]) = state.withLock { state in
            guard state.results[index] == nil else { return (false, nil, []) }
            state.results[index] = result
            state.remaining -= 1
            guard state.remaining == 0 else { return (false, nil, []) }
            defer { state.waiter = nil }
            return (true, state.waiter, state.results)
        }
        if let waiter { Self.resume(waiter, with: results) }
        return finished
    }

    /// Fails every record without a report yet.
    func failRemaining(with error: KafkaError) {
        let open = state.withLock { state in state.results.indices.filter { state.results[$0] == nil } }
        for index in open { complete(index, .failure(error)) }
    }

    /// Returns every report once all are in; throws the first failure (in enqueue order) if any failed.
    func wait() async throws -> [KafkaDeliveryReport] {
        try await withCheckedThrowingContinuation { continuation in
            let results: [Result<KafkaDeliveryReport, KafkaError>?]? = state.withLock { state in
                guard state.remaining == 0 else {
                    state.waiter = continuation
                    return nil
                }
                return state.results
            }
            if let results { Self.resume(continuation, with: results) }
        }
    }

    private static func resume(_ continuation: CheckedContinuation<[KafkaDeliveryReport], any Error>,
                               with results: [Result<KafkaDeliveryReport, KafkaError>?]) {
        continuation.resume(with: Result { try results.map { try $0!.get() } })
    }
}

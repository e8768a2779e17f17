import CRdKafka
import Synchronization

typealias DeliveryCompletion = @Sendable (Result<KafkaDeliveryReport, KafkaError>) -> Void

/// Matches delivery reports to their records. Each produced record carries a number as its opaque
/// pointer; the delivery-report callback (on the producer's poll thread) completes that number once.
final class DeliveryReportRegistry: Sendable {
    private struct State {
        var nextID: UInt = 1
        var waiting: [UInt: DeliveryCompletion] = [:]
    }

    private let state = Mutex(State())

    func register(_ completion: @escaping DeliveryCompletion) -> UInt {
        state.withLock { state in
            let id = state.nextID
            state.nextID += 1
            state.waiting[id] = completion
            return id
        }
    }

    /// Takes back a registration whose record was not enqueued, to register it again.
    func withdraw(_ id: UInt) -> DeliveryCompletion? {
        state.withLock { $0.waiting.removeValue(forKey: id) }
    }

    /// For a record librdkafka refused to enqueue: its report will never come.
    func fail(_ id: UInt, with error: KafkaError) {
        state.withLock { $0.waiting.removeValue(forKey: id) }?(.failure(error))
    }

    /// For records still waiting when the handle is gone.
    func failAll(with error: KafkaError) {
        let waiting = state.withLock { state in
            defer { state.waiting.removeAll() }
            return state.waiting.values
        }
        waiting.forEach { $0(.failure(error)) }
    }

    func complete(_ message: rd_kafka_message_t) {
        let id = UInt(bitPattern: message._private)
        guard let completion = state.withLock({ $0.waiting.removeValue(forKey: id) }) else { return }
        let topic = message.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
        if message.err == RD_KAFKA_RESP_ERR_NO_ERROR {
            completion(.success(KafkaDeliveryReport(topic: topic, partition: message.partition, offset: message.offset)))
        } else {
            let code = KafkaErrorCode(message.err)
            completion(.failure(KafkaError(kind: .delivery, code: code,
                                           reason: "record for \(topic) not delivered: \(code.description)")))
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

    func complete(_ index: Int, _ result: Result<KafkaDeliveryReport, KafkaError>) {
        let finished: (CheckedContinuation<[KafkaDeliveryReport], any Error>, [Result<KafkaDeliveryReport, KafkaError>?])? = state.withLock { state in
            state.results[index] = result
            state.remaining -= 1
            guard state.remaining == 0, let waiter = state.waiter else { return nil }
            state.waiter = nil
            return (waiter, state.results)
        }
        if let (waiter, results) = finished { Self.resume(waiter, with: results) }
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

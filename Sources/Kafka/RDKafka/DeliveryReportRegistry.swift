import CRdKafka
import Synchronization

/// Matches delivery reports to the tasks awaiting them. Each produced record carries a number as its
/// opaque pointer; the delivery-report callback (on the producer's poll thread) resumes that number's
/// continuation exactly once.
final class DeliveryReportRegistry: Sendable {
    private struct State {
        var nextID: UInt = 1
        var waiting: [UInt: CheckedContinuation<KafkaDeliveryReport, any Error>] = [:]
    }

    private let state = Mutex(State())

    func register(_ continuation: CheckedContinuation<KafkaDeliveryReport, any Error>) -> UInt {
        state.withLock { state in
            let id = state.nextID
            state.nextID += 1
            state.waiting[id] = continuation
            return id
        }
    }

    /// For a record librdkafka refused to enqueue: its report will never come.
    func fail(_ id: UInt, with error: any Error) {
        state.withLock { $0.waiting.removeValue(forKey: id) }?.resume(throwing: error)
    }

    var pendingCount: Int { state.withLock { $0.waiting.count } }

    func complete(_ message: rd_kafka_message_t) {
        let id = UInt(bitPattern: message._private)
        guard let continuation = state.withLock({ $0.waiting.removeValue(forKey: id) }) else { return }
        let topic = message.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
        if message.err == RD_KAFKA_RESP_ERR_NO_ERROR {
            continuation.resume(returning: KafkaDeliveryReport(topic: topic, partition: message.partition, offset: message.offset))
        } else {
            let code = KafkaErrorCode(message.err)
            continuation.resume(throwing: KafkaError(kind: .delivery, code: code,
                                                     reason: "record for \(topic) not delivered: \(code.description)"))
        }
    }
}

import CRdKafka
import Foundation

/// A producer's main queue, served on its producer thread (`ProducerThread`), the only thread that
/// touches this object but for `wake`.
///
/// Delivery reports come as events (`RD_KAFKA_EVENT_DR`), each holding the reports of the records
/// of one produce request, hundreds of them: the registry then matches a run of one batch's records
/// under one lock, where the per-record callback took two locks and a dozen reference counts per
/// record. And with events, librdkafka's `flush` (and a transaction's commit) waits for this thread
/// to serve the reports instead of serving them on the flushing thread itself, so every report is
/// handled here. Errors and statistics come from the same queue as events: librdkafka hands out
/// every op it can turn into an event to a queue served this way.
final class ProducerEvents: @unchecked Sendable {
    /// Reports taken from an event at a time.
    private static let reportsPerPass = 1_024

    private let queue: OpaquePointer
    private let callbacks: ClientCallbacks
    private let registry: DeliveryReportRegistry
    private let failsRecordsOnFatalError: Bool
    private var reports: [UnsafePointer<rd_kafka_message_t>?]

    init(client: RDKafkaClient, registry: DeliveryReportRegistry, failsRecordsOnFatalError: Bool) {
        queue = rd_kafka_queue_get_main(client.handle)
        callbacks = client.callbacks
        self.registry = registry
        self.failsRecordsOnFatalError = failsRecordsOnFatalError
        reports = Array(repeating: nil, count: Self.reportsPerPass)
    }

    /// Waits up to `timeoutMilliseconds` for an event and handles it; false when none came (or the wait was woken).
    @discardableResult
    func serve(timeoutMilliseconds: Int32) -> Bool {
        guard let event = rd_kafka_queue_poll(queue, timeoutMilliseconds) else { return false }
        defer { rd_kafka_event_destroy(event) }  // frees the event's records, and lets `flush` see them gone
        switch Int32(rd_kafka_event_type(event)) {
        case RD_KAFKA_EVENT_DR:
            reports.withUnsafeMutableBufferPointer { buffer in
                while true {
                    let count = rd_kafka_event_message_array(event, buffer.baseAddress, buffer.count)
                    guard count > 0 else { return }
                    registry.complete(UnsafeBufferPointer(rebasing: buffer[..<count]))
                }
            }
        case RD_KAFKA_EVENT_ERROR:
            // Logged as librdkafka logs an error nobody handles (a fatal one it logs itself). A
            // fatal one also fails a transactional producer's next call; the records it still waits
            // for are failed here, whether or not a call is under way: none of them can commit now,
            // and librdkafka may hold their reports until their requests are answered or time out.
            let text = rd_kafka_event_error_string(event).map { String(cString: $0) } ?? ""
            let fatal = rd_kafka_event_error_is_fatal(event) != 0
            if !fatal { callbacks.log(level: 3, facility: "ERROR", message: text) }
            if fatal && failsRecordsOnFatalError {
                registry.failAll(with: KafkaError(kind: .transaction(.fatal), code: KafkaErrorCode(rd_kafka_event_error(event)),
                                                  reason: "the producer failed fatally: \(text)"))
            }
        case RD_KAFKA_EVENT_STATS:
            if let json = rd_kafka_event_stats(event) {
                callbacks.statistics?.record(json: Data(bytes: json, count: strlen(json)))
            }
        default:
            break
        }
        return true
    }

    /// Ends the wait of a `serve` under way, or makes the next one return at once; from any thread.
    func wake() { rd_kafka_queue_yield(queue) }

    /// Gives back the queue's reference; once the producer thread has stopped, before the client is destroyed.
    func destroy() { rd_kafka_queue_destroy(queue) }
}

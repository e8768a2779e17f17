import CRdKafka
import Foundation
import Synchronization

/// The one thread on which a producer's records are handed to librdkafka and its events served, as
/// a C program's produce loop does both on one thread. Tasks hand it whole batches (`hand`) and
/// await their delivery reports; nothing on Swift's cooperative pool calls into librdkafka to produce.
///
/// Why one thread for both. librdkafka allocates each record on the thread that produces it and
/// frees it on the thread that serves its delivery report: on one thread the allocator gives the
/// memory back to that thread's cache, where across threads every free took the producing thread's
/// arena lock. And records produced from one thread do not contend with each other for librdkafka's
/// topic and partition locks, as records produced from two pool threads at once did (in a profile of
/// `bench kafka`, a third of those threads' time).
///
/// Thread: `hand`, `close` and `stop` from any thread; everything else on the thread itself.
final class ProducerThread: @unchecked Sendable {
    /// A batch of records to produce, in order; registered as `batch` in the delivery-report registry.
    struct Handoff {
        let records: [KafkaProducerMessage]
        let batch: UInt
    }

    // Guarded by `condition`.
    private let condition = NSCondition()
    private var waiting: [Handoff] = []
    /// The thread is producing batches it took from `waiting`.
    private var handing = false
    private var stopping = false
    private var finished = false

    private let closed = Atomic(false)
    private let client: RDKafkaClient
    private let topics: ProducerTopics
    private let registry: DeliveryReportRegistry
    private let events: ProducerEvents

    init(name: String, client: RDKafkaClient, topics: ProducerTopics, registry: DeliveryReportRegistry, events: ProducerEvents) {
        self.client = client
        self.topics = topics
        self.registry = registry
        self.events = events
        let thread = Thread { [self] in run() }
        thread.name = name
        thread.start()
    }

    var isClosed: Bool { closed.load(ordering: .sequentiallyConsistent) }

    /// From now on a batch that meets a full local queue fails instead of waiting for room; false if closed already.
    func close() -> Bool { closed.compareExchange(expected: false, desired: true, ordering: .sequentiallyConsistent).exchanged }

    /// Queues a batch for the thread; its records' topics have handles already (`ProducerTopics.handle`).
    func hand(_ handoff: Handoff) {
        condition.lock()
        waiting.append(handoff)
        condition.unlock()
        events.wake()
    }

    /// Blocks until every batch handed over is in librdkafka's hands (or failed); from a thread that may block.
    func waitUntilHandedOver() {
        condition.lock()
        while !waiting.isEmpty || handing { condition.wait() }
        condition.unlock()
    }

    /// Ends the thread once the batches handed over are produced, and waits for it; from a thread that may block.
    func stop() {
        condition.lock()
        stopping = true
        condition.unlock()
        events.wake()
        condition.lock()
        while !finished { condition.wait() }
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            let taken = waiting
            waiting = []
            handing = !taken.isEmpty
            let ends = stopping && taken.isEmpty
            condition.unlock()
            if ends { break }
            for handoff in taken {
                produce(handoff)
                // The reports that came meanwhile, between batches (as a C loop polls every thousand
                // records): served only after all batches, they came in bursts while the brokers idled.
                while events.serve(timeoutMilliseconds: 0) {}
            }
            if !taken.isEmpty {
                condition.lock()
                handing = false
                condition.broadcast()
                condition.unlock()
            }
            // Every report waiting is served before the next batches; with none, the thread sleeps
            // until one comes or a batch is handed over (`events.wake`).
            if !events.serve(timeoutMilliseconds: taken.isEmpty ? 100 : 0) { continue }
            while events.serve(timeoutMilliseconds: 0) {}
        }
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    /// What a record handed over, or to be handed over, after the producer closed fails with.
    static let shutDown = KafkaError(kind: .state, reason: "the producer is shut down")

    private func produce(_ handoff: Handoff) {
        let records = handoff.records
        // A batch's records mostly share their topic: its handle is looked up when the topic changes.
        // (Records are read in place, by index: a copy of each would count four references up and down.)
        var topic: (name: String, handle: OpaquePointer)?
        for index in records.indices {
            let tag = DeliveryTag(batch: handoff.batch, index: index)
            if topic?.name != records[index].topic { topic = (records[index].topic, topics.known(records[index].topic)) }
            var err = produce(records[index], to: topic!.handle, tag: tag)
            while err == RD_KAFKA_RESP_ERR__QUEUE_FULL && !isClosed {
                // Delivery reports make room in librdkafka's local queue: serve them, then try again.
                events.serve(timeoutMilliseconds: 1)
                err = produce(records[index], to: topic!.handle, tag: tag)
            }
            if err == RD_KAFKA_RESP_ERR__QUEUE_FULL {
                registry.complete(tag, with: .failure(Self.shutDown))
            } else if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                // Refused, so no report will come for it.
                let code = KafkaErrorCode(err)
                registry.complete(tag, with: .failure(KafkaError(kind: .delivery, code: code, reason: "record for \(records[index].topic) not enqueued: \(code.description)")))
            }
        }
    }

    /// Hands one record to librdkafka (non-blocking: a full local queue is an answer, not a wait).
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
}

private func withOptionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer) -> R) -> R {
    guard let bytes else { return body(UnsafeRawBufferPointer(start: nil, count: 0)) }
    return bytes.withUnsafeBytes(body)
}

import CRdKafka
import Foundation

/// The same work as the client's benchmarks, as a C programmer writes it on librdkafka's own API:
/// plain loops through the `CRdKafka` target (no wrapper of ours), each on a thread of its own, with
/// the client's own configuration. The benchmarks report the client's figures as ratios to these.
enum LibrdkafkaBaseline {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// A handle made from the given properties.
    static func handle(_ kind: rd_kafka_type_t, _ properties: [String: String], configure: (OpaquePointer) -> Void = { _ in }) throws -> OpaquePointer {
        let conf = rd_kafka_conf_new()!
        var error = [CChar](repeating: 0, count: 512)
        for (name, value) in properties where rd_kafka_conf_set(conf, name, value, &error, error.count) != RD_KAFKA_CONF_OK {
            rd_kafka_conf_destroy(conf)
            throw Failure(description: "\(name): \(text(error))")
        }
        configure(conf)
        guard let handle = rd_kafka_new(kind, conf, &error, error.count) else { throw Failure(description: text(error)) }
        return handle
    }

    /// librdkafka's error text from its buffer.
    private static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Produces `count` records (key: the index in decimal, value: `payload`) with `rd_kafka_produce`
    /// on one topic handle, serving delivery reports with `rd_kafka_poll`; returns the seconds from
    /// the first record to the last delivery report.
    static func produce(properties: [String: String], topic: String, count: Int, payload: [UInt8]) throws -> Double {
        final class Delivered { var ok = 0; var failed = 0 }
        let delivered = Delivered()
        let producer = try handle(RD_KAFKA_PRODUCER, properties) { conf in
            rd_kafka_conf_set_dr_msg_cb(conf) { _, message, opaque in
                let delivered = Unmanaged<Delivered>.fromOpaque(opaque!).takeUnretainedValue()
                if message!.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR { delivered.ok += 1 } else { delivered.failed += 1 }
            }
            rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(delivered).toOpaque())
        }
        defer { rd_kafka_destroy(producer) }
        let topicHandle = rd_kafka_topic_new(producer, topic, nil)
        defer { rd_kafka_topic_destroy(topicHandle) }
        let start = ContinuousClock.now
        var payload = payload
        for index in 0..<count {
            var key = Array(String(index).utf8)
            while rd_kafka_produce(topicHandle, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, &payload, payload.count, &key, key.count, nil) != 0 {
                guard rd_kafka_last_error() == RD_KAFKA_RESP_ERR__QUEUE_FULL else { throw Failure(description: "produce: \(rd_kafka_last_error())") }
                rd_kafka_poll(producer, 1)
            }
            if index % 1_000 == 0 { rd_kafka_poll(producer, 0) }
        }
        while delivered.ok + delivered.failed < count { rd_kafka_poll(producer, 10) }
        guard delivered.failed == 0 else { throw Failure(description: "\(delivered.failed) records not delivered") }
        return (ContinuousClock.now - start).seconds
    }

    /// A consumer-group member subscribed to `topic`, polled with `rd_kafka_consumer_poll` on its own
    /// thread. `assigned` says how many partitions it owns (the producer waits for all); `seconds`
    /// is from its first record to its `count`th.
    final class Consumer: @unchecked Sendable {
        private let handle: OpaquePointer
        private let done = DispatchSemaphore(value: 0)
        private let lock = NSLock()
        private var partitions = 0
        private var result: Result<Double, Failure>?

        init(properties: [String: String], topic: String, count: Int) throws {
            handle = try LibrdkafkaBaseline.handle(RD_KAFKA_CONSUMER, properties)
            rd_kafka_poll_set_consumer(handle)
            let list = rd_kafka_topic_partition_list_new(1)
            rd_kafka_topic_partition_list_add(list, topic, RD_KAFKA_PARTITION_UA)
            let err = rd_kafka_subscribe(handle, list)
            rd_kafka_topic_partition_list_destroy(list)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw Failure(description: "subscribe: \(err)") }
            Thread { [self] in
                let handle = self.handle
                var seen = 0
                var first: ContinuousClock.Instant?
                let deadline = ContinuousClock.now + .seconds(120)
                while seen < count && ContinuousClock.now < deadline {
                    guard let message = rd_kafka_consumer_poll(handle, 100) else {
                        self.countAssignment()
                        continue
                    }
                    if message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                        if first == nil { first = .now }
                        seen += 1
                    }
                    rd_kafka_message_destroy(message)
                    if seen == 1 || seen % 10_000 == 0 { self.countAssignment() }
                }
                let outcome: Result<Double, Failure> = seen == count ? .success((ContinuousClock.now - first!).seconds)
                    : .failure(Failure(description: "the baseline consumer read \(seen) of \(count) records"))
                self.lock.withLock { self.result = outcome }
                self.done.signal()
            }.start()
        }

        private func countAssignment() {
            var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
            guard rd_kafka_assignment(handle, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { return }
            let owned = Int(list.pointee.cnt)
            rd_kafka_topic_partition_list_destroy(list)
            lock.withLock { partitions = owned }
        }

        var assigned: Int { lock.withLock { partitions } }

        /// Waits (on the calling thread) for the count, then closes the consumer.
        func finish() throws -> Double {
            done.wait()
            rd_kafka_consumer_close(handle)
            rd_kafka_destroy(handle)
            return try lock.withLock { result! }.get()
        }
    }

    /// Runs `body` on a thread of its own and waits for it without holding a cooperative thread.
    static func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }
}

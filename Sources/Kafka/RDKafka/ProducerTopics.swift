import CRdKafka
import Synchronization

/// The topics one producer writes to, each with the librdkafka topic handle its records are produced
/// through. Thread-safe; made on the tasks that send, read on the producer thread, destroyed on the
/// producer's control thread.
///
/// Why a handle per topic: producing by topic name makes librdkafka look the topic up under its
/// handle-wide write lock for every record. And why the metadata is learnt before a topic's first
/// record: librdkafka 2.0.2 asks for a new topic's partitions when the topic is first named, but
/// skips the request if it falls while the producer's first connection is still being set up; the
/// topic's records then wait for its once-a-second topic scan (measured: in about half the runs of
/// `bench kafka`, 80,000 records and no delivery report for one second).
final class ProducerTopics: Sendable {
    /// How long the first record to a topic waits at most for its metadata: no longer than the scan
    /// it replaces. When it times out (no broker reachable), librdkafka's own retries take over.
    static let metadataTimeoutMilliseconds: Int32 = 1_000

    private let handles = Mutex<[String: TopicHandle]>([:])
    private let client: RDKafkaClient
    private let control: ClientThread

    init(client: RDKafkaClient, control: ClientThread) {
        self.client = client
        self.control = control
    }

    /// The topic's handle; for a topic not written to before, made and its partitions learnt first
    /// (a blocking metadata request, on the control thread).
    func handle(_ topic: String) async -> OpaquePointer {
        if let known = handles.withLock({ $0[topic] }) { return known.pointer }
        let client = self.client
        let made = TopicHandle(pointer: rd_kafka_topic_new(client.handle, topic, nil))
        _ = try? await control.run {
            var metadata: UnsafePointer<rd_kafka_metadata>?
            _ = rd_kafka_metadata(client.handle, 0, made.pointer, &metadata, Self.metadataTimeoutMilliseconds)
            if let metadata { rd_kafka_metadata_destroy(metadata) }
        }
        return keep(made, for: topic).pointer
    }

    /// The handle of a topic `handle` has made (on the producer thread, for records whose topics were
    /// prepared before they were handed over).
    func known(_ topic: String) -> OpaquePointer {
        guard let known = handles.withLock({ $0[topic] }) else { preconditionFailure("no handle for \(topic) yet") }
        return known.pointer
    }

    /// Makes the handles of topics whose partitions the client has just learnt (a metadata request
    /// for every topic): their first records skip the request `handle` makes.
    func adopt(_ topics: [String]) {
        for topic in topics where handles.withLock({ $0[topic] == nil }) {
            keep(TopicHandle(pointer: rd_kafka_topic_new(client.handle, topic, nil)), for: topic)
        }
    }

    /// Keeps `made` as the topic's handle, unless another task made one meanwhile: then that one is
    /// kept. (librdkafka hands out the same pointer for a topic named twice, counting both: the
    /// second count is given back.)
    @discardableResult
    private func keep(_ made: TopicHandle, for topic: String) -> TopicHandle {
        let (kept, inserted) = handles.withLock { handles in
            if let first = handles[topic] { return (first, false) }
            handles[topic] = made
            return (made, true)
        }
        if !inserted { rd_kafka_topic_destroy(made.pointer) }
        return kept
    }

    /// The topics with a handle.
    var names: Set<String> { handles.withLock { Set($0.keys) } }

    /// Releases every handle; before the client is destroyed, when no record is being produced.
    func destroyAll() {
        let all = handles.withLock { handles in
            defer { handles.removeAll() }
            return Array(handles.values)
        }
        all.forEach { rd_kafka_topic_destroy($0.pointer) }
    }
}

/// An `rd_kafka_topic_t *`; librdkafka topic handles are thread-safe.
private struct TopicHandle: @unchecked Sendable {
    let pointer: OpaquePointer
}

import CRdKafka
import Foundation
import Kafka
import Logging
import Synchronization

/// librdkafka's in-memory mock cluster on real loopback ports: the embedded broker for the demo and
/// the tests, and the fault injector. It is not a production broker: it keeps only the newest ~5 MB
/// per partition, has no topic configs or compaction, and shows the records of a killed producer's
/// unfinished transaction to `read_committed` readers. Production runs on Apache Kafka.
public final class EmbeddedCluster: KafkaTopicProvisioner {
    /// Kafka protocol request kinds, for `pushRequestErrors`.
    public enum RequestKind: Int16, Sendable {
        case produce = 0, fetch = 1, listOffsets = 2, metadata = 3, offsetCommit = 8, offsetFetch = 9
        case findCoordinator = 10, joinGroup = 11, heartbeat = 12, syncGroup = 14
        case initProducerID = 22, addPartitionsToTxn = 24, addOffsetsToTxn = 25, endTxn = 26, txnOffsetCommit = 28
    }

    /// The `fetch.wait.max.ms` for consumers of this cluster. Its brokers answer a fetch that finds
    /// nothing new only when the whole wait is over, also when records arrive meanwhile (Apache Kafka
    /// answers at once), so a consumer that has caught up would see each new record up to 500 ms late.
    public static let fetchMaxWaitMilliseconds = 2

    /// The handle the mock cluster hangs off; librdkafka needs one to host it.
    private let host: HostHandle
    private let cluster: MockClusterPointer
    private let destroyed = Mutex(false)
    public let brokerCount: Int
    public let bootstrapServers: String
    private let logger: Logger

    public init(brokers: Int = 3, logger: Logger = Logger(label: "kafka.embedded")) throws {
        precondition(brokers >= 1, "a cluster needs at least one broker")
        let conf = rd_kafka_conf_new()
        var errorText = [CChar](repeating: 0, count: 512)
        // The host handle never produces; keep it quiet and off the network.
        _ = rd_kafka_conf_set(conf, "bootstrap.servers", "", &errorText, errorText.count)
        _ = rd_kafka_conf_set(conf, "log_level", "3", &errorText, errorText.count)
        // The mock brokers' sockets take their options from this handle: without TCP_NODELAY a
        // broker's last small response of a burst waits for the client's delayed ACK (~40 ms on
        // Linux), which made every transaction to several brokers take ~45 ms. Kafka brokers set it.
        _ = rd_kafka_conf_set(conf, "socket.nagle.disable", "true", &errorText, errorText.count)
        guard let handle = rd_kafka_new(RD_KAFKA_PRODUCER, conf, &errorText, errorText.count) else {
            rd_kafka_conf_destroy(conf)
            throw KafkaError(kind: .configuration, reason: "embedded cluster host: \(String(errorBuffer: errorText))")
        }
        guard let cluster = rd_kafka_mock_cluster_new(handle, Int32(brokers)) else {
            rd_kafka_destroy(handle)
            throw KafkaError(kind: .client, reason: "the mock cluster did not start")
        }
        self.host = HostHandle(pointer: handle)
        self.cluster = MockClusterPointer(pointer: cluster)
        self.brokerCount = brokers
        self.bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
        self.logger = logger
    }

    /// Broker ids run from 1 to `brokerCount`.
    public var brokerIDs: ClosedRange<Int32> { 1...Int32(brokerCount) }

    /// Creates topics through the mock API. Replication is capped at the broker count; topic
    /// configs such as compaction are not supported by the mock and are ignored (with a notice).
    public func createTopics(_ topics: [KafkaTopicSpecification]) async throws {
        for topic in topics { try createTopic(topic) }
    }

    public func createTopic(_ topic: KafkaTopicSpecification) throws {
        if !topic.configs.isEmpty {
            logger.notice("the embedded cluster ignores topic configs", metadata: ["topic": "\(topic.name)", "configs": "\(topic.configs)"])
        }
        let replication = min(topic.replicationFactor, Int32(brokerCount))
        try onLiveCluster("create topic \(topic.name)") { rd_kafka_mock_topic_create($0, topic.name, topic.partitions, replication) }
    }

    // MARK: - Fault injection

    /// Takes a broker off the network: its connections drop and new ones are refused. librdkafka
    /// 2.0.2 closes the broker's listening socket and binds its port again at once, and ends the
    /// process if that bind fails (`Address already in use`); with many clusters, clients and child
    /// processes starting beside it, it did. Take brokers down where nothing else runs.
    public func setBrokerDown(_ brokerID: Int32) throws {
        try onLiveCluster("broker \(brokerID) down") { rd_kafka_mock_broker_set_down($0, brokerID) }
    }

    public func setBrokerUp(_ brokerID: Int32) throws {
        try onLiveCluster("broker \(brokerID) up") { rd_kafka_mock_broker_set_up($0, brokerID) }
    }

    /// Adds latency to every response of a broker.
    public func setRoundTripTime(_ brokerID: Int32, milliseconds: Int32) throws {
        try onLiveCluster("broker \(brokerID) rtt") { rd_kafka_mock_broker_set_rtt($0, brokerID, milliseconds) }
    }

    /// Makes the next requests of one kind fail with these errors, in order, whichever broker gets them.
    public func pushRequestErrors(_ kind: RequestKind, _ errors: [KafkaErrorCode]) {
        let codes = errors.map { rd_kafka_resp_err_t(rawValue: $0.rawValue) }
        try? onLiveCluster("push request errors") { cluster in
            codes.withUnsafeBufferPointer { buffer in
                rd_kafka_mock_push_request_errors_array(cluster, kind.rawValue, buffer.count, buffer.baseAddress)
            }
            return RD_KAFKA_RESP_ERR_NO_ERROR
        }
    }

    /// Makes every request about a topic fail with `error` (`.noError` clears it).
    public func setTopicError(_ topic: String, _ error: KafkaErrorCode) {
        try? onLiveCluster("topic error") { cluster in
            rd_kafka_mock_topic_set_error(cluster, topic, rd_kafka_resp_err_t(rawValue: error.rawValue))
            return RD_KAFKA_RESP_ERR_NO_ERROR
        }
    }

    public func setPartitionLeader(topic: String, partition: Int32, brokerID: Int32) throws {
        try onLiveCluster("leader of \(topic)[\(partition)]") { rd_kafka_mock_partition_set_leader($0, topic, partition, brokerID) }
    }

    // MARK: - Life cycle

    /// Waits until a separate client gets metadata from the cluster over TCP.
    public func waitUntilReachable(timeoutMilliseconds: Int32 = 10_000) async throws {
        let admin = try KafkaAdmin(settings: KafkaClientSettings(bootstrapServers: bootstrapServers, clientID: "ketenhub-probe"),
                                   timeoutMilliseconds: timeoutMilliseconds, logger: logger)
        defer { admin.shutdown() }
        _ = try await admin.listTopics()
    }

    /// Destroys the cluster. A fault injection still running (a test's task that outlives the test's
    /// body) then fails with an error instead of writing into the freed cluster: calls into the mock
    /// and its destruction hold the same lock.
    public func shutdown() {
        guard destroyed.withLock({ was in defer { was = true }; return !was }) else { return }
        rd_kafka_mock_cluster_destroy(cluster.pointer)
        rd_kafka_destroy(host.pointer)
    }

    /// Runs one call of the mock's API on the cluster, unless it is destroyed (then throws), holding
    /// the lock that `shutdown` takes, so that the two never interleave.
    private func onLiveCluster(_ what: String, _ call: (OpaquePointer) -> rd_kafka_resp_err_t) throws {
        let err = try destroyed.withLock { isDestroyed -> rd_kafka_resp_err_t in
            guard !isDestroyed else { throw KafkaError(kind: .state, reason: "embedded cluster: \(what): the cluster is shut down") }
            return call(cluster.pointer)
        }
        try check(err, what)
    }

    deinit { shutdown() }

    private func check(_ err: rd_kafka_resp_err_t, _ what: String) throws {
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(kind: .client, code: KafkaErrorCode(rawValue: err.rawValue), reason: "embedded cluster: \(what)")
        }
    }
}

/// The mock cluster's API is thread-safe (it posts to the cluster's own thread).
private struct MockClusterPointer: @unchecked Sendable {
    let pointer: OpaquePointer
}

private struct HostHandle: @unchecked Sendable {
    let pointer: OpaquePointer
}

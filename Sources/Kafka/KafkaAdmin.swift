import CRdKafka
import Logging

/// A topic as the hub wants it to exist.
public struct KafkaTopicSpecification: Sendable, Hashable {
    public var name: String
    public var partitions: Int32
    public var replicationFactor: Int32
    /// Topic configs such as `cleanup.policy=compact` or `retention.ms`.
    public var configs: [String: String]

    public init(name: String, partitions: Int32, replicationFactor: Int32 = 3, configs: [String: String] = [:]) {
        self.name = name
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.configs = configs
    }
}

/// Anything that can make topics exist: the admin client on Apache Kafka, the embedded cluster's
/// mock API locally (which does not implement the CreateTopics request).
public protocol KafkaTopicProvisioner: Sendable {
    /// Creates the topics that do not exist yet; existing ones are left as they are.
    func createTopics(_ topics: [KafkaTopicSpecification]) async throws
}

public struct KafkaTopicMetadata: Sendable, Hashable {
    public var name: String
    public var partitionCount: Int

    public init(name: String, partitionCount: Int) {
        self.name = name
        self.partitionCount = partitionCount
    }
}

public struct KafkaPartitionLag: Sendable, Hashable {
    public var topicPartition: KafkaTopicPartition
    /// The group's committed position, nil when it has committed nothing yet.
    public var committedOffset: Int64?
    public var highWatermark: Int64
    public var lag: Int64
}

/// Administrative operations. Every call blocks inside librdkafka, so each runs on the admin's own thread.
public final class KafkaAdmin: KafkaTopicProvisioner {
    private let client: RDKafkaClient
    private let settings: KafkaClientSettings
    private let thread: ClientThread
    private let logger: Logger
    private let timeoutMilliseconds: Int32

    public init(settings: KafkaClientSettings, timeoutMilliseconds: Int32 = 30_000, logger: Logger = Logger(label: "kafka.admin")) throws {
        var properties = settings.properties
        properties.merge(settings.overrides) { _, override in override }
        client = try RDKafkaClient(kind: .producer, properties: properties, callbacks: ClientCallbacks(logger: logger))
        self.settings = settings
        self.thread = ClientThread(name: "\(settings.clientID)-admin")
        self.logger = logger
        self.timeoutMilliseconds = timeoutMilliseconds
    }

    public func createTopics(_ topics: [KafkaTopicSpecification]) async throws {
        guard !topics.isEmpty else { return }
        let client = self.client
        let timeout = timeoutMilliseconds
        let failures: [String] = try await thread.run {
            let handle = client.handle
            var errorText = [CChar](repeating: 0, count: 512)
            var newTopics: [OpaquePointer?] = []
            defer { newTopics.forEach { rd_kafka_NewTopic_destroy($0) } }
            for spec in topics {
                guard let newTopic = rd_kafka_NewTopic_new(spec.name, spec.partitions, spec.replicationFactor, &errorText, errorText.count) else {
                    throw KafkaError(kind: .admin, reason: "topic \(spec.name): \(String(errorBuffer: errorText))")
                }
                newTopics.append(newTopic)
                for (key, value) in spec.configs.sorted(by: { $0.key < $1.key }) {
                    let err = rd_kafka_NewTopic_set_config(newTopic, key, value)
                    if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError.client(err, "topic \(spec.name) config \(key)") }
                }
            }
            let resultQueue = rd_kafka_queue_new(handle)
            defer { rd_kafka_queue_destroy(resultQueue) }
            let options = rd_kafka_AdminOptions_new(handle, RD_KAFKA_ADMIN_OP_CREATETOPICS)
            defer { rd_kafka_AdminOptions_destroy(options) }
            _ = rd_kafka_AdminOptions_set_request_timeout(options, timeout, &errorText, errorText.count)
            rd_kafka_CreateTopics(handle, &newTopics, newTopics.count, options, resultQueue)
            guard let event = rd_kafka_queue_poll(resultQueue, timeout + 1000) else {
                throw KafkaError(kind: .admin, code: .timedOut, reason: "CreateTopics got no answer within \(timeout) ms")
            }
            defer { rd_kafka_event_destroy(event) }
            if rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR {
                throw KafkaError.client(rd_kafka_event_error(event), "CreateTopics")
            }
            var count = 0
            guard let result = rd_kafka_event_CreateTopics_result(event),
                  let results = rd_kafka_CreateTopics_result_topics(result, &count) else { return [] }
            return (0..<count).compactMap { index in
                let topicResult = results[index]
                let err = rd_kafka_topic_result_error(topicResult)
                guard err != RD_KAFKA_RESP_ERR_NO_ERROR, err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS else { return nil }
                let name = String(cString: rd_kafka_topic_result_name(topicResult))
                return "\(name): \(KafkaErrorCode(err).name)"
            }
        }
        if !failures.isEmpty {
            throw KafkaError(kind: .admin, reason: "topics not created: \(failures.joined(separator: ", "))")
        }
    }

    public func listTopics() async throws -> [KafkaTopicMetadata] {
        let client = self.client
        let timeout = timeoutMilliseconds
        return try await thread.run {
            try Self.metadata(client.handle, timeout: timeout)
                .filter { !$0.name.hasPrefix("__") }
                .sorted { $0.name < $1.name }
        }
    }

    /// Per partition of `topics`: the group's committed offset, the high watermark and the lag.
    public func consumerGroupLag(groupID: String, topics: [String]) async throws -> [KafkaPartitionLag] {
        let client = self.client
        let timeout = timeoutMilliseconds
        var readerProperties = settings.properties
        readerProperties["group.id"] = groupID
        readerProperties["enable.auto.commit"] = "false"
        readerProperties.merge(settings.overrides) { _, override in override }
        let properties = readerProperties
        let logger = self.logger
        return try await thread.run {
            let handle = client.handle
            let partitions = try Self.metadata(handle, timeout: timeout)
                .filter { topics.contains($0.name) }
                .flatMap { topic in (0..<Int32(topic.partitionCount)).map { KafkaTopicPartition(topic: topic.name, partition: $0) } }
            // Committed offsets are read through a handle that carries the group's id; it never joins the group.
            let reader = try RDKafkaClient(kind: .consumer, properties: properties, callbacks: ClientCallbacks(logger: logger))
            defer { reader.destroy() }
            let list = TopicPartitionList.make(partitions)
            defer { rd_kafka_topic_partition_list_destroy(list) }
            let err = rd_kafka_committed(reader.handle, list, timeout)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError.client(err, "committed offsets of \(groupID)") }
            return try TopicPartitionList.elements(list).map { partition, committed, _ in
                var low: Int64 = 0
                var high: Int64 = 0
                let err = rd_kafka_query_watermark_offsets(reader.handle, partition.topic, partition.partition, &low, &high, timeout)
                if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError.client(err, "watermarks of \(partition)") }
                let position = committed >= 0 ? committed : nil
                return KafkaPartitionLag(topicPartition: partition, committedOffset: position,
                                         highWatermark: high, lag: high - (position ?? low))
            }
            .sorted { ($0.topicPartition.topic, $0.topicPartition.partition) < ($1.topicPartition.topic, $1.topicPartition.partition) }
        }
    }

    public func shutdown() {
        thread.shutdown()
        client.destroy()
    }

    static func metadata(_ handle: OpaquePointer, timeout: Int32) throws -> [KafkaTopicMetadata] {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let err = rd_kafka_metadata(handle, 1, nil, &metadata, timeout)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else { throw KafkaError.client(err, "metadata") }
        defer { rd_kafka_metadata_destroy(metadata) }
        let topics = UnsafeBufferPointer(start: metadata.pointee.topics, count: Int(metadata.pointee.topic_cnt))
        return topics.map { KafkaTopicMetadata(name: String(cString: $0.topic), partitionCount: Int($0.partition_cnt)) }
    }
}

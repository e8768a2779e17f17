import Foundation

/// One Kafka record header. Values are bytes; CloudEvents `ce_*` headers are UTF-8 strings.
public struct KafkaHeader: Sendable, Hashable {
    public var key: String
    /// The value as bytes; nil for a header without a value.
    public var value: [UInt8]? {
        get {
            switch content {
            case .bytes(let bytes): bytes
            case .text(let text): Array(text.utf8)
            case .none: nil
            }
        }
        set { content = newValue.map(Content.bytes) ?? .none }
    }

    /// A header made from text keeps the text: the hub's headers are text (CloudEvents attributes),
    /// and their bytes are read straight from it when the record is produced, with no array made
    /// per header of every record.
    private enum Content: Sendable {
        case bytes([UInt8])
        case text(String)
        case none
    }

    private var content: Content

    public init(key: String, value: [UInt8]?) {
        self.key = key
        content = value.map(Content.bytes) ?? .none
    }

    public init(key: String, string: String) {
        self.key = key
        content = .text(string)
    }

    public var stringValue: String? {
        switch content {
        case .bytes(let bytes): String(decoding: bytes, as: UTF8.self)
        case .text(let text): text
        case .none: nil
        }
    }

    /// Calls `body` with the value's bytes, or nil when there is no value.
    func withValueBytes<Result>(_ body: (UnsafeRawBufferPointer?) -> Result) -> Result {
        switch content {
        case .bytes(let bytes): return bytes.withUnsafeBytes { body($0) }
        case .text(var text): return text.withUTF8 { body(UnsafeRawBufferPointer($0)) }
        case .none: return body(nil)
        }
    }

    /// Equal when key and value bytes are, however each was made.
    public static func == (lhs: KafkaHeader, rhs: KafkaHeader) -> Bool { lhs.key == rhs.key && lhs.value == rhs.value }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(key)
        hasher.combine(value)
    }
}

public struct KafkaTopicPartition: Sendable, Hashable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32

    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public var description: String { "\(topic)[\(partition)]" }
}

/// Logical offsets librdkafka understands in an assignment.
public enum KafkaOffset {
    public static let beginning: Int64 = -2
    public static let end: Int64 = -1
    /// The group's committed offset, or `auto.offset.reset` when there is none.
    public static let stored: Int64 = -1000

    /// The last `count` records (fewer if the partition holds fewer).
    public static func tail(_ count: Int64) -> Int64 { -2000 - count }  // RD_KAFKA_OFFSET_TAIL

    /// The record count of a `tail` offset; nil for any other.
    public static func tailCount(of offset: Int64) -> Int64? { offset <= tail(0) ? tail(0) - offset : nil }
}

/// A position to commit: the offset of the *next* record to read, as Kafka counts.
public struct KafkaTopicPartitionOffset: Sendable, Hashable {
    public var topicPartition: KafkaTopicPartition
    public var offset: Int64

    public init(topic: String, partition: Int32, offset: Int64) {
        self.topicPartition = KafkaTopicPartition(topic: topic, partition: partition)
        self.offset = offset
    }
}

/// A record to produce. Without a partition, the key decides it (librdkafka's default partitioner),
/// so every record with one key (one chain case) stays in order.
public struct KafkaProducerMessage: Sendable {
    public var topic: String
    public var partition: Int32?
    public var key: [UInt8]?
    public var value: [UInt8]
    public var headers: [KafkaHeader]

    public init(topic: String, partition: Int32? = nil, key: [UInt8]? = nil, value: [UInt8], headers: [KafkaHeader] = []) {
        self.topic = topic
        self.partition = partition
        self.key = key
        self.value = value
        self.headers = headers
    }

    public init(topic: String, key: String?, value: String, headers: [KafkaHeader] = []) {
        self.init(topic: topic, key: key.map { Array($0.utf8) }, value: Array(value.utf8), headers: headers)
    }
}

/// The broker's acknowledgement of one produced record.
public struct KafkaDeliveryReport: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
}

/// A consumed record.
public struct KafkaConsumerMessage: Sendable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var key: [UInt8]?
    public var value: [UInt8]
    public var headers: [KafkaHeader]
    public var timestamp: Date?
    /// The assignment it was fetched under (`KafkaRebalanceListener.assigned` names it): once the partition is revoked, that one is over.
    public let assignmentGeneration: UInt64

    public var topicPartition: KafkaTopicPartition { KafkaTopicPartition(topic: topic, partition: partition) }
    public var keyString: String? { key.map { String(decoding: $0, as: UTF8.self) } }
    public var valueString: String { String(decoding: value, as: UTF8.self) }

    public func header(_ key: String) -> KafkaHeader? { headers.first { $0.key == key } }

    /// The position to commit once this record is processed.
    public var nextOffset: KafkaTopicPartitionOffset {
        KafkaTopicPartitionOffset(topic: topic, partition: partition, offset: offset + 1)
    }
}

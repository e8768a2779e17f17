import CanonicalEvents
import Foundation
import Kafka
import SharingPolicy

extension KafkaProducerMessage {
    /// A canonical event in the CloudEvents Kafka binding (binary mode).
    public init(topic: String, partition: Int32? = nil, cloudEvent record: CloudEventRecord) {
        self.init(topic: topic, partition: partition, key: Array(record.key.utf8), value: record.value,
                  headers: record.headers.map { KafkaHeader(key: $0.name, string: $0.value) })
    }

    /// A JSON document as a record value.
    public init(topic: String, partition: Int32? = nil, key: String, json: some Encodable, headers: [KafkaHeader] = []) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        self.init(topic: topic, partition: partition, key: Array(key.utf8), value: Array(try encoder.encode(json)), headers: headers)
    }
}

extension CloudEventRecord {
    public init(_ message: KafkaConsumerMessage) {
        self.init(key: message.keyString ?? "",
                  headers: message.headers.compactMap { header in header.stringValue.map { Header(name: header.key, value: $0) } },
                  value: message.value)
    }
}

/// Where a record came from: written next to derived state, so that a restarted router can tell
/// state of committed input from state of input it will process again.
public struct InputPosition: Codable, Sendable, Hashable {
    public var partition: Int32
    public var offset: Int64
}

/// A case-state record on the case-state topic.
struct CaseStateRecord: Codable {
    var state: CaseState
    var source: InputPosition
}

/// A consent-state record on the consent topic (`Contracts/records/consent-state.schema.json` plus its source).
struct ConsentStateRecord: Codable {
    var record: ConsentRecord
    var source: InputPosition
}

/// A record the router could not route (`Contracts/records/dead-letter.schema.json`); the Kafka headers
/// carry the origin topic, partition and offset, as Kafka Connect does.
public struct DeadLetter: Codable, Sendable {
    public struct Reason: Codable, Sendable, Hashable {
        public var location: String?
        public var reason: String

        public init(location: String?, reason: String) {
            self.location = location
            self.reason = reason
        }
    }

    public struct Original: Codable, Sendable {
        public var contentType: String
        public var base64: String
        public var sizeBytes: Int
    }

    public var deadLetterId: String
    public var receivedAt: String
    public var stage: String
    public var partner: String?
    public var reasons: [Reason]
    public var original: Original

    public static let originTopicHeader = "ketenhub.dlq.origin.topic"
    public static let originPartitionHeader = "ketenhub.dlq.origin.partition"
    public static let originOffsetHeader = "ketenhub.dlq.origin.offset"
}

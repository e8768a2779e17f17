import CanonicalEvents
import Foundation
import Kafka

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

/// A record that could not be taken in, routed or delivered (`Contracts/records/dead-letter.schema.json`),
/// with its original bytes and every reason. On records read from a topic the Kafka headers carry the
/// origin topic, partition and offset, as Kafka Connect does.
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
        /// The message's size; for a message refused unread (too large) the size it announced.
        public var sizeBytes: Int

        public init(contentType: String, bytes: [UInt8]) {
            self.contentType = contentType
            base64 = Data(bytes).base64EncodedString()
            sizeBytes = bytes.count
        }
    }

    public var deadLetterId: String
    public var receivedAt: String
    public var stage: String
    public var partner: String?
    public var reasons: [Reason]
    public var original: Original

    public init(deadLetterId: String, receivedAt: String, stage: String, partner: String?, reasons: [Reason], original: Original) {
        self.deadLetterId = deadLetterId
        self.receivedAt = receivedAt
        self.stage = stage
        self.partner = partner
        self.reasons = reasons
        self.original = original
    }

    public static let originTopicHeader = "ketenhub.dlq.origin.topic"
    public static let originPartitionHeader = "ketenhub.dlq.origin.partition"
    public static let originOffsetHeader = "ketenhub.dlq.origin.offset"
    /// On dead letters of partner messages: the transport they came by (`http`, `directory`).
    public static let originTransportHeader = "ketenhub.dlq.origin.transport"
}

/// An operator's replay of a dead letter or a delivery (`Contracts/records/replay.schema.json`).
public struct ReplayRecord: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable { case deadLetter = "dead-letter", delivery }
    public enum Outcome: String, Codable, Sendable { case accepted, rejected, queued }

    public var replayId: String
    public var kind: Kind
    public var target: String
    public var requestedBy: String
    public var at: String
    public var outcome: Outcome
    public var detail: String?

    public init(replayId: String, kind: Kind, target: String, requestedBy: String, at: String, outcome: Outcome, detail: String? = nil) {
        self.replayId = replayId
        self.kind = kind
        self.target = target
        self.requestedBy = requestedBy
        self.at = at
        self.outcome = outcome
        self.detail = detail
    }
}

/// What an SLA clock raises (`Contracts/records/alert.schema.json`): written by the SLA monitor, read
/// by the ledger and the metrics.
public struct SLAAlert: Sendable, Codable, Equatable {
    public enum Severity: String, Sendable, Codable, CaseIterable { case warning, breach, escalation }

    public var alertId: String
    public var clock: String
    public var severity: Severity
    public var ketencaseid: String
    public var eventId: String?
    public var organisation: String?
    public var raisedAt: String
    public var dueAt: String?
    public var message: String

    public init(alertId: String, clock: String, severity: Severity, ketencaseid: String, eventId: String? = nil, organisation: String? = nil,
                raisedAt: String, dueAt: String? = nil, message: String) {
        self.alertId = alertId
        self.clock = clock
        self.severity = severity
        self.ketencaseid = ketencaseid
        self.eventId = eventId
        self.organisation = organisation
        self.raisedAt = raisedAt
        self.dueAt = dueAt
        self.message = message
    }
}

/// One organisation's own reference registered to a chain case (`Contracts/records/reference-registration.schema.json`),
/// on the compacted references topic keyed by organisation and reference: written by the gateway
/// when a message opens a case with its reference or joins one, read by every gateway node (to
/// resolve references) and by the ledger (to show which reference each partner has for a case).
public struct ReferenceRegistration: Codable, Sendable, Equatable {
    public enum How: String, Codable, Sendable {
        /// The reference matched no case and an opening rule let the message open one.
        case opened
        /// The message carried the chain case id together with the reference: the reference joins that case.
        case joined
    }

    public var organisation: String
    public var reference: String
    public var ketencaseid: String
    public var how: How
    /// The opening rule (`chain-cases.yaml`) a case was opened under.
    public var rule: String?
    /// The record that registered it: its event id and type.
    public var eventId: String
    public var eventType: String
    public var registeredAt: String

    public init(organisation: String, reference: String, ketencaseid: String, how: How, rule: String? = nil, eventId: String,
                eventType: String, registeredAt: String) {
        self.organisation = organisation
        self.reference = reference
        self.ketencaseid = ketencaseid
        self.how = how
        self.rule = rule
        self.eventId = eventId
        self.eventType = eventType
        self.registeredAt = registeredAt
    }

    /// The record's key: one registration per organisation and reference.
    public var key: String { Self.key(organisation: organisation, reference: reference) }
    public static func key(organisation: String, reference: String) -> String { "\(organisation)\n\(reference)" }
}

/// A step in the life of a link between two chain cases (`Contracts/records/case-link.schema.json`),
/// on the case-links topic keyed by link id: a link made by a rule at once, or proposed by one
/// operator and confirmed by a second, and undone by an operator.
public struct CaseLinkRecord: Codable, Sendable, Equatable {
    public enum Action: String, Codable, Sendable, CaseIterable { case proposed, linked, unlinked }

    /// `lnk-` and a digest of the two cases (sorted) and the rule: the same pair under the same rule is one link.
    public var linkId: String
    /// The two chain cases, sorted.
    public var cases: [String]
    /// The linking rule (`chain-cases.yaml`) the two cases meet.
    public var rule: String
    public var action: Action
    /// Who took the step: an operator's name, or `hub` for a rule's automatic link.
    public var by: String
    public var at: String
    public var reason: String?

    /// The link id of two cases under a rule: FNV-1a (64 bits) of the sorted cases and the rule, so
    /// that every node, and a rule applied twice, names the same link alike.
    public static func linkId(cases: [String], rule: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in (cases.sorted() + [rule]).joined(separator: "\n").utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return "lnk-" + String(repeating: "0", count: 16 - hex.count) + hex
    }

    public init(linkId: String, cases: [String], rule: String, action: Action, by: String, at: String, reason: String? = nil) {
        self.linkId = linkId
        self.cases = cases
        self.rule = rule
        self.action = action
        self.by = by
        self.at = at
        self.reason = reason
    }
}

import CanonicalEvents
import Crypto
import Foundation
import HubTopology
import SharingPolicy

/// One routing decision as recorded on the audit topic (`Contracts/records/decision-record.schema.json`).
public struct DecisionRecord: Codable, Sendable, Hashable {
    public var decisionId: String
    public var eventId: String
    public var eventSource: String
    public var eventType: String
    public var ketencaseid: String
    public var recipient: String
    public var outcome: Decision.Outcome
    public var ruleId: String?
    public var legalBasis: String?
    public var purpose: String?
    public var disclosure: Disclosure?
    public var fields: [String]
    public var considered: [Decision.Consideration]
    /// For a deny: why, in one line (each considered rule says why it did not apply).
    public var reason: String?
    public var matrixVersion: String
    public var decidedAt: String
    /// For a permit: SHA-256 (hex) of the delivery's record value, what the recipient was sent.
    public var payloadDigest: String?
    /// What the decision rested on (see `Decision`): the consent records used, the case attributes
    /// tested, where the region came from, whether the basis is confirmed, the hold a release ends,
    /// and for a permit the persons whose ids the delivery discloses.
    public var consent: [ConsentEvidence]?
    public var caseFacts: [String: String]?
    public var region: String?
    public var legalBasisConfirmed: Bool?
    public var releases: String?
    public var disclosedPersons: [String]?
    public var sequence: Int
    public var previousHash: String
    public var hash: String

    init(_ decision: Decision, event: CloudEvent, decidedAt: String, payloadDigest: String? = nil) {
        decisionId = decision.decisionId
        eventId = event.id
        eventSource = event.source
        eventType = event.type
        ketencaseid = event.ketencaseid
        recipient = decision.recipient
        outcome = decision.outcome
        ruleId = decision.ruleId
        legalBasis = decision.legalBasis
        purpose = decision.purpose
        disclosure = decision.disclosure
        fields = decision.fields
        considered = decision.considered
        reason = decision.reason
        matrixVersion = decision.matrixVersion
        self.decidedAt = decidedAt
        self.payloadDigest = payloadDigest
        consent = decision.consent
        caseFacts = decision.caseFacts
        region = decision.region
        legalBasisConfirmed = decision.legalBasisConfirmed
        releases = decision.releases
        disclosedPersons = decision.disclosedPersons
        sequence = 0
        previousHash = AuditChain.genesis
        hash = ""
    }

    /// SHA-256 over the record's canonical JSON (sorted keys, compact) without `hash`.
    public var computedHash: String { Self.hash(of: canonicalJSONWithoutHash().bytes) }

    static func hash(of bytes: [UInt8]) -> String { SHA256.hash(data: bytes).withUnsafeBytes { $0.hexString } }

    /// The digest a permit's record carries of its delivery's record value.
    public static func payloadDigest(of value: [UInt8]) -> String { hash(of: value) }

    /// The record's canonical JSON, the bytes `json.encoded()` gives, written member by member in
    /// sorted key order: it is written (and hashed) for every decision of every event.
    public func canonicalJSON(includingHash: Bool) -> [UInt8] {
        let (bytes, position) = canonicalJSONWithoutHash()
        return includingHash ? Self.inserting(hash: hash, into: bytes, at: position) : bytes
    }

    /// The JSON with `"hash":"..."` put where sorted keys place it (the hash is hex, nothing to
    /// escape), in one array of the exact size, its parts copied in whole.
    static func inserting(hash: String, into bytes: [UInt8], at position: Int) -> [UInt8] {
        let opening: StaticString = ",\"hash\":\""
        var hash = hash
        return hash.withUTF8 { hash in
            opening.withUTF8Buffer { opening in
                bytes.withUnsafeBufferPointer { record in
                    [UInt8](unsafeUninitializedCapacity: record.count + opening.count + hash.count + 1) { buffer, count in
                        count = 0
                        func put(_ part: UnsafeBufferPointer<UInt8>) {
                            guard let base = part.baseAddress else { return }
                            (buffer.baseAddress! + count).initialize(from: base, count: part.count)
                            count += part.count
                        }
                        put(UnsafeBufferPointer(rebasing: record[..<position]))
                        put(opening)
                        put(hash)
                        buffer[count] = UInt8(ascii: "\"")
                        count += 1
                        put(UnsafeBufferPointer(rebasing: record[position...]))
                    }
                }
            }
        }
    }

    /// The canonical JSON without `hash`, and the position where `hash` belongs (right after `fields`,
    /// which always precedes it in key order, as `ketencaseid` always follows it): the chain writes
    /// each record once and hashes those bytes, instead of writing it twice.
    func canonicalJSONWithoutHash() -> (bytes: [UInt8], hashPosition: Int) {
        var writer = JSONWriter(capacity: 2048)
        let position = writeCanonicalJSONWithoutHash(into: &writer)
        return (writer.bytes, position)
    }

    /// Writes the canonical JSON without `hash` into `writer` (emptied first); returns where `hash` belongs.
    func writeCanonicalJSONWithoutHash(into writer: inout JSONWriter) -> Int {
        writer.removeAll()
        writer.beginObject()
        if let caseFacts {
            writer.key("caseFacts")
            writer.beginObject()
            for (name, value) in caseFacts.sorted(by: { $0.key < $1.key }) { writer.member(name, value) }
            writer.endObject()
        }
        if let consent {
            writer.key("consent")
            writer.beginArray()
            for evidence in consent {
                writer.beginObject()
                writer.member("eventId", evidence.eventId)
                writer.member("kind", evidence.kind)
                writer.member("person", evidence.person)
                writer.member("recordedAt", evidence.recordedAt)
                writer.member("recordedBy", evidence.recordedBy)
                writer.member("scope", evidence.scope)
                writer.member("status", evidence.status)
                writer.member("withdrawn", evidence.withdrawn)
                writer.endObject()
            }
            writer.endArray()
        }
        writer.key("considered")
        writer.beginArray()
        for consideration in considered {
            writer.beginObject()
            writer.member("applied", consideration.applied)
            writer.member("reason", consideration.reason)
            writer.member("ruleId", consideration.ruleId)
            writer.endObject()
        }
        writer.endArray()
        writer.member("decidedAt", decidedAt)
        writer.member("decisionId", decisionId)
        writer.member("disclosedPersons", disclosedPersons)
        writer.member("disclosure", disclosure?.rawValue)
        writer.member("eventId", eventId)
        writer.member("eventSource", eventSource)
        writer.member("eventType", eventType)
        writer.member("fields", fields)
        let hashPosition = writer.bytes.count
        writer.member("ketencaseid", ketencaseid)
        writer.member("legalBasis", legalBasis)
        writer.member("legalBasisConfirmed", legalBasisConfirmed)
        writer.member("matrixVersion", matrixVersion)
        writer.member("outcome", outcome.rawValue)
        writer.member("payloadDigest", payloadDigest)
        writer.member("previousHash", previousHash)
        writer.member("purpose", purpose)
        writer.member("reason", reason)
        writer.member("recipient", recipient)
        writer.member("region", region)
        writer.member("releases", releases)
        writer.member("ruleId", ruleId)
        writer.key("sequence")
        writer.number(Double(sequence))
        writer.endObject()
        return hashPosition
    }

    /// The record as a JSON value (its `Codable` form reads it back).
    public var json: JSONValue {
        var members: [String: JSONValue] = [
            "decisionId": .string(decisionId), "eventId": .string(eventId), "eventSource": .string(eventSource),
            "eventType": .string(eventType), "ketencaseid": .string(ketencaseid), "recipient": .string(recipient),
            "outcome": .string(outcome.rawValue), "fields": .array(fields.map(JSONValue.string)),
            "considered": .array(considered.map { consideration in
                var entry: [String: JSONValue] = ["ruleId": .string(consideration.ruleId), "applied": .bool(consideration.applied)]
                if let reason = consideration.reason { entry["reason"] = .string(reason) }
                return .object(entry)
            }),
            "matrixVersion": .string(matrixVersion), "decidedAt": .string(decidedAt), "sequence": .number(Double(sequence)),
            "previousHash": .string(previousHash), "hash": .string(hash),
        ]
        if let ruleId { members["ruleId"] = .string(ruleId) }
        if let legalBasis { members["legalBasis"] = .string(legalBasis) }
        if let purpose { members["purpose"] = .string(purpose) }
        if let disclosure { members["disclosure"] = .string(disclosure.rawValue) }
        if let payloadDigest { members["payloadDigest"] = .string(payloadDigest) }
        if let reason { members["reason"] = .string(reason) }
        if let consent, let value = try? JSONValue(encoding: consent) { members["consent"] = value }
        if let caseFacts { members["caseFacts"] = .object(caseFacts.mapValues(JSONValue.string)) }
        if let region { members["region"] = .string(region) }
        if let legalBasisConfirmed { members["legalBasisConfirmed"] = .bool(legalBasisConfirmed) }
        if let releases { members["releases"] = .string(releases) }
        if let disclosedPersons { members["disclosedPersons"] = .array(disclosedPersons.map(JSONValue.string)) }
        return .object(members)
    }
}

/// The hash chain of one audit partition. Decisions already in the chain (found there at start, for
/// example written by a transaction whose producer was killed) are not chained again, so that a
/// restarted router extends the chain instead of forking it.
public struct AuditChain: Sendable {
    public static let genesis = String(repeating: "0", count: 64)

    public private(set) var sequence = 0
    public private(set) var head = AuditChain.genesis

    public init() {}

    /// Links `record` to the head and makes it the new head; returns it with its JSON as written.
    @discardableResult
    public mutating func append(_ record: DecisionRecord) -> (record: DecisionRecord, json: [UInt8]) {
        var linked = record
        let json = append(&linked)
        return (linked, json)
    }

    /// Links `record` to the head, in place (a copy of a record costs a retain and a release per
    /// field), and makes it the new head; returns its JSON as written.
    public mutating func append(_ record: inout DecisionRecord) -> [UInt8] {
        var writer = JSONWriter(capacity: 2048)
        return append(&record, using: &writer)
    }

    /// The same, written in `writer`'s buffer: a batch's records share one buffer, and each record's
    /// JSON is one array of its exact size (allocating and growing a buffer for every record, of
    /// every decision, was a fifth of writing them).
    public mutating func append(_ record: inout DecisionRecord, using writer: inout JSONWriter) -> [UInt8] {
        sequence += 1
        record.sequence = sequence
        record.previousHash = head
        let position = record.writeCanonicalJSONWithoutHash(into: &writer)
        record.hash = DecisionRecord.hash(of: writer.bytes)
        head = record.hash
        return DecisionRecord.inserting(hash: record.hash, into: writer.bytes, at: position)
    }

    /// Adopts a record read back from the topic as the head.
    mutating func adopt(_ record: DecisionRecord) {
        sequence = record.sequence
        head = record.hash
    }

    /// A chain standing at `sequence` and `head` (a checkpoint's).
    init(sequence: Int, head: String) {
        self.sequence = sequence
        self.head = head
    }
}

/// Checks audit partitions: after removing duplicates of one decision id (identical records a
/// retried write may leave), every record must link to the one before it and hash to its own hash.
public enum AuditChainVerifier {
    public struct Problem: Sendable, Hashable, CustomStringConvertible {
        public var partition: Int32
        public var sequence: Int
        public var reason: String
        public var description: String { "audit partition \(partition), record \(sequence): \(reason)" }
    }

    /// The records of one partition in topic order, without duplicate decision ids.
    public static func deduplicated(_ records: [DecisionRecord]) -> (records: [DecisionRecord], conflicting: [DecisionRecord]) {
        var seen: [String: DecisionRecord] = [:]
        var unique: [DecisionRecord] = []
        var conflicting: [DecisionRecord] = []
        for record in records {
            if let earlier = seen[record.decisionId] {
                if earlier != record { conflicting.append(record) }
                continue
            }
            seen[record.decisionId] = record
            unique.append(record)
        }
        return (unique, conflicting)
    }

    /// What `ketenhub audit verify` reports: the decisions verified in each chain (audit partition),
    /// and the problems, in chain order.
    public struct Report: Sendable {
        public var verified: [Int32: Int]
        public var problems: [Problem]
    }

    /// Reads an audit topic and verifies every chain on it. Only a chain's end cannot be checked
    /// from the topic alone: records removed from the end leave a shorter chain that verifies.
    public static func verify(topic: String, bootstrapServers: String) async throws -> Report {
        let partitions = try await TopicReader(bootstrapServers: bootstrapServers).readAll(topic)
        var report = Report(verified: [:], problems: [])
        let decoder = JSONDecoder()
        for (partition, messages) in partitions.sorted(by: { $0.key < $1.key }) {
            var records: [DecisionRecord] = []
            for message in messages {
                guard let record = try? decoder.decode(DecisionRecord.self, from: Data(message.value)) else {
                    report.problems.append(Problem(partition: partition, sequence: records.count + 1,
                                                   reason: "the record at offset \(message.offset) is not a decision record"))
                    continue
                }
                records.append(record)
            }
            let problems = verify(partition: partition, records)
            report.problems += problems
            report.verified[partition] = problems.isEmpty ? deduplicated(records).records.count : 0
        }
        return report
    }

    /// The head of a chain read back (the last of its records, after duplicates): hashes to its own
    /// hash and links to the record before it. What a router checks before it extends the chain.
    /// `start` is where the chain stands before the first record given (a router reads only the end
    /// of a chain back: the records after its partition's checkpoint).
    public static func verifyHead(partition: Int32, _ unique: [DecisionRecord],
                                  after start: (sequence: Int, hash: String) = (0, AuditChain.genesis)) -> Problem? {
        guard let head = unique.last else { return nil }
        let before = unique.dropLast().last.map { ($0.sequence, $0.hash) } ?? start
        if head.computedHash != head.hash {
            return Problem(partition: partition, sequence: head.sequence, reason: "the chain's head does not match its hash (altered)")
        }
        if head.previousHash != before.1 || head.sequence != before.0 + 1 {
            return Problem(partition: partition, sequence: head.sequence, reason: "the chain's head does not link to the record before it")
        }
        return nil
    }

    public static func verify(partition: Int32, _ records: [DecisionRecord]) -> [Problem] {
        let (unique, conflicting) = deduplicated(records)
        var problems = conflicting.map { Problem(partition: partition, sequence: $0.sequence, reason: "decision \($0.decisionId) recorded twice with different content") }
        var previous = AuditChain.genesis
        var expected = 1
        for record in unique {
            if record.sequence != expected {
                problems.append(Problem(partition: partition, sequence: record.sequence, reason: "expected record \(expected): a record is missing or out of place"))
            }
            if record.previousHash != previous {
                problems.append(Problem(partition: partition, sequence: record.sequence, reason: "does not link to the record before it"))
            }
            if record.computedHash != record.hash {
                problems.append(Problem(partition: partition, sequence: record.sequence, reason: "its content does not match its hash (altered)"))
            }
            previous = record.hash
            expected = record.sequence + 1
        }
        return problems
    }
}

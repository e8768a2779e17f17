import CanonicalEvents
import Foundation
import Kafka
import SharingPolicy

/// Where a record came from: written next to derived state, so that a restarted router can tell
/// state of committed input from state of input it will process again.
public struct InputPosition: Codable, Sendable, Hashable {
    public var partition: Int32
    public var offset: Int64
}

/// A case-state record on the case-state topic (`Contracts/records/case-state.schema.json`).
struct CaseStateRecord: Codable, Equatable {
    var state: CaseState
    var source: InputPosition

    /// The record's JSON, keys sorted, sets in order. Written by hand, not by `JSONEncoder`: the
    /// router writes one for every case each batch touches.
    var json: [UInt8] {
        var writer = JSONWriter(capacity: 256)
        writer.beginObject()
        source.write(into: &writer)
        writer.key("state")
        writer.beginObject()
        writer.member("caseId", state.caseId)
        writer.member("childrenInvolved", state.childrenInvolved)
        if !state.held.isEmpty {
            writer.key("held")
            writer.beginArray()
            for held in state.held {
                writer.beginObject()
                writer.key("event")
                writer.raw(held.event.structured.encodedBytes())
                writer.key("holds")
                writer.beginObject()
                for (recipient, decision) in held.holds.sorted(by: { $0.key < $1.key }) { writer.member(recipient, decision) }
                writer.endObject()
                writer.member("recipients", held.recipients)
                writer.key("size")
                writer.number(Double(held.size))
                writer.endObject()
            }
            writer.endArray()
        }
        writer.member("municipality", state.municipality)
        if !state.receivedUnderConsent.isEmpty {
            writer.key("receivedUnderConsent")
            writer.beginObject()
            for (person, recipients) in state.receivedUnderConsent.sorted(by: { $0.key < $1.key }) { writer.member(person, recipients.sorted()) }
            writer.endObject()
        }
        if let rank = state.regionRank {
            writer.key("regionRank")
            writer.number(Double(rank))
        }
        writer.member("regionSource", state.regionSource)
        writer.key("routed")
        writer.beginObject()
        for (key, day) in state.routed.sorted(by: { $0.key < $1.key }) { writer.member(key, day) }
        writer.endObject()
        writer.member("suspectMinor", state.suspectMinor)
        writer.member("suspects", state.suspects.sorted())
        writer.member("victims", state.victims.sorted())
        writer.endObject()
        writer.endObject()
        return writer.bytes
    }
}

/// A consent-state record on the consent topic (`Contracts/records/consent-state.schema.json` plus its source).
struct ConsentStateRecord: Codable, Equatable {
    var record: ConsentRecord
    var source: InputPosition

    /// The record's JSON, keys sorted (see `CaseStateRecord.json`).
    var json: [UInt8] {
        var writer = JSONWriter(capacity: 256)
        writer.beginObject()
        writer.key("record")
        writer.beginObject()
        writer.member("consentToShare", record.consentToShare)
        writer.member("ketencaseid", record.ketencaseid)
        writer.member("kind", record.kind.rawValue)
        writer.member("person", record.person)
        writer.member("recordedBy", record.recordedBy)
        writer.member("scope", record.scope)
        writer.member("sourceEventId", record.sourceEventId)
        writer.member("status", record.status)
        writer.member("topics", record.topics)
        writer.member("updatedAt", record.updatedAt)
        writer.endObject()
        source.write(into: &writer)
        writer.endObject()
        return writer.bytes
    }
}

extension InputPosition {
    fileprivate func write(into writer: inout JSONWriter) {
        writer.key("source")
        writer.beginObject()
        writer.key("offset")
        writer.number(Double(offset))
        writer.key("partition")
        writer.number(Double(partition))
        writer.endObject()
    }
}

/// Where a partition's router stood after a transaction that committed its input position
/// (`Contracts/records/router-checkpoint.schema.json`), on the checkpoint topic's partition of the
/// same number. The partition's next router reads the newest one its committed position allows and
/// then only what was written after it: the start-up work is bounded by the partition's live state,
/// not by its history.
struct RouterCheckpoint: Codable, Equatable {
    /// The input position committed with it: the next offset to route.
    var input: Int64
    /// Every decision on input at or past `input` is at or past `audit.offset`, where the chain
    /// stands at `audit.sequence` and `audit.hash`.
    var audit: AuditPosition
    /// Where the newest complete snapshot of the partition's case (and consent) state begins: every
    /// case's latest state as of `input` is at or past it.
    var cases: Int64
    var consents: Int64

    struct AuditPosition: Codable, Equatable {
        var offset: Int64
        var sequence: Int
        var hash: String
    }

    /// Before the first transaction: nothing to skip.
    static let origin = RouterCheckpoint(input: 0, audit: AuditPosition(offset: 0, sequence: 0, hash: AuditChain.genesis), cases: 0, consents: 0)
}

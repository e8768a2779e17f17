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
        writer.strings("routed", state.routed.sorted())
        if let minor = state.suspectMinor {
            writer.key("suspectMinor")
            writer.bool(minor)
        }
        writer.member("veiligThuis", state.veiligThuis)
        writer.strings("victims", state.victims.sorted())
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
        if let share = record.consentToShare {
            writer.key("consentToShare")
            writer.bool(share)
        }
        writer.member("person", record.person)
        writer.member("sourceEventId", record.sourceEventId)
        writer.member("status", record.status)
        if let topics = record.topics { writer.strings("topics", topics) }
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

extension JSONWriter {
    fileprivate mutating func strings(_ name: String, _ values: [String]) {
        key(name)
        beginArray()
        for value in values { string(value) }
        endArray()
    }
}

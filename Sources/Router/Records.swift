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

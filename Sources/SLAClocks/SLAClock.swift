import Foundation
import Yams

/// One SLA clock, as data (`Contracts/sla/clocks.yaml`): the kind says what it watches, the rest
/// when it fires.
public struct SLAClock: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable {
        /// Each listed recipient that the event was delivered to must acknowledge it within `minutes` of its acceptance.
        case acknowledgedWithin = "acknowledged-within"
        /// Each listed recipient must have the delivery within `minutes` of the event's acceptance.
        case deliveredWithin = "delivered-within"
        /// The event must be followed, in its case, by `followedBy` (warning after `warnMinutes`, breach after `breachMinutes` from the event's time).
        case followedBy = "followed-by"
        /// `notify` is warned `daysBefore` the date in `dateField` of the latest version (by `keyField`), unless it ended.
        case dateApproaching = "date-approaching"
        /// A delivery not acknowledged within `minutes` of being delivered is escalated.
        case unacknowledged
        /// Each listed recipient must have the delivery before the moment in `dateField` (a release
        /// known only after it happened is of no use to the victim's protection).
        case deliveredBefore = "delivered-before"
        /// A delivery held for a fact of its case (the suspect's age, the victim's address) warns
        /// at once and breaches after `breachMinutes`, until a partner states the fact.
        case held
    }

    public var id: String
    public var description: String
    public var kind: Kind
    public var event: String?
    public var recipients: [String]?
    public var minutes: Int?
    public var followedBy: String?
    public var warnMinutes: Int?
    public var breachMinutes: Int?
    public var dateField: String?
    public var keyField: String?
    public var endedField: String?
    public var endedValues: [String]?
    public var notify: String?
    public var daysBefore: Int?

    /// The event data fields the ledger must keep for this clock.
    public var fields: [String] { [dateField, keyField, endedField].compactMap { $0 } }

    public static func load(_ file: URL) throws -> [SLAClock] {
        struct File: Decodable { var clocks: [SLAClock] }
        return try YAMLDecoder().decode(File.self, from: String(decoding: try Data(contentsOf: file), as: UTF8.self)).clocks
    }
}

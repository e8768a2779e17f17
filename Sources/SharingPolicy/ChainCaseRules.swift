import CanonicalEvents
import Crypto
import Foundation

/// The privacy officers' rules for chain cases (`chain-cases.yaml`): which partner messages may open
/// a new chain case when their reference matches none, and when two chain cases are linked. A
/// message whose reference matches no case and that no opening rule covers is refused: the hub
/// never guesses which case a fact belongs to.
public struct ChainCaseRules: Sendable, Hashable {
    /// Messages of this kind from an organisation of this type may open a chain case.
    public struct Opening: Sendable, Hashable {
        public var id: String
        public var organisationType: String
        public var events: Set<String>
        public var says: String
    }

    /// Two chain cases in which the same pseudonymous person appears in this role are linked:
    /// at once by the hub (`automatic`), or only when one operator proposes and a second confirms
    /// (`four-eyes`). A link tells the organisations' operators that the cases belong together; it
    /// changes no routing (each case keeps its own consent, region and recipients).
    public struct Linking: Sendable, Hashable {
        public enum Decision: String, Sendable, Hashable, CaseIterable {
            case automatic
            case fourEyes = "four-eyes"
        }
        public var id: String
        public var role: PersonRole
        public var decision: Decision
        public var says: String
    }

    public var opening: [Opening] = []
    public var linking: [Linking] = []

    public init(opening: [Opening] = [], linking: [Linking] = []) {
        self.opening = opening
        self.linking = linking
    }

    /// The rule that lets an organisation of this type open a case with this event, if any.
    public func openingRule(organisationType: String, event: String) -> Opening? {
        opening.first { $0.organisationType == organisationType && $0.events.contains(event) }
    }
}

/// Chain case ids the hub gives.
public enum ChainCaseId {
    /// The id of the case an organisation's reference opens: derived from the organisation, the
    /// reference and the year of the opening record, so that two gateway nodes opening the same
    /// reference at once give it the same case. `attempt` counts up past an id already taken by
    /// another reference (six characters of base 36 collide among tens of thousands of cases a year).
    public static func opened(by organisation: String, reference: String, year: Int, attempt: Int = 0) -> String {
        let digest = SHA256.hash(data: Data("\(organisation)\n\(reference)\n\(attempt)".utf8))
        let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
        let suffix = digest.prefix(6).map { alphabet[Int($0) % alphabet.count] }
        return String(format: "KZ-%04d-", year) + String(suffix)
    }
}

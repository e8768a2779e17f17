import CanonicalEvents
import Crypto
import Foundation

/// The outcome for one candidate recipient of one event.
public struct Decision: Codable, Sendable, Hashable {
    public enum Outcome: String, Codable, Sendable { case permit, deny }

    /// One rule looked at, and why it did not apply.
    public struct Consideration: Codable, Sendable, Hashable {
        public var ruleId: String
        public var applied: Bool
        public var reason: String?

        public init(ruleId: String, applied: Bool, reason: String?) {
            self.ruleId = ruleId
            self.applied = applied
            self.reason = reason
        }
    }

    public var decisionId: String
    public var recipient: String
    public var outcome: Outcome
    public var ruleId: String?
    public var legalBasis: String?
    public var purpose: String?
    public var disclosure: Disclosure?
    public var fields: [String]
    public var considered: [Consideration]
    /// For a deny: why, in one line.
    public var reason: String?
    public var matrixVersion: String
}

/// Applies a sharing matrix to events: deny by default, deterministic, every decision explained.
public struct PolicyEvaluator: Sendable {
    public let matrix: SharingMatrix
    /// Rules by event type, baseline and per region, for quick lookup.
    private let baselineByEvent: [String: [SharingRule]]
    private let regionalByEvent: [String: [String: [SharingRule]]]

    public init(matrix: SharingMatrix) {
        self.matrix = matrix
        baselineByEvent = Self.index(matrix.baseline)
        regionalByEvent = matrix.regional.mapValues(Self.index)
    }

    private static func index(_ rules: [SharingRule]) -> [String: [SharingRule]] {
        var byEvent: [String: [SharingRule]] = [:]
        for rule in rules { for event in rule.events { byEvent[event, default: []].append(rule) } }
        return byEvent
    }

    /// One decision per candidate recipient: every organisation type, the regional ones resolved to
    /// the case's organisation, except the producer itself.
    public func evaluate(_ event: CloudEvent, case caseState: CaseState, consent: ConsentState) -> [Decision] {
        let eventName = Self.eventName(of: event.type)
        let producerCode = event.producer ?? ""
        let producerType = matrix.organisations.type(of: producerCode)
        var decisions: [Decision] = []
        for type in matrix.organisations.types {
            let recipient: String?
            if type.regional {
                recipient = caseState.veiligThuis
            } else {
                recipient = matrix.organisations.organisations.first { $0.type == type.type }?.code
            }
            guard let recipient else {
                decisions.append(deny(event, recipient: type.type, considered: [],
                                      reason: "no \(type.name) organisation is known for this case's region"))
                continue
            }
            if recipient == producerCode { continue }
            decisions.append(decide(event, eventName: eventName, producerType: producerType, recipient: recipient,
                                    recipientType: type.type, caseState: caseState, consent: consent))
        }
        return decisions
    }

    private func decide(_ event: CloudEvent, eventName: String, producerType: String?, recipient: String, recipientType: String,
                        caseState: CaseState, consent: ConsentState) -> Decision {
        guard let producerType else {
            return deny(event, recipient: recipient, considered: [], reason: "unknown producer '\(event.source)'")
        }
        let addressed = { (rule: SharingRule) in rule.recipient == recipient || rule.recipient == recipientType }
        // A regional rule set replaces the baseline for the event and recipient it covers.
        let region = caseState.veiligThuis.flatMap { matrix.organisations.organisation($0)?.region }
        let regional = region.flatMap { regionalByEvent[$0]?[eventName] }?.filter(addressed) ?? []
        let candidates = regional.isEmpty ? (baselineByEvent[eventName] ?? []).filter(addressed) : regional

        var considered: [Decision.Consideration] = []
        var permitting: [SharingRule] = []
        for rule in candidates {
            if let reason = whyNot(rule, event: event, eventName: eventName, producerType: producerType, caseState: caseState, consent: consent) {
                considered.append(.init(ruleId: rule.id, applied: false, reason: reason))
            } else {
                permitting.append(rule)
            }
        }
        guard let chosen = permitting.max(by: { ($0.disclosure, $1.id) < ($1.disclosure, $0.id) }) else {
            let reason = candidates.isEmpty ? "no rule shares \(eventName) with \(recipientType)" : "no rule applies"
            return deny(event, recipient: recipient, considered: considered, reason: reason)
        }
        for rule in permitting {
            considered.append(.init(ruleId: rule.id, applied: rule.id == chosen.id,
                                    reason: rule.id == chosen.id ? nil : "rule \(chosen.id) discloses more"))
        }
        return Decision(decisionId: decisionID(event, recipient), recipient: recipient, outcome: .permit, ruleId: chosen.id,
                        legalBasis: chosen.legalBasis, purpose: chosen.purpose, disclosure: chosen.disclosure,
                        fields: chosen.fields, considered: considered.sorted { $0.ruleId < $1.ruleId }, reason: nil,
                        matrixVersion: matrix.version)
    }

    /// Nil when the rule applies, otherwise the reason it does not.
    private func whyNot(_ rule: SharingRule, event: CloudEvent, eventName: String, producerType: String, caseState: CaseState,
                        consent: ConsentState) -> String? {
        if !rule.producers.isEmpty && !rule.producers.contains(producerType) && !rule.producers.contains(event.producer ?? "") {
            return "producer \(event.producer ?? "?") is not one of \(rule.producers.joined(separator: ", "))"
        }
        let day = String(event.time.prefix(10))
        if let from = rule.validFrom, day < from { return "not valid before \(from)" }
        if let until = rule.validUntil, day > until { return "not valid after \(until)" }
        for (attribute, expected) in rule.conditions.caseAttributes.sorted(by: { $0.key < $1.key })
            where caseState.attribute(attribute) != expected {
            return "case attribute \(attribute) is not \(expected)"
        }
        for (pointer, expected) in rule.conditions.eventFields.sorted(by: { $0.key < $1.key })
            where event.value(at: JSONPointer(pointer)) != expected {
            return "event field \(pointer) is not \(expected.rendered)"
        }
        if let required = rule.conditions.consent,
           !consent.satisfies(required, victims: caseState.victims, eventName: eventName) {
            return required == .victimInformed ? "no victim asked to be informed of \(eventName)" : "consent of the victim missing"
        }
        return nil
    }

    private func deny(_ event: CloudEvent, recipient: String, considered: [Decision.Consideration], reason: String) -> Decision {
        Decision(decisionId: decisionID(event, recipient), recipient: recipient, outcome: .deny, ruleId: nil, legalBasis: nil,
                 purpose: nil, disclosure: nil, fields: [], considered: considered.sorted { $0.ruleId < $1.ruleId },
                 reason: reason, matrixVersion: matrix.version)
    }

    /// Deterministic: the same event, recipient and matrix always give the same id.
    private func decisionID(_ event: CloudEvent, _ recipient: String) -> String {
        let digest = SHA256.hash(data: Data("\(event.source)\n\(event.id)\n\(recipient)\n\(matrix.version)".utf8))
        return "dec-" + digest.prefix(16).hexString
    }

    /// `nl.ketenhub.gedragsaanwijzing.v1` → `gedragsaanwijzing`.
    public static func eventName(of type: String) -> String {
        let parts = type.split(separator: ".")
        return parts.count >= 4 ? String(parts[2]) : type
    }
}

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
    /// Rules by event type and by the recipient they name (a type or a code), baseline and per region.
    private let baseline: RuleIndex
    private let regional: [String: RuleIndex]
    /// The one organisation of each non-regional type.
    private let organisationOfType: [String: String]
    /// Each rule's fields as a tree, for projection.
    private let allowedFields: [String: Projection.Trie]

    public init(matrix: SharingMatrix) {
        self.matrix = matrix
        baseline = RuleIndex(matrix.baseline)
        regional = matrix.regional.mapValues(RuleIndex.init)
        var organisationOfType: [String: String] = [:]
        for organisation in matrix.organisations.organisations where organisationOfType[organisation.type] == nil {
            organisationOfType[organisation.type] = organisation.code
        }
        self.organisationOfType = organisationOfType
        allowedFields = Dictionary(matrix.allRules.map { ($0.id, Projection.Trie($0.fields)) }) { first, _ in first }
    }

    /// The delivery a permit makes of an event.
    public func delivery(of event: CloudEvent, for decision: Decision) -> CloudEvent {
        guard let ruleID = decision.ruleId, let allowed = allowedFields[ruleID] else { return Projection.delivery(of: event, for: decision) }
        return Projection.delivery(of: event, for: decision, allowed: allowed)
    }

    /// Rules are kept once and referred to by position: a rule is a large value, and evaluation
    /// looks at many of them for every decision.
    struct RuleIndex: Sendable {
        let rules: [SharingRule]
        private var positions: [String: [String: [Int]]] = [:]

        init(_ list: [SharingRule]) {
            rules = list
            for (position, rule) in list.enumerated() {
                for event in rule.events { positions[event, default: [:]][rule.recipient, default: []].append(position) }
            }
        }

        /// The positions of the rules for an event that name this recipient, by code or by type.
        func candidates(for event: String, recipient: String, type: String) -> [Int] {
            guard let byRecipient = positions[event] else { return [] }
            let named = byRecipient[recipient] ?? []
            return recipient == type ? named : named + (byRecipient[type] ?? [])
        }
    }

    /// One decision per candidate recipient: every organisation type, the regional ones resolved to
    /// the case's organisation, except the producer itself.
    public func evaluate(_ event: CloudEvent, case caseState: CaseState, consent: ConsentState) -> [Decision] {
        let eventName = Self.eventName(of: event.type)
        let producerCode = event.producer ?? ""
        let idPrefix = decisionIDPrefix(event)
        let producerType = matrix.organisations.type(of: producerCode)
        var decisions: [Decision] = []
        for type in matrix.organisations.types {
            let recipient: String?
            recipient = type.regional ? caseState.veiligThuis : organisationOfType[type.type]
            guard let recipient else {
                // Every rule that would have applied is named, so the deny says what is waiting for the region.
                let reason = "no \(type.name) organisation known for this case yet: no event has named a municipality one serves"
                let considered = baseline.candidates(for: eventName, recipient: type.type, type: type.type)
                    .map { Decision.Consideration(ruleId: baseline.rules[$0].id, applied: false, reason: reason) }
                decisions.append(deny(idPrefix, recipient: type.type, considered: considered, reason: reason))
                continue
            }
            if recipient == producerCode { continue }
            decisions.append(decide(event, idPrefix: idPrefix, eventName: eventName, producer: producerCode, producerType: producerType,
                                    recipient: recipient, recipientType: type.type, caseState: caseState, consent: consent))
        }
        return decisions
    }

    private func decide(_ event: CloudEvent, idPrefix: String, eventName: String, producer: String, producerType: String?, recipient: String,
                        recipientType: String, caseState: CaseState, consent: ConsentState) -> Decision {
        guard let producerType else {
            return deny(idPrefix, recipient: recipient, considered: [], reason: "unknown producer '\(event.source)'")
        }
        // A regional rule set replaces the baseline for the event and recipient it covers.
        let region = caseState.veiligThuis.flatMap { matrix.organisations.organisation($0)?.region }
        var index = baseline
        var candidates: [Int] = []
        if let regionalIndex = region.flatMap({ regional[$0] }) {
            candidates = regionalIndex.candidates(for: eventName, recipient: recipient, type: recipientType)
            if !candidates.isEmpty { index = regionalIndex }
        }
        if candidates.isEmpty { candidates = baseline.candidates(for: eventName, recipient: recipient, type: recipientType) }

        var considered: [Decision.Consideration] = []
        var permitting: [Int] = []
        for position in candidates {
            if let reason = whyNot(index.rules[position], event: event, eventName: eventName, producer: producer, producerType: producerType,
                                   caseState: caseState, consent: consent) {
                considered.append(.init(ruleId: index.rules[position].id, applied: false, reason: reason))
            } else {
                permitting.append(position)
            }
        }
        guard let best = permitting.max(by: { a, b in
            (index.rules[a].disclosure, index.rules[b].id) < (index.rules[b].disclosure, index.rules[a].id)
        }) else {
            let reason = candidates.isEmpty ? "no rule shares \(eventName) with \(recipientType)" : "no rule applies"
            return deny(idPrefix, recipient: recipient, considered: considered, reason: reason)
        }
        let chosen = index.rules[best]
        for position in permitting where position != best {
            considered.append(.init(ruleId: index.rules[position].id, applied: false, reason: "rule \(chosen.id) discloses more"))
        }
        considered.append(.init(ruleId: chosen.id, applied: true, reason: nil))
        return Decision(decisionId: idPrefix + recipient, recipient: recipient, outcome: .permit, ruleId: chosen.id,
                        legalBasis: chosen.legalBasis, purpose: chosen.purpose, disclosure: chosen.disclosure,
                        fields: chosen.fields, considered: considered.count > 1 ? considered.sorted { $0.ruleId < $1.ruleId } : considered, reason: nil,
                        matrixVersion: matrix.version)
    }

    /// Nil when the rule applies, otherwise the reason it does not. The rule is borrowed, not copied:
    /// this runs for every candidate rule of every recipient of every event.
    private func whyNot(_ rule: borrowing SharingRule, event: CloudEvent, eventName: String, producer: String, producerType: String,
                        caseState: CaseState, consent: ConsentState) -> String? {
        if !rule.producers.isEmpty && !rule.producers.contains(producerType) && !rule.producers.contains(producer) {
            return "producer \(producer.isEmpty ? "?" : producer) is not one of \(rule.producers.joined(separator: ", "))"
        }
        if rule.validFrom != nil || rule.validUntil != nil {
            let day = String(event.time.prefix(10))
            if let from = rule.validFrom, day < from { return "not valid before \(from)" }
            if let until = rule.validUntil, day > until { return "not valid after \(until)" }
        }
        if !rule.conditions.caseAttributes.isEmpty {
            for (attribute, expected) in rule.conditions.caseAttributes.sorted(by: { $0.key < $1.key })
                where caseState.attribute(attribute) != expected {
                return "case attribute \(attribute) is not \(expected)"
            }
        }
        if !rule.conditions.eventFields.isEmpty {
            for (pointer, expected) in rule.conditions.eventFields.sorted(by: { $0.key < $1.key })
                where event.value(at: JSONPointer(pointer)) != expected {
                return "event field \(pointer) is not \(expected.rendered)"
            }
        }
        if let required = rule.conditions.consent,
           let reason = consent.whyNot(required, case: caseState.caseId, victims: caseState.victims, eventName: eventName) {
            return reason
        }
        return nil
    }

    private func deny(_ idPrefix: String, recipient: String, considered: [Decision.Consideration], reason: String) -> Decision {
        Decision(decisionId: idPrefix + recipient, recipient: recipient, outcome: .deny, ruleId: nil, legalBasis: nil,
                 purpose: nil, disclosure: nil, fields: [], considered: considered.sorted { $0.ruleId < $1.ruleId },
                 reason: reason, matrixVersion: matrix.version)
    }

    /// Deterministic: the same event and matrix always give the same ids (`dec-<digest>-<recipient>`).
    /// A permit's decision id is its delivery's id, and `Acknowledgement.recipient(ofDelivery:)` reads
    /// the recipient back from it: keep the two in step.
    private func decisionIDPrefix(_ event: CloudEvent) -> String {
        let digest = SHA256.hash(data: Data("\(event.source)\n\(event.id)\n\(matrix.version)".utf8))
        return "dec-" + digest.prefix(16).hexString + "-"
    }

    /// `nl.ketenhub.gedragsaanwijzing.v1` → `gedragsaanwijzing`.
    public static func eventName(of type: String) -> String {
        // The third of at least four dot-separated parts, found without splitting the whole type.
        guard let first = type.firstIndex(of: "."), let second = type[type.index(after: first)...].firstIndex(of: "."),
              let third = type[type.index(after: second)...].firstIndex(of: "."), third > type.index(after: second) else { return type }
        return String(type[type.index(after: second)..<third])
    }
}

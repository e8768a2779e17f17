import CanonicalEvents
import Crypto
import Foundation

/// The outcome for one candidate recipient of one event.
public struct Decision: Codable, Sendable, Hashable {
    /// `hold`: a rule would permit it once the case knows a fact it does not know yet (whether the
    /// suspect is a minor, the victim's address); the router keeps the event and decides again, for
    /// this recipient, when a partner states it (a release: a decision that names the hold).
    public enum Outcome: String, Codable, Sendable { case permit, deny, hold }

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
    /// For a deny or a hold: why, in one line.
    public var reason: String?
    public var matrixVersion: String
    /// What the decision rested on, for the data subject's art. 15 answer years later: the consent
    /// records used, the case attributes the rules tested (`unknown` when no partner stated one),
    /// where the recipient's region came from, whether the legal basis is confirmed, and for a
    /// release the hold it ends.
    public var consent: [ConsentEvidence]?
    public var caseFacts: [String: String]?
    public var region: String?
    public var legalBasisConfirmed: Bool?
    public var releases: String?
    /// The pseudonymous persons whose ids the delivery discloses (set when it is projected).
    public var disclosedPersons: [String]?
    /// The recipient's own reference for the chain case, where it sent one: a delivery carries it
    /// (`partnerref`), so that the recipient files it under its own dossier.
    public var recipientReference: String?
}

/// Applies a sharing matrix to events: deny by default, deterministic, every decision explained.
public struct PolicyEvaluator: Sendable {
    public let matrix: SharingMatrix
    /// Rules by event type and by the recipient they name (a type or a code), baseline and per region.
    private let baseline: RuleIndex
    private let regional: [String: RuleIndex]
    /// Each rule's fields as a tree, for projection.
    private let allowedFields: [String: Projection.Trie]
    /// The legal bases a partner's privacy lawyer confirmed.
    private let confirmedBases: Set<String>

    public init(matrix: SharingMatrix) {
        self.matrix = matrix
        baseline = RuleIndex(matrix.baseline)
        regional = matrix.regional.mapValues(RuleIndex.init)
        allowedFields = Dictionary(matrix.allRules.map { ($0.id, Projection.Trie($0.fields)) }) { first, _ in first }
        confirmedBases = Set(matrix.legalBases.values.filter(\.confirmed).map(\.id))
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

    /// One decision per candidate recipient: every organisation type, resolved for the case's
    /// municipality (`OrganisationRegistry.resolve`), except the producer itself (and the other units
    /// of a producer's type that is one organisation). `only` limits it to these recipients (codes, or
    /// a regional type whose organisation was unknown): a release of held deliveries.
    public func evaluate(_ event: CloudEvent, case caseState: CaseState, consent: ConsentState, only: Set<String>? = nil,
                         releasedBy: CloudEvent? = nil) -> [Decision] {
        let eventName = Self.eventName(of: event.type)
        let producerCode = event.producer ?? ""
        let idPrefix = decisionIDPrefix(event, releasedBy: releasedBy)
        let producerType = matrix.organisations.type(of: producerCode)
        var concerned = ConcernedPersons()
        var decisions: [Decision] = []
        for type in matrix.organisations.types {
            if type.oneOrganisation, producerType == type.type { continue }
            let resolution = matrix.organisations.resolve(type, municipality: caseState.municipality)
            let resolved: String? = if case .organisation(let code, _) = resolution { code } else { nil }
            if let only, !only.contains(type.type), !(resolved.map(only.contains) ?? false) { continue }
            // Not the producer itself; nor, while its organisation is unknown, its own type (a Veilig
            // Thuis sending about a case whose address no partner stated).
            if let resolved, resolved == producerCode { continue }
            if resolved == nil, producerType == type.type { continue }
            decisions.append(decide(event, idPrefix: idPrefix, eventName: eventName, producer: producerCode, producerType: producerType,
                                    recipientType: type, resolution: resolution, caseState: caseState, consent: consent, concerned: &concerned))
        }
        return decisions
    }

    /// The persons an event concerns, by role: found once per event, when a consent condition first
    /// asks (most events are decided without one).
    struct ConcernedPersons {
        private var victims: Set<String>?
        private var suspects: Set<String>?

        /// The event's own persons in the role, or the case's when it names none.
        mutating func persons(_ role: PersonRole, of event: CloudEvent, in caseState: CaseState) -> Set<String> {
            if role == .verdachte, let suspects { return suspects }
            if role != .verdachte, let victims { return victims }
            var found = CaseState.persons(in: event.data, role: role)
            if found.isEmpty { found = role == .verdachte ? caseState.suspects : caseState.victims }
            if role == .verdachte { suspects = found } else { victims = found }
            return found
        }
    }

    /// What one rule says about one event for one recipient.
    enum Verdict {
        case applies([ConsentEvidence])
        case fails(String)
        /// It would apply, but the case does not know a fact it tests yet.
        case waits(String)
    }

    private func decide(_ event: CloudEvent, idPrefix: String, eventName: String, producer: String, producerType: String?,
                        recipientType type: OrganisationType, resolution: OrganisationRegistry.Resolution, caseState: CaseState,
                        consent: ConsentState, concerned: inout ConcernedPersons) -> Decision {
        let recipient: String
        let resolved: Bool
        var unresolved: (hold: Bool, reason: String)?
        switch resolution {
        case .organisation(let code, _):
            (recipient, resolved) = (code, true)
        case .unresolved(let hold, let reason):
            (recipient, resolved, unresolved) = (type.type, false, (hold, reason))
        }
        guard let producerType else {
            return deny(idPrefix, recipient: recipient, considered: [], reason: "unknown producer '\(event.source)'")
        }
        // A regional rule set replaces the baseline for the event and recipient it covers.
        let region = caseState.municipality.flatMap(matrix.organisations.municipalities.region(of:))
        var index = baseline
        var candidates: [Int] = []
        if resolved, let regionalIndex = region.flatMap({ regional[$0] }) {
            candidates = regionalIndex.candidates(for: eventName, recipient: recipient, type: type.type)
            if !candidates.isEmpty { index = regionalIndex }
        }
        if candidates.isEmpty { candidates = baseline.candidates(for: eventName, recipient: recipient, type: type.type) }

        var considered: [Decision.Consideration] = []
        var permitting: [(position: Int, consent: [ConsentEvidence])] = []
        var waiting: [String] = []
        var unresolvedDeny: String?
        for position in candidates {
            switch verdict(index.rules[position], event: event, eventName: eventName, producer: producer, producerType: producerType,
                           recipient: recipient, recipientType: type.type, caseState: caseState, consent: consent, concerned: &concerned) {
            case .applies(let evidence) where resolved:
                permitting.append((position, evidence))
            case .applies:
                // It would apply, but no organisation of the type is found for the case: it waits for
                // the municipality, or is denied for that reason; never sent to a guessed one.
                let (hold, reason) = unresolved ?? (false, "no \(type.name) organisation is known for this case")
                considered.append(.init(ruleId: index.rules[position].id, applied: false, reason: reason))
                if hold { waiting.append(reason) } else { unresolvedDeny = reason }
            case .waits(let reason):
                considered.append(.init(ruleId: index.rules[position].id, applied: false, reason: reason))
                waiting.append(reason)
            case .fails(let reason):
                considered.append(.init(ruleId: index.rules[position].id, applied: false, reason: reason))
            }
        }
        guard let best = permitting.max(by: { a, b in
            (index.rules[a.position].disclosure, index.rules[b.position].id) < (index.rules[b.position].disclosure, index.rules[a.position].id)
        }) else {
            if !waiting.isEmpty {
                var held = deny(idPrefix, recipient: recipient, considered: considered, reason: Set(waiting).sorted().joined(separator: "; "))
                held.outcome = .hold
                held.caseFacts = caseFacts(of: candidates, in: index, caseState)
                if !resolved { held.caseFacts?["region"] = "unknown" }
                return held
            }
            let reason = candidates.isEmpty ? "no rule shares \(eventName) with \(type.type)"
                : unresolvedDeny ?? (resolved ? "no rule applies" : "no rule applies (and no \(type.name) organisation is known for this case)")
            return deny(idPrefix, recipient: recipient, considered: considered, reason: reason)
        }
        // The chosen rule is read in place (a rule is a large value; copying it costs on every permit).
        let chosenID = index.rules[best.position].id
        for entry in permitting where entry.position != best.position {
            considered.append(.init(ruleId: index.rules[entry.position].id, applied: false, reason: "rule \(chosenID) discloses more"))
        }
        considered.append(.init(ruleId: chosenID, applied: true, reason: nil))
        let basis = index.rules[best.position].legalBasis(forProducer: producerType)
        var decision = Decision(decisionId: idPrefix + recipient, recipient: recipient, outcome: .permit, ruleId: chosenID,
                                legalBasis: basis, purpose: index.rules[best.position].purpose, disclosure: index.rules[best.position].disclosure,
                                fields: index.rules[best.position].fields,
                                considered: considered.count > 1 ? considered.sorted { $0.ruleId < $1.ruleId } : considered,
                                reason: nil, matrixVersion: matrix.version)
        decision.legalBasisConfirmed = confirmedBases.contains(basis)
        if !best.consent.isEmpty { decision.consent = best.consent }
        if !index.rules[best.position].conditions.caseAttributes.isEmpty { decision.caseFacts = caseFacts(of: [best.position], in: index, caseState) }
        if type.regional {
            decision.region = caseState.municipality.map { "\($0), from \(caseState.regionSource ?? "a partner's statement")" }
                ?? "no partner stated the case's municipality: \(recipient) takes cases without a region"
        }
        return decision
    }

    /// The values of the case attributes the rules at these positions test, `unknown` for one no
    /// partner stated. The rules are read in place, not copied.
    private func caseFacts(of positions: [Int], in index: RuleIndex, _ caseState: CaseState) -> [String: String] {
        var facts: [String: String] = [:]
        for position in positions {
            for attribute in index.rules[position].conditions.caseAttributes.keys {
                facts[attribute] = caseState.attribute(attribute).map { "\($0)" }
                    ?? CaseState.assumedUntilStated[attribute].map { "unknown, taken as \($0)" } ?? "unknown"
            }
        }
        return facts
    }

    /// Whether the rule applies, fails, or waits for a fact of the case. The rule is borrowed, not
    /// copied: this runs for every candidate rule of every recipient of every event.
    private func verdict(_ rule: borrowing SharingRule, event: CloudEvent, eventName: String, producer: String, producerType: String,
                         recipient: String, recipientType: String, caseState: CaseState, consent: ConsentState,
                         concerned: inout ConcernedPersons) -> Verdict {
        if !rule.producers.isEmpty && !rule.producers.contains(producerType) && !rule.producers.contains(producer) {
            return .fails("producer \(producer.isEmpty ? "?" : producer) is not one of \(rule.producers.joined(separator: ", "))")
        }
        if rule.validFrom != nil || rule.validUntil != nil {
            let day = String(event.time.prefix(10))
            if let from = rule.validFrom, day < from { return .fails("not valid before \(from)") }
            if let until = rule.validUntil, day > until { return .fails("not valid after \(until)") }
        }
        if !rule.conditions.eventFields.isEmpty {
            for (pointer, expected) in rule.conditions.eventFields.sorted(by: { $0.key < $1.key }) {
                let value = event.value(at: JSONPointer(pointer))
                if case .array(let allowed) = expected {
                    if !allowed.contains(where: { $0 == value }) { return .fails("event field \(pointer) is not one of \(expected.rendered)") }
                } else if value != expected {
                    return .fails("event field \(pointer) is not \(expected.rendered)")
                }
            }
        }
        var unknown: [String] = []
        if !rule.conditions.caseAttributes.isEmpty {
            for (attribute, expected) in rule.conditions.caseAttributes.sorted(by: { $0.key < $1.key }) {
                guard let value = caseState.attribute(attribute) ?? CaseState.assumedUntilStated[attribute] else {
                    unknown.append(attribute)
                    continue
                }
                if value != expected { return .fails("case attribute \(attribute) is \(value), not \(expected)") }
            }
        }
        var evidence: [ConsentEvidence] = []
        if let required = rule.conditions.consent {
            switch consentFinding(required, event: event, eventName: eventName, producer: producer, recipient: recipient,
                                  recipientType: recipientType, caseState: caseState, consent: consent, concerned: &concerned) {
            case .given(let used): evidence = used
            case .refused(let reason): return .fails(reason)
            }
        }
        if !unknown.isEmpty {
            return .waits("waits for the case attribute\(unknown.count > 1 ? "s" : "") \(unknown.joined(separator: ", ")): no partner has stated \(unknown.count > 1 ? "them" : "it")")
        }
        return .applies(evidence)
    }

    /// A rule's consent condition, judged on the consent of the persons the event concerns (its
    /// victims, or its suspect for a toestemming; the case's when the event names none).
    private func consentFinding(_ required: RuleConditions.Consent, event: CloudEvent, eventName: String, producer: String, recipient: String,
                                recipientType: String, caseState: CaseState, consent: ConsentState,
                                concerned: inout ConcernedPersons) -> ConsentState.Finding {
        if required == .withdrawal {
            guard let record = ConsentRecord(event) else { return .refused("the event records no consent") }
            let withdraws = !record.isGiven || (record.kind == .informatiewens && record.consentToShare != true)
            guard withdraws else { return .refused("the event withdraws no consent") }
            guard caseState.receivedUnderConsent[record.person]?.contains(recipient) ?? false else {
                return .refused("\(recipient) received nothing in this case under this person's consent")
            }
            var evidence = record.evidence
            evidence.withdrawn = true
            return .given([evidence])
        }
        let persons = concerned.persons(required == .suspectShare ? .verdachte : .slachtoffer, of: event, in: caseState)
        return consent.check(required, case: caseState.caseId, persons: persons, eventName: eventName, scope: "\(eventName):\(recipientType)",
                             discloser: producer)
    }

    private func deny(_ idPrefix: String, recipient: String, considered: [Decision.Consideration], reason: String) -> Decision {
        Decision(decisionId: idPrefix + recipient, recipient: recipient, outcome: .deny, ruleId: nil, legalBasis: nil,
                 purpose: nil, disclosure: nil, fields: [], considered: considered.sorted { $0.ruleId < $1.ruleId },
                 reason: reason, matrixVersion: matrix.version)
    }

    /// Deterministic: the same event and matrix always give the same ids (`dec-<digest>-<recipient>`);
    /// the release of a held delivery digests the event that released it too, so that it is a
    /// decision of its own. A permit's decision id is its delivery's id, and
    /// `Acknowledgement.recipient(ofDelivery:)` reads the recipient back from it: keep the two in step.
    private func decisionIDPrefix(_ event: CloudEvent, releasedBy: CloudEvent? = nil) -> String {
        var text = "\(event.source)\n\(event.id)\n\(matrix.version)"
        if let releasedBy { text += "\nreleased by\n\(releasedBy.source)\n\(releasedBy.id)" }
        let digest = SHA256.hash(data: Data(text.utf8))
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

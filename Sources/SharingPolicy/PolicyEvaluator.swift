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
        let organisations = matrix.organisations
        resolutionsByMunicipality = Dictionary(uniqueKeysWithValues: organisations.municipalities.municipalities.keys.map { municipality in
            (municipality, organisations.types.map { organisations.resolve($0, municipality: municipality) })
        })
        resolutionsWithoutMunicipality = organisations.types.map { organisations.resolve($0, municipality: nil) }
    }

    /// Each organisation type's recipient for a case in this municipality (in the order of
    /// `organisations.types`): looked up once per municipality when the evaluator is made, not per
    /// type of every event.
    private let resolutionsByMunicipality: [String: [OrganisationRegistry.Resolution]]
    private let resolutionsWithoutMunicipality: [OrganisationRegistry.Resolution]

    private func resolutions(for municipality: String?) -> [OrganisationRegistry.Resolution] {
        guard let municipality else { return resolutionsWithoutMunicipality }
        return resolutionsByMunicipality[municipality] ?? matrix.organisations.types.map { matrix.organisations.resolve($0, municipality: municipality) }
    }

    /// The delivery a permit makes of an event.
    public func delivery(of event: CloudEvent, for decision: Decision) -> CloudEvent {
        delivery(of: event, for: decision, data: disclosedData(of: event, for: decision))
    }

    /// What of the event's data a permit discloses: a function of the event and the permit's
    /// `fields` alone, so that permits listing the same fields (rules often do) can share it.
    public func disclosedData(of event: CloudEvent, for decision: Decision) -> JSONValue {
        Projection.data(of: event, allowed: allowed(for: decision))
    }

    /// The delivery a permit makes of an event, with the data `disclosedData(of:for:)` gave for
    /// this permit or for another one of the same event listing the same fields.
    public func delivery(of event: CloudEvent, for decision: Decision, data: JSONValue) -> CloudEvent {
        Projection.delivery(of: event, for: decision, allowed: allowed(for: decision), data: data)
    }

    private func allowed(for decision: Decision) -> Projection.Trie {
        decision.ruleId.flatMap { allowedFields[$0] } ?? Projection.Trie(decision.fields)
    }

    /// A rule as the index keeps it: one shared instance. A rule is a large value: read out of an
    /// array of values, `rules[i].id` copied the whole rule (a retain and release per field), for
    /// every candidate rule of every recipient of every event.
    final class IndexedRule: Sendable {
        let rule: SharingRule
        /// What `decide` reads of every candidate, beside the rule: its id and disclosure, and the
        /// words for a permitting rule that loses to it (made once, not once per decision).
        let id: String
        let disclosure: Disclosure
        let outranks: String
        /// What `verdict` reads of the rule, prepared once: the words of a producer's refusal (the
        /// producers themselves, a handful of short names, are compared in the rule's list: faster
        /// than hashed in a set), the conditions in the order they are tested (by name, so that the
        /// first failure named is the same on every replay).
        let producerList: String
        let eventFields: [(pointer: JSONPointer, text: String, expected: JSONValue)]
        let caseAttributes: [(name: String, expected: Bool, mismatch: String)]
        /// The words of a wait for every attribute the rule tests (one, mostly).
        let waitsForAll: String
        let notYetValid: String?
        let noLongerValid: String?

        static func waits(for unknown: [String]) -> String {
            "waits for the case attribute\(unknown.count > 1 ? "s" : "") \(unknown.joined(separator: ", ")): no partner has stated \(unknown.count > 1 ? "them" : "it")"
        }

        init(_ rule: SharingRule) {
            self.rule = rule
            id = rule.id
            disclosure = rule.disclosure
            outranks = "rule \(rule.id) discloses more"
            producerList = rule.producers.joined(separator: ", ")
            eventFields = rule.conditions.eventFields.sorted { $0.key < $1.key }.map { (JSONPointer($0.key), $0.key, $0.value) }
            caseAttributes = rule.conditions.caseAttributes.sorted { $0.key < $1.key }.map {
                ($0.key, $0.value, "case attribute \($0.key) is \(!$0.value), not \($0.value)")
            }
            waitsForAll = Self.waits(for: caseAttributes.map(\.name))
            notYetValid = rule.validFrom.map { "not valid before \($0)" }
            noLongerValid = rule.validUntil.map { "not valid after \($0)" }
        }
    }

    /// Rules are kept once and referred to by position: evaluation looks at many of them for every
    /// decision. They are kept in the order of their ids, so that positions compare as ids do: a
    /// decision lists the rules it considered in id order, and the candidates, taken in position
    /// order, come in that order without comparing ids.
    struct RuleIndex: Sendable {
        let rules: [IndexedRule]
        private var positions: [String: [String: [Int]]] = [:]

        init(_ list: [SharingRule]) {
            let list = list.sorted { $0.id < $1.id }
            rules = list.map(IndexedRule.init)
            for (position, rule) in list.enumerated() {
                for event in rule.events { positions[event, default: [:]][rule.recipient, default: []].append(position) }
            }
        }

        /// The positions of an event's rules, by the recipient they name; looked up once per event.
        func rules(for event: String) -> [String: [Int]] { positions[event] ?? [:] }

        /// Of an event's rules, the positions of those that name this recipient: by code, and by
        /// type (two lists, each in position order; not one made of both for every recipient of
        /// every event).
        static func candidates(in byRecipient: [String: [Int]], recipient: String, type: String) -> (named: [Int], typed: [Int]) {
            (byRecipient[recipient] ?? [], recipient == type ? [] : byRecipient[type] ?? [])
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
        // The day the rules' validity is judged on: the event's time, `yyyy-mm-dd`.
        let day = Substring(event.time.utf8.prefix(10))
        let baselineRules = baseline.rules(for: eventName)
        // The case's region's own rules, if it has any.
        let regionalIndex = regional.isEmpty ? nil
            : caseState.municipality.flatMap { matrix.organisations.municipalities.region(of: $0) }.flatMap { regional[$0] }
        var concerned = ConcernedPersons()
        var decisions: [Decision] = []
        decisions.reserveCapacity(matrix.organisations.types.count)  // grown one by one, it was allocated four times
        let resolutions = resolutions(for: caseState.municipality)
        // Where a regional recipient's region came from: the same for every recipient of the event.
        let caseRegion = caseState.municipality.map { "\($0), from \(caseState.regionSource ?? "a partner's statement")" }
        // Each type and its resolution read where they are, through the buffers (taken out of the
        // lists, each was copied: a retain and a release of each of their texts, for every recipient).
        matrix.organisations.types.withUnsafeBufferPointer { types in
            resolutions.withUnsafeBufferPointer { resolutions in
                for index in types.indices {
                    if types[index].oneOrganisation, producerType == types[index].type { continue }
                    let resolved: String? = if case .organisation(let code, _) = resolutions[index] { code } else { nil }
                    if let only, !only.contains(types[index].type), !(resolved.map(only.contains) ?? false) { continue }
                    // Not the producer itself; nor, while its organisation is unknown, its own type (a Veilig
                    // Thuis sending about a case whose address no partner stated).
                    if let resolved, resolved == producerCode { continue }
                    if resolved == nil, producerType == types[index].type { continue }
                    decisions.append(decide(event, idPrefix: idPrefix, day: day, baselineRules: baselineRules, regionalIndex: regionalIndex,
                                            eventName: eventName, producer: producerCode, producerType: producerType, recipientType: types[index],
                                            resolution: resolutions[index], caseRegion: caseRegion, caseState: caseState, consent: consent,
                                            concerned: &concerned))
                }
            }
        }
        return decisions
    }

    /// The persons an event concerns, by role: found once per event, when a consent condition first
    /// asks (most events are decided without one).
    struct ConcernedPersons {
        private var victims: Set<String>?
        private var suspects: Set<String>?
        /// The victims' consent findings (informed, share), which depend on the event alone (not on
        /// the recipient): found once per event, not once per rule that asks.
        private var victimFindings: (informed: ConsentState.Finding?, share: ConsentState.Finding?)

        /// A victim's consent finding for the event, found by `find` the first time it is asked for.
        mutating func victimFinding(_ required: RuleConditions.Consent, _ find: () -> ConsentState.Finding) -> ConsentState.Finding {
            let informed = required == .victimInformed
            if let known = informed ? victimFindings.informed : victimFindings.share { return known }
            let found = find()
            if informed { victimFindings.informed = found } else { victimFindings.share = found }
            return found
        }

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

    /// `day`, `baselineRules` and `regionalIndex` are the event's, found once for all its recipients.
    private func decide(_ event: CloudEvent, idPrefix: String, day: Substring, baselineRules: [String: [Int]], regionalIndex: RuleIndex?,
                        eventName: String, producer: String, producerType: String?, recipientType type: OrganisationType,
                        resolution: OrganisationRegistry.Resolution, caseRegion: String?, caseState: CaseState, consent: ConsentState,
                        concerned: inout ConcernedPersons) -> Decision {
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
        // A regional rule set replaces the baseline for the event and recipient it covers. (Its rules
        // alone are taken: a copy of the whole index cost a retain and a release of each of its lists.)
        var rules = baseline.rules
        var found: (named: [Int], typed: [Int]) = ([], [])
        if resolved, let regionalIndex {
            found = RuleIndex.candidates(in: regionalIndex.rules(for: eventName), recipient: recipient, type: type.type)
            if !found.named.isEmpty || !found.typed.isEmpty { rules = regionalIndex.rules }
        }
        if found.named.isEmpty && found.typed.isEmpty { found = RuleIndex.candidates(in: baselineRules, recipient: recipient, type: type.type) }
        let candidateCount = found.named.count + found.typed.count

        var considered: [Decision.Consideration] = []
        considered.reserveCapacity(candidateCount)
        // The best permitting rule so far: the widest disclosure, and of equals the first by id (by
        // position; candidates come in position order, so a later equal one never replaces it). The
        // others' places in `considered` are marked outranked once the best is known. (Kept as a list
        // of every permitting rule with its consent, the list's destruction alone was a tenth of
        // this function's time.)
        var best: (position: Int, slot: Int, disclosure: Disclosure, consent: [ConsentEvidence])?
        var permittingSlots: [Int] = []
        var waiting: [String] = []
        var unresolvedDeny: String?
        // The two lists merged as they are read: candidates in position order, which is id order.
        var (nextNamed, nextTyped) = (0, 0)
        for _ in 0..<candidateCount {
            let position: Int
            if nextTyped == found.typed.count || (nextNamed < found.named.count && found.named[nextNamed] < found.typed[nextTyped]) {
                (position, nextNamed) = (found.named[nextNamed], nextNamed + 1)
            } else {
                (position, nextTyped) = (found.typed[nextTyped], nextTyped + 1)
            }
            // The candidate is loaded once (each load of a rule out of the list is a retain and a release).
            let candidate = rules[position]
            switch verdict(candidate, event: event, day: day, eventName: eventName, producer: producer, producerType: producerType,
                           recipient: recipient, recipientType: type.type, caseState: caseState, consent: consent, concerned: &concerned) {
            case .applies(let evidence) where resolved:
                if best.map({ candidate.disclosure > $0.disclosure }) ?? true {
                    best = (position, considered.count, candidate.disclosure, evidence)
                }
                permittingSlots.append(considered.count)
                considered.append(.init(ruleId: candidate.id, applied: true, reason: nil))
            case .applies:
                // It would apply, but no organisation of the type is found for the case: it waits for
                // the municipality, or is denied for that reason; never sent to a guessed one.
                let (hold, reason) = unresolved ?? (false, "no \(type.name) organisation is known for this case")
                considered.append(.init(ruleId: candidate.id, applied: false, reason: reason))
                if hold { waiting.append(reason) } else { unresolvedDeny = reason }
            case .waits(let reason):
                considered.append(.init(ruleId: candidate.id, applied: false, reason: reason))
                waiting.append(reason)
            case .fails(let reason):
                considered.append(.init(ruleId: candidate.id, applied: false, reason: reason))
            }
        }
        guard let best else {
            if !waiting.isEmpty {
                var facts = caseFacts(of: found.named + found.typed, in: rules, caseState)
                if !resolved { facts["region"] = "unknown" }
                // Mostly one wait: the same words without a set, a sort and a join.
                let reason = waiting.count == 1 ? waiting[0] : Set(waiting).sorted().joined(separator: "; ")
                return deny(idPrefix, recipient: recipient, considered: considered, reason: reason, holding: facts)
            }
            let reason = candidateCount == 0 ? "no rule shares \(eventName) with \(type.type)"
                : unresolvedDeny ?? (resolved ? "no rule applies" : "no rule applies (and no \(type.name) organisation is known for this case)")
            return deny(idPrefix, recipient: recipient, considered: considered, reason: reason)
        }
        // The chosen rule's fields are read where they are (a copy of the rule costs a retain per field).
        let chosen = rules[best.position]
        for slot in permittingSlots where slot != best.slot {
            considered[slot].applied = false
            considered[slot].reason = chosen.outranks
        }
        // `SharingRule.legalBasis(forProducer:)`, read in place: called on a rule kept in a class, it copied the whole rule.
        let basis = chosen.rule.legalBasisByProducer[producerType] ?? chosen.rule.legalBasis
        let region = !type.regional ? nil : caseRegion ?? "no partner stated the case's municipality: \(recipient) takes cases without a region"
        // Made whole in one expression: a decision made, then set field by field, was copied on return.
        return Decision(decisionId: idPrefix + recipient, recipient: recipient, outcome: .permit, ruleId: chosen.id,
                        legalBasis: basis, purpose: chosen.rule.purpose, disclosure: chosen.rule.disclosure,
                        fields: chosen.rule.fields,
                        considered: considered,
                        reason: nil, matrixVersion: matrix.version,
                        consent: best.consent.isEmpty ? nil : best.consent,
                        caseFacts: chosen.caseAttributes.isEmpty ? nil : caseFacts(of: [best.position], in: rules, caseState),
                        region: region, legalBasisConfirmed: confirmedBases.contains(basis))
    }

    /// The values of the case attributes the rules at these positions test, `unknown` for one no
    /// partner stated.
    private func caseFacts(of positions: [Int], in rules: [IndexedRule], _ caseState: CaseState) -> [String: String] {
        var facts: [String: String] = [:]
        for position in positions {
            for attribute in rules[position].rule.conditions.caseAttributes.keys {
                facts[attribute] = caseState.attribute(attribute).map { $0 ? "true" : "false" }
                    ?? CaseState.assumedUntilStated[attribute].map { "unknown, taken as \($0)" } ?? "unknown"
            }
        }
        return facts
    }

    /// Whether the rule applies, fails, or waits for a fact of the case: for every candidate rule of
    /// every recipient of every event.
    private func verdict(_ indexed: IndexedRule, event: CloudEvent, day: Substring, eventName: String, producer: String, producerType: String,
                         recipient: String, recipientType: String, caseState: CaseState, consent: ConsentState,
                         concerned: inout ConcernedPersons) -> Verdict {
        // Most rules test few of these: each list is looked into only when it holds something.
        if !indexed.rule.producers.isEmpty {
            let producers = indexed.rule.producers
            if !producers.contains(producerType) && !producers.contains(producer) {
                return .fails("producer \(producer.isEmpty ? "?" : producer) is not one of \(indexed.producerList)")
            }
        }
        if let from = indexed.rule.validFrom, day < from { return .fails(indexed.notYetValid!) }
        if let until = indexed.rule.validUntil, day > until { return .fails(indexed.noLongerValid!) }
        if indexed.eventFields.isEmpty && indexed.caseAttributes.isEmpty && indexed.rule.conditions.consent == nil { return .applies([]) }
        for (pointer, text, expected) in indexed.eventFields {
            let value = event.value(at: pointer)
            if case .array(let allowed) = expected {
                if !allowed.contains(where: { $0 == value }) { return .fails("event field \(text) is not one of \(expected.rendered)") }
            } else if value != expected {
                return .fails("event field \(text) is not \(expected.rendered)")
            }
        }
        var unknown: [String] = []
        for (attribute, expected, mismatch) in indexed.caseAttributes {
            guard let value = caseState.attribute(attribute) ?? CaseState.assumedUntilStated[attribute] else {
                unknown.append(attribute)
                continue
            }
            if value != expected { return .fails(mismatch) }
        }
        var evidence: [ConsentEvidence] = []
        if let required = indexed.rule.conditions.consent {
            switch consentFinding(required, event: event, eventName: eventName, producer: producer, recipient: recipient,
                                  recipientType: recipientType, caseState: caseState, consent: consent, concerned: &concerned) {
            case .given(let used): evidence = used
            case .refused(let reason): return .fails(reason)
            }
        }
        if !unknown.isEmpty {
            return .waits(unknown.count == indexed.caseAttributes.count ? indexed.waitsForAll : IndexedRule.waits(for: unknown))
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
        if required == .suspectShare {
            let persons = concerned.persons(.verdachte, of: event, in: caseState)
            return consent.check(required, case: caseState.caseId, persons: persons, eventName: eventName, scope: "\(eventName):\(recipientType)",
                                 discloser: producer)
        }
        // A victim's informatiewens does not depend on the recipient (nor, then, does the scope).
        let persons = concerned.persons(.slachtoffer, of: event, in: caseState)
        return concerned.victimFinding(required) {
            consent.check(required, case: caseState.caseId, persons: persons, eventName: eventName, scope: eventName, discloser: producer)
        }
    }

    /// A deny, or with `holding` (the case facts the rules wait for) a hold. Made in one expression:
    /// a decision changed after it was made was copied on return.
    private func deny(_ idPrefix: String, recipient: String, considered: [Decision.Consideration], reason: String,
                      holding facts: [String: String]? = nil) -> Decision {
        Decision(decisionId: idPrefix + recipient, recipient: recipient, outcome: facts == nil ? .deny : .hold, ruleId: nil, legalBasis: nil,
                 purpose: nil, disclosure: nil, fields: [], considered: considered,
                 reason: reason, matrixVersion: matrix.version, caseFacts: facts)
    }

    /// Deterministic: the same event and matrix always give the same ids (`dec-<digest>-<recipient>`);
    /// the release of a held delivery digests the event that released it too, so that it is a
    /// decision of its own. The chain case is digested as well: a source that reuses an id in a case
    /// of another router partition, where the reuse cannot be seen and refused, still gets decisions
    /// and deliveries of their own, never the first case's. A permit's decision id is its delivery's id, and
    /// `Acknowledgement.recipient(ofDelivery:)` reads the recipient back from it: keep the two in step.
    private func decisionIDPrefix(_ event: CloudEvent, releasedBy: CloudEvent? = nil) -> String {
        // The digest of `chain case \n source \n id \n version [\n released by \n source \n id]`, fed
        // part by part (once per event: a list of the parts and a Data for the newline were made
        // for each; in a profile of bench policy the function was a tenth of the evaluator's time).
        var sha = SHA256()
        Self.digest(event.ketencaseid, into: &sha)
        Self.digest(event.source, into: &sha, afterNewline: true)
        Self.digest(event.id, into: &sha, afterNewline: true)
        Self.digest(matrix.version, into: &sha, afterNewline: true)
        if let releasedBy {
            Self.digest("released by", into: &sha, afterNewline: true)
            Self.digest(releasedBy.source, into: &sha, afterNewline: true)
            Self.digest(releasedBy.id, into: &sha, afterNewline: true)
        }
        return sha.finalize().withUnsafeBytes { digest in
            var prefix = "dec-"
            prefix.reserveCapacity(37)  // one allocation: 4 + 32 hexadecimal digits + 1
            prefix += digest.prefix(16).hexString
            prefix += "-"
            return prefix
        }
    }

    private static func digest(_ part: String, into sha: inout SHA256, afterNewline: Bool = false) {
        if afterNewline { withUnsafeBytes(of: UInt8(ascii: "\n")) { sha.update(bufferPointer: $0) } }
        var part = part
        part.withUTF8 { sha.update(bufferPointer: UnsafeRawBufferPointer($0)) }
    }

    /// `nl.ketenhub.gedragsaanwijzing.v1` → `gedragsaanwijzing`.
    public static func eventName(of type: String) -> String {
        // The third of at least four dot-separated parts, found in the UTF-8 bytes (Character
        // indexing cost most of a microsecond per event).
        let dot = UInt8(ascii: ".")
        let bytes = type.utf8
        guard let first = bytes.firstIndex(of: dot), let second = bytes[bytes.index(after: first)...].firstIndex(of: dot),
              let third = bytes[bytes.index(after: second)...].firstIndex(of: dot), third > bytes.index(after: second) else { return type }
        return String(Substring(bytes[bytes.index(after: second)..<third]))
    }
}

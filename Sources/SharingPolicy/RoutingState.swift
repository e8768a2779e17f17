import CanonicalEvents

/// Everything one routing step produces for one event.
public struct RoutingStep: Sendable {
    public var event: CloudEvent
    /// One per candidate recipient, permit and deny.
    public var decisions: [Decision]
    /// The projected event for each permit, by recipient.
    public var deliveries: [(recipient: String, event: CloudEvent)]
    /// The case as it stands after the event.
    public var caseState: CaseState
    /// If the event was an informatiewens or a toestemming: the consent in force for its person and
    /// case afterwards (the event's own record, or the one recorded later that it does not replace).
    public var consent: ConsentRecord?
    /// Held deliveries of earlier events of the case that this event released: what it made known
    /// (the suspect's age, the victim's address) decided them. Each decision names its hold.
    public var released: [(event: CloudEvent, decisions: [Decision])] = []
}

/// The router's memory: every chain case and every person's consent. Routing an event is one pure
/// step on it, the same in the router, the simulator, the replay and the tests.
public struct RoutingState: Sendable {
    /// Set from outside only before the first event is routed (a router reading its state back).
    public var cases: [String: CaseState] = [:]
    public var consent = ConsentState()
    /// The chain case of every event routed (`CaseState.routingKey`), across all cases: one fact is
    /// one source and id in the whole hub. Built from `cases` when first asked, then kept by `decide`.
    private var caseOfRouted: [String: String]?

    public init(cases: [String: CaseState] = [:], consent: ConsentState = ConsentState()) {
        self.cases = cases
        self.consent = consent
    }

    /// With a deduplication horizon: the first day it still covers (`yyyy-mm-dd`). A case forgets
    /// the events it routed that happened before it (see `decide`); nil remembers everything.
    public var forgetBefore: String?

    /// Whether this event (its source and id) was routed in its case.
    public func hasRouted(_ event: CloudEvent) -> Bool {
        cases[event.ketencaseid]?.routed[CaseState.routingKey(of: event)] != nil
    }

    private mutating func forget(in caseState: inout CaseState, before day: String) {
        let old = caseState.routed.filter { $0.value < day }.keys
        for key in old {
            caseState.routed[key] = nil
            caseOfRouted?[key] = nil
        }
    }

    /// The chain case in which an event with this event's source and id was routed, if one was.
    public mutating func caseRouted(withKeyOf event: CloudEvent) -> String? {
        if caseOfRouted == nil {
            var index: [String: String] = [:]
            for (caseId, state) in cases { for key in state.routed.keys { index[key] = caseId } }
            caseOfRouted = index
        }
        return caseOfRouted?[CaseState.routingKey(of: event)]
    }

    /// Routes one event, or returns nil when this source and id were routed before (in its case; an
    /// id already routed in another case is the caller's to refuse, see `caseRouted(withKeyOf:)`).
    /// The event's own facts (its municipality, a minor suspect, a consent) count for its own routing.
    public mutating func route(_ event: CloudEvent, with evaluator: PolicyEvaluator) -> RoutingStep? {
        guard var step = decide(event, with: evaluator) else { return nil }
        func project(_ decisions: inout [Decision], of event: CloudEvent) -> [(recipient: String, event: CloudEvent)] {
            var deliveries: [(recipient: String, event: CloudEvent)] = []
            for index in decisions.indices where decisions[index].outcome == .permit {
                let delivery = evaluator.delivery(of: event, for: decisions[index])
                decisions[index].disclosedPersons = Projection.persons(in: delivery.data)
                deliveries.append((decisions[index].recipient, delivery))
            }
            return deliveries
        }
        for index in step.released.indices {
            step.deliveries += project(&step.released[index].decisions, of: step.released[index].event)
        }
        step.deliveries += project(&step.decisions, of: event)
        return step
    }

    /// The part of routing that must go in order: the state and the decisions, without projecting
    /// the deliveries (`deliveries` is empty). The router projects them afterwards, on all cores:
    /// a delivery depends only on its event and its decision.
    public mutating func decide(_ event: CloudEvent, with evaluator: PolicyEvaluator) -> RoutingStep? {
        var caseState = cases[event.ketencaseid] ?? CaseState(caseId: event.ketencaseid)
        let key = CaseState.routingKey(of: event)
        guard caseState.routed[key] == nil else { return nil }
        let factsBefore = caseState.heldFacts
        caseState.absorb(event, matrix: evaluator.matrix)
        let consentRecord = ConsentRecord(event).map { consent.record($0) }
        // Earlier holds first: what this event made known decides them, before the event itself.
        var released = caseState.held.isEmpty || caseState.heldFacts == factsBefore ? [] : caseState.release(by: event, with: evaluator, consent: consent)
        var decisions = evaluator.evaluate(event, case: caseState, consent: consent)
        caseState.remember(&decisions, of: event)
        caseState.addressRecipients(&decisions)
        for index in released.indices { caseState.addressRecipients(&released[index].decisions) }
        caseState.routed[key] = CaseState.day(of: event)
        // Amortised: a case's memory of routed events is pruned each time it doubles.
        if let forgetBefore, caseState.routed.count >= 64, caseState.routed.count & (caseState.routed.count - 1) == 0 {
            forget(in: &caseState, before: forgetBefore)
        }
        cases[event.ketencaseid] = caseState
        caseOfRouted?[key] = event.ketencaseid
        var step = RoutingStep(event: event, decisions: decisions, deliveries: [], caseState: caseState, consent: consentRecord)
        step.released = released
        return step
    }
}

extension CaseState {
    /// The facts a held delivery can wait for: when none changed, no hold can be released.
    struct HeldFacts: Equatable {
        var suspectMinor: Bool?
        var childrenInvolved: Bool?
        var municipality: String?
    }

    var heldFacts: HeldFacts { HeldFacts(suspectMinor: suspectMinor, childrenInvolved: childrenInvolved, municipality: municipality) }

    /// Gives each permit the recipient's own reference for the case, where the recipient sent one.
    func addressRecipients(_ decisions: inout [Decision]) {
        for index in decisions.indices where decisions[index].outcome == .permit {
            decisions[index].recipientReference = references[decisions[index].recipient]
        }
    }

    /// Keeps what the decisions on an event mean for later ones: the deliveries it holds, and who
    /// received under whose consent (a withdrawal is delivered to them, and then they no longer are).
    mutating func remember(_ decisions: inout [Decision], of event: CloudEvent) {
        if decisions.contains(where: { $0.outcome == .hold }) { keepHeld(&decisions, of: event) }
        // Read in place: a decision bound to a variable is a copy (a retain and release per field).
        for index in decisions.indices where decisions[index].outcome == .permit {
            guard let consent = decisions[index].consent else { continue }
            let recipient = decisions[index].recipient
            for evidence in consent {
                if evidence.withdrawn != true {
                    receivedUnderConsent[evidence.person, default: []].insert(recipient)
                } else {
                    receivedUnderConsent[evidence.person]?.remove(recipient)
                }
            }
        }
    }

    /// How many bytes of held events a case keeps. The case's state is one record on a compacted
    /// topic: a partner sending event after event without ever stating what they wait for must not
    /// grow it past what the topic accepts (and so stop the router). Past the budget a delivery that
    /// would wait is denied, saying why, and not released later.
    public static let heldBudgetBytes = 256 * 1024

    private mutating func keepHeld(_ decisions: inout [Decision], of event: CloudEvent) {
        let size = event.structured.encodedBytes().count
        let kept = held.reduce(0) { $0 + $1.size }
        guard kept + size <= Self.heldBudgetBytes else {
            for index in decisions.indices where decisions[index].outcome == .hold {
                decisions[index].outcome = .deny
                decisions[index].reason = "\(decisions[index].reason ?? "it waits for a fact of the case"); not held: this case already holds \(kept / 1024) KiB of events waiting (at most \(Self.heldBudgetBytes / 1024) KiB), so a partner must first state what they wait for"
            }
            return
        }
        let holds = decisions.filter { $0.outcome == .hold }
        held.append(HeldEvent(event: event, recipients: holds.map(\.recipient),
                              holds: Dictionary(holds.map { ($0.recipient, $0.decisionId) }) { first, _ in first }, size: size))
    }

    /// Decides again, for the recipients they wait for, the held events the case's facts now
    /// decide; those still waiting stay held.
    mutating func release(by event: CloudEvent, with evaluator: PolicyEvaluator, consent: ConsentState) -> [(event: CloudEvent, decisions: [Decision])] {
        var released: [(event: CloudEvent, decisions: [Decision])] = []
        var stillHeld: [HeldEvent] = []
        for var waiting in held {
            var decided: [Decision] = []
            for var decision in evaluator.evaluate(waiting.event, case: self, consent: consent, only: Set(waiting.recipients), releasedBy: event)
                where decision.outcome != .hold {
                let type = evaluator.matrix.organisations.type(of: decision.recipient) ?? decision.recipient
                let heldAs = waiting.holds[decision.recipient] != nil ? decision.recipient : type
                decision.releases = waiting.holds[heldAs]
                waiting.recipients.removeAll { $0 == heldAs }
                waiting.holds[heldAs] = nil
                decided.append(decision)
            }
            if !decided.isEmpty {
                remember(&decided, of: waiting.event)
                released.append((waiting.event, decided))
            }
            if !waiting.recipients.isEmpty { stillHeld.append(waiting) }
        }
        held = stillHeld
        return released
    }
}

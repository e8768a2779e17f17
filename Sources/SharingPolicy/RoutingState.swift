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
    /// If the event was an informatiewens: the consent in force for its person and case afterwards
    /// (the event's own record, or the one recorded later that it does not replace).
    public var consent: ConsentRecord?
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

    /// The chain case in which an event with this event's source and id was routed, if one was.
    public mutating func caseRouted(withKeyOf event: CloudEvent) -> String? {
        if caseOfRouted == nil {
            var index: [String: String] = [:]
            for (caseId, state) in cases { for key in state.routed { index[key] = caseId } }
            caseOfRouted = index
        }
        return caseOfRouted?[CaseState.routingKey(of: event)]
    }

    /// Routes one event, or returns nil when this source and id were routed before (in its case; an
    /// id already routed in another case is the caller's to refuse, see `caseRouted(withKeyOf:)`).
    /// The event's own facts (its municipality, a minor suspect, a consent) count for its own routing.
    public mutating func route(_ event: CloudEvent, with evaluator: PolicyEvaluator) -> RoutingStep? {
        guard var step = decide(event, with: evaluator) else { return nil }
        step.deliveries = step.decisions.filter { $0.outcome == .permit }.map { ($0.recipient, evaluator.delivery(of: event, for: $0)) }
        return step
    }

    /// The part of routing that must go in order: the state and the decisions, without projecting
    /// the deliveries (`deliveries` is empty). The router projects them afterwards, on all cores:
    /// a delivery depends only on its event and its decision.
    public mutating func decide(_ event: CloudEvent, with evaluator: PolicyEvaluator) -> RoutingStep? {
        var caseState = cases[event.ketencaseid] ?? CaseState(caseId: event.ketencaseid)
        let key = CaseState.routingKey(of: event)
        guard !caseState.routed.contains(key) else { return nil }
        caseState.absorb(event, organisations: evaluator.matrix.organisations)
        let consentRecord = ConsentRecord(event).map { consent.record($0) }
        let decisions = evaluator.evaluate(event, case: caseState, consent: consent)
        caseState.routed.insert(key)
        cases[event.ketencaseid] = caseState
        caseOfRouted?[key] = event.ketencaseid
        return RoutingStep(event: event, decisions: decisions, deliveries: [], caseState: caseState, consent: consentRecord)
    }
}

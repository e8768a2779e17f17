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
    /// The consent the event recorded, if it was an informatiewens.
    public var consent: ConsentRecord?
}

/// The router's memory: every chain case and every person's consent. Routing an event is one pure
/// step on it, the same in the router, the simulator, the replay and the tests.
public struct RoutingState: Sendable {
    public var cases: [String: CaseState] = [:]
    public var consent = ConsentState()

    public init(cases: [String: CaseState] = [:], consent: ConsentState = ConsentState()) {
        self.cases = cases
        self.consent = consent
    }

    /// Routes one event, or returns nil when this source and id were routed before.
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
        let consentRecord = ConsentRecord(event)
        if let consentRecord { consent.record(consentRecord) }
        let decisions = evaluator.evaluate(event, case: caseState, consent: consent)
        caseState.routed.insert(key)
        cases[event.ketencaseid] = caseState
        return RoutingStep(event: event, decisions: decisions, deliveries: [], caseState: caseState, consent: consentRecord)
    }
}

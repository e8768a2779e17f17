import CanonicalEvents

/// What the matrix would decide for one event, given the victims' consents so far: the privacy
/// officers' "what if" (`ketenhub matrix simulate`, the API's simulate endpoint and the console's form).
public struct SimulationReport: Sendable, Codable {
    public var event: String
    public var type: String
    public var matrixVersion: String
    public var decisions: [Decision]

    /// `consents` are informatiewens events; the event itself counts too when it is one.
    public init(simulating event: CloudEvent, consents: [ConsentRecord], with evaluator: PolicyEvaluator) {
        var consentState = ConsentState()
        for record in consents { consentState.record(record) }
        var caseState = CaseState(caseId: event.ketencaseid)
        caseState.absorb(event, matrix: evaluator.matrix)
        if let record = ConsentRecord(event) { consentState.record(record) }
        self.event = event.id
        self.type = event.type
        self.matrixVersion = evaluator.matrix.version
        self.decisions = evaluator.evaluate(event, case: caseState, consent: consentState)
    }
}

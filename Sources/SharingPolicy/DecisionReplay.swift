import CanonicalEvents

/// Re-evaluates recorded decisions under a proposed matrix and lists every one that would change.
public enum DecisionReplay {
    /// The part of a decision a replay compares.
    public struct Outcome: Sendable, Hashable, Codable, CustomStringConvertible {
        public var outcome: Decision.Outcome
        public var ruleID: String?
        public var disclosure: Disclosure?
        public var fields: [String]

        public init(_ decision: Decision) {
            self.init(outcome: decision.outcome, ruleID: decision.ruleId, disclosure: decision.disclosure, fields: decision.fields)
        }

        public init(outcome: Decision.Outcome, ruleID: String?, disclosure: Disclosure?, fields: [String]) {
            self.outcome = outcome
            self.ruleID = ruleID
            self.disclosure = disclosure
            self.fields = fields
        }

        public var description: String {
            outcome == .deny ? "deny" : "permit by \(ruleID ?? "?") (\(disclosure?.rawValue ?? "?"), \(fields.count) fields)"
        }
    }

    public struct Change: Sendable, Hashable, Codable, CustomStringConvertible {
        public var eventID: String
        public var eventType: String
        public var recipient: String
        public var recorded: Outcome?
        public var proposed: Outcome?

        public var description: String {
            "\(eventType) \(eventID) → \(recipient): \(recorded?.description ?? "no decision") ⇒ \(proposed?.description ?? "no decision")"
        }
    }

    /// `recorded` holds the decisions as recorded: by event (`source` and `id`, see `CaseState.routingKey`),
    /// then by recipient. Events must come in the order they were routed (per chain case).
    public static func replay(_ events: [CloudEvent], recorded: [String: [String: Outcome]], with evaluator: PolicyEvaluator) -> [Change] {
        var state = RoutingState()
        var changes: [Change] = []
        for event in events {
            guard let step = state.route(event, with: evaluator) else { continue }
            var proposed: [String: Outcome] = [:]
            for decision in step.decisions { proposed[decision.recipient] = Outcome(decision) }
            let before = recorded[CaseState.routingKey(of: event)] ?? [:]
            for recipient in Set(proposed.keys).union(before.keys).sorted() {
                let after = proposed[recipient]
                let before = before[recipient]
                if before != after {
                    changes.append(Change(eventID: event.id, eventType: event.type, recipient: recipient, recorded: before, proposed: after))
                }
            }
        }
        return changes
    }
}

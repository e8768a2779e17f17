/// What a new matrix version changes, per event type and recipient: for the privacy officer who
/// approves it.
public enum MatrixDiff {
    public struct Change: Sendable, Hashable, Codable, CustomStringConvertible, Comparable {
        public var eventType: String
        public var recipient: String
        /// `national`, or the region of a regional rule set.
        public var scope: String
        public var ruleID: String
        public var details: [String]

        public var description: String {
            "\(eventType) → \(recipient) [\(scope)]: \(ruleID): \(details.joined(separator: "; "))"
        }

        public static func < (lhs: Change, rhs: Change) -> Bool {
            (lhs.eventType, lhs.recipient, lhs.scope, lhs.ruleID) < (rhs.eventType, rhs.recipient, rhs.scope, rhs.ruleID)
        }
    }

    public static func compare(_ old: SharingMatrix, _ new: SharingMatrix) -> [Change] {
        let before = index(old)
        let after = index(new)
        var changes: [Change] = []
        for key in Set(before.keys).union(after.keys) {
            let oldRules = before[key] ?? [:]
            let newRules = after[key] ?? [:]
            for id in Set(oldRules.keys).union(newRules.keys) {
                let details: [String]
                switch (oldRules[id], newRules[id]) {
                case (let rule?, nil): details = ["removed (was \(summary(rule)))"]
                case (nil, let rule?): details = ["added: \(summary(rule))"]
                case (let was?, let now?): details = differences(was, now)
                case (nil, nil): details = []
                }
                if !details.isEmpty {
                    changes.append(Change(eventType: key.event, recipient: key.recipient, scope: key.scope, ruleID: id, details: details))
                }
            }
        }
        return changes.sorted()
    }

    private struct Key: Hashable {
        var event: String
        var recipient: String
        var scope: String
    }

    private static func index(_ matrix: SharingMatrix) -> [Key: [String: SharingRule]] {
        var result: [Key: [String: SharingRule]] = [:]
        for rule in matrix.allRules {
            for event in rule.events {
                result[Key(event: event, recipient: rule.recipient, scope: rule.region ?? "national"), default: [:]][rule.id] = rule
            }
        }
        return result
    }

    static func summary(_ rule: SharingRule) -> String {
        var text = "\(rule.disclosure.rawValue) on \(rule.legalBasisText) for \(rule.purpose), \(rule.fields.count) fields"
        let conditions = describe(rule.conditions)
        if !conditions.isEmpty { text += ", when \(conditions)" }
        return text
    }

    static func describe(_ conditions: RuleConditions) -> String {
        var parts: [String] = []
        if let consent = conditions.consent { parts.append("consent \(consent.rawValue)") }
        for (name, value) in conditions.caseAttributes.sorted(by: { $0.key < $1.key }) { parts.append("\(name) = \(value)") }
        for (pointer, value) in conditions.eventFields.sorted(by: { $0.key < $1.key }) { parts.append("\(pointer) = \(value.rendered)") }
        return parts.joined(separator: " and ")
    }

    private static func differences(_ was: SharingRule, _ now: SharingRule) -> [String] {
        var details: [String] = []
        if was.disclosure != now.disclosure { details.append("disclosure \(was.disclosure.rawValue) → \(now.disclosure.rawValue)") }
        if was.legalBasisText != now.legalBasisText { details.append("legal basis \(was.legalBasisText) → \(now.legalBasisText)") }
        if was.purpose != now.purpose { details.append("purpose \(was.purpose) → \(now.purpose)") }
        let added = now.fields.filter { !was.fields.contains($0) }
        let removed = was.fields.filter { !now.fields.contains($0) }
        if !added.isEmpty || !removed.isEmpty {
            details.append("fields " + (added.map { "+\($0)" } + removed.map { "-\($0)" }).joined(separator: " "))
        }
        if was.conditions != now.conditions {
            details.append("conditions '\(describe(was.conditions))' → '\(describe(now.conditions))'")
        }
        if was.producers != now.producers {
            details.append("producers \(was.producers.joined(separator: ",")) → \(now.producers.joined(separator: ","))")
        }
        if was.validFrom != now.validFrom || was.validUntil != now.validUntil {
            details.append("valid \(was.validFrom ?? "…")–\(was.validUntil ?? "…") → \(now.validFrom ?? "…")–\(now.validUntil ?? "…")")
        }
        return details
    }
}


import CanonicalEvents
import Foundation
import Yams

/// What must never happen whatever the rules say, stated by privacy officers beside the matrix
/// (`invariants.yaml`): every rule that could send the given events to the given recipient (at or
/// above a disclosure level) must require the given conditions. Evaluation denies by default, so a
/// rule is the only way to a permit, and checking every rule proves the invariant for every event.
/// A rule may be excepted only by name and with a justification, which the check reports with it.
public struct MatrixInvariant: Sendable, Hashable {
    public var id: String
    public var description: String
    /// An organisation type, or one organisation's code.
    public var recipient: String
    /// Event names the invariant is about; empty: every event.
    public var events: [String]
    /// Only rules disclosing at least this much are bound by it; nil: every rule.
    public var disclosure: Disclosure?
    /// The conditions every such rule must have: case attributes and event fields exactly, and one
    /// of the listed consents.
    public var requiredCase: [String: Bool]
    public var requiredConsent: [RuleConditions.Consent]
    public var requiredEventFields: [String: JSONValue]
    /// Rules the invariant does not bind, each with why.
    public var exceptions: [String: String]
    public var location: SourceLocation
}

/// A worked example privacy officers keep beside the matrix (`scenarios/*.yaml`): events routed in
/// order in one chain case, and for the last of them exactly who receives which fields.
public struct MatrixScenario: Sendable {
    public var id: String
    public var description: String
    /// The events, in routing order (the earlier ones build case state and consent).
    public var events: [CloudEvent]
    /// Recipient (organisation code) to the exact fields it receives; everyone else is denied.
    public var expected: [String: [String]]
    public var location: SourceLocation
}

extension MatrixInvariant {
    /// Every rule that breaks the invariant, with what it lacks.
    func violations(in matrix: SharingMatrix) -> [LintFinding] {
        var findings: [LintFinding] = []
        let ruleIDs = Set(matrix.allRules.map(\.id))
        for (rule, _) in exceptions.sorted(by: { $0.key < $1.key }) where !ruleIDs.contains(rule) {
            findings.append(LintFinding(location: location, ruleID: nil, message: "invariant \(id) excepts rule \(rule), which does not exist"))
        }
        for rule in matrix.allRules where binds(rule, organisations: matrix.organisations) && exceptions[rule.id] == nil {
            let missing = self.missing(in: rule.conditions)
            guard !missing.isEmpty else { continue }
            let events = events.isEmpty ? rule.events : rule.events.filter(events.contains)
            findings.append(LintFinding(location: rule.location, ruleID: rule.id, message:
                "breaks invariant \(id) (\(location)): it can send \(events.joined(separator: ", ")) to \(rule.recipient) without \(missing.joined(separator: " and "))"))
        }
        return findings
    }

    private func binds(_ rule: SharingRule, organisations: OrganisationRegistry) -> Bool {
        let sameRecipient = rule.recipient == recipient || organisations.type(of: rule.recipient) == recipient
            || organisations.type(of: recipient) == rule.recipient
        guard sameRecipient, events.isEmpty || !Set(events).isDisjoint(with: rule.events) else { return false }
        return disclosure.map { rule.disclosure >= $0 } ?? true
    }

    private func missing(in conditions: RuleConditions) -> [String] {
        var missing: [String] = []
        for (attribute, value) in requiredCase.sorted(by: { $0.key < $1.key }) where conditions.caseAttributes[attribute] != value {
            missing.append("case \(attribute): \(value)")
        }
        if !requiredConsent.isEmpty, !requiredConsent.contains(where: { $0 == conditions.consent }) {
            missing.append("consent \(requiredConsent.map(\.rawValue).joined(separator: " or "))")
        }
        for (pointer, value) in requiredEventFields.sorted(by: { $0.key < $1.key }) where conditions.eventFields[pointer] != value {
            missing.append("event \(pointer): \(value.rendered)")
        }
        return missing
    }
}

extension MatrixScenario {
    /// The differences between what the matrix decides for the scenario and what it expects.
    func failures(with evaluator: PolicyEvaluator) -> [LintFinding] {
        var state = RoutingState()
        var last: RoutingStep?
        for event in events { last = state.route(event, with: evaluator) }
        guard let step = last else {
            return [LintFinding(location: location, ruleID: nil, message: "scenario \(id): its last event was routed before (the same id twice)")]
        }
        var findings: [LintFinding] = []
        func fail(_ rule: String?, _ message: String) {
            findings.append(LintFinding(location: location, ruleID: rule, message: "scenario \(id): \(message)"))
        }
        let permits = Dictionary(step.decisions.filter { $0.outcome == .permit }.map { ($0.recipient, $0) }) { first, _ in first }
        for (recipient, decision) in permits.sorted(by: { $0.key < $1.key }) {
            guard let fields = expected[recipient] else {
                fail(decision.ruleId, "\(recipient) receives it under rule \(decision.ruleId ?? "?"), which the scenario does not expect")
                continue
            }
            if Set(fields) != Set(decision.fields) {
                fail(decision.ruleId, "\(recipient) receives \(decision.fields.joined(separator: ", ")) under rule \(decision.ruleId ?? "?"), expected \(fields.joined(separator: ", "))")
            }
        }
        for recipient in expected.keys.sorted() where permits[recipient] == nil {
            let decision = step.decisions.first { $0.recipient == recipient }
            fail(nil, "\(recipient) is expected to receive it, but is denied: \(decision?.reason ?? "not a candidate")")
        }
        return findings
    }
}

extension MatrixLoader {
    public static let invariantsFile = "invariants.yaml"
    public static let scenariosDirectory = "scenarios"

    static let invariantKeys: Set<String> = ["id", "description", "recipient", "events", "disclosure", "requires", "exceptions"]

    mutating func invariants(_ bundle: MatrixBundle) throws -> [MatrixInvariant] {
        guard bundle.files[Self.invariantsFile] != nil, let root = try node(bundle, Self.invariantsFile) else { return [] }
        let file = Self.invariantsFile
        return (root["invariants"]?.sequence ?? []).compactMap { node -> MatrixInvariant? in
            let line = node.mark?.line ?? 0
            guard let id = node["id"]?.string, let recipient = node["recipient"]?.string, let requires = node["requires"] else {
                finding(file, line, nil, "an invariant needs `id`, `recipient` and `requires`")
                return nil
            }
            for key in (node.mapping ?? [:]).keys.compactMap(\.string) where !Self.invariantKeys.contains(key) {
                finding(file, line, nil, "invariant \(id): unknown key `\(key)`")
            }
            let disclosure = node["disclosure"]?.string.flatMap(Disclosure.init(rawValue:))
            if node["disclosure"] != nil && disclosure == nil { finding(file, line, nil, "invariant \(id): disclosure must be dat, voorwaarden or inhoud") }
            var requiredCase: [String: Bool] = [:]
            var requiredConsent: [RuleConditions.Consent] = []
            var requiredEventFields: [String: JSONValue] = [:]
            for (key, value) in requires.mapping ?? [:] {
                switch key.string {
                case "case":
                    for (attribute, expected) in value.mapping ?? [:] {
                        if let name = attribute.string, let flag = expected.bool { requiredCase[name] = flag }
                    }
                case "consent":
                    // One consent, or a list of which any one will do.
                    for text in value.sequence?.compactMap(\.string) ?? [value.string].compactMap({ $0 }) {
                        if let consent = RuleConditions.Consent(rawValue: text) { requiredConsent.append(consent) } else {
                            finding(file, line, nil, "invariant \(id): consent must be one of \(RuleConditions.Consent.allCases.map(\.rawValue).joined(separator: ", "))")
                        }
                    }
                case "event":
                    for (pointer, expected) in value.mapping ?? [:] {
                        if let pointer = pointer.string { requiredEventFields[pointer] = Self.json(expected) }
                    }
                default:
                    finding(file, line, nil, "invariant \(id): unknown requirement `\(key.string ?? "?")` (expected case, consent or event)")
                }
            }
            var exceptions: [String: String] = [:]
            for exception in node["exceptions"]?.sequence ?? [] {
                guard let rule = exception["rule"]?.string, let why = exception["justification"]?.string, !why.isEmpty else {
                    finding(file, exception.mark?.line ?? line, nil, "invariant \(id): an exception names a `rule` and its `justification`")
                    continue
                }
                exceptions[rule] = why
            }
            return MatrixInvariant(id: id, description: node["description"]?.string ?? "", recipient: recipient,
                                   events: (node["events"]?.sequence ?? []).compactMap(\.string), disclosure: disclosure,
                                   requiredCase: requiredCase, requiredConsent: requiredConsent,
                                   requiredEventFields: requiredEventFields, exceptions: exceptions,
                                   location: SourceLocation(file: file, line: line))
        }
    }

    mutating func scenarios(_ bundle: MatrixBundle, catalogue: ContractCatalogue) throws -> [MatrixScenario] {
        var scenarios: [MatrixScenario] = []
        for file in bundle.files.keys.filter({ $0.hasPrefix(Self.scenariosDirectory + "/") && $0.hasSuffix(".yaml") }).sorted() {
            guard let root = try node(bundle, file) else { continue }
            for node in root["scenarios"]?.sequence ?? [] {
                let line = node.mark?.line ?? 0
                guard let id = node["id"]?.string, let caseId = node["case"]?.string, let eventNodes = node["events"]?.sequence,
                      !eventNodes.isEmpty, let expectNode = node["expect"] else {
                    finding(file, line, nil, "a scenario needs `id`, `case`, `events` and `expect`")
                    continue
                }
                var events: [CloudEvent] = []
                for (number, eventNode) in eventNodes.enumerated() {
                    let name = eventNode["type"]?.string ?? "?"
                    let structured = JSONValue.object([
                        "specversion": .string("1.0"), "id": .string("scn-\(id.lowercased())-\(number + 1)"),
                        "source": .string("urn:ketenhub:\(eventNode["source"]?.string ?? "?")"),
                        "type": .string("nl.ketenhub.\(name).v1"),
                        "time": .string(eventNode["time"]?.string ?? "2026-11-20T10:00:00Z"),
                        "datacontenttype": .string("application/json"), "ketencaseid": .string(caseId),
                        "data": eventNode["data"].map(Self.jsonTree) ?? .object([:]),
                    ])
                    let problems = catalogue.validate(event: structured)
                    guard problems.isEmpty, let event = try? CloudEvent(structured: structured) else {
                        finding(file, eventNode.mark?.line ?? line, nil,
                                "scenario \(id), event \(number + 1) (\(name)) is not a valid canonical event: \(problems.map { $0.description }.joined(separator: "; "))")
                        continue
                    }
                    events.append(event)
                }
                guard events.count == eventNodes.count else { continue }
                var expected: [String: [String]] = [:]
                for (recipient, fields) in expectNode.mapping ?? [:] {
                    if let code = recipient.string { expected[code] = (fields.sequence ?? []).compactMap(\.string) }
                }
                scenarios.append(MatrixScenario(id: id, description: node["description"]?.string ?? "", events: events, expected: expected,
                                                location: SourceLocation(file: file, line: line)))
            }
        }
        return scenarios
    }

    /// A YAML tree as the JSON value an event would carry.
    static func jsonTree(_ node: Node) -> JSONValue {
        if let items = node.sequence { return .array(items.map(jsonTree)) }
        if let members = node.mapping {
            var object: [String: JSONValue] = [:]
            for (key, value) in members { if let name = key.string { object[name] = jsonTree(value) } }
            return .object(object)
        }
        if node.tag.description.hasSuffix(":null") || node.string == "null" || node.string == "~" { return .null }
        return json(node)
    }
}

extension SharingMatrix {
    /// Every invariant breach and every scenario that does not come out as written: what
    /// `ketenhub matrix test` reports, and part of every lint, so a version that fails them can be
    /// neither approved nor used.
    public func checkInvariantsAndScenarios() -> [LintFinding] {
        let evaluator = PolicyEvaluator(matrix: self)
        return (invariants.flatMap { $0.violations(in: self) } + scenarios.flatMap { $0.failures(with: evaluator) }).sorted()
    }
}

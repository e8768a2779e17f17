import CanonicalEvents
import Foundation
import Yams

/// What must never happen whatever the rules say, stated by privacy officers beside the matrix
/// (`invariants.yaml`). Evaluation denies by default, so a rule is the only way to a permit, and
/// checking every rule proves an invariant for every event. An invariant binds the rules that could
/// send its events to its recipient (at or above a disclosure level) and says, in any of these:
///
/// - `requires`: every such rule has these conditions (case attributes and event fields exactly,
///   one of the listed consents); a list of alternatives, of which one must hold.
/// - `protective: true`: the flow protects the victim: no such rule depends on consent, every listed
///   event reaches the recipient from every partner that publishes it, and no regional rule set
///   covers it with less than the baseline (fewer fields, more conditions, fewer producers).
/// - `reaches: true`: every listed event reaches the recipient from every partner that publishes it.
/// - `neverDiscloses`: no such rule discloses an element of these arrays (or this object) whose
///   member has one of these values: each such field is selected, or conditioned, to exclude them.
/// - `check: disclosure-labels`: every rule is labelled with the lowest level that holds its fields.
///
/// A rule may be excepted only by name and with a justification, which the check reports with it.
public struct MatrixInvariant: Sendable, Hashable {
    /// One way a rule can satisfy `requires`.
    public struct Requirement: Sendable, Hashable {
        public var caseAttributes: [String: Bool] = [:]
        public var consent: [RuleConditions.Consent] = []
        public var eventFields: [String: JSONValue] = [:]
    }

    /// Values of a member (by any of its names) that no bound rule may disclose, in these fields.
    public struct Exclusion: Sendable, Hashable {
        public var members: [String]
        public var values: Set<String>
        public var fields: [String]
    }

    public var id: String
    public var description: String
    /// An organisation type, or one organisation's code.
    public var recipient: String
    /// Event names the invariant is about; empty: every event.
    public var events: [String]
    /// For `reaches` and `protective`: the producer types whose events must reach the recipient;
    /// empty: every partner that publishes them.
    public var producers: [String] = []
    /// Only rules disclosing at least this much are bound by it; nil: every rule.
    public var disclosure: Disclosure?
    public var requires: [Requirement] = []
    public var protective = false
    public var reaches = false
    public var neverDiscloses: Exclusion?
    public var checksLabels = false
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
    /// Recipient (organisation code) to the exact fields it receives; everyone else is denied or held.
    public var expected: [String: [String]]
    /// Recipients (codes, or a regional type whose organisation is unknown) whose delivery of the
    /// last event is held until the case knows a fact; everyone else not in `expected` is denied.
    public var held: [String] = []
    /// Recipient to the exact fields of earlier events' held deliveries the last event releases to it.
    public var released: [String: [[String]]] = [:]
    public var location: SourceLocation
}

extension MatrixInvariant {
    /// Every rule that breaks the invariant, with what it lacks.
    func violations(in matrix: SharingMatrix, catalogue: ContractCatalogue = .embedded) -> [LintFinding] {
        var findings: [LintFinding] = []
        func breach(_ rule: SharingRule, _ message: String) {
            findings.append(LintFinding(location: rule.location, ruleID: rule.id, message: "breaks invariant \(id) (\(location)): \(message)"))
        }
        let ruleIDs = Set(matrix.allRules.map(\.id))
        for (rule, _) in exceptions.sorted(by: { $0.key < $1.key }) where !ruleIDs.contains(rule) {
            findings.append(LintFinding(location: location, ruleID: nil, message: "invariant \(id) excepts rule \(rule), which does not exist"))
        }
        let bound = matrix.allRules.filter { binds($0, organisations: matrix.organisations) && exceptions[$0.id] == nil }
        for rule in bound {
            let events = events.isEmpty ? rule.events : rule.events.filter(events.contains)
            let what = "it can send \(events.joined(separator: ", ")) to \(rule.recipient)"
            if !requires.isEmpty {
                let missing = requires.map { self.missing($0, in: rule.conditions) }
                if !missing.contains(where: \.isEmpty) {
                    breach(rule, "\(what) without \(missing.map { $0.joined(separator: " and ") }.joined(separator: ", or without "))")
                }
            }
            if protective, let consent = rule.conditions.consent {
                breach(rule, "\(what) only with consent \(consent.rawValue): a protective flow never depends on consent")
            }
            if let exclusion = neverDiscloses {
                for field in exclusion.exposed(by: rule) {
                    breach(rule, "\(what) with \(field), which can hold \(exclusion.values.sorted().joined(separator: " or ")): select or condition it to exclude them")
                }
            }
            if checksLabels {
                for message in MatrixLinter.disclosureFindings(rule, matrix) { breach(rule, message) }
            }
        }
        if protective || reaches { findings += unreached(in: matrix, catalogue: catalogue) }
        if protective { findings += weakenedRegionally(in: matrix) }
        return findings
    }

    /// Every listed event, from every partner that publishes it (but the recipient), must have a
    /// baseline rule to the recipient that does not depend on consent.
    private func unreached(in matrix: SharingMatrix, catalogue: ContractCatalogue) -> [LintFinding] {
        var findings: [LintFinding] = []
        let recipientType = matrix.organisations.type(of: recipient) ?? recipient
        for event in events {
            for producer in catalogue.producers(of: event) where producer != recipientType && (producers.isEmpty || producers.contains(producer)) {
                let covered = matrix.baseline.contains { rule in
                    rule.events.contains(event) && (matrix.organisations.type(of: rule.recipient) ?? rule.recipient) == recipientType
                        && rule.conditions.consent == nil && rule.validUntil == nil
                        && (rule.producers.isEmpty || rule.producers.contains { (matrix.organisations.type(of: $0) ?? $0) == producer })
                }
                if !covered {
                    findings.append(LintFinding(location: location, ruleID: nil, message:
                        "invariant \(id): no baseline rule sends \(event) from \(producer) to \(recipient) without consent"))
                }
            }
        }
        return findings
    }

    /// A regional rule set replaces the baseline for the event and recipient it covers: for a
    /// protective flow it must keep, for every baseline rule, one that discloses at least its fields
    /// under no more conditions, to at least its producers.
    private func weakenedRegionally(in matrix: SharingMatrix) -> [LintFinding] {
        var findings: [LintFinding] = []
        let recipientType = matrix.organisations.type(of: recipient) ?? recipient
        func toRecipient(_ rule: SharingRule) -> Bool { (matrix.organisations.type(of: rule.recipient) ?? rule.recipient) == recipientType }
        for (region, rules) in matrix.regional.sorted(by: { $0.key < $1.key }) {
            for event in events {
                let regional = rules.filter { $0.events.contains(event) && toRecipient($0) }
                guard !regional.isEmpty else { continue }
                for base in matrix.baseline where base.events.contains(event) && toRecipient(base) {
                    let kept = regional.contains { rule in
                        Set(rule.fields).isSuperset(of: base.fields) && rule.conditions.consent == nil
                            && rule.conditions.caseAttributes.allSatisfy { base.conditions.caseAttributes[$0.key] == $0.value }
                            && rule.conditions.eventFields.allSatisfy { base.conditions.eventFields[$0.key] == $0.value }
                            && (rule.producers.isEmpty || Set(rule.producers).isSuperset(of: base.producers) && !base.producers.isEmpty)
                            && rule.validFrom == nil && rule.validUntil == nil
                    }
                    if !kept, let first = regional.first {
                        findings.append(LintFinding(location: first.location, ruleID: first.id, message:
                            "breaks invariant \(id) (\(location)): region \(region) replaces baseline rule \(base.id) for \(event) to \(recipient) with less (fields, conditions or producers)"))
                    }
                }
            }
        }
        return findings
    }

    private func binds(_ rule: SharingRule, organisations: OrganisationRegistry) -> Bool {
        let sameRecipient = recipient == "*" || rule.recipient == recipient || organisations.type(of: rule.recipient) == recipient
            || organisations.type(of: recipient) == rule.recipient
        guard sameRecipient, events.isEmpty || !Set(events).isDisjoint(with: rule.events) else { return false }
        return disclosure.map { rule.disclosure >= $0 } ?? true
    }

    private func missing(_ requirement: Requirement, in conditions: RuleConditions) -> [String] {
        var missing: [String] = []
        for (attribute, value) in requirement.caseAttributes.sorted(by: { $0.key < $1.key }) where conditions.caseAttributes[attribute] != value {
            missing.append("case \(attribute): \(value)")
        }
        if !requirement.consent.isEmpty, !requirement.consent.contains(where: { $0 == conditions.consent }) {
            missing.append("consent \(requirement.consent.map(\.rawValue).joined(separator: " or "))")
        }
        for (pointer, value) in requirement.eventFields.sorted(by: { $0.key < $1.key }) where conditions.eventFields[pointer] != value {
            missing.append("event \(pointer): \(value.rendered)")
        }
        return missing
    }
}

extension MatrixInvariant.Exclusion {
    /// The fields of the rule that can disclose an excluded element: a listed field (or a field
    /// containing one) taken whole, or selected by this member with an excluded value, unless the
    /// rule's event condition on the member admits only values that are not excluded.
    func exposed(by rule: SharingRule) -> [String] {
        var exposed: [String] = []
        for field in rule.fields {
            let selector = FieldSelector(field)
            for guarded in fields where guarded == selector.pointer || guarded.hasPrefix(selector.pointer + "/") {
                if guarded == selector.pointer, let member = selector.member, members.contains(member),
                   selector.values.isDisjoint(with: values) { continue }
                let admitted = members.compactMap { rule.conditions.eventFields[guarded + "/" + $0] }.first
                if let admitted, Set((admitted.arrayValue ?? [admitted]).compactMap(\.stringValue)).isDisjoint(with: values) { continue }
                exposed.append(field)
            }
        }
        return Array(Set(exposed)).sorted()
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
            fail(nil, "\(recipient) is expected to receive it, but is \(decision?.outcome == .hold ? "held" : "denied"): \(decision?.reason ?? "not a candidate")")
        }
        let holds = Set(step.decisions.filter { $0.outcome == .hold }.map(\.recipient))
        for recipient in holds.subtracting(held).sorted() {
            fail(nil, "\(recipient)'s delivery is held, which the scenario does not expect: \(step.decisions.first { $0.recipient == recipient }?.reason ?? "")")
        }
        for recipient in Set(held).subtracting(holds).sorted() {
            fail(nil, "\(recipient)'s delivery is expected to be held, but is not")
        }
        var releases: [String: [[String]]] = [:]
        for (_, decisions) in step.released {
            for decision in decisions where decision.outcome == .permit { releases[decision.recipient, default: []].append(decision.fields) }
        }
        for recipient in Set(releases.keys).union(released.keys).sorted() {
            let actual = (releases[recipient] ?? []).map { Set($0) }, wanted = (released[recipient] ?? []).map { Set($0) }
            if actual.count != wanted.count || !wanted.allSatisfy(actual.contains) {
                fail(nil, "the last event releases to \(recipient) \(releases[recipient]?.map { $0.joined(separator: ", ") }.joined(separator: " | ") ?? "nothing"), expected \(released[recipient]?.map { $0.joined(separator: ", ") }.joined(separator: " | ") ?? "nothing")")
            }
        }
        return findings
    }
}

extension MatrixLoader {
    public static let invariantsFile = "invariants.yaml"
    public static let scenariosDirectory = "scenarios"

    static let invariantKeys: Set<String> = ["id", "description", "recipient", "events", "disclosure", "requires", "exceptions",
                                             "protective", "reaches", "neverDiscloses", "check", "producers"]

    mutating func invariants(_ bundle: MatrixBundle) throws -> [MatrixInvariant] {
        guard bundle.files[Self.invariantsFile] != nil, let root = try node(bundle, Self.invariantsFile) else { return [] }
        let file = Self.invariantsFile
        return (root["invariants"]?.sequence ?? []).compactMap { node -> MatrixInvariant? in
            let line = node.mark?.line ?? 0
            guard let id = node["id"]?.string, let recipient = node["recipient"]?.string else {
                finding(file, line, nil, "an invariant needs `id` and `recipient`")
                return nil
            }
            for key in (node.mapping ?? [:]).keys.compactMap(\.string) where !Self.invariantKeys.contains(key) {
                finding(file, line, nil, "invariant \(id): unknown key `\(key)`")
            }
            let disclosure = node["disclosure"]?.string.flatMap(Disclosure.init(rawValue:))
            if node["disclosure"] != nil && disclosure == nil { finding(file, line, nil, "invariant \(id): disclosure must be dat, voorwaarden or inhoud") }
            // One requirement, or a list of alternatives of which one must hold.
            let alternatives = node["requires"].map { $0.sequence ?? [$0] } ?? []
            let requires = alternatives.map { requirement(id, $0, file: file, line: line) }
            var exclusion: MatrixInvariant.Exclusion?
            if let never = node["neverDiscloses"] {
                let members = never["member"].map { $0.sequence?.compactMap(\.string) ?? [$0.string].compactMap { $0 } } ?? []
                if !members.isEmpty, let values = never["values"]?.sequence, let fields = never["in"]?.sequence {
                    exclusion = .init(members: members, values: Set(values.compactMap(\.string)), fields: fields.compactMap(\.string))
                } else {
                    finding(file, line, nil, "invariant \(id): neverDiscloses names a `member` (or several names of it), its `values` and the fields it is `in`")
                }
            }
            let check = node["check"]?.string
            if let check, check != "disclosure-labels" { finding(file, line, nil, "invariant \(id): the only check is disclosure-labels") }
            let protective = node["protective"]?.bool ?? false, reaches = node["reaches"]?.bool ?? false
            if requires.isEmpty && exclusion == nil && check == nil && !protective && !reaches {
                finding(file, line, nil, "invariant \(id) states nothing: give `requires`, `protective`, `reaches`, `neverDiscloses` or `check`")
            }
            if (protective || reaches) && (node["events"]?.sequence ?? []).isEmpty {
                finding(file, line, nil, "invariant \(id): a protective or reaching flow lists its events")
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
                                   events: (node["events"]?.sequence ?? []).compactMap(\.string),
                                   producers: (node["producers"]?.sequence ?? []).compactMap(\.string), disclosure: disclosure,
                                   requires: requires, protective: protective, reaches: reaches, neverDiscloses: exclusion,
                                   checksLabels: check == "disclosure-labels", exceptions: exceptions,
                                   location: SourceLocation(file: file, line: line))
        }
    }

    private mutating func requirement(_ id: String, _ node: Node, file: String, line: Int) -> MatrixInvariant.Requirement {
        var requirement = MatrixInvariant.Requirement()
        for (key, value) in node.mapping ?? [:] {
            switch key.string {
            case "case":
                for (attribute, expected) in value.mapping ?? [:] {
                    if let name = attribute.string, let flag = expected.bool { requirement.caseAttributes[name] = flag }
                }
            case "consent":
                // One consent, or a list of which any one will do.
                for text in value.sequence?.compactMap(\.string) ?? [value.string].compactMap({ $0 }) {
                    if let consent = RuleConditions.Consent(rawValue: text) { requirement.consent.append(consent) } else {
                        finding(file, line, nil, "invariant \(id): consent must be one of \(RuleConditions.Consent.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                }
            case "event":
                for (pointer, expected) in value.mapping ?? [:] {
                    if let pointer = pointer.string { requirement.eventFields[pointer] = Self.jsonTree(expected) }
                }
            default:
                finding(file, line, nil, "invariant \(id): unknown requirement `\(key.string ?? "?")` (expected case, consent or event)")
            }
        }
        return requirement
    }

    mutating func scenarios(_ bundle: MatrixBundle, catalogue: ContractCatalogue) throws -> [MatrixScenario] {
        var scenarios: [MatrixScenario] = []
        for file in bundle.files.keys.filter({ $0.hasPrefix(Self.scenariosDirectory + "/") && Self.readsFile(named: $0) }).sorted() {
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
                var scenario = MatrixScenario(id: id, description: node["description"]?.string ?? "", events: events, expected: expected,
                                              location: SourceLocation(file: file, line: line))
                scenario.held = (node["held"]?.sequence ?? []).compactMap(\.string)
                for (recipient, lists) in node["released"]?.mapping ?? [:] {
                    guard let code = recipient.string else { continue }
                    // One list of fields per released delivery.
                    scenario.released[code] = (lists.sequence ?? []).map { ($0.sequence ?? []).compactMap(\.string) }
                }
                scenarios.append(scenario)
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

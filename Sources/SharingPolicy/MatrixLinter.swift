import CanonicalEvents
import Foundation

/// Checks a matrix against the contracts and its own registries. Every finding names the file, the
/// line and the rule. A matrix with findings is never used for routing.
public struct MatrixLinter: Sendable {
    public let catalogue: ContractCatalogue
    /// The case attributes conditions may test (kept by the router per chain case).
    public static var caseAttributes: Set<String> { CaseState.attributes }

    public init(catalogue: ContractCatalogue = .embedded) {
        self.catalogue = catalogue
    }

    public func lint(_ matrix: SharingMatrix) -> [LintFinding] {
        var findings: [LintFinding] = []
        func report(_ rule: SharingRule, _ message: String) {
            findings.append(LintFinding(location: rule.location, ruleID: rule.id, message: message))
        }
        let eventNames = Set(catalogue.eventNames)
        var seenIDs: [String: SourceLocation] = [:]
        let regions = Set(matrix.organisations.municipalities.regions.keys)
        findings += registryFindings(matrix.organisations)

        for rule in matrix.allRules {
            if let earlier = seenIDs[rule.id] {
                report(rule, "rule id already used at \(earlier)")
            }
            seenIDs[rule.id] = rule.location
            if rule.events.isEmpty { report(rule, "the rule names no event type") }
            for event in rule.events where !eventNames.contains(event) {
                report(rule, "unknown event type '\(event)'")
            }
            for event in rule.events where matrix.notShared[event] != nil {
                report(rule, "event type '\(event)' is marked notShared")
            }
            for producer in rule.producers where matrix.organisations.type(of: producer) == nil {
                report(rule, "unknown organisation '\(producer)' in producers")
            }
            if rule.recipient.isEmpty {
                report(rule, "the rule names no recipient")
            } else if matrix.organisations.type(of: rule.recipient) == nil {
                report(rule, "unknown organisation '\(rule.recipient)' as recipient")
            }
            if rule.purpose.trimmingCharacters(in: .whitespaces).isEmpty {
                report(rule, "the rule has no purpose")
            } else if matrix.purposes[rule.purpose] == nil {
                report(rule, "purpose '\(rule.purpose)' is not defined in \(MatrixLoader.purposesFile)")
            }
            findings += legalBasisFindings(rule, matrix).map { LintFinding(location: rule.location, ruleID: rule.id, message: $0) }
            if rule.fields.isEmpty { report(rule, "the rule lists no fields") }
            for field in rule.fields + rule.conditions.eventFields.keys.sorted() {
                let selector = FieldSelector(field)
                guard selector.pointer.hasPrefix("/") else {
                    report(rule, "field '\(field)' is not a JSON Pointer")
                    continue
                }
                for event in rule.events where eventNames.contains(event)
                    && !catalogue.schemas.declares(path: JSONPointer(selector.pointer).tokens, in: "\(event).schema.json") {
                    report(rule, "field '\(selector.pointer)' does not exist in the schema of '\(event)'")
                }
                if let member = selector.member {
                    for event in rule.events where eventNames.contains(event)
                        && !catalogue.schemas.declares(path: JSONPointer(selector.pointer).tokens + ["*", member], in: "\(event).schema.json") {
                        report(rule, "field '\(field)' selects by '\(member)', which the elements of \(selector.pointer) in '\(event)' do not have")
                    }
                    if selector.values.isEmpty { report(rule, "field '\(field)' selects no value") }
                }
            }
            for attribute in rule.conditions.caseAttributes.keys.sorted() where !Self.caseAttributes.contains(attribute) {
                report(rule, "unknown case attribute '\(attribute)' (known: \(Self.caseAttributes.sorted().joined(separator: ", ")))")
            }
            for (name, date) in [("validFrom", rule.validFrom), ("validUntil", rule.validUntil)] {
                if let date, !Self.isDate(date) { report(rule, "\(name) '\(date)' is not a date (YYYY-MM-DD)") }
            }
            if let from = rule.validFrom, let until = rule.validUntil, from > until {
                report(rule, "validFrom \(from) is after validUntil \(until)")
            }
            if let region = rule.region {
                if !regions.contains(region) { report(rule, "unknown region '\(region)'") }
                if (rule.justification ?? "").trimmingCharacters(in: .whitespaces).isEmpty {
                    report(rule, "a regional deviation from the baseline needs a justification")
                }
            }
        }
        for (id, basis) in matrix.legalBases.sorted(by: { $0.key < $1.key }) {
            for purpose in basis.purposes where matrix.purposes[purpose] == nil {
                findings.append(LintFinding(location: SourceLocation(file: MatrixLoader.legalBasesFile, line: 1), ruleID: nil,
                                            message: "legal basis \(id) serves purpose '\(purpose)', which is not defined in \(MatrixLoader.purposesFile)"))
            }
        }
        findings += conflicts(matrix)
        findings += matrix.checkInvariantsAndScenarios()
        for event in catalogue.eventNames where matrix.notShared[event] == nil
            && !matrix.baseline.contains(where: { $0.events.contains(event) }) {
            findings.append(LintFinding(location: SourceLocation(file: MatrixLoader.matrixFile, line: 1), ruleID: nil,
                                        message: "no baseline rule covers event type '\(event)'; add rules or list it under notShared"))
        }
        return findings.sorted()
    }

    /// The basis of every partner whose events the rule discloses: it must exist, be that partner's
    /// (a basis of the discloser, not of the recipient), serve the rule's purpose, and be confirmed
    /// unless a privacy officer marked the version as a trial.
    private func legalBasisFindings(_ rule: SharingRule, _ matrix: SharingMatrix) -> [String] {
        if rule.legalBasis.isEmpty && rule.legalBasisByProducer.isEmpty { return ["the rule has no legalBasis"] }
        var producers = rule.producers.compactMap { matrix.organisations.type(of: $0) }
        if producers.isEmpty { producers = Array(Set(rule.events.flatMap { catalogue.producers(of: $0) })).sorted() }
        var messages: [String] = []
        for producer in producers {
            let id = rule.legalBasis(forProducer: producer)
            guard !id.isEmpty else {
                messages.append("no legal basis for what \(producer) discloses")
                continue
            }
            guard let basis = matrix.legalBases[id] else {
                messages.append("unknown legal basis '\(id)'")
                continue
            }
            if !basis.disclosers.contains(producer) {
                messages.append("legal basis '\(id)' is not a basis of \(producer), which discloses here (it is one of: \(basis.disclosers.joined(separator: ", ")))")
            }
            if !rule.purpose.isEmpty && !basis.purposes.contains(rule.purpose) {
                messages.append("legal basis '\(id)' does not serve purpose '\(rule.purpose)' (it serves: \(basis.purposes.joined(separator: ", ")))")
            }
            if !basis.confirmed && matrix.trial == nil {
                messages.append("legal basis '\(id)' is not confirmed: its partner's privacy lawyer confirms it in \(MatrixLoader.legalBasesFile), or a privacy officer marks the version as a trial (`trial:` in \(MatrixLoader.matrixFile))")
            }
        }
        for producer in rule.legalBasisByProducer.keys.sorted() where !producers.contains(producer) {
            messages.append("a legal basis is given for \(producer), which does not produce these events here")
        }
        return Array(Set(messages)).sorted()
    }

    /// The rule's disclosure label must be the lowest level that holds all its fields
    /// (`disclosure-levels.yaml`): a `dat` rule lists only dat fields, an `inhoud` rule some content.
    /// Checked where an invariant asks for it (`check: disclosure-labels`).
    static func disclosureFindings(_ rule: SharingRule, _ matrix: SharingMatrix) -> [String] {
        var messages: [String] = []
        var level = Disclosure.dat
        for event in rule.events {
            guard let levels = matrix.disclosureLevels[event] else {
                messages.append("\(MatrixLoader.disclosureLevelsFile) does not say which fields of '\(event)' are dat or voorwaarden")
                continue
            }
            for field in rule.fields {
                let fieldLevel = levels.level(of: field)
                if fieldLevel > rule.disclosure { messages.append("labelled \(rule.disclosure.rawValue) but lists \(field), which is \(fieldLevel.rawValue) for '\(event)'") }
                level = max(level, fieldLevel)
            }
        }
        if messages.isEmpty && level < rule.disclosure {
            messages.append("labelled \(rule.disclosure.rawValue) but lists only \(level.rawValue) fields: label it \(level.rawValue), so the record says what was shared")
        }
        return messages
    }

    /// Two rules that would both apply to the same event and recipient, under the same conditions,
    /// but disclose differently: the matrix would be ambiguous.
    /// The registry and the municipality table agree: every regional type says what happens without
    /// a region (a fallback of its own type), and every municipality resolves to one organisation of
    /// every regional type, of that type.
    func registryFindings(_ registry: OrganisationRegistry) -> [LintFinding] {
        var findings: [LintFinding] = []
        func report(_ file: String, _ message: String) {
            findings.append(LintFinding(location: SourceLocation(file: file, line: 1), ruleID: nil, message: message))
        }
        let regionalTypes = registry.types.filter(\.regional)
        for type in regionalTypes {
            if case .fallback(let code) = type.withoutRegion, registry.organisation(code)?.type != type.type {
                report(MatrixLoader.organisationsFile, "type \(type.type): withoutRegion '\(code)' is not hold, deny or an organisation of type \(type.type)")
            }
        }
        let table = registry.municipalities
        if !regionalTypes.isEmpty && table.municipalities.isEmpty {
            report(MatrixLoader.municipalitiesFile, "regional types (\(regionalTypes.map(\.type).joined(separator: ", "))) need the municipality table")
        }
        for code in table.municipalities.keys.sorted() {
            if code.utf8.count != 6 || !code.hasPrefix("GM") || !code.dropFirst(2).allSatisfy(\.isASCII) || Int(code.dropFirst(2)) == nil {
                report(MatrixLoader.municipalitiesFile, "\(code) is not a CBS municipality code (GM and four digits)")
            }
            for type in regionalTypes {
                guard let organisation = table.organisation(ofType: type.type, servingMunicipality: code) else {
                    report(MatrixLoader.municipalitiesFile, "\(code): no \(type.type) organisation serves it")
                    continue
                }
                if registry.organisation(organisation)?.type != type.type {
                    report(MatrixLoader.municipalitiesFile, "\(code): \(organisation) is not an organisation of type \(type.type) in \(MatrixLoader.organisationsFile)")
                }
            }
        }
        return findings
    }

    private func conflicts(_ matrix: SharingMatrix) -> [LintFinding] {
        var findings: [LintFinding] = []
        let rules = matrix.allRules
        for (index, first) in rules.enumerated() {
            for second in rules[(index + 1)...] where first.region == second.region
                && first.disclosure != second.disclosure
                && first.conditions == second.conditions
                && matrix.organisations.type(of: first.recipient) == matrix.organisations.type(of: second.recipient)
                && (first.recipient == second.recipient || matrix.organisations.organisation(first.recipient) == nil || matrix.organisations.organisation(second.recipient) == nil)
                && !Set(first.events).isDisjoint(with: second.events)
                && (first.producers.isEmpty || second.producers.isEmpty || !Set(first.producers).isDisjoint(with: second.producers))
                && Self.overlap(first, second) {
                let event = Set(first.events).intersection(second.events).sorted().first!
                findings.append(LintFinding(
                    location: second.location, ruleID: second.id,
                    message: "grants \(second.recipient) '\(second.disclosure.rawValue)' for '\(event)' while rule \(first.id) (\(first.location)) grants '\(first.disclosure.rawValue)' under the same conditions"))
            }
        }
        return findings
    }

    private static func overlap(_ a: SharingRule, _ b: SharingRule) -> Bool {
        let aFrom = a.validFrom ?? "0000-01-01", aUntil = a.validUntil ?? "9999-12-31"
        let bFrom = b.validFrom ?? "0000-01-01", bUntil = b.validUntil ?? "9999-12-31"
        return aFrom <= bUntil && bFrom <= aUntil
    }

    static func isDate(_ text: String) -> Bool {
        text.range(of: #"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"#, options: .regularExpression) != nil
    }
}

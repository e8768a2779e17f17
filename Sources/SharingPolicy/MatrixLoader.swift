import CanonicalEvents
import Crypto
import Foundation
import Yams

/// A problem found in the matrix files: where, which rule, what.
public struct LintFinding: Sendable, Hashable, CustomStringConvertible, Comparable {
    public var location: SourceLocation
    public var ruleID: String?
    public var message: String

    public init(location: SourceLocation, ruleID: String?, message: String) {
        self.location = location
        self.ruleID = ruleID
        self.message = message
    }

    public var description: String { "\(location): \(ruleID.map { "\($0): " } ?? "")\(message)" }

    public static func < (lhs: LintFinding, rhs: LintFinding) -> Bool {
        (lhs.location.file, lhs.location.line, lhs.message) < (rhs.location.file, rhs.location.line, rhs.message)
    }
}

/// Reads a matrix directory (`sharing-matrix.yaml`, `legal-bases.yaml`, `organisations.yaml`,
/// `regions/*.yaml`). Structural problems (a missing or malformed key) become findings with their
/// line, so that `lint` can report them together with the semantic ones.
public struct MatrixLoader {
    public static let matrixFile = "sharing-matrix.yaml"
    public static let legalBasesFile = "legal-bases.yaml"
    public static let organisationsFile = "organisations.yaml"
    public static let purposesFile = "purposes.yaml"
    public static let disclosureLevelsFile = "disclosure-levels.yaml"
    public static let municipalitiesFile = "municipalities.yaml"
    public static let chainCasesFile = "chain-cases.yaml"
    public static let regionsDirectory = "regions"

    public struct Loaded: Sendable {
        public var matrix: SharingMatrix
        public var findings: [LintFinding]
    }

    public enum LoadError: Error, CustomStringConvertible {
        case unreadable(String, String)
        public var description: String {
            switch self { case .unreadable(let file, let reason): "\(file): \(reason)" }
        }
    }

    private var findings: [LintFinding] = []
    private var contentDigest = SHA256()

    public static func load(directory: URL) throws -> Loaded {
        try load(MatrixBundle(directory: directory))
    }

    public static func load(_ bundle: MatrixBundle) throws -> Loaded {
        var loader = MatrixLoader()
        return try loader.load(bundle)
    }

    /// Loads and fails on any finding: for the router and the simulator, which must not run on a broken matrix.
    public static func loadValid(directory: URL, catalogue: ContractCatalogue = .embedded) throws -> SharingMatrix {
        try loadValid(MatrixBundle(directory: directory), catalogue: catalogue)
    }

    public static func loadValid(_ bundle: MatrixBundle, catalogue: ContractCatalogue = .embedded) throws -> SharingMatrix {
        let findings = try lint(bundle, catalogue: catalogue)
        guard findings.isEmpty else { throw MatrixError.invalid(findings) }
        return try load(bundle).matrix
    }

    /// Every finding of loading and linting, sorted: what `ketenhub matrix lint` and a proposal's upload report.
    public static func lint(_ bundle: MatrixBundle, catalogue: ContractCatalogue = .embedded) throws -> [LintFinding] {
        let loaded = try load(bundle)
        return (loaded.findings + MatrixLinter(catalogue: catalogue).lint(loaded.matrix)).sorted()
    }

    /// Whether the loader or the checks read a file of this name: one of the fixed files, or a
    /// `.yaml` file directly in `regions/` or `scenarios/`, not hidden. They read by this rule, and
    /// lint names every other file (see `load`).
    public static func readsFile(named path: String) -> Bool {
        let fixed = [matrixFile, legalBasesFile, organisationsFile, purposesFile, disclosureLevelsFile, municipalitiesFile, chainCasesFile,
                     invariantsFile]
        if fixed.contains(path) { return true }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        return parts.count == 2 && [regionsDirectory, scenariosDirectory].contains(String(parts[0])) && parts[1].hasSuffix(".yaml")
            && parts[1].count > ".yaml".count && !parts[1].hasPrefix(".")
    }

    private mutating func load(_ bundle: MatrixBundle) throws -> Loaded {
        // A file nothing reads is a mistake (a misspelt name, `.yml`, a folder too deep): its rules
        // would be stored, shown and approved, and never applied.
        for path in bundle.files.keys.sorted() where !Self.readsFile(named: path) {
            finding(ValidationProblem.quotedName(path), 1, nil, "no matrix file has this name, so nothing would read it; the files are "
                    + "\(Self.matrixFile), \(Self.legalBasesFile), \(Self.organisationsFile), \(Self.purposesFile), \(Self.disclosureLevelsFile), "
                    + "\(Self.municipalitiesFile), \(Self.chainCasesFile), \(Self.invariantsFile), \(Self.regionsDirectory)/<region>.yaml "
                    + "and \(Self.scenariosDirectory)/<name>.yaml")
        }
        let organisationsNode = try node(bundle, Self.organisationsFile)
        let legalNode = try node(bundle, Self.legalBasesFile)
        let matrixNode = try node(bundle, Self.matrixFile)

        let table = municipalities(try optionalNode(bundle, Self.municipalitiesFile), file: Self.municipalitiesFile)
        let registry = organisations(organisationsNode, file: Self.organisationsFile, municipalities: table)
        let bases = legalBases(legalNode, file: Self.legalBasesFile)
        let purposes = purposes(try optionalNode(bundle, Self.purposesFile), file: Self.purposesFile)
        let levels = disclosureLevels(try optionalNode(bundle, Self.disclosureLevelsFile), file: Self.disclosureLevelsFile)
        var baseline = rules(matrixNode?["rules"], file: Self.matrixFile, region: nil)
        baseline.sort { $0.location.line < $1.location.line }
        var notShared: [String: String] = [:]
        for (key, value) in matrixNode?["notShared"]?.mapping ?? [:] {
            if let event = key.string { notShared[event] = value.string ?? "" }
        }

        var regional: [String: [SharingRule]] = [:]
        for file in bundle.files.keys.filter({ $0.hasPrefix(Self.regionsDirectory + "/") && Self.readsFile(named: $0) }).sorted() {
            guard let root = try node(bundle, file) else { continue }
            guard let region = root["region"]?.string else {
                finding(file, root.mark?.line ?? 1, nil, "a regional rule set needs `region`")
                continue
            }
            regional[region, default: []] += rules(root["rules"], file: file, region: region)
        }

        // Read before the digest is taken: they are part of the version.
        let invariants = try invariants(bundle)
        let scenarios = try scenarios(bundle, catalogue: .embedded)

        let declared = matrixNode?["version"]?.string ?? "unversioned"
        if matrixNode?["version"]?.string == nil {
            finding(Self.matrixFile, 1, nil, "the matrix needs a `version`")
        }
        // The declared version plus a digest of every file: two different matrices never share a version.
        let digest = contentDigest.finalize().hexString.prefix(8)
        var matrix = SharingMatrix(version: "\(declared)+\(digest)", organisations: registry, legalBases: bases,
                                   baseline: baseline, regional: regional, notShared: notShared)
        matrix.invariants = invariants
        matrix.scenarios = scenarios
        matrix.purposes = purposes
        matrix.disclosureLevels = levels
        matrix.victimAddress = victimAddress(matrixNode?["victimAddress"], file: Self.matrixFile)
        matrix.chainCases = chainCases(try optionalNode(bundle, Self.chainCasesFile), file: Self.chainCasesFile, registry: registry)
        if let trial = matrixNode?["trial"] {
            if let reason = trial.string, !reason.trimmingCharacters(in: .whitespaces).isEmpty { matrix.trial = reason } else {
                finding(Self.matrixFile, trial.mark?.line ?? 1, nil, "`trial` says, in words, who marked the version as a trial and why")
            }
        }
        return Loaded(matrix: matrix, findings: findings)
    }

    /// A file the matrix may leave out (older versions, kept readable, have none).
    mutating func optionalNode(_ bundle: MatrixBundle, _ file: String) throws -> Node? {
        bundle.files[file] == nil ? nil : try node(bundle, file)
    }

    private mutating func purposes(_ root: Node?, file: String) -> [String: Purpose] {
        var purposes: [String: Purpose] = [:]
        for node in root?["purposes"]?.sequence ?? [] {
            guard let id = node["id"]?.string, let name = node["name"]?.string, let definition = node["definition"]?.string,
                  !definition.trimmingCharacters(in: .whitespaces).isEmpty else {
                finding(file, node.mark?.line ?? 0, nil, "a purpose needs `id`, `name` and a `definition` a data subject can read")
                continue
            }
            purposes[id] = Purpose(id: id, name: name, definition: definition)
        }
        return purposes
    }

    private mutating func disclosureLevels(_ root: Node?, file: String) -> [String: DisclosureLevels] {
        var levels: [String: DisclosureLevels] = [:]
        for (key, value) in root?["events"]?.mapping ?? [:] {
            guard let event = key.string else { continue }
            levels[event] = DisclosureLevels(dat: Set((value["dat"]?.sequence ?? []).compactMap(\.string)),
                                             voorwaarden: Set((value["voorwaarden"]?.sequence ?? []).compactMap(\.string)))
        }
        return levels
    }

    /// The opening and linking rules; each names an organisation type and events the registry and
    /// the contracts know, or a person role of the contracts.
    private mutating func chainCases(_ root: Node?, file: String, registry: OrganisationRegistry) -> ChainCaseRules {
        var rules = ChainCaseRules()
        let events = Set(ContractCatalogue.embedded.eventNames)
        for node in root?["opening"]?.sequence ?? [] {
            let line = node.mark?.line ?? 0
            guard let id = node["id"]?.string, let type = node["organisationType"]?.string, let says = node["says"]?.string,
                  let listed = node["events"]?.sequence, !listed.isEmpty else {
                finding(file, line, nil, "an opening rule needs `id`, `organisationType`, `events` and `says`")
                continue
            }
            guard registry.types.contains(where: { $0.type == type }) else {
                finding(file, line, id, "organisation type \(type) is not in \(Self.organisationsFile)")
                continue
            }
            let names = listed.compactMap(\.string)
            for name in names where !events.contains(name) { finding(file, line, id, "no contract defines event \(name)") }
            rules.opening.append(.init(id: id, organisationType: type, events: Set(names), says: says))
        }
        for node in root?["linking"]?.sequence ?? [] {
            let line = node.mark?.line ?? 0
            guard let id = node["id"]?.string, let says = node["says"]?.string,
                  let role = node["sameRole"]?.string.flatMap(PersonRole.init(rawValue:)),
                  let decision = node["decision"]?.string.flatMap(ChainCaseRules.Linking.Decision.init(rawValue:)) else {
                finding(file, line, nil, "a linking rule needs `id`, `sameRole` (a person role of the contracts), `says` and `decision` (" +
                        ChainCaseRules.Linking.Decision.allCases.map(\.rawValue).joined(separator: " or ") + ")")
                continue
            }
            rules.linking.append(.init(id: id, role: role, decision: decision, says: says))
        }
        return rules
    }

    private mutating func victimAddress(_ list: Node?, file: String) -> [VictimAddressSource] {
        (list?.sequence ?? []).compactMap { node in
            guard let pointer = node["pointer"]?.string, let says = node["says"]?.string else {
                finding(file, node.mark?.line ?? 0, nil, "a victimAddress source needs `pointer` and `says`")
                return nil
            }
            return VictimAddressSource(events: (node["events"]?.sequence ?? []).compactMap(\.string), pointer: pointer, says: says)
        }
    }

    mutating func node(_ bundle: MatrixBundle, _ file: String) throws -> Node? {
        guard let text = bundle.files[file] else {
            throw LoadError.unreadable(file, "missing from the matrix")
        }
        let data = Data(text.utf8)
        contentDigest.update(data: Data(file.utf8))
        contentDigest.update(data: data)
        do {
            return try Yams.compose(yaml: text)
        } catch {
            throw LoadError.unreadable(file, "not valid YAML: \(error)")
        }
    }

    mutating func finding(_ file: String, _ line: Int, _ rule: String?, _ message: String) {
        findings.append(LintFinding(location: SourceLocation(file: file, line: line), ruleID: rule, message: message))
    }

    private mutating func organisations(_ root: Node?, file: String, municipalities: MunicipalityTable) -> OrganisationRegistry {
        let types = (root?["types"]?.sequence ?? []).compactMap { node -> OrganisationType? in
            guard let type = node["type"]?.string else {
                finding(file, node.mark?.line ?? 0, nil, "an organisation type needs `type`")
                return nil
            }
            let withoutRegion: OrganisationType.WithoutRegion = switch node["withoutRegion"]?.string {
            case nil, "deny": .deny
            case "hold": .hold
            case let code?: .fallback(code)
            }
            return OrganisationType(type: type, name: node["name"]?.string ?? type, regional: node["regional"]?.bool ?? false,
                                    withoutRegion: withoutRegion, oneOrganisation: node["oneOrganisation"]?.bool ?? false)
        }
        let organisations = (root?["organisations"]?.sequence ?? []).compactMap { node -> Organisation? in
            guard let code = node["code"]?.string, let type = node["type"]?.string else {
                finding(file, node.mark?.line ?? 0, nil, "an organisation needs `code` and `type`")
                return nil
            }
            if node["municipalities"] != nil || node["region"] != nil {
                finding(file, node.mark?.line ?? 0, nil, "\(code): the municipalities an organisation serves are listed in \(Self.municipalitiesFile), not here")
            }
            return Organisation(code: code, type: type, name: node["name"]?.string ?? code)
        }
        return OrganisationRegistry(types: types, organisations: organisations, municipalities: municipalities)
    }

    /// The municipality table: regions with their organisations by type, municipalities with their
    /// region (and organisations that differ from it).
    private mutating func municipalities(_ root: Node?, file: String) -> MunicipalityTable {
        guard let root else { return MunicipalityTable() }
        func organisationsByType(_ node: Node) -> [String: String] {
            var byType: [String: String] = [:]
            for (key, value) in node.mapping ?? [:] {
                guard let type = key.string, !["name", "region", "veiligheidsregio"].contains(type), let code = value.string else { continue }
                byType[type] = code
            }
            return byType
        }
        var table = MunicipalityTable(layout: root["layout"]?.string, confirmed: root["confirmed"]?.bool ?? false)
        for (key, node) in root["regions"]?.mapping ?? [:] {
            guard let id = key.string else { continue }
            table.regions[id] = MunicipalityTable.Region(id: id, name: node["name"]?.string ?? id, organisations: organisationsByType(node))
        }
        for (key, node) in root["municipalities"]?.mapping ?? [:] {
            guard let code = key.string, let region = node["region"]?.string else {
                finding(file, key.mark?.line ?? 0, nil, "a municipality needs its CBS code as key and a `region`")
                continue
            }
            if table.regions[region] == nil { finding(file, key.mark?.line ?? 0, nil, "\(code): unknown region '\(region)'") }
            table.municipalities[code] = MunicipalityTable.Municipality(code: code, name: node["name"]?.string ?? code, region: region,
                                                                        organisations: organisationsByType(node))
        }
        return table
    }

    private mutating func legalBases(_ root: Node?, file: String) -> [String: LegalBasis] {
        var bases: [String: LegalBasis] = [:]
        for node in root?["legalBases"]?.sequence ?? [] {
            guard let id = node["id"]?.string else {
                finding(file, node.mark?.line ?? 0, nil, "a legal basis needs `id`")
                continue
            }
            bases[id] = LegalBasis(id: id, citation: node["citation"]?.string ?? "", description: node["description"]?.string ?? "",
                                   purposes: (node["purposes"]?.sequence ?? []).compactMap(\.string),
                                   disclosers: (node["disclosers"]?.sequence ?? []).compactMap(\.string),
                                   confirmed: node["confirmed"]?.bool ?? false, confirmBy: node["confirmBy"]?.string)
        }
        return bases
    }

    static let ruleKeys: Set<String> = ["id", "events", "producers", "recipient", "purpose", "legalBasis", "disclosure",
                                        "fields", "when", "validFrom", "validUntil", "justification"]

    private mutating func rules(_ list: Node?, file: String, region: String?) -> [SharingRule] {
        (list?.sequence ?? []).compactMap { node in rule(node, file: file, region: region) }
    }

    private mutating func rule(_ node: Node, file: String, region: String?) -> SharingRule? {
        let line = node.mark?.line ?? 0
        guard let id = node["id"]?.string, !id.isEmpty else {
            finding(file, line, nil, "a rule needs an `id`")
            return nil
        }
        for key in (node.mapping ?? [:]).keys.compactMap(\.string) where !Self.ruleKeys.contains(key) {
            finding(file, line, id, "unknown key `\(key)`")
        }
        let disclosureText = node["disclosure"]?.string ?? ""
        let disclosure = Disclosure(rawValue: disclosureText)
        if disclosure == nil {
            finding(file, line, id, "disclosure must be one of dat, voorwaarden, inhoud (found '\(disclosureText)')")
        }
        // One basis, or the basis of each producer type (a rule for events several partners send).
        var byProducer: [String: String] = [:]
        for (producer, basis) in node["legalBasis"]?.mapping ?? [:] {
            if let producer = producer.string, let basis = basis.string { byProducer[producer] = basis }
        }
        var rule = SharingRule(
            id: id,
            events: (node["events"]?.sequence ?? []).compactMap(\.string),
            producers: (node["producers"]?.sequence ?? []).compactMap(\.string),
            recipient: node["recipient"]?.string ?? "",
            purpose: node["purpose"]?.string ?? "",
            legalBasis: node["legalBasis"]?.string ?? "",
            disclosure: disclosure ?? .dat,
            fields: (node["fields"]?.sequence ?? []).compactMap(\.string),
            conditions: conditions(node["when"], file: file, line: line, rule: id),
            validFrom: node["validFrom"]?.string,
            validUntil: node["validUntil"]?.string,
            justification: node["justification"]?.string,
            region: region,
            location: SourceLocation(file: file, line: line))
        rule.legalBasisByProducer = byProducer
        return rule
    }

    private mutating func conditions(_ node: Node?, file: String, line: Int, rule: String) -> RuleConditions {
        var conditions = RuleConditions()
        guard let node else { return conditions }
        for (key, value) in node.mapping ?? [:] {
            switch key.string {
            case "consent":
                conditions.consent = value.string.flatMap(RuleConditions.Consent.init(rawValue:))
                if conditions.consent == nil {
                    finding(file, line, rule, "consent must be one of \(RuleConditions.Consent.allCases.map(\.rawValue).joined(separator: ", "))")
                }
            case "case":
                for (attribute, expected) in value.mapping ?? [:] {
                    guard let name = attribute.string, let flag = expected.bool else {
                        finding(file, line, rule, "case conditions are attribute: true|false")
                        continue
                    }
                    conditions.caseAttributes[name] = flag
                }
            case "event":
                for (pointer, expected) in value.mapping ?? [:] {
                    guard let pointer = pointer.string else { continue }
                    // A value, or a list of values of which the event's may be any one.
                    conditions.eventFields[pointer] = Self.jsonTree(expected)
                }
            default:
                finding(file, line, rule, "unknown condition `\(key.string ?? "?")` (expected consent, case or event)")
            }
        }
        return conditions
    }

    /// A YAML scalar as the JSON value an event would carry.
    static func json(_ node: Node) -> JSONValue {
        if let flag = node.bool { return .bool(flag) }
        if let number = node.float, node.string.map({ Double($0) != nil }) == true { return .number(number) }
        return .string(node.string ?? "")
    }
}

public enum MatrixError: Error, CustomStringConvertible {
    case invalid([LintFinding])
    public var description: String {
        switch self {
        case .invalid(let findings): "the sharing matrix has \(findings.count) problem(s):\n" + findings.map(\.description).joined(separator: "\n")
        }
    }
}

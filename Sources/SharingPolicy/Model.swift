import CanonicalEvents

/// How much of an event a recipient sees.
public enum Disclosure: String, Codable, Sendable, Hashable, CaseIterable, Comparable {
    /// That the fact exists, plus whom to contact ("dat-informatie").
    case dat
    /// Plus the protective conditions.
    case voorwaarden
    /// The content the rule lists.
    case inhoud

    var rank: Int { Self.allCases.firstIndex(of: self)! }
    public static func < (lhs: Disclosure, rhs: Disclosure) -> Bool { lhs.rank < rhs.rank }
}

/// Where a definition stands in the matrix files, for lint messages and explanations.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int

    public init(file: String, line: Int) {
        self.file = file
        self.line = line
    }
    public var description: String { "\(file):\(line)" }
}

/// The conditions under which a rule applies, besides event type, producer and recipient.
public struct RuleConditions: Sendable, Hashable {
    public enum Consent: String, Sendable, Hashable, CaseIterable {
        /// A victim the event concerns asked to be informed about this kind of event.
        case victimInformed = "victim-informed"
        /// A victim the event concerns consented to their information being shared.
        case victimShare = "victim-share"
        /// The suspect the event concerns gave recorded consent (a toestemming) whose scope covers
        /// this event and this recipient.
        case suspectShare = "suspect-share"
        /// The event withdraws a consent under which this recipient received earlier in the case:
        /// a withdrawal goes to every organisation that received under it.
        case withdrawal = "withdrawal"
    }

    public var consent: Consent?
    /// Case attributes that must hold, for example `suspectMinor: true`. An attribute no event has
    /// stated is unknown, and a condition on it neither holds nor fails: the delivery waits.
    public var caseAttributes: [String: Bool] = [:]
    /// Event fields (JSON Pointers) that must have these values.
    public var eventFields: [String: JSONValue] = [:]

    public init(consent: Consent? = nil, caseAttributes: [String: Bool] = [:], eventFields: [String: JSONValue] = [:]) {
        self.consent = consent
        self.caseAttributes = caseAttributes
        self.eventFields = eventFields
    }

    public var isEmpty: Bool { consent == nil && caseAttributes.isEmpty && eventFields.isEmpty }
}

/// One rule of the sharing matrix.
public struct SharingRule: Sendable, Hashable {
    public var id: String
    public var events: [String]
    /// Organisation types (or codes) whose events the rule covers; empty means any producer.
    public var producers: [String]
    /// An organisation type (resolved by region for regional types) or one organisation's code.
    public var recipient: String
    public var purpose: String
    public var legalBasis: String
    /// Where the disclosing partners differ (a rule for any producer), each producer type's own basis;
    /// `legalBasis` for the others. A basis is the discloser's, never the recipient's.
    public var legalBasisByProducer: [String: String] = [:]
    public var disclosure: Disclosure
    /// JSON Pointers into the event; `*` stands for every element of an array; a pointer to an
    /// array may end in a selection, `[member=value|value]`, that keeps only the elements whose
    /// member has one of the values (see `FieldSelector`).
    public var fields: [String]
    public var conditions: RuleConditions
    public var validFrom: String?
    public var validUntil: String?
    /// Why a regional rule deviates from the national baseline.
    public var justification: String?
    /// The region of a regional rule set; nil for the baseline.
    public var region: String?
    public var location: SourceLocation

    public init(id: String, events: [String], producers: [String], recipient: String, purpose: String, legalBasis: String,
                disclosure: Disclosure, fields: [String], conditions: RuleConditions, validFrom: String?, validUntil: String?,
                justification: String?, region: String?, location: SourceLocation) {
        self.id = id
        self.events = events
        self.producers = producers
        self.recipient = recipient
        self.purpose = purpose
        self.legalBasis = legalBasis
        self.disclosure = disclosure
        self.fields = fields
        self.conditions = conditions
        self.validFrom = validFrom
        self.validUntil = validUntil
        self.justification = justification
        self.region = region
        self.location = location
    }
}

extension SharingRule {
    /// The legal basis under which this rule discloses what a producer of this type sent.
    public func legalBasis(forProducer type: String) -> String { legalBasisByProducer[type] ?? legalBasis }

    /// The basis in words: one id, or each producer type's.
    public var legalBasisText: String {
        legalBasisByProducer.isEmpty ? legalBasis
            : legalBasisByProducer.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
    }

    /// Every basis the rule can rest on.
    public var allLegalBases: [String] { Array(Set([legalBasis].filter { !$0.isEmpty } + legalBasisByProducer.values)).sorted() }
}

public struct LegalBasis: Sendable, Hashable {
    public var id: String
    public var citation: String
    public var description: String
    public var purposes: [String]
    /// The organisation types whose disclosures this basis covers: a basis is the discloser's.
    public var disclosers: [String] = []
    /// False for example entries a privacy officer still has to confirm.
    public var confirmed: Bool
    /// Who must confirm it.
    public var confirmBy: String?
}

/// A purpose (doelbinding): what a disclosure is for, defined so that it can be explained to the
/// data subject in an AVG art. 15 answer (`purposes.yaml`).
public struct Purpose: Sendable, Hashable, Codable {
    public var id: String
    public var name: String
    public var definition: String
}

/// What a disclosure level may carry for one event type (`disclosure-levels.yaml`): `dat` fields say
/// that the fact exists, when, of what kind and whom to contact; `voorwaarden` adds the protective
/// conditions; every other field is content (`inhoud`). A rule is labelled with the lowest level
/// that holds all its fields, so the decision record never misstates what was shared.
public struct DisclosureLevels: Sendable, Hashable {
    public var dat: Set<String>
    public var voorwaarden: Set<String>

    /// The lowest level that holds this field (a selection counts as its array).
    public func level(of field: String) -> Disclosure {
        let pointer = FieldSelector(field).pointer
        if dat.contains(pointer) { return .dat }
        if voorwaarden.contains(pointer) { return .voorwaarden }
        return .inhoud
    }
}

/// A field of a rule: a JSON Pointer, optionally ending in a selection of array elements,
/// `/data/conditions[type=contactverbod|enkelband]`: only the elements whose `type` is one of the
/// values are disclosed, each whole.
public struct FieldSelector: Sendable, Hashable {
    public var pointer: String
    public var member: String?
    public var values: Set<String> = []

    public init(_ field: String) {
        guard field.hasSuffix("]"), let open = field.lastIndex(of: "["),
              let equals = field[open...].firstIndex(of: "=") else {
            pointer = field
            return
        }
        pointer = String(field[..<open])
        member = String(field[field.index(after: open)..<equals])
        values = Set(field[field.index(after: equals)..<field.index(before: field.endIndex)].split(separator: "|").map(String.init))
    }

    public var isSelection: Bool { member != nil }
}

public struct Organisation: Sendable, Hashable {
    public var code: String
    public var type: String
    public var name: String
}

public struct OrganisationType: Sendable, Hashable {
    /// What happens to a delivery to a regional type while no partner stated the case's municipality.
    public enum WithoutRegion: Sendable, Hashable {
        /// The delivery waits (and is alerted) until a partner states it: never guessed.
        case hold
        case deny
        /// The organisation that takes cases without a known region (a national point).
        case fallback(String)
    }

    public var type: String
    public var name: String
    /// Whether organisations of this type work per region, resolved from the case's municipality
    /// through the municipality table.
    public var regional: Bool
    public var withoutRegion: WithoutRegion
    /// Its regional organisations are units of one organisation sharing its systems: what one unit
    /// produced is never delivered to another unit of the type.
    public var oneOrganisation: Bool

    public init(type: String, name: String, regional: Bool = false, withoutRegion: WithoutRegion = .deny, oneOrganisation: Bool = false) {
        self.type = type
        self.name = name
        self.regional = regional
        self.withoutRegion = withoutRegion
        self.oneOrganisation = oneOrganisation
    }
}

/// Which organisation of each regional type serves each municipality (`municipalities.yaml`): per
/// region (veiligheidsregio) one organisation of each type, and per municipality its region and any
/// organisation that differs from its region's.
public struct MunicipalityTable: Sendable, Hashable {
    public struct Region: Sendable, Hashable {
        public var id: String
        public var name: String
        /// By organisation type.
        public var organisations: [String: String]
    }

    public struct Municipality: Sendable, Hashable {
        public var code: String
        public var name: String
        public var region: String
        /// By organisation type: where this municipality is served otherwise than its region.
        public var organisations: [String: String]
    }

    /// The municipal layout the table follows, as the file states it.
    public var layout: String?
    public var confirmed: Bool
    public var regions: [String: Region]
    public var municipalities: [String: Municipality]

    public init(layout: String? = nil, confirmed: Bool = false, regions: [String: Region] = [:], municipalities: [String: Municipality] = [:]) {
        self.layout = layout
        self.confirmed = confirmed
        self.regions = regions
        self.municipalities = municipalities
    }

    public func region(of municipality: String) -> String? { municipalities[municipality]?.region }

    /// The organisation of `type` serving the municipality, or nil when the table names none.
    public func organisation(ofType type: String, servingMunicipality code: String) -> String? {
        guard let municipality = municipalities[code] else { return nil }
        return municipality.organisations[type] ?? regions[municipality.region]?.organisations[type]
    }
}

public struct OrganisationRegistry: Sendable {
    /// How a candidate recipient of a type is found for a case.
    public enum Resolution: Sendable, Hashable {
        /// This organisation, and where its region came from (nil for a national type).
        case organisation(String, region: String?)
        /// None: the delivery waits for the case's municipality (`hold`) or is denied, for `reason`.
        case unresolved(hold: Bool, reason: String)
    }

    public var types: [OrganisationType]
    public var organisations: [Organisation]
    public var municipalities: MunicipalityTable
    private var byCode: [String: Organisation] = [:]
    /// The one organisation of each non-regional type.
    private var nationalOfType: [String: String] = [:]

    public init(types: [OrganisationType], organisations: [Organisation], municipalities: MunicipalityTable = MunicipalityTable()) {
        self.types = types
        self.organisations = organisations
        self.municipalities = municipalities
        for organisation in organisations {
            byCode[organisation.code] = organisation
            if nationalOfType[organisation.type] == nil { nationalOfType[organisation.type] = organisation.code }
        }
    }

    public func organisation(_ code: String) -> Organisation? { byCode[code] }

    /// The organisation type of a code, or the code itself when it names a type.
    public func type(of codeOrType: String) -> String? {
        byCode[codeOrType]?.type ?? types.first { $0.type == codeOrType }?.type
    }

    /// Whether the table knows this municipality (a statement of an unknown code places no case).
    public func knows(municipality: String) -> Bool { municipalities.municipalities[municipality] != nil }

    /// The organisation of `type` for a case in `municipality` (nil: no partner stated one). One
    /// code path for every type: a national type has its one organisation; a regional type the one
    /// the table names for the municipality, or, without a municipality, what the type says.
    public func resolve(_ type: OrganisationType, municipality: String?) -> Resolution {
        guard type.regional else {
            guard let code = nationalOfType[type.type] else { return .unresolved(hold: false, reason: "no \(type.name) organisation is registered") }
            return .organisation(code, region: nil)
        }
        if let municipality {
            guard let code = municipalities.organisation(ofType: type.type, servingMunicipality: municipality) else {
                return .unresolved(hold: false, reason: "no \(type.name) organisation serves municipality \(municipality)")
            }
            return .organisation(code, region: municipality)
        }
        switch type.withoutRegion {
        case .hold:
            return .unresolved(hold: true, reason: "waits for the victim's address: no \(type.name) organisation is known for this case")
        case .deny:
            return .unresolved(hold: false, reason: "no \(type.name) organisation is known for this case: no partner stated its municipality")
        case .fallback(let code):
            return .organisation(code, region: nil)
        }
    }
}

/// A whole matrix: registries, the national baseline, regional rule sets, and its version.
public struct SharingMatrix: Sendable {
    public var version: String
    public var organisations: OrganisationRegistry
    public var legalBases: [String: LegalBasis]
    /// Every purpose a rule may name, with its definition (`purposes.yaml`).
    public var purposes: [String: Purpose] = [:]
    /// What each disclosure level may carry, by event name (`disclosure-levels.yaml`).
    public var disclosureLevels: [String: DisclosureLevels] = [:]
    /// Set when a privacy officer marked this version as a trial: only then may rules rest on
    /// legal bases not yet confirmed, and every decision under one says so.
    public var trial: String?
    /// Which messages may open a chain case, and when cases are linked (`chain-cases.yaml`).
    public var chainCases = ChainCaseRules()
    /// Where a case learns the victim's address, highest rank first (`victimAddress`).
    public var victimAddress: [VictimAddressSource] = []
    public var baseline: [SharingRule]
    /// Regional rules by region.
    public var regional: [String: [SharingRule]]
    /// Event types deliberately never shared, with the reason.
    public var notShared: [String: String]
    /// What must never happen whatever the rules say (`invariants.yaml`), checked on every lint.
    public var invariants: [MatrixInvariant] = []
    /// Worked examples with their exact outcome (`scenarios/*.yaml`), run on every lint.
    public var scenarios: [MatrixScenario] = []

    public init(version: String, organisations: OrganisationRegistry, legalBases: [String: LegalBasis], baseline: [SharingRule],
                regional: [String: [SharingRule]], notShared: [String: String]) {
        self.version = version
        self.organisations = organisations
        self.legalBases = legalBases
        self.baseline = baseline
        self.regional = regional
        self.notShared = notShared
    }

    public var allRules: [SharingRule] { baseline + regional.keys.sorted().flatMap { regional[$0]! } }
}

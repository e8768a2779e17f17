/// A calendar date as the contracts write it (YYYY-MM-DD); validated by the schema, kept verbatim.
public typealias CalendarDate = String
/// A moment with its UTC offset (RFC 3339); validated by the schema, kept verbatim.
public typealias Timestamp = String
/// A pseudonymous person id (`psn:` and 32 hex digits). Never a BSN or a name.
public typealias PseudonymousID = String
/// A partner organisation code: politie, om, 3ro, rvdk, shn or vt-<region>.
public typealias OrganisationCode = String
/// A CBS municipality code (GM and four digits).
public typealias MunicipalityCode = String

public enum PersonRole: String, Codable, Sendable, Hashable, CaseIterable {
    case slachtoffer, verdachte, kind, melder, betrokkene
}

public struct Person: Codable, Sendable, Hashable {
    public var id: PseudonymousID
    public var role: PersonRole
    public var minor: Bool?
    public var birthYear: Int?
    /// The municipality of the person's home address; a victim's decides the case's VT region.
    public var municipalityCode: MunicipalityCode?

    public init(id: PseudonymousID, role: PersonRole, minor: Bool? = nil, birthYear: Int? = nil, municipalityCode: MunicipalityCode? = nil) {
        self.id = id
        self.role = role
        self.minor = minor
        self.birthYear = birthYear
        self.municipalityCode = municipalityCode
    }
}

public struct CaseReference: Codable, Sendable, Hashable {
    public var organisation: OrganisationCode
    public var system: String?
    public var reference: String

    public init(organisation: OrganisationCode, system: String? = nil, reference: String) {
        self.organisation = organisation
        self.system = system
        self.reference = reference
    }
}

/// The controlled vocabulary of protective conditions.
public enum ConditionType: String, Codable, Sendable, Hashable, CaseIterable {
    case contactverbod, locatieverbod, gebiedsverbod, locatiegebod, meldplicht, enkelband
    case behandelverplichting, middelenverbod
    case meewerkenToezicht = "meewerken-toezicht"
    case overig
}

public struct Area: Codable, Sendable, Hashable {
    public var description: String
    public var municipalityCodes: [MunicipalityCode]?

    public init(description: String, municipalityCodes: [MunicipalityCode]? = nil) {
        self.description = description
        self.municipalityCodes = municipalityCodes
    }
}

/// A voorwaarde as imposed (by a gedragsaanwijzing, schorsing, vonnis, VT, ...).
public struct Condition: Codable, Sendable, Hashable {
    public var type: ConditionType
    /// Whom it binds: `verdachte`, `slachtoffer` or `huishouden`.
    public var binds: String?
    public var description: String
    public var protectedPersons: [PseudonymousID]?
    public var area: Area?
    public var schedule: String?

    public init(type: ConditionType, description: String, protectedPersons: [PseudonymousID]? = nil, area: Area? = nil, schedule: String? = nil) {
        self.type = type
        self.description = description
        self.protectedPersons = protectedPersons
        self.area = area
        self.schedule = schedule
    }
}

/// Contactpersoon: the one person at a partner to contact about a fact.
public struct ContactPerson: Codable, Sendable, Hashable {
    public var organisation: OrganisationCode
    public var name: String
    public var function: String?
    public var phone: String?
    public var email: String?

    public init(organisation: OrganisationCode, name: String, function: String? = nil, phone: String? = nil, email: String? = nil) {
        self.organisation = organisation
        self.name = name
        self.function = function
        self.phone = phone
        self.email = email
    }
}

/// The content of one kind of canonical event. Its schema is `Contracts/events/<eventName>.schema.json`.
public protocol CanonicalEventData: Codable, Sendable, Hashable {
    /// The event's name in the catalogue, for example `gedragsaanwijzing`.
    static var eventName: String { get }
}

extension CanonicalEventData {
    /// The CloudEvents `type` attribute.
    public static var cloudEventType: String { "nl.ketenhub.\(eventName).v1" }
    public static var schemaFile: String { "\(eventName).schema.json" }
}

// Events the police publish.

/// VT-melding: the police report a situation to the Veilig Thuis of the address.
public struct VTMelding: CanonicalEventData {
    public static let eventName = "vt-melding"
    public enum Concern: String, Codable, Sendable, Hashable {
        case huiselijkGeweld = "huiselijk-geweld", kindermishandeling, ouderenmishandeling
        case eergerelateerdGeweld = "eergerelateerd-geweld", stalking
    }
    public var meldingId: String
    public var registeredAt: Timestamp
    public var municipalityCode: MunicipalityCode
    public var concerns: [Concern]
    public var persons: [Person]
    public var childrenPresent: Bool?
    public var summary: String?
    public var contactPerson: ContactPerson?

    public init(meldingId: String, registeredAt: Timestamp, municipalityCode: MunicipalityCode, concerns: [Concern], persons: [Person], childrenPresent: Bool? = nil, summary: String? = nil, contactPerson: ContactPerson? = nil) {
        self.meldingId = meldingId
        self.registeredAt = registeredAt
        self.municipalityCode = municipalityCode
        self.concerns = concerns
        self.persons = persons
        self.childrenPresent = childrenPresent
        self.summary = summary
        self.contactPerson = contactPerson
    }
}

public enum Offence: String, Codable, Sendable, Hashable {
    case belaging, bedreiging, mishandeling, huisvredebreuk, vernieling
    case overtredingVoorwaarde = "overtreding-voorwaarde"
    case overig
}

/// A melding (report) or aangifte (criminal complaint); belaging is a klachtdelict.
public struct Melding: CanonicalEventData {
    public static let eventName = "melding"
    public enum Kind: String, Codable, Sendable, Hashable { case melding, aangifte }
    public var registrationId: String
    public var kind: Kind
    public var offence: Offence
    public var offenceCode: String?
    public var reportedAt: Timestamp
    public var complaintFiled: Bool?
    /// The victim's wish, asked at the aangifte, to be referred to Slachtofferhulp.
    public var victimReferral: Bool?
    public var persons: [Person]
    public var contactPerson: ContactPerson?

    public init(registrationId: String, kind: Kind, offence: Offence, offenceCode: String? = nil, reportedAt: Timestamp, complaintFiled: Bool? = nil, victimReferral: Bool? = nil, persons: [Person], contactPerson: ContactPerson? = nil) {
        self.registrationId = registrationId
        self.kind = kind
        self.offence = offence
        self.offenceCode = offenceCode
        self.reportedAt = reportedAt
        self.complaintFiled = complaintFiled
        self.victimReferral = victimReferral
        self.persons = persons
        self.contactPerson = contactPerson
    }
}

public enum RiskLevel: String, Codable, Sendable, Hashable { case laag, midden, hoog }

/// SASH risk screening; a revision supersedes the earlier one.
public struct SASHScreening: CanonicalEventData {
    public static let eventName = "sash-screening"
    public var screeningId: String
    public var revision: Int
    public var supersedesRevision: Int?
    public var riskLevel: RiskLevel
    public var screenedAt: Timestamp
    public var persons: [Person]
    public var riskFactors: [String]?
    public var contactPerson: ContactPerson?

    public init(screeningId: String, revision: Int, supersedesRevision: Int? = nil, riskLevel: RiskLevel, screenedAt: Timestamp, persons: [Person], riskFactors: [String]? = nil, contactPerson: ContactPerson? = nil) {
        self.screeningId = screeningId
        self.revision = revision
        self.supersedesRevision = supersedesRevision
        self.riskLevel = riskLevel
        self.screenedAt = screenedAt
        self.persons = persons
        self.riskFactors = riskFactors
        self.contactPerson = contactPerson
    }
}

/// Aanhouding: the arrest that starts the ZSM clock.
public struct Aanhouding: CanonicalEventData {
    public static let eventName = "aanhouding"
    public var arrestId: String
    public var arrestedAt: Timestamp
    public var suspect: PseudonymousID
    public var suspectMinor: Bool
    public var childrenInvolved: Bool?
    public var municipalityCode: MunicipalityCode
    public var offence: Offence?
    public var contactPerson: ContactPerson?

    public init(arrestId: String, arrestedAt: Timestamp, suspect: PseudonymousID, suspectMinor: Bool, childrenInvolved: Bool? = nil, municipalityCode: MunicipalityCode, offence: Offence? = nil, contactPerson: ContactPerson? = nil) {
        self.arrestId = arrestId
        self.arrestedAt = arrestedAt
        self.suspect = suspect
        self.suspectMinor = suspectMinor
        self.childrenInvolved = childrenInvolved
        self.municipalityCode = municipalityCode
        self.offence = offence
        self.contactPerson = contactPerson
    }
}

/// Tijdelijk huisverbod: a 10-day ban from the home, by the burgemeester's mandate.
public struct TijdelijkHuisverbod: CanonicalEventData {
    public static let eventName = "tijdelijk-huisverbod"
    public var orderId: String
    public var imposedAt: Timestamp
    public var endsAt: Timestamp
    public var excludedPerson: PseudonymousID
    public var protectedPersons: [PseudonymousID]
    public var municipalityCode: MunicipalityCode
    public var extended: Bool?
    public var contactPerson: ContactPerson?

    public init(orderId: String, imposedAt: Timestamp, endsAt: Timestamp, excludedPerson: PseudonymousID, protectedPersons: [PseudonymousID], municipalityCode: MunicipalityCode, extended: Bool? = nil, contactPerson: ContactPerson? = nil) {
        self.orderId = orderId
        self.imposedAt = imposedAt
        self.endsAt = endsAt
        self.excludedPerson = excludedPerson
        self.protectedPersons = protectedPersons
        self.municipalityCode = municipalityCode
        self.extended = extended
        self.contactPerson = contactPerson
    }
}

/// Overtreding voorwaarde: a condition or ban was broken (seen by the police or the reclassering).
public struct OvertredingVoorwaarde: CanonicalEventData {
    public static let eventName = "overtreding-voorwaarde"
    public struct BreachedCondition: Codable, Sendable, Hashable {
        public var conditionType: ConditionType
        public var imposedBy: String
        public var orderReference: String

        public init(conditionType: ConditionType, imposedBy: String, orderReference: String) {
            self.conditionType = conditionType
            self.imposedBy = imposedBy
            self.orderReference = orderReference
        }
    }
    public var breachId: String
    public var observedAt: Timestamp
    public var suspect: PseudonymousID
    public var breachedCondition: BreachedCondition
    public var description: String
    public var municipalityCode: MunicipalityCode?
    public var arrested: Bool?
    public var contactPerson: ContactPerson?

    public init(breachId: String, observedAt: Timestamp, suspect: PseudonymousID, breachedCondition: BreachedCondition, description: String, municipalityCode: MunicipalityCode? = nil, arrested: Bool? = nil, contactPerson: ContactPerson? = nil) {
        self.breachId = breachId
        self.observedAt = observedAt
        self.suspect = suspect
        self.breachedCondition = breachedCondition
        self.description = description
        self.municipalityCode = municipalityCode
        self.arrested = arrested
        self.contactPerson = contactPerson
    }
}

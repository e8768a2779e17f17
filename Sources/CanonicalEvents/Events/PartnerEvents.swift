// Events of Veilig Thuis, the reclassering, the RvdK and Slachtofferhulp, and the ones every partner sends.

/// Veiligheidsbeoordeling with veiligheidsvoorwaarden (Veilig Thuis); versioned.
public struct Veiligheidsbeoordeling: CanonicalEventData {
    public static let eventName = "veiligheidsbeoordeling"
    public enum Outcome: String, Codable, Sendable, Hashable {
        case veilig, onveilig
        case acuutOnveilig = "acuut-onveilig"
    }
    public var assessmentId: String
    public var version: Int
    public var assessedAt: Timestamp
    public var outcome: Outcome
    public var veiligheidsvoorwaarden: [Condition]
    public var advice: String?
    public var contactPerson: ContactPerson?

    public init(assessmentId: String, version: Int, assessedAt: Timestamp, outcome: Outcome, veiligheidsvoorwaarden: [Condition], advice: String? = nil, contactPerson: ContactPerson? = nil) {
        self.assessmentId = assessmentId
        self.version = version
        self.assessedAt = assessedAt
        self.outcome = outcome
        self.veiligheidsvoorwaarden = veiligheidsvoorwaarden
        self.advice = advice
        self.contactPerson = contactPerson
    }
}

/// Reclasseringsadvies (3RO): content for the OM, dat-informatie for others.
public struct Reclasseringsadvies: CanonicalEventData {
    public static let eventName = "reclasseringsadvies"
    public enum AdviceKind: String, Codable, Sendable, Hashable { case vroeghulp, voorlichtingsrapport, toezichtadvies }
    public struct RiskAssessment: Codable, Sendable, Hashable {
        public var instrument: String
        public var level: RiskLevel

        public init(instrument: String, level: RiskLevel) {
            self.instrument = instrument
            self.level = level
        }
    }
    public var adviceId: String
    public var deliveredAt: Timestamp
    public var suspect: PseudonymousID
    public var adviceKind: AdviceKind
    public var riskAssessment: RiskAssessment
    public var recommendation: String
    public var proposedConditions: [Condition]?
    /// The suspect's consent to share the content with Veilig Thuis.
    public var suspectConsentToShare: Bool?
    public var contactPerson: ContactPerson?

    public init(adviceId: String, deliveredAt: Timestamp, suspect: PseudonymousID, adviceKind: AdviceKind, riskAssessment: RiskAssessment, recommendation: String, proposedConditions: [Condition]? = nil, suspectConsentToShare: Bool? = nil, contactPerson: ContactPerson? = nil) {
        self.adviceId = adviceId
        self.deliveredAt = deliveredAt
        self.suspect = suspect
        self.adviceKind = adviceKind
        self.riskAssessment = riskAssessment
        self.recommendation = recommendation
        self.proposedConditions = proposedConditions
        self.suspectConsentToShare = suspectConsentToShare
        self.contactPerson = contactPerson
    }
}

/// Traject gestart / beeindigd: dat-informatie that a partner runs a trajectory, and whom to call.
public struct Traject: CanonicalEventData {
    public static let eventName = "traject"
    public enum Status: String, Codable, Sendable, Hashable { case gestart, beeindigd }
    public var trajectoryId: String
    public var status: Status
    public var organisation: OrganisationCode
    public var trajectoryType: String
    public var startDate: CalendarDate
    public var endDate: CalendarDate?
    public var person: PseudonymousID?
    public var contactPerson: ContactPerson

    public init(trajectoryId: String, status: Status, organisation: OrganisationCode, trajectoryType: String, startDate: CalendarDate, endDate: CalendarDate? = nil, person: PseudonymousID? = nil, contactPerson: ContactPerson) {
        self.trajectoryId = trajectoryId
        self.status = status
        self.organisation = organisation
        self.trajectoryType = trajectoryType
        self.startDate = startDate
        self.endDate = endDate
        self.person = person
        self.contactPerson = contactPerson
    }
}

/// Raadsonderzoek gestart (Raad voor de Kinderbescherming).
public struct Raadsonderzoek: CanonicalEventData {
    public static let eventName = "raadsonderzoek"
    public enum Kind: String, Codable, Sendable, Hashable { case beschermingsonderzoek, strafonderzoek, gezagsonderzoek }
    public var investigationId: String
    public var startedOn: CalendarDate
    public var kind: Kind
    public var children: [PseudonymousID]
    public var contactPerson: ContactPerson?

    public init(investigationId: String, startedOn: CalendarDate, kind: Kind, children: [PseudonymousID], contactPerson: ContactPerson? = nil) {
        self.investigationId = investigationId
        self.startedOn = startedOn
        self.kind = kind
        self.children = children
        self.contactPerson = contactPerson
    }
}

/// Informatiewens slachtoffer: the victim's wish to be informed, and consent (Slachtofferhulp).
public struct Informatiewens: CanonicalEventData {
    public static let eventName = "informatiewens"
    public enum Status: String, Codable, Sendable, Hashable { case gegeven, ingetrokken }
    public var wishId: String
    public var victim: PseudonymousID
    public var status: Status
    public var recordedAt: Timestamp
    public var topics: [String]?
    public var consentToShare: Bool?
    /// The victim's protection needs and wish on the disposal, for the OM at ZSM (004:346).
    public var protectionNeeds: [String]?
    public var disposalWish: String?
    public var contactPerson: ContactPerson?

    public init(wishId: String, victim: PseudonymousID, status: Status, recordedAt: Timestamp, topics: [String]? = nil, consentToShare: Bool? = nil,
                protectionNeeds: [String]? = nil, disposalWish: String? = nil, contactPerson: ContactPerson? = nil) {
        self.wishId = wishId
        self.victim = victim
        self.status = status
        self.recordedAt = recordedAt
        self.topics = topics
        self.consentToShare = consentToShare
        self.protectionNeeds = protectionNeeds
        self.disposalWish = disposalWish
        self.contactPerson = contactPerson
    }
}

/// Toestemming: a data subject's consent as a partner recorded it (who, when, in what form, for
/// what), kept by the hub as the evidence a decision rests on; withdrawn by a later one.
public struct Toestemming: CanonicalEventData {
    public static let eventName = "toestemming"
    public struct Scope: Codable, Sendable, Hashable {
        public var event: String
        public var recipient: String

        public init(event: String, recipient: String) {
            self.event = event
            self.recipient = recipient
        }
    }
    public enum Form: String, Codable, Sendable, Hashable { case schriftelijk, mondeling }
    public var consentId: String
    public var person: PseudonymousID
    public var role: PersonRole
    public var status: Informatiewens.Status
    public var scope: [Scope]?
    public var recordedAt: Timestamp
    public var form: Form
    public var contactPerson: ContactPerson

    public init(consentId: String, person: PseudonymousID, role: PersonRole, status: Informatiewens.Status, scope: [Scope]? = nil,
                recordedAt: Timestamp, form: Form, contactPerson: ContactPerson) {
        self.consentId = consentId
        self.person = person
        self.role = role
        self.status = status
        self.scope = scope
        self.recordedAt = recordedAt
        self.form = form
        self.contactPerson = contactPerson
    }
}

/// Terugkoppeling: Veilig Thuis tells the police what follows their melding (003:1573-1576).
public struct Terugkoppeling: CanonicalEventData {
    public static let eventName = "terugkoppeling"
    public enum Kind: String, Codable, Sendable, Hashable { case triage, overdracht, afsluiting }
    public var feedbackId: String
    public var meldingId: String
    public var kind: Kind
    public var recordedAt: Timestamp
    public var outcome: String
    public var handedOverTo: String?
    public var contactPerson: ContactPerson

    public init(feedbackId: String, meldingId: String, kind: Kind, recordedAt: Timestamp, outcome: String, handedOverTo: String? = nil,
                contactPerson: ContactPerson) {
        self.feedbackId = feedbackId
        self.meldingId = meldingId
        self.kind = kind
        self.recordedAt = recordedAt
        self.outcome = outcome
        self.handedOverTo = handedOverTo
        self.contactPerson = contactPerson
    }
}

/// Contactpersoon toegewezen: a partner's fixed contact for the case.
public struct Contactpersoon: CanonicalEventData {
    public static let eventName = "contactpersoon"
    public var organisation: OrganisationCode
    public var role: String
    public var assignedOn: CalendarDate
    public var contactPerson: ContactPerson

    public init(organisation: OrganisationCode, role: String, assignedOn: CalendarDate, contactPerson: ContactPerson) {
        self.organisation = organisation
        self.role = role
        self.assignedOn = assignedOn
        self.contactPerson = contactPerson
    }
}

/// Ontvangstbevestiging: a partner's acknowledgement of a delivery.
public struct Acknowledgement: CanonicalEventData {
    public static let eventName = "acknowledgement"
    public enum Status: String, Codable, Sendable, Hashable { case received, processed, rejected }
    public var deliveryId: String
    public var organisation: OrganisationCode
    public var status: Status
    public var acknowledgedAt: Timestamp
    public var reason: String?

    public init(deliveryId: String, organisation: OrganisationCode, status: Status, acknowledgedAt: Timestamp, reason: String? = nil) {
        self.deliveryId = deliveryId
        self.organisation = organisation
        self.status = status
        self.acknowledgedAt = acknowledgedAt
        self.reason = reason
    }
}

extension Acknowledgement {
    /// The organisation a delivery is addressed to, read from its id. A delivery's id is the id of the
    /// decision that permitted it, `dec-` + 32 hex digits + `-` + the recipient's code
    /// (`PolicyEvaluator`), so who may acknowledge it follows from the id alone: its recipient, and
    /// nobody else, whatever order the hub's records arrive in.
    public static func recipient(ofDelivery deliveryId: String) -> String? {
        let prefix = "dec-"
        let utf8 = deliveryId.utf8
        guard deliveryId.hasPrefix(prefix), utf8.count > prefix.utf8.count + 33 else { return nil }
        let digest = utf8.dropFirst(prefix.utf8.count).prefix(32)
        guard digest.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }),
              utf8.dropFirst(prefix.utf8.count + 32).first == UInt8(ascii: "-") else { return nil }
        return String(deliveryId.dropFirst(prefix.count + 33))
    }

    /// Whether this acknowledgement speaks for the delivery's own recipient.
    public var isByRecipient: Bool { Self.recipient(ofDelivery: deliveryId) == organisation }
}

/// Every canonical event type with its Swift model; the schemas in `Contracts/events/` must match it one to one.
public enum CanonicalEventTypes {
    public static let all: [any CanonicalEventData.Type] = [
        VTMelding.self, Melding.self, SASHScreening.self, Aanhouding.self, Veiligheidsbeoordeling.self,
        ZSMBeslissing.self, Gedragsaanwijzing.self, Schorsing.self, Vonnis.self, Invrijheidstelling.self,
        OvertredingVoorwaarde.self, Reclasseringsadvies.self, Traject.self, Raadsonderzoek.self,
        Informatiewens.self, TijdelijkHuisverbod.self, Contactpersoon.self, Acknowledgement.self, Toestemming.self,
        Terugkoppeling.self,
    ]

    private static let byCloudEventType: [String: any CanonicalEventData.Type] =
        Dictionary(uniqueKeysWithValues: all.map { ($0.cloudEventType, $0) })

    public static func model(forCloudEventType type: String) -> (any CanonicalEventData.Type)? {
        byCloudEventType[type]
    }
}

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
}

/// Reclasseringsadvies (3RO): content for the OM, dat-informatie for others.
public struct Reclasseringsadvies: CanonicalEventData {
    public static let eventName = "reclasseringsadvies"
    public enum AdviceKind: String, Codable, Sendable, Hashable { case vroeghulp, voorlichtingsrapport, toezichtadvies }
    public struct RiskAssessment: Codable, Sendable, Hashable {
        public var instrument: String
        public var level: RiskLevel
    }
    public var adviceId: String
    public var deliveredAt: Timestamp
    public var suspect: PseudonymousID
    public var adviceKind: AdviceKind
    public var riskAssessment: RiskAssessment
    public var recommendation: String
    public var proposedConditions: [Condition]?
    public var contactPerson: ContactPerson?
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
    public var contactPerson: ContactPerson?
}

/// Contactpersoon toegewezen: a partner's fixed contact for the case.
public struct Contactpersoon: CanonicalEventData {
    public static let eventName = "contactpersoon"
    public var organisation: OrganisationCode
    public var role: String
    public var assignedOn: CalendarDate
    public var contactPerson: ContactPerson
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
}

/// Every canonical event type with its Swift model; the schemas in `Contracts/events/` must match it one to one.
public enum CanonicalEventTypes {
    public static let all: [any CanonicalEventData.Type] = [
        VTMelding.self, Melding.self, SASHScreening.self, Aanhouding.self, Veiligheidsbeoordeling.self,
        ZSMBeslissing.self, Gedragsaanwijzing.self, Schorsing.self, Vonnis.self, Invrijheidstelling.self,
        OvertredingVoorwaarde.self, Reclasseringsadvies.self, Traject.self, Raadsonderzoek.self,
        Informatiewens.self, TijdelijkHuisverbod.self, Contactpersoon.self, Acknowledgement.self,
    ]

    private static let byCloudEventType: [String: any CanonicalEventData.Type] =
        Dictionary(uniqueKeysWithValues: all.map { ($0.cloudEventType, $0) })

    public static func model(forCloudEventType type: String) -> (any CanonicalEventData.Type)? {
        byCloudEventType[type]
    }
}

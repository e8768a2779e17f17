// Events the Openbaar Ministerie publishes (its own decisions and the court's it relays).

/// The OM's ZSM decision: hold or release, and how the case continues.
public struct ZSMBeslissing: CanonicalEventData {
    public static let eventName = "zsm-beslissing"
    public enum Custody: String, Codable, Sendable, Hashable { case vasthouden, heenzenden }
    public enum Outcome: String, Codable, Sendable, Hashable {
        case sepot, dagvaarding, strafbeschikking, voorgeleiding
        case naderOnderzoek = "nader-onderzoek"
    }
    public enum SepotKind: String, Codable, Sendable, Hashable { case technisch, beleid, voorwaardelijk }
    public var decisionId: String
    public var decidedAt: Timestamp
    public var custody: Custody
    public var outcome: Outcome
    public var sepotKind: SepotKind?
    public var plannedHearingDate: CalendarDate?
    public var conditions: [Condition]?
    public var contactPerson: ContactPerson?
}

/// Gedragsaanwijzing (art. 509hh Sv), as it stands after this action.
public struct Gedragsaanwijzing: CanonicalEventData {
    public static let eventName = "gedragsaanwijzing"
    public enum Action: String, Codable, Sendable, Hashable { case opgelegd, gewijzigd, verlengd, beeindigd }
    public var orderId: String
    public var action: Action
    public var version: Int
    public var suspect: PseudonymousID
    public var protectedPersons: [PseudonymousID]
    public var conditions: [Condition]
    public var startDate: CalendarDate
    public var endDate: CalendarDate
    public var endedOn: CalendarDate?
    public var endReason: String?
    public var contactPerson: ContactPerson?
}

/// Schorsing voorlopige hechtenis: pre-trial detention suspended under conditions.
public struct Schorsing: CanonicalEventData {
    public static let eventName = "schorsing"
    public var suspensionId: String
    public var decidedAt: Timestamp
    public var court: String
    public var suspect: PseudonymousID
    public var conditions: [Condition]
    public var startDate: CalendarDate
    public var endDate: CalendarDate?
    public var electronicMonitoring: Bool?
    public var contactPerson: ContactPerson?
}

/// Vonnis: the verdict, with bijzondere voorwaarden, electronic monitoring and DUT, or an acquittal.
public struct Vonnis: CanonicalEventData {
    public static let eventName = "vonnis"
    public enum Outcome: String, Codable, Sendable, Hashable {
        case veroordeling, vrijspraak
        case ontslagVanAlleRechtsvervolging = "ontslag-van-alle-rechtsvervolging"
    }
    public struct Sentence: Codable, Sendable, Hashable {
        public var kind: String
        public var unconditionalDays: Int?
        public var conditionalDays: Int?
        public var probationYears: Int?
    }
    public var verdictId: String
    public var pronouncedOn: CalendarDate
    public var court: String
    public var suspect: PseudonymousID
    public var outcome: Outcome
    public var sentence: Sentence?
    public var bijzondereVoorwaarden: [Condition]?
    public var electronicMonitoring: Bool?
    public var dadelijkUitvoerbaar: Bool?
    public var contactPerson: ContactPerson?
}

/// Invrijheidstelling: release from custody, known to partners before it happens.
public struct Invrijheidstelling: CanonicalEventData {
    public static let eventName = "invrijheidstelling"
    public enum Kind: String, Codable, Sendable, Hashable {
        case eindeDetentie = "einde-detentie", schorsing, verlof
        case eindeMaatregel = "einde-maatregel"
        case voorwaardelijkeInvrijheidstelling = "voorwaardelijke-invrijheidstelling"
    }
    public var releaseId: String
    public var releaseAt: Timestamp
    public var suspect: PseudonymousID
    public var kind: Kind
    public var facility: String
    public var conditions: [Condition]?
    public var contactPerson: ContactPerson?
}

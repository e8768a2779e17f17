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

    public init(decisionId: String, decidedAt: Timestamp, custody: Custody, outcome: Outcome, sepotKind: SepotKind? = nil, plannedHearingDate: CalendarDate? = nil, conditions: [Condition]? = nil, contactPerson: ContactPerson? = nil) {
        self.decisionId = decisionId
        self.decidedAt = decidedAt
        self.custody = custody
        self.outcome = outcome
        self.sepotKind = sepotKind
        self.plannedHearingDate = plannedHearingDate
        self.conditions = conditions
        self.contactPerson = contactPerson
    }
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

    public init(orderId: String, action: Action, version: Int, suspect: PseudonymousID, protectedPersons: [PseudonymousID], conditions: [Condition], startDate: CalendarDate, endDate: CalendarDate, endedOn: CalendarDate? = nil, endReason: String? = nil, contactPerson: ContactPerson? = nil) {
        self.orderId = orderId
        self.action = action
        self.version = version
        self.suspect = suspect
        self.protectedPersons = protectedPersons
        self.conditions = conditions
        self.startDate = startDate
        self.endDate = endDate
        self.endedOn = endedOn
        self.endReason = endReason
        self.contactPerson = contactPerson
    }
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

    public init(suspensionId: String, decidedAt: Timestamp, court: String, suspect: PseudonymousID, conditions: [Condition], startDate: CalendarDate, endDate: CalendarDate? = nil, electronicMonitoring: Bool? = nil, contactPerson: ContactPerson? = nil) {
        self.suspensionId = suspensionId
        self.decidedAt = decidedAt
        self.court = court
        self.suspect = suspect
        self.conditions = conditions
        self.startDate = startDate
        self.endDate = endDate
        self.electronicMonitoring = electronicMonitoring
        self.contactPerson = contactPerson
    }
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

        public init(kind: String, unconditionalDays: Int? = nil, conditionalDays: Int? = nil, probationYears: Int? = nil) {
            self.kind = kind
            self.unconditionalDays = unconditionalDays
            self.conditionalDays = conditionalDays
            self.probationYears = probationYears
        }
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

    public init(verdictId: String, pronouncedOn: CalendarDate, court: String, suspect: PseudonymousID, outcome: Outcome, sentence: Sentence? = nil, bijzondereVoorwaarden: [Condition]? = nil, electronicMonitoring: Bool? = nil, dadelijkUitvoerbaar: Bool? = nil, contactPerson: ContactPerson? = nil) {
        self.verdictId = verdictId
        self.pronouncedOn = pronouncedOn
        self.court = court
        self.suspect = suspect
        self.outcome = outcome
        self.sentence = sentence
        self.bijzondereVoorwaarden = bijzondereVoorwaarden
        self.electronicMonitoring = electronicMonitoring
        self.dadelijkUitvoerbaar = dadelijkUitvoerbaar
        self.contactPerson = contactPerson
    }
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

    public init(releaseId: String, releaseAt: Timestamp, suspect: PseudonymousID, kind: Kind, facility: String, conditions: [Condition]? = nil, contactPerson: ContactPerson? = nil) {
        self.releaseId = releaseId
        self.releaseAt = releaseAt
        self.suspect = suspect
        self.kind = kind
        self.facility = facility
        self.conditions = conditions
        self.contactPerson = contactPerson
    }
}

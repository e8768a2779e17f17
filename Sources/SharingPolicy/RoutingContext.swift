import CanonicalEvents

/// What the router knows about one chain case, built from the case's events in order. Kept on a
/// compacted topic so a restarted router knows it again.
public struct CaseState: Codable, Sendable, Hashable {
    public var caseId: String
    /// The Veilig Thuis organisation of the case's address, once an event named a municipality.
    public var veiligThuis: String?
    public var suspectMinor: Bool?
    public var victims: Set<String> = []
    /// `source` + `id` of every event already routed: the same event published twice is routed once.
    public var routed: Set<String> = []

    public init(caseId: String) {
        self.caseId = caseId
    }

    /// The case attributes rule conditions test; an unknown boolean counts as false (a suspect is an
    /// adult unless a partner said otherwise).
    public func attribute(_ name: String) -> Bool {
        switch name {
        case "suspectMinor": suspectMinor ?? false
        default: false
        }
    }

    public static func routingKey(of event: CloudEvent) -> String { "\(event.source)\n\(event.id)" }

    /// Learns what the event says about the case. Which fields matter is listed here once.
    public mutating func absorb(_ event: CloudEvent, organisations: OrganisationRegistry) {
        let data = event.data
        if let municipality = data["municipalityCode"]?.stringValue,
           let vt = organisations.organisation(ofType: "vt", servingMunicipality: municipality) {
            veiligThuis = vt.code
        }
        for person in data["persons"]?.arrayValue ?? [] {
            if person["role"]?.stringValue == PersonRole.slachtoffer.rawValue, let id = person["id"]?.stringValue { victims.insert(id) }
            if person["role"]?.stringValue == PersonRole.verdachte.rawValue, case .bool(let minor)? = person["minor"] { suspectMinor = minor }
        }
        for id in (data["protectedPersons"]?.arrayValue ?? []).compactMap(\.stringValue) { victims.insert(id) }
        if let victim = data["victim"]?.stringValue { victims.insert(victim) }
        if case .bool(let minor)? = data["suspectMinor"] { suspectMinor = minor }
    }
}

/// One person's consent and information wish in one chain case, from the informatiewens recorded
/// latest.
public struct ConsentRecord: Codable, Sendable, Hashable {
    public var person: String
    /// The chain case the informatiewens names: consent belongs to the person in that case, not to the
    /// person wherever else an event may name them.
    public var ketencaseid: String
    public var status: String
    public var topics: [String]?
    public var consentToShare: Bool?
    /// When the wish was recorded (the informatiewens's `recordedAt`), not when it reached the hub.
    public var updatedAt: String
    public var sourceEventId: String

    public var isGiven: Bool { status == Informatiewens.Status.gegeven.rawValue }

    /// The key of a person's consent in a case.
    public var key: String { ConsentState.key(case: ketencaseid, person: person) }

    /// The consent an informatiewens event records, if it is one. Read from the validated data as it
    /// is, not through a decoder: the router asks this of every event it routes.
    public init?(_ event: CloudEvent) {
        guard event.type == Informatiewens.cloudEventType else { return nil }
        let data = event.data
        guard let victim = data["victim"]?.stringValue, let status = data["status"]?.stringValue,
              Informatiewens.Status(rawValue: status) != nil, let recordedAt = data["recordedAt"]?.stringValue else { return nil }
        person = victim
        ketencaseid = event.ketencaseid
        self.status = status
        topics = data["topics"]?.arrayValue?.compactMap(\.stringValue)
        if case .bool(let share)? = data["consentToShare"] { consentToShare = share }
        updatedAt = recordedAt
        sourceEventId = event.id
    }

    /// Whether this record replaces `other` (the same person in the same case): it was recorded
    /// later, or at the same moment and withdraws. Consent goes by the time it was recorded, not by
    /// the order its messages arrive in: a wish recorded before a withdrawal and sent after it does
    /// not revive consent, and at a tie the withdrawal wins, so consent never fails open.
    public func supersedes(_ other: ConsentRecord) -> Bool {
        guard let mine = HubTime.date(updatedAt) else { return false }
        guard let theirs = HubTime.date(other.updatedAt) else { return true }
        if mine != theirs { return mine > theirs }
        if isGiven != other.isGiven { return !isGiven }
        return sourceEventId > other.sourceEventId  // the same moment and status: one of them, the same on every replay
    }
}

/// The consent of every person in every chain case, by case and pseudonymous id. A record applies
/// only if it supersedes the one in force (`ConsentRecord.supersedes`), so the state is the same
/// whatever order its records are applied in, on the router and when it is read back.
public struct ConsentState: Sendable {
    /// By chain case, then by person: looked up for every consent condition of every event, without
    /// building a key.
    private var byCase: [String: [String: ConsentRecord]] = [:]

    public init(records: [ConsentRecord] = []) {
        for record in records { self.record(record) }
    }

    /// How many persons' consents are known, over all cases.
    public var count: Int { byCase.values.reduce(0) { $0 + $1.count } }

    public static func key(case ketencaseid: String, person: String) -> String { ketencaseid + "\n" + person }

    /// Applies a record; returns the one in force afterwards for its person and case.
    @discardableResult
    public mutating func record(_ record: ConsentRecord) -> ConsentRecord {
        if let current = byCase[record.ketencaseid]?[record.person], !record.supersedes(current) { return current }
        byCase[record.ketencaseid, default: [:]][record.person] = record
        return record
    }

    public func satisfies(_ consent: RuleConditions.Consent, case ketencaseid: String, victims: Set<String>, eventName: String) -> Bool {
        whyNot(consent, case: ketencaseid, victims: victims, eventName: eventName) == nil
    }

    /// Nil when a victim of the case gives this consent; otherwise why not, in words a privacy
    /// officer can check: the wish was withdrawn, is about other events, does not include consent to
    /// share, or was never given.
    public func whyNot(_ consent: RuleConditions.Consent, case ketencaseid: String, victims: Set<String>, eventName: String) -> String? {
        let wishes = byCase[ketencaseid] ?? [:]
        var any: ConsentRecord?
        var given = false
        for victim in victims {
            guard let record = wishes[victim] else { continue }
            if record.isGiven {
                given = true
                switch consent {
                case .victimInformed: if record.topics?.contains(eventName) ?? false { return nil }
                case .victimShare: if record.consentToShare ?? false { return nil }
                }
            }
            if any == nil || (!record.isGiven && any!.isGiven) || record.person < any!.person { any = record }
        }
        // Only a deny needs words; they are built here, after the common answer.
        guard let wish = any else {
            return victims.isEmpty ? "no victim is known in this case, so no informatiewens applies"
                                   : "no victim of this case has given an informatiewens (never given)"
        }
        if !given { return "the victim's informatiewens was withdrawn (recorded \(wish.updatedAt))" }
        switch consent {
        case .victimInformed: return "the victim's informatiewens does not ask to be informed of \(eventName)"
        case .victimShare: return "the victim's informatiewens does not consent to sharing"
        }
    }
}

import CanonicalEvents

/// What the router knows about one chain case, built from the case's events in order. Kept on a
/// compacted topic so a restarted router knows it again.
public struct CaseState: Codable, Sendable, Hashable {
    public var caseId: String
    /// The municipality (CBS code) of the victim's address, once a partner stated one the
    /// municipality table knows: it decides the organisation of every regional type ...
    public var municipality: String?
    /// ... and where the hub learnt that address (`SharingMatrix.victimAddress`), for the decision record.
    public var regionSource: String?
    /// The rank in `SharingMatrix.victimAddress` of the statement the region comes from: a later
    /// statement of a source ranked as high or higher replaces it, a lower-ranked one does not.
    public var regionRank: Int?
    /// Nil while no partner has said whether the suspect is a minor: unknown is neither, and a rule
    /// conditioned on it waits (see `attribute`).
    public var suspectMinor: Bool?
    /// Whether children are part of the family system; true once any partner said so.
    public var childrenInvolved: Bool?
    public var suspects: Set<String> = []
    public var victims: Set<String> = []
    /// For each person whose consent a delivery rested on, the organisations that received under
    /// it: a withdrawal of that consent goes to them (`RuleConditions.Consent.withdrawal`).
    public var receivedUnderConsent: [String: Set<String>] = [:]
    /// Events whose deliveries to some recipients wait for a fact of the case (the suspect's age,
    /// the victim's address); routed to them once a partner states it.
    public var held: [HeldEvent] = []
    /// `source` + `id` of every event routed (`routingKey`), with the day it happened (`yyyy-mm-dd`):
    /// the same event published twice is routed once. A router forgets the events older than its
    /// deduplication horizon (`RoutingState.forget`), and refuses such events instead.
    public var routed: [String: String] = [:]
    /// Each organisation's own reference for the case (the newest it sent): its deliveries carry it.
    public var references: [String: String] = [:]

    public init(caseId: String) {
        self.caseId = caseId
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        caseId = try container.decode(String.self, forKey: .caseId)
        municipality = try container.decodeIfPresent(String.self, forKey: .municipality)
        regionSource = try container.decodeIfPresent(String.self, forKey: .regionSource)
        regionRank = try container.decodeIfPresent(Int.self, forKey: .regionRank)
        suspectMinor = try container.decodeIfPresent(Bool.self, forKey: .suspectMinor)
        childrenInvolved = try container.decodeIfPresent(Bool.self, forKey: .childrenInvolved)
        suspects = try container.decodeIfPresent(Set<String>.self, forKey: .suspects) ?? []
        victims = try container.decodeIfPresent(Set<String>.self, forKey: .victims) ?? []
        receivedUnderConsent = try container.decodeIfPresent([String: Set<String>].self, forKey: .receivedUnderConsent) ?? [:]
        held = try container.decodeIfPresent([HeldEvent].self, forKey: .held) ?? []
        routed = try container.decodeIfPresent([String: String].self, forKey: .routed) ?? [:]
        references = try container.decodeIfPresent([String: String].self, forKey: .references) ?? [:]
    }

    /// The case attributes rule conditions test, or nil while unknown. Unknown is not false: a
    /// suspect whose age no partner stated is not taken for an adult.
    public func attribute(_ name: String) -> Bool? {
        switch name {
        case "suspectMinor": suspectMinor
        case "childrenInvolved": childrenInvolved
        default: nil
        }
    }

    /// The attributes `attribute` knows: the names a rule's `case` condition may use.
    public static let attributes: Set<String> = ["suspectMinor", "childrenInvolved"]

    /// What an attribute no partner stated is taken as, where waiting would be wrong: a case is
    /// without children until a partner reports them (the RvdK learns of a family when one does).
    /// An attribute without an entry (the suspect's age) is unknown until stated, and a rule on it
    /// holds its delivery.
    public static let assumedUntilStated: [String: Bool] = ["childrenInvolved": false]

    /// A partner's events come from `urn:ketenhub:<organisation>`.
    static let partnerSourcePrefix = "urn:ketenhub:"

    public static func routingKey(of event: CloudEvent) -> String { "\(event.source)\n\(event.id)" }

    /// The day an event happened, as its time writes it (`yyyy-mm-dd`): what the deduplication horizon is judged by.
    public static func day(of event: CloudEvent) -> String { String(event.time.prefix(10)) }

    /// Learns what the event says about the case: its persons, the suspect's age, children, and the
    /// victim's address by the matrix's `victimAddress` sources.
    public mutating func absorb(_ event: CloudEvent, matrix: SharingMatrix) {
        if let reference = event.partnerref, event.source.hasPrefix(Self.partnerSourcePrefix) {
            references[String(event.source.dropFirst(Self.partnerSourcePrefix.count))] = reference
        }
        let data = event.data
        let eventName = PolicyEvaluator.eventName(of: event.type)
        for (rank, source) in matrix.victimAddress.enumerated() where regionRank.map({ rank <= $0 }) ?? true {
            guard source.events.isEmpty || source.events.contains(eventName),
                  let stated = source.municipality(in: data), matrix.organisations.knows(municipality: stated) else { continue }
            municipality = stated
            regionSource = "\(source.says) (\(eventName) \(event.id))"
            regionRank = rank
            break
        }
        victims.formUnion(Self.persons(in: data, role: .slachtoffer))
        suspects.formUnion(Self.persons(in: data, role: .verdachte))
        for person in data["persons"]?.arrayValue ?? [] {
            if person["role"]?.stringValue == PersonRole.verdachte.rawValue, case .bool(let minor)? = person["minor"] { suspectMinor = minor }
            if person["role"]?.stringValue == PersonRole.kind.rawValue { childrenInvolved = true }
        }
        if case .bool(let minor)? = data["suspectMinor"] { suspectMinor = minor }
        for flag in ["childrenInvolved", "childrenPresent"] {
            if case .bool(let children)? = data[flag] { childrenInvolved = (childrenInvolved ?? false) || children }
        }
        if !(data["children"]?.arrayValue ?? []).isEmpty { childrenInvolved = true }
    }

    /// The pseudonymous persons an event names in a role (`EventPersons`).
    public static func persons(in data: JSONValue, role: PersonRole) -> Set<String> { EventPersons.persons(in: data, role: role) }
}

/// An event with deliveries that wait for a fact of its case, and for which recipients (an
/// organisation code, or a regional type while its organisation is unknown).
public struct HeldEvent: Codable, Sendable, Hashable {
    public var event: CloudEvent
    public var recipients: [String]
    /// The decision that held it, by recipient, so that the release can name it.
    public var holds: [String: String]
    /// The event's encoded size, counted against `CaseState.heldBudgetBytes`.
    public var size: Int

    public init(event: CloudEvent, recipients: [String], holds: [String: String], size: Int) {
        self.event = event
        self.recipients = recipients
        self.holds = holds
        self.size = size
    }
}

/// Where the case learns the victim's address (`victimAddress` in the sharing matrix): from these
/// events, at this pointer (which may select persons, `/data/persons[role=slachtoffer]/municipalityCode`),
/// in words for the decision record. The place of a breach or of an arrest is not an address of the
/// victim, and a matrix does not list it.
public struct VictimAddressSource: Sendable, Hashable {
    public var events: [String]
    public var pointer: String
    public var says: String
    /// The pointer below `/data`, parsed once: each step a member, and for a selection the member
    /// and values its elements must have (the router asks this of every event).
    private let steps: [(name: String, selection: FieldSelector?)]

    public init(events: [String], pointer: String, says: String) {
        self.events = events
        self.pointer = pointer
        self.says = says
        let tokens = JSONPointer(pointer).tokens
        steps = tokens.first == "data" ? tokens.dropFirst().map { token in
            let selector = FieldSelector("/" + token)
            return (String(selector.pointer.dropFirst()), selector.isSelection ? selector : nil)
        } : []
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { (lhs.events, lhs.pointer, lhs.says) == (rhs.events, rhs.pointer, rhs.says) }
    public func hash(into hasher: inout Hasher) { hasher.combine(pointer); hasher.combine(events); hasher.combine(says) }

    /// The municipality this source states in the event's data, if it states one.
    func municipality(in data: JSONValue) -> String? {
        guard !steps.isEmpty else { return nil }
        var values = [data]
        for (name, selection) in steps {
            values = values.flatMap { value -> [JSONValue] in
                guard let member = value[name] else { return [] }
                guard let selection, let key = selection.member else { return [member] }
                return (member.arrayValue ?? []).filter { selection.values.contains($0[key]?.stringValue ?? "") }
            }
            if values.isEmpty { return nil }
        }
        return values.lazy.compactMap(\.stringValue).first
    }
}

/// One person's consent in one chain case: a victim's informatiewens (recorded by Slachtofferhulp),
/// or a toestemming a partner recorded (for example the suspect's consent, at the reclassering, to
/// share the content of an advice with Veilig Thuis). The one recorded latest is in force.
public struct ConsentRecord: Codable, Sendable, Hashable {
    public enum Kind: String, Codable, Sendable, Hashable {
        case informatiewens, toestemming
    }

    public var person: String
    /// The chain case the record names: consent belongs to the person in that case, not to the
    /// person wherever else an event may name them.
    public var ketencaseid: String
    public var kind: Kind
    public var status: String
    public var topics: [String]?
    public var consentToShare: Bool?
    /// For a toestemming: what it covers, as `event:recipient-type` pairs.
    public var scope: [String]?
    /// When the consent was recorded (the event's `recordedAt`), not when it reached the hub.
    public var updatedAt: String
    public var sourceEventId: String
    /// The organisation that recorded it (the producer of its event).
    public var recordedBy: String?

    public var isGiven: Bool { status == Informatiewens.Status.gegeven.rawValue }

    /// The key of a person's consent of this kind in a case.
    public var key: String { ConsentState.key(case: ketencaseid, person: person, kind: kind) }

    /// The consent an informatiewens or a toestemming event records, if it is one. Read from the
    /// validated data as it is, not through a decoder: the router asks this of every event it routes.
    public init?(_ event: CloudEvent) {
        let data = event.data
        switch event.type {
        case Informatiewens.cloudEventType:
            guard let victim = data["victim"]?.stringValue else { return nil }
            kind = .informatiewens
            person = victim
            topics = data["topics"]?.arrayValue?.compactMap(\.stringValue)
            if case .bool(let share)? = data["consentToShare"] { consentToShare = share }
        case Toestemming.cloudEventType:
            guard let subject = data["person"]?.stringValue else { return nil }
            kind = .toestemming
            person = subject
            scope = data["scope"]?.arrayValue?.compactMap { item in
                item["event"]?.stringValue.flatMap { event in item["recipient"]?.stringValue.map { "\(event):\($0)" } }
            }
        default:
            return nil
        }
        guard let status = data["status"]?.stringValue, Informatiewens.Status(rawValue: status) != nil,
              let recordedAt = data["recordedAt"]?.stringValue else { return nil }
        ketencaseid = event.ketencaseid
        self.status = status
        updatedAt = recordedAt
        sourceEventId = event.id
        recordedBy = event.producer
    }

    public init(person: String, ketencaseid: String, kind: Kind, status: String, topics: [String]? = nil, consentToShare: Bool? = nil,
                scope: [String]? = nil, updatedAt: String, sourceEventId: String, recordedBy: String? = nil) {
        self.person = person
        self.ketencaseid = ketencaseid
        self.kind = kind
        self.status = status
        self.topics = topics
        self.consentToShare = consentToShare
        self.scope = scope
        self.updatedAt = updatedAt
        self.sourceEventId = sourceEventId
        self.recordedBy = recordedBy
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        person = try container.decode(String.self, forKey: .person)
        ketencaseid = try container.decode(String.self, forKey: .ketencaseid)
        kind = try container.decodeIfPresent(Kind.self, forKey: .kind) ?? .informatiewens
        status = try container.decode(String.self, forKey: .status)
        topics = try container.decodeIfPresent([String].self, forKey: .topics)
        consentToShare = try container.decodeIfPresent(Bool.self, forKey: .consentToShare)
        scope = try container.decodeIfPresent([String].self, forKey: .scope)
        updatedAt = try container.decode(String.self, forKey: .updatedAt)
        sourceEventId = try container.decode(String.self, forKey: .sourceEventId)
        recordedBy = try container.decodeIfPresent(String.self, forKey: .recordedBy)
    }

    /// Whether this record replaces `other` (the same person, kind and case): it was recorded
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

    /// The record as the decision that rested on it names it.
    public var evidence: ConsentEvidence {
        ConsentEvidence(person: person, kind: kind.rawValue, eventId: sourceEventId, recordedAt: updatedAt, recordedBy: recordedBy,
                        status: status, scope: scope ?? topics.map { $0.map { "informed:\($0)" } + (consentToShare == true ? ["share"] : []) })
    }
}

/// The consent a decision rested on, as its record shows it: whose, which record, when it was
/// recorded and by whom, and what it covers. Consent can be withdrawn; the record shows the one in
/// force when the decision was made.
public struct ConsentEvidence: Codable, Sendable, Hashable {
    public var person: String
    public var kind: String
    /// The event that recorded it.
    public var eventId: String
    public var recordedAt: String
    public var recordedBy: String?
    public var status: String
    public var scope: [String]?
    /// Set when the decision delivers this record as the withdrawal of a consent the recipient
    /// received under.
    public var withdrawn: Bool?

    public init(person: String, kind: String, eventId: String, recordedAt: String, recordedBy: String?, status: String, scope: [String]?,
                withdrawn: Bool? = nil) {
        self.person = person
        self.kind = kind
        self.eventId = eventId
        self.recordedAt = recordedAt
        self.recordedBy = recordedBy
        self.status = status
        self.scope = scope
        self.withdrawn = withdrawn
    }
}

/// The consent of every person in every chain case, by case, person and kind. A record applies
/// only if it supersedes the one in force (`ConsentRecord.supersedes`), so the state is the same
/// whatever order its records are applied in, on the router and when it is read back.
public struct ConsentState: Sendable {
    /// By chain case, then by person (a toestemming under `toestemming:` + person): looked up for
    /// every consent condition of every event.
    private var byCase: [String: [String: ConsentRecord]] = [:]

    public init(records: [ConsentRecord] = []) {
        for record in records { self.record(record) }
    }

    /// How many consents are known, over all cases.
    public var count: Int { byCase.values.reduce(0) { $0 + $1.count } }

    /// Every record in force, over all cases.
    public var records: [ConsentRecord] { byCase.values.flatMap(\.values) }

    /// The key of a consent record on the consent topic: chain case and person, and for a
    /// toestemming its kind (a person's informatiewens and toestemming are two records).
    public static func key(case ketencaseid: String, person: String, kind: ConsentRecord.Kind = .informatiewens) -> String {
        ketencaseid + "\n" + person + (kind == .informatiewens ? "" : "\n" + kind.rawValue)
    }

    private static func slot(_ person: String, _ kind: ConsentRecord.Kind) -> String {
        kind == .informatiewens ? person : "toestemming:" + person
    }

    /// Applies a record; returns the one in force afterwards for its person, kind and case.
    @discardableResult
    public mutating func record(_ record: ConsentRecord) -> ConsentRecord {
        let slot = Self.slot(record.person, record.kind)
        if let current = byCase[record.ketencaseid]?[slot], !record.supersedes(current) { return current }
        byCase[record.ketencaseid, default: [:]][slot] = record
        return record
    }

    /// The record in force, if any.
    public func current(case ketencaseid: String, person: String, kind: ConsentRecord.Kind) -> ConsentRecord? {
        byCase[ketencaseid]?[Self.slot(person, kind)]
    }

    /// What a consent condition finds for the persons an event concerns.
    public enum Finding: Sendable, Equatable {
        /// Satisfied, on this evidence.
        case given([ConsentEvidence])
        /// Not satisfied, and why, in words a privacy officer can check.
        case refused(String)
    }

    /// Whether the consent a rule requires is given by a person the event concerns (`persons`):
    /// one victim's consent never stands in for another's. `scope` is `event:recipient-type`, for a
    /// toestemming; `discloser` the organisation whose event it is: a toestemming covers only the
    /// disclosures of the partner that recorded it (a partner speaks only for itself).
    public func check(_ consent: RuleConditions.Consent, case ketencaseid: String, persons: Set<String>, eventName: String,
                      scope: String, discloser: String) -> Finding {
        let kind: ConsentRecord.Kind = consent == .suspectShare ? .toestemming : .informatiewens
        let whose = consent == .suspectShare ? "suspect" : "victim"
        let wishes = byCase[ketencaseid] ?? [:]
        // Of several persons, the first by id that gives it, so the evidence is the same on every
        // replay; one person (the common case) is looked up without sorting.
        var given: ConsentRecord?, withdrawn: ConsentRecord?, other: ConsentRecord?
        for person in persons {
            guard let record = wishes[Self.slot(person, kind)] else { continue }
            guard record.isGiven else {
                if withdrawn.map({ record.person < $0.person }) ?? true { withdrawn = record }
                continue
            }
            let covers: Bool
            switch consent {
            case .victimInformed: covers = record.topics?.contains(eventName) ?? false
            case .victimShare: covers = record.consentToShare ?? false
            case .suspectShare: covers = record.recordedBy == discloser && (record.scope?.contains(scope) ?? false)
            case .withdrawal: covers = false
            }
            if covers, given.map({ record.person < $0.person }) ?? true { given = record }
            if !covers, other.map({ record.person < $0.person }) ?? true { other = record }
        }
        if let given { return .given([given.evidence]) }
        // Only a refusal needs words; they are built here, after the common answer.
        guard let wish = withdrawn ?? other else {
            return .refused(persons.isEmpty ? "no \(whose) is known that this event concerns, so no consent applies"
                                            : "no \(whose) this event concerns has given consent (never given)")
        }
        if !wish.isGiven { return .refused("the \(whose)'s consent was withdrawn (recorded \(wish.updatedAt))") }
        switch consent {
        case .victimInformed: return .refused("the victim's informatiewens does not ask to be informed of \(eventName)")
        case .victimShare: return .refused("the victim's informatiewens does not consent to sharing")
        case .suspectShare:
            return wish.recordedBy == discloser ? .refused("the suspect's toestemming does not cover \(scope)")
                : .refused("the suspect's toestemming was recorded by another organisation than the one disclosing")
        case .withdrawal: return .refused("not a withdrawal")
        }
    }
}

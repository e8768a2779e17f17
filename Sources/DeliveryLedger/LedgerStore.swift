import Foundation
import HubStore
import HubTopology

/// Where the ledger lives: `SQLLedgerStore`, on SQLite (the embedded default) or PostgreSQL (several
/// hub nodes on one database). Applying an entry is idempotent and
/// order-independent (see `LedgerEntry`); queries answer from what has been applied.
public protocol LedgerStore: Sendable {
    func apply(_ entries: [LedgerEntry]) async throws

    /// An event's life cycle: when it was accepted, each decision, each delivery and acknowledgement.
    func trace(eventSource: String, eventId: String) async throws -> EventTrace?
    /// The events of one chain case, in the order they were accepted.
    func events(inCase ketencaseid: String) async throws -> [EventRow]
    /// The events of one type (`nl.ketenhub.<event>.v1`), in the order they were accepted.
    func events(ofType type: String) async throws -> [EventRow]
    /// Deliveries, optionally of one organisation and in one state.
    func deliveries(organisation: String?, state: DeliveryState?) async throws -> [DeliveryRow]
    /// One delivery by id, as it stands.
    func delivery(_ deliveryId: String) async throws -> DeliveryRow?
    func deadLetters() async throws -> [DeadLetterRow]
    /// How many dead letters the ledger holds, and when the oldest was received: what `/metrics` reads
    /// at every scrape, without reading the letters.
    func deadLetterSummary() async throws -> (count: Int, oldestReceivedAt: String?)
    /// The SLA alerts raised, latest first; `severity` filters (warning, breach, escalation).
    func alerts(severity: SLAAlert.Severity?) async throws -> [SLAAlert]
    /// Every delivery permitted of an event that concerned this pseudonymous person: the data-subject report.
    func disclosures(concerning person: String) async throws -> [Disclosure]
    /// Deliveries held for a fact of their case (the suspect's age, the victim's address) that no
    /// later decision has released yet, oldest first.
    func unreleasedHolds() async throws -> [HeldDelivery]
    /// The time from the hub's acceptance of each acknowledged delivery's event to its (first)
    /// acknowledgement, by organisation, counted at or below each of `LatencyCounts.boundsMilliseconds`:
    /// what `/metrics` reads at every scrape, without reading the deliveries.
    func acknowledgementLatencies() async throws -> [String: LatencyCounts]

    /// The organisations' own references registered to a chain case, by organisation.
    func references(inCase ketencaseid: String) async throws -> [ReferenceRegistration]
    /// Links between chain cases with every step, of one case or all; by link id.
    func caseLinks(inCase ketencaseid: String?) async throws -> [CaseLink]
    func caseLink(_ linkId: String) async throws -> CaseLink?
    /// Pairs of chain cases in which the same pseudonymous person appears in `role`, each pair once,
    /// optionally only pairs with a case of `cases`: what a linking rule of that role can link.
    func linkCandidates(role: String, cases: Set<String>?) async throws -> [LinkCandidate]

    /// Records a call of the hub's API: who, as what, what they asked, and the answer's status.
    func record(_ call: APICall) async throws
    func apiCalls() async throws -> [APICall]

    /// Removes what the retention policy no longer keeps, as of `now`, and records each removal.
    func applyRetention(_ policy: RetentionPolicy, at now: Date) async throws -> [RetentionRun]
    /// What the retention job removed, latest first.
    func retentionRuns() async throws -> [RetentionRun]

    /// Every row, in a fixed order: two ledgers with equal snapshots hold the same state.
    func snapshot() async throws -> LedgerSnapshot
}

/// Where a delivery stands, derived from the facts applied so far.
public enum DeliveryState: String, Sendable, Codable, CaseIterable {
    /// Permitted by the router, not yet delivered.
    case routed
    /// Taken by the partner's transport.
    case delivered
    /// Refused by the partner for good, or not writable in its format.
    case failed
    /// Received or processed, as the partner acknowledged.
    case acknowledged
    /// The partner rejected it, with a reason.
    case rejected
}

/// One organisation's acknowledgement latencies, as the store counted them.
public struct LatencyCounts: Sendable, Equatable {
    /// The buckets' upper bounds, in milliseconds: the store's (`HubSchema.acknowledgementLatencyBounds`).
    public static let boundsMilliseconds = HubSchema.acknowledgementLatencyBounds

    /// For each bound, the acknowledgements that took at most that long (cumulative).
    public var atOrBelow: [Int]
    public var count: Int
    public var totalMilliseconds: Int

    public init(atOrBelow: [Int], count: Int, totalMilliseconds: Int) {
        self.atOrBelow = atOrBelow
        self.count = count
        self.totalMilliseconds = totalMilliseconds
    }
}

public struct EventRow: Sendable, Codable, Equatable {
    public var eventId: String
    public var source: String
    public var type: String
    public var ketencaseid: String
    public var producer: String
    public var eventTime: String
    public var acceptedAt: String?
    /// The data fields the ledger keeps for its SLA clocks, by JSON Pointer. Values from the event
    /// (an end date, an order id) are content: they stay in the ledger and are never encoded into an
    /// answer of the API, which operators read.
    public var fields: [String: String] = [:]

    private enum CodingKeys: String, CodingKey { case eventId, source, type, ketencaseid, producer, eventTime, acceptedAt }
}

public struct DecisionRow: Sendable, Codable, Equatable {
    public var decisionId: String
    public var recipient: String
    public var permitted: Bool
    /// permit, deny or hold.
    public var outcome: String
    /// For the decision that ends a hold: the hold's decision id.
    public var releases: String?
    /// What the decision rested on (consent evidence, case facts, region, whether the basis is
    /// confirmed, persons disclosed), as JSON: for privacy officers and the data-subject report.
    public var grounds: String?
    public var ruleId: String?
    public var legalBasis: String?
    public var purpose: String?
    public var matrixVersion: String
    public var decidedAt: String
    /// For a deny: why, and why each rule considered did not apply. It can speak of a victim's
    /// informatiewens, so the API shows it to privacy officers only.
    public var explanation: String?
}

public struct DeliveryRow: Sendable, Codable, Equatable {
    public var deliveryId: String
    public var eventId: String?
    public var eventSource: String?
    public var ketencaseid: String?
    public var organisation: String
    public var state: DeliveryState
    public var attempts: Int?
    public var deliveredAt: String?
    public var acknowledgedAt: String?
    public var detail: String?
}

/// One line of the data-subject report: a recipient that was permitted an event concerning the person.
public struct Disclosure: Sendable, Codable, Equatable {
    public var eventId: String
    public var eventType: String
    public var ketencaseid: String
    public var recipient: String
    public var decisionId: String
    public var ruleId: String?
    public var legalBasis: String?
    public var purpose: String?
    public var matrixVersion: String
    public var decidedAt: String
    public var deliveredAt: String?
    public var acknowledgedAt: String?
    /// What the decision rested on (see `DecisionRow.grounds`).
    public var grounds: String?
}

/// A delivery held for a fact of its case: who waits for what since when.
public struct HeldDelivery: Sendable, Codable, Equatable {
    public var decisionId: String
    public var recipient: String
    public var eventId: String
    public var eventType: String
    public var ketencaseid: String
    public var decidedAt: String
    /// Why it waits (for privacy officers; it can name a case attribute, never content).
    public var explanation: String?
    /// What the case does not know yet: the case attributes it found unknown, or the region.
    public var waitsFor: [String] = []
}

public struct DeadLetterRow: Sendable, Codable, Equatable {
    public var deadLetterId: String
    public var stage: String
    public var partner: String?
    public var receivedAt: String
    public var reasons: [String]
    public var sizeBytes: Int
    public var replays: [ReplayRecord] = []
}

public struct EventTrace: Sendable, Codable, Equatable {
    public var event: EventRow
    public var decisions: [DecisionRow]
    public var deliveries: [DeliveryRow]
    /// Replays of this event's deliveries.
    public var replays: [ReplayRecord] = []
    /// The partners' own references to the event's chain case, and the case's links with who made
    /// each step (filled by the API).
    public var references: [ReferenceRegistration] = []
    public var links: [CaseLink] = []
}

public struct LedgerSnapshot: Sendable, Codable, Equatable {
    public var events: [EventRow]
    public var decisions: [DecisionRow]
    public var deliveries: [DeliveryRow]
    public var deadLetters: [DeadLetterRow]
    public var replays: [ReplayRecord]
    public var alerts: [SLAAlert]
    /// (source, event id, chain case, person) of every event's persons.
    public var persons: [[String]]
    /// (organisation, reference, chain case, how) of every registered reference.
    public var references: [[String]] = []
    /// Every step of every case link, by link id and time.
    public var linkSteps: [CaseLinkRecord] = []
}

/// A link between two chain cases and its steps, oldest first. Where it stands is its latest step:
/// `proposed` (waiting for a second operator), `linked` or `unlinked`.
public struct CaseLink: Sendable, Codable, Equatable {
    public var linkId: String
    public var cases: [String]
    public var rule: String
    public var state: CaseLinkRecord.Action
    public var steps: [CaseLinkRecord]

    public init(steps: [CaseLinkRecord]) {
        let ordered = steps.sorted { ($0.at, Self.order($0.action)) < ($1.at, Self.order($1.action)) }
        linkId = ordered.first?.linkId ?? ""
        cases = ordered.first?.cases ?? []
        rule = ordered.first?.rule ?? ""
        state = ordered.last?.action ?? .proposed
        self.steps = ordered
    }

    /// Within one instant, a proposal comes before its confirmation, which comes before an unlink.
    private static func order(_ action: CaseLinkRecord.Action) -> Int { CaseLinkRecord.Action.allCases.firstIndex(of: action) ?? 0 }
}

/// Two chain cases that share a person in a role, since when both do (the later of the two cases'
/// first event naming the person in that role). The person is not named: operators see the cases.
public struct LinkCandidate: Sendable, Codable, Equatable {
    public var cases: [String]
    public var role: String
    public var since: String
}

/// One call of the hub's API, as recorded.
public struct APICall: Sendable, Codable, Equatable {
    public var at: String
    public var principal: String
    public var role: String
    public var method: String
    public var path: String
    public var status: Int

    public init(at: String, principal: String, role: String, method: String, path: String, status: Int) {
        self.at = at
        self.principal = principal
        self.role = role
        self.method = method
        self.path = path
        self.status = status
    }
}

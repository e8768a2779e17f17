import CanonicalEvents
import Foundation
import GRDB
import HubTopology

/// The ledger in SQLite, through GRDB: the embedded default. Every write is an upsert that keeps
/// the same row whatever order the facts come in (earliest time, strongest outcome), which is what
/// lets a rebuild from the topics give the same rows as the live ledger.
public final class SQLiteLedgerStore: LedgerStore {
    private let database: DatabaseQueue

    /// A ledger in the file at `path`, or in memory without one. Several processes of one host may
    /// open the same file (a gateway node reads what a ledger node writes): each waits for the
    /// other's write instead of failing at once.
    public init(path: String? = nil) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        database = try path.map { try DatabaseQueue(path: $0, configuration: configuration) } ?? DatabaseQueue()
        try Self.migrator.migrateSharedFile(database)
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE events (
                    source TEXT NOT NULL, event_id TEXT NOT NULL, type TEXT NOT NULL, ketencaseid TEXT NOT NULL,
                    producer TEXT NOT NULL, event_time TEXT NOT NULL, accepted_at TEXT,
                    PRIMARY KEY (source, event_id));
                CREATE INDEX events_by_case ON events (ketencaseid);
                CREATE INDEX events_by_type ON events (type);
                CREATE TABLE event_fields (
                    source TEXT NOT NULL, event_id TEXT NOT NULL, pointer TEXT NOT NULL, value TEXT NOT NULL,
                    PRIMARY KEY (source, event_id, pointer));
                CREATE TABLE decisions (
                    decision_id TEXT PRIMARY KEY, event_source TEXT NOT NULL, event_id TEXT NOT NULL, ketencaseid TEXT NOT NULL,
                    recipient TEXT NOT NULL, permitted INTEGER NOT NULL, rule_id TEXT, legal_basis TEXT, purpose TEXT,
                    matrix_version TEXT NOT NULL, decided_at TEXT NOT NULL);
                CREATE INDEX decisions_by_event ON decisions (event_source, event_id);
                -- A delivery is known by its id (the decision that permitted it) from whichever fact comes first.
                CREATE TABLE deliveries (
                    delivery_id TEXT PRIMARY KEY, organisation TEXT NOT NULL, event_source TEXT, event_id TEXT, ketencaseid TEXT,
                    outcome TEXT, attempts INTEGER, delivered_at TEXT, detail TEXT,
                    ack_rank INTEGER NOT NULL DEFAULT 0, acknowledged_at TEXT, ack_reason TEXT);
                CREATE INDEX deliveries_by_organisation ON deliveries (organisation);
                CREATE INDEX deliveries_by_event ON deliveries (event_source, event_id);
                CREATE TABLE dead_letters (
                    dead_letter_id TEXT PRIMARY KEY, stage TEXT NOT NULL, partner TEXT, received_at TEXT NOT NULL,
                    reasons TEXT NOT NULL, size_bytes INTEGER NOT NULL);
                """)
        }
        migrator.registerMigration("v2-api-calls") { db in
            try db.execute(sql: """
                CREATE TABLE api_calls (
                    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, principal TEXT NOT NULL, role TEXT NOT NULL,
                    method TEXT NOT NULL, path TEXT NOT NULL, status INTEGER NOT NULL);
                """)
        }
        migrator.registerMigration("v3-persons-replays-alerts") { db in
            try db.execute(sql: """
                -- Pseudonymous ids only (psn:...), for the data-subject report; never names or other content.
                CREATE TABLE event_persons (
                    source TEXT NOT NULL, event_id TEXT NOT NULL, person TEXT NOT NULL,
                    PRIMARY KEY (person, source, event_id));
                CREATE TABLE replays (
                    replay_id TEXT PRIMARY KEY, kind TEXT NOT NULL, target TEXT NOT NULL, requested_by TEXT NOT NULL,
                    at TEXT NOT NULL, outcome TEXT NOT NULL, detail TEXT);
                CREATE INDEX replays_by_target ON replays (target);
                CREATE TABLE alerts (
                    alert_id TEXT PRIMARY KEY, clock TEXT NOT NULL, severity TEXT NOT NULL, ketencaseid TEXT NOT NULL, event_id TEXT,
                    organisation TEXT, raised_at TEXT NOT NULL, due_at TEXT, message TEXT NOT NULL);
                """)
        }
        migrator.registerMigration("v4-persons-by-case") { db in
            // A person belongs to an event in the chain case that event was sent in: an id reused in
            // another case (refused by the router) must not lend its persons to the first one's disclosures.
            try db.execute(sql: """
                CREATE TABLE event_persons_by_case (
                    source TEXT NOT NULL, event_id TEXT NOT NULL, ketencaseid TEXT NOT NULL, person TEXT NOT NULL,
                    PRIMARY KEY (person, source, event_id, ketencaseid));
                INSERT INTO event_persons_by_case (source, event_id, ketencaseid, person)
                    SELECT p.source, p.event_id, e.ketencaseid, p.person FROM event_persons p
                    JOIN events e ON e.source = p.source AND e.event_id = p.event_id;
                DROP TABLE event_persons;
                ALTER TABLE event_persons_by_case RENAME TO event_persons;
                """)
        }
        migrator.registerMigration("v5-decision-explanations") { db in
            try db.execute(sql: "ALTER TABLE decisions ADD COLUMN explanation TEXT")
        }
        migrator.registerMigration("v6-holds-and-grounds") { db in
            // Rows from before have no outcome column: theirs follows from `permitted`.
            try db.execute(sql: """
                ALTER TABLE decisions ADD COLUMN outcome TEXT;
                ALTER TABLE decisions ADD COLUMN releases TEXT;
                ALTER TABLE decisions ADD COLUMN grounds TEXT;
                UPDATE decisions SET outcome = CASE permitted WHEN 1 THEN 'permit' ELSE 'deny' END;
                CREATE INDEX decisions_by_release ON decisions (releases);
                """)
        }
        migrator.registerMigration("v7-chain-cases") { db in
            // Which pseudonymous victims and suspects each case names (since its first event naming
            // them), the partners' references of each case, and every step of every case link.
            try db.execute(sql: """
                CREATE TABLE case_persons (
                    ketencaseid TEXT NOT NULL, role TEXT NOT NULL, person TEXT NOT NULL, first_seen TEXT NOT NULL,
                    PRIMARY KEY (role, person, ketencaseid));
                CREATE INDEX case_persons_by_case ON case_persons (ketencaseid);
                CREATE TABLE case_references (
                    organisation TEXT NOT NULL, reference TEXT NOT NULL, ketencaseid TEXT NOT NULL, how TEXT NOT NULL, rule TEXT,
                    event_id TEXT NOT NULL, event_type TEXT NOT NULL, registered_at TEXT NOT NULL,
                    PRIMARY KEY (organisation, reference));
                CREATE INDEX case_references_by_case ON case_references (ketencaseid);
                CREATE TABLE case_link_steps (
                    link_id TEXT NOT NULL, case_a TEXT NOT NULL, case_b TEXT NOT NULL, rule TEXT NOT NULL, action TEXT NOT NULL,
                    by TEXT NOT NULL, at TEXT NOT NULL, reason TEXT,
                    PRIMARY KEY (link_id, action, by, at));
                CREATE INDEX case_link_steps_by_a ON case_link_steps (case_a);
                CREATE INDEX case_link_steps_by_b ON case_link_steps (case_b);
                """)
        }
        return migrator
    }

    public func record(_ call: APICall) throws {
        try database.write { db in
            try db.execute(sql: "INSERT INTO api_calls (at, principal, role, method, path, status) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [call.at, call.principal, call.role, call.method, call.path, call.status])
        }
    }

    public func apiCalls() throws -> [APICall] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM api_calls ORDER BY id").map {
                APICall(at: $0["at"], principal: $0["principal"], role: $0["role"], method: $0["method"], path: $0["path"], status: $0["status"])
            }
        }
    }

    /// Acknowledgements in order of strength: a rejection outranks processed, which outranks received.
    static let ackRanks = ["received": 1, "processed": 2, "rejected": 3]

    public func apply(_ entries: [LedgerEntry]) throws {
        try database.write { db in
            for entry in entries {
                switch entry {
                case .accepted(let event):
                    try db.execute(sql: """
                        INSERT INTO events (source, event_id, type, ketencaseid, producer, event_time, accepted_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                        ON CONFLICT (source, event_id) DO UPDATE SET
                            accepted_at = COALESCE(MIN(events.accepted_at, excluded.accepted_at), excluded.accepted_at, events.accepted_at)
                        """, arguments: [event.source, event.eventId, event.type, event.ketencaseid, event.producer, event.eventTime, event.acceptedAt])
                    for (pointer, value) in event.fields {
                        try db.execute(sql: "INSERT OR IGNORE INTO event_fields (source, event_id, pointer, value) VALUES (?, ?, ?, ?)",
                                       arguments: [event.source, event.eventId, pointer, value])
                    }
                    for person in event.persons {
                        try db.execute(sql: "INSERT OR IGNORE INTO event_persons (source, event_id, ketencaseid, person) VALUES (?, ?, ?, ?)",
                                       arguments: [event.source, event.eventId, event.ketencaseid, person])
                    }
                    for (role, persons) in event.roles {
                        for person in persons {
                            try db.execute(sql: """
                                INSERT INTO case_persons (ketencaseid, role, person, first_seen) VALUES (?, ?, ?, ?)
                                ON CONFLICT (role, person, ketencaseid) DO UPDATE SET first_seen = MIN(case_persons.first_seen, excluded.first_seen)
                                """, arguments: [event.ketencaseid, role, person, event.acceptedAt])
                        }
                    }
                case .decided(let decision):
                    try db.execute(sql: """
                        INSERT OR IGNORE INTO decisions (decision_id, event_source, event_id, ketencaseid, recipient, permitted, rule_id,
                            legal_basis, purpose, matrix_version, decided_at, explanation, outcome, releases, grounds)
                            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """, arguments: [decision.decisionId, decision.eventSource, decision.eventId, decision.ketencaseid, decision.recipient,
                                         decision.permitted, decision.ruleId, decision.legalBasis, decision.purpose, decision.matrixVersion,
                                         decision.decidedAt, decision.explanation, decision.outcome ?? (decision.permitted ? "permit" : "deny"),
                                         decision.releases, decision.grounds])
                    if decision.permitted {
                        try db.execute(sql: """
                            INSERT INTO deliveries (delivery_id, organisation, event_source, event_id, ketencaseid) VALUES (?, ?, ?, ?, ?)
                            ON CONFLICT (delivery_id) DO UPDATE SET event_source = excluded.event_source, event_id = excluded.event_id,
                                ketencaseid = excluded.ketencaseid
                            """, arguments: [decision.decisionId, decision.recipient, decision.eventSource, decision.eventId, decision.ketencaseid])
                    }
                case .delivered(let status):
                    try db.execute(sql: """
                        INSERT INTO deliveries (delivery_id, organisation, outcome, attempts, delivered_at, detail) VALUES (?, ?, ?, ?, ?, ?)
                        ON CONFLICT (delivery_id) DO UPDATE SET
                            outcome = CASE WHEN deliveries.outcome = 'delivered' OR excluded.outcome = 'delivered' THEN 'delivered'
                                           ELSE excluded.outcome END,
                            attempts = MAX(COALESCE(deliveries.attempts, 0), excluded.attempts),
                            delivered_at = COALESCE(MIN(deliveries.delivered_at, excluded.delivered_at), excluded.delivered_at, deliveries.delivered_at),
                            detail = COALESCE(MIN(deliveries.detail, excluded.detail), excluded.detail, deliveries.detail)
                        """, arguments: [status.deliveryId, status.organisation, status.delivered ? "delivered" : "failed", status.attempts,
                                         status.at, status.detail])
                case .acknowledged(let ack):
                    try db.execute(sql: """
                        INSERT INTO deliveries (delivery_id, organisation, ack_rank, acknowledged_at, ack_reason) VALUES (?, ?, ?, ?, ?)
                        ON CONFLICT (delivery_id) DO UPDATE SET
                            ack_rank = MAX(deliveries.ack_rank, excluded.ack_rank),
                            acknowledged_at = COALESCE(MIN(deliveries.acknowledged_at, excluded.acknowledged_at), excluded.acknowledged_at,
                                                       deliveries.acknowledged_at),
                            ack_reason = COALESCE(MIN(deliveries.ack_reason, excluded.ack_reason), excluded.ack_reason, deliveries.ack_reason)
                        """, arguments: [ack.deliveryId, ack.organisation, Self.ackRanks[ack.status] ?? 1, ack.at, ack.reason])
                case .deadLettered(let letter):
                    let reasons = String(decoding: try JSONEncoder().encode(letter.reasons), as: UTF8.self)
                    try db.execute(sql: """
                        INSERT OR IGNORE INTO dead_letters (dead_letter_id, stage, partner, received_at, reasons, size_bytes) VALUES (?, ?, ?, ?, ?, ?)
                        """, arguments: [letter.deadLetterId, letter.stage, letter.partner, letter.receivedAt, reasons, letter.sizeBytes])
                case .replayed(let replay):
                    try db.execute(sql: """
                        INSERT OR IGNORE INTO replays (replay_id, kind, target, requested_by, at, outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?)
                        """, arguments: [replay.replayId, replay.kind.rawValue, replay.target, replay.requestedBy, replay.at, replay.outcome.rawValue,
                                         replay.detail])
                case .alerted(let alert):
                    try db.execute(sql: """
                        INSERT OR IGNORE INTO alerts (alert_id, clock, severity, ketencaseid, event_id, organisation, raised_at, due_at, message)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """, arguments: [alert.alertId, alert.clock, alert.severity.rawValue, alert.ketencaseid, alert.eventId, alert.organisation,
                                         alert.raisedAt, alert.dueAt, alert.message])
                case .referenced(let registration):
                    // The registry never moves a reference: the first registration stands.
                    try db.execute(sql: """
                        INSERT OR IGNORE INTO case_references (organisation, reference, ketencaseid, how, rule, event_id, event_type, registered_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                        """, arguments: [registration.organisation, registration.reference, registration.ketencaseid, registration.how.rawValue,
                                         registration.rule, registration.eventId, registration.eventType, registration.registeredAt])
                case .linkStep(let step):
                    guard step.cases.count == 2 else { continue }
                    try db.execute(sql: """
                        INSERT OR IGNORE INTO case_link_steps (link_id, case_a, case_b, rule, action, by, at, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                        """, arguments: [step.linkId, step.cases[0], step.cases[1], step.rule, step.action.rawValue, step.by, step.at, step.reason])
                }
            }
        }
    }

    // MARK: - Queries

    private static let deliveryColumns = """
        delivery_id, event_id, event_source, ketencaseid, organisation, attempts, delivered_at, acknowledged_at,
        COALESCE(ack_reason, detail) AS detail,
        CASE WHEN ack_rank = 3 THEN 'rejected' WHEN ack_rank >= 1 THEN 'acknowledged' WHEN outcome = 'delivered' THEN 'delivered'
             WHEN outcome = 'failed' THEN 'failed' ELSE 'routed' END AS state
        """

    public func trace(eventSource: String, eventId: String) throws -> EventTrace? {
        try database.read { db in
            guard let event = try Row.fetchOne(db, sql: "SELECT * FROM events WHERE source = ? AND event_id = ?", arguments: [eventSource, eventId])
            else { return nil }
            let decisions = try Row.fetchAll(db, sql: "SELECT * FROM decisions WHERE event_source = ? AND event_id = ? ORDER BY recipient, decision_id",
                                             arguments: [eventSource, eventId]).map(Self.decision)
            let deliveries = try Row.fetchAll(db, sql: "SELECT \(Self.deliveryColumns) FROM deliveries WHERE event_source = ? AND event_id = ? ORDER BY organisation, delivery_id",
                                              arguments: [eventSource, eventId]).map(Self.delivery)
            let replays = try Row.fetchAll(db, sql: """
                SELECT r.* FROM replays r JOIN deliveries d ON d.delivery_id = r.target WHERE d.event_source = ? AND d.event_id = ? ORDER BY r.at, r.replay_id
                """, arguments: [eventSource, eventId]).map(Self.replay)
            return EventTrace(event: try Self.withFields(db, [Self.event(event)])[0], decisions: decisions, deliveries: deliveries, replays: replays)
        }
    }

    public func events(inCase ketencaseid: String) throws -> [EventRow] {
        try database.read { db in
            try Self.withFields(db, try Row.fetchAll(db, sql: "SELECT * FROM events WHERE ketencaseid = ? ORDER BY accepted_at, source, event_id",
                                                     arguments: [ketencaseid]).map(Self.event))
        }
    }

    public func events(ofType type: String) throws -> [EventRow] {
        try database.read { db in
            try Self.withFields(db, try Row.fetchAll(db, sql: "SELECT * FROM events WHERE type = ? ORDER BY accepted_at, source, event_id",
                                                     arguments: [type]).map(Self.event))
        }
    }

    private static func withFields(_ db: Database, _ events: [EventRow]) throws -> [EventRow] {
        try events.map { event in
            var event = event
            for row in try Row.fetchAll(db, sql: "SELECT pointer, value FROM event_fields WHERE source = ? AND event_id = ?",
                                        arguments: [event.source, event.eventId]) {
                event.fields[row["pointer"]] = row["value"]
            }
            return event
        }
    }

    public func deliveries(organisation: String?, state: DeliveryState?) throws -> [DeliveryRow] {
        try database.read { db in
            try Row.fetchAll(db, sql: """
                SELECT * FROM (SELECT \(Self.deliveryColumns) FROM deliveries)
                WHERE (? IS NULL OR organisation = ?) AND (? IS NULL OR state = ?) ORDER BY organisation, delivery_id
                """, arguments: [organisation, organisation, state?.rawValue, state?.rawValue]).map(Self.delivery)
        }
    }

    public func delivery(_ deliveryId: String) throws -> DeliveryRow? {
        try database.read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.deliveryColumns) FROM deliveries WHERE delivery_id = ?", arguments: [deliveryId]).map(Self.delivery)
        }
    }

    public func deadLetters() throws -> [DeadLetterRow] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM dead_letters ORDER BY received_at, dead_letter_id").map { row in
                var letter = Self.deadLetter(row)
                letter.replays = try Row.fetchAll(db, sql: "SELECT * FROM replays WHERE target = ? ORDER BY at, replay_id",
                                                  arguments: [letter.deadLetterId]).map(Self.replay)
                return letter
            }
        }
    }

    public func alerts(severity: SLAAlert.Severity?) throws -> [SLAAlert] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM alerts WHERE (? IS NULL OR severity = ?) ORDER BY raised_at DESC, alert_id",
                             arguments: [severity?.rawValue, severity?.rawValue]).map(Self.alert)
        }
    }

    public func disclosures(concerning person: String) throws -> [Disclosure] {
        try database.read { db in
            try Row.fetchAll(db, sql: """
                SELECT e.event_id, e.type, c.ketencaseid, c.recipient, c.decision_id, c.rule_id, c.legal_basis, c.purpose, c.matrix_version,
                       c.decided_at, d.delivered_at, d.acknowledged_at, c.grounds
                FROM event_persons p
                JOIN events e ON e.source = p.source AND e.event_id = p.event_id
                JOIN decisions c ON c.event_source = p.source AND c.event_id = p.event_id AND c.ketencaseid = p.ketencaseid AND c.permitted = 1
                LEFT JOIN deliveries d ON d.delivery_id = c.decision_id
                WHERE p.person = ? ORDER BY c.decided_at, c.recipient, c.decision_id
                """, arguments: [person]).map { row in
                Disclosure(eventId: row["event_id"], eventType: row["type"], ketencaseid: row["ketencaseid"], recipient: row["recipient"],
                           decisionId: row["decision_id"], ruleId: row["rule_id"], legalBasis: row["legal_basis"], purpose: row["purpose"],
                           matrixVersion: row["matrix_version"], decidedAt: row["decided_at"], deliveredAt: row["delivered_at"],
                           acknowledgedAt: row["acknowledged_at"], grounds: row["grounds"])
            }
        }
    }

    public func unreleasedHolds() throws -> [HeldDelivery] {
        try database.read { db in
            try Row.fetchAll(db, sql: """
                SELECT h.decision_id, h.recipient, h.event_id, e.type, h.ketencaseid, h.decided_at, h.explanation, h.grounds
                FROM decisions h JOIN events e ON e.source = h.event_source AND e.event_id = h.event_id
                WHERE h.outcome = 'hold' AND NOT EXISTS (SELECT 1 FROM decisions r WHERE r.releases = h.decision_id)
                ORDER BY h.decided_at, h.decision_id
                """).map { row in
                HeldDelivery(decisionId: row["decision_id"], recipient: row["recipient"], eventId: row["event_id"], eventType: row["type"],
                             ketencaseid: row["ketencaseid"], decidedAt: row["decided_at"], explanation: row["explanation"],
                             waitsFor: Self.waitsFor(grounds: row["grounds"]))
            }
        }
    }

    public func acknowledgementLatencies() throws -> [String: [Double]] {
        let rows = try database.read { db in
            try Row.fetchAll(db, sql: """
                SELECT d.organisation, e.accepted_at, d.acknowledged_at FROM deliveries d
                JOIN events e ON e.source = d.event_source AND e.event_id = d.event_id
                WHERE d.acknowledged_at IS NOT NULL AND e.accepted_at IS NOT NULL
                """)
        }
        var latencies: [String: [Double]] = [:]
        for row in rows {
            guard let accepted = HubTime.date(row["accepted_at"]), let acknowledged = HubTime.date(row["acknowledged_at"]) else { continue }
            latencies[row["organisation"], default: []].append(max(0, acknowledged.timeIntervalSince(accepted)))
        }
        return latencies
    }

    public func references(inCase ketencaseid: String) throws -> [ReferenceRegistration] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM case_references WHERE ketencaseid = ? ORDER BY organisation, reference",
                             arguments: [ketencaseid]).map(Self.reference)
        }
    }

    public func caseLinks(inCase ketencaseid: String?) throws -> [CaseLink] {
        try database.read { db in
            let steps = try Row.fetchAll(db, sql: "SELECT * FROM case_link_steps WHERE ? IS NULL OR case_a = ? OR case_b = ? ORDER BY link_id",
                                         arguments: [ketencaseid, ketencaseid, ketencaseid]).map(Self.linkStep)
            let byLink = Dictionary(grouping: steps, by: \.linkId)
            return byLink.keys.sorted().map { CaseLink(steps: byLink[$0]!) }
        }
    }

    public func caseLink(_ linkId: String) throws -> CaseLink? {
        let steps = try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM case_link_steps WHERE link_id = ?", arguments: [linkId]).map(Self.linkStep)
        }
        return steps.isEmpty ? nil : CaseLink(steps: steps)
    }

    public func linkCandidates(role: String, cases: Set<String>?) throws -> [LinkCandidate] {
        let rows = try database.read { db in
            try Row.fetchAll(db, sql: """
                SELECT a.ketencaseid AS case_a, b.ketencaseid AS case_b, MIN(MAX(a.first_seen, b.first_seen)) AS since
                FROM case_persons a JOIN case_persons b ON a.role = b.role AND a.person = b.person AND a.ketencaseid < b.ketencaseid
                WHERE a.role = ? GROUP BY a.ketencaseid, b.ketencaseid ORDER BY a.ketencaseid, b.ketencaseid
                """, arguments: [role])
        }
        return rows.compactMap { row in
            let pair: [String] = [row["case_a"], row["case_b"]]
            if let cases, cases.isDisjoint(with: pair) { return nil }
            return LinkCandidate(cases: pair, role: role, since: row["since"])
        }
    }

    public func snapshot() throws -> LedgerSnapshot {
        try database.read { db in
            LedgerSnapshot(
                events: try Self.withFields(db, try Row.fetchAll(db, sql: "SELECT * FROM events ORDER BY source, event_id").map(Self.event)),
                decisions: try Row.fetchAll(db, sql: "SELECT * FROM decisions ORDER BY decision_id").map(Self.decision),
                deliveries: try Row.fetchAll(db, sql: "SELECT \(Self.deliveryColumns) FROM deliveries ORDER BY delivery_id").map(Self.delivery),
                deadLetters: try Row.fetchAll(db, sql: "SELECT * FROM dead_letters ORDER BY dead_letter_id").map(Self.deadLetter),
                replays: try Row.fetchAll(db, sql: "SELECT * FROM replays ORDER BY replay_id").map(Self.replay),
                alerts: try Row.fetchAll(db, sql: "SELECT * FROM alerts ORDER BY alert_id").map(Self.alert),
                persons: try Row.fetchAll(db, sql: "SELECT * FROM event_persons ORDER BY source, event_id, ketencaseid, person").map {
                    [$0["source"], $0["event_id"], $0["ketencaseid"], $0["person"]]
                },
                references: try Row.fetchAll(db, sql: "SELECT * FROM case_references ORDER BY organisation, reference").map {
                    [$0["organisation"], $0["reference"], $0["ketencaseid"], $0["how"]]
                },
                linkSteps: try Row.fetchAll(db, sql: "SELECT * FROM case_link_steps ORDER BY link_id, at, action, by").map(Self.linkStep))
        }
    }

    private static func event(_ row: Row) -> EventRow {
        EventRow(eventId: row["event_id"], source: row["source"], type: row["type"], ketencaseid: row["ketencaseid"],
                 producer: row["producer"], eventTime: row["event_time"], acceptedAt: row["accepted_at"])
    }

    /// The facts a hold waits for, from its grounds: the case facts recorded as unknown (a case
    /// attribute, or `region` when the recipient's organisation could not be resolved).
    static func waitsFor(grounds: String?) -> [String] {
        guard let grounds, let value = try? JSONValue.parse(Data(grounds.utf8)), case .object(let members)? = value["caseFacts"] else { return [] }
        return members.filter { $0.value.stringValue == "unknown" }.map(\.key).sorted()
    }

    private static func decision(_ row: Row) -> DecisionRow {
        let permitted: Bool = row["permitted"]
        return DecisionRow(decisionId: row["decision_id"], recipient: row["recipient"], permitted: permitted,
                           outcome: row["outcome"] ?? (permitted ? "permit" : "deny"), releases: row["releases"], grounds: row["grounds"],
                           ruleId: row["rule_id"], legalBasis: row["legal_basis"], purpose: row["purpose"], matrixVersion: row["matrix_version"],
                           decidedAt: row["decided_at"], explanation: row["explanation"])
    }

    private static func delivery(_ row: Row) -> DeliveryRow {
        DeliveryRow(deliveryId: row["delivery_id"], eventId: row["event_id"], eventSource: row["event_source"], ketencaseid: row["ketencaseid"],
                    organisation: row["organisation"], state: DeliveryState(rawValue: row["state"]) ?? .routed, attempts: row["attempts"],
                    deliveredAt: row["delivered_at"], acknowledgedAt: row["acknowledged_at"], detail: row["detail"])
    }

    private static func deadLetter(_ row: Row) -> DeadLetterRow {
        let reasons = (try? JSONDecoder().decode([String].self, from: Data((row["reasons"] as String).utf8))) ?? []
        return DeadLetterRow(deadLetterId: row["dead_letter_id"], stage: row["stage"], partner: row["partner"], receivedAt: row["received_at"],
                             reasons: reasons, sizeBytes: row["size_bytes"])
    }

    private static func replay(_ row: Row) -> ReplayRecord {
        ReplayRecord(replayId: row["replay_id"], kind: ReplayRecord.Kind(rawValue: row["kind"]) ?? .delivery, target: row["target"],
                     requestedBy: row["requested_by"], at: row["at"], outcome: ReplayRecord.Outcome(rawValue: row["outcome"]) ?? .queued,
                     detail: row["detail"])
    }

    private static func reference(_ row: Row) -> ReferenceRegistration {
        ReferenceRegistration(organisation: row["organisation"], reference: row["reference"], ketencaseid: row["ketencaseid"],
                              how: ReferenceRegistration.How(rawValue: row["how"]) ?? .joined, rule: row["rule"], eventId: row["event_id"],
                              eventType: row["event_type"], registeredAt: row["registered_at"])
    }

    private static func linkStep(_ row: Row) -> CaseLinkRecord {
        CaseLinkRecord(linkId: row["link_id"], cases: [row["case_a"], row["case_b"]], rule: row["rule"],
                       action: CaseLinkRecord.Action(rawValue: row["action"]) ?? .proposed, by: row["by"], at: row["at"], reason: row["reason"])
    }

    private static func alert(_ row: Row) -> SLAAlert {
        SLAAlert(alertId: row["alert_id"], clock: row["clock"], severity: SLAAlert.Severity(rawValue: row["severity"]) ?? .warning, ketencaseid: row["ketencaseid"], eventId: row["event_id"],
                 organisation: row["organisation"], raisedAt: row["raised_at"], dueAt: row["due_at"], message: row["message"])
    }
}

extension DatabaseMigrator {
    /// Migrates a file other processes may be migrating at the same moment (two nodes starting on one
    /// file): a migration another process applied between our check and our write fails here, and
    /// the next attempt finds it applied.
    func migrateSharedFile(_ database: DatabaseQueue) throws {
        for attempt in 1... {
            do {
                return try migrate(database)
            } catch where attempt < 20 {
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
    }
}

import CanonicalEvents
import Foundation
import HubStore
import Logging
import HubTopology

/// The ledger in SQL, on either backend (SQLite the embedded default, PostgreSQL for several nodes):
/// the statements are written once, in the SQL both speak. Every write is an upsert that keeps the
/// same row whatever order the facts come in (earliest time, strongest outcome), which is what lets a
/// rebuild from the topics give the same rows as the live ledger, and two projectors writing the
/// same facts at once give the rows one would: each upsert is one atomic `INSERT ... ON CONFLICT`,
/// and what it keeps (a minimum, a maximum, the first) does not depend on which writer came first.
public final class SQLLedgerStore: LedgerStore {
    public let database: any SQLDatabase

    /// A ledger on a database migrated to the hub's schema (`StoreLocation.open`).
    public init(database: any SQLDatabase) {
        self.database = database
    }

    /// A ledger in memory (SQLite), migrated: for tests and tools.
    public static func inMemory() async throws -> SQLLedgerStore {
        SQLLedgerStore(database: try await StoreLocation.sqlite(path: nil).open(logger: Logger(label: "ketenhub.ledger")))
    }

    public func record(_ call: APICall) async throws {
        try await database.write(SQLStatement("INSERT INTO api_calls (at, principal, role, method, path, status) VALUES (?, ?, ?, ?, ?, ?)",
                                              call.at, call.principal, call.role, call.method, call.path, call.status))
    }

    public func apiCalls() async throws -> [APICall] {
        try await database.read(SQLStatement("SELECT * FROM api_calls ORDER BY id")).map {
            APICall(at: $0["at"], principal: $0["principal"], role: $0["role"], method: $0["method"], path: $0["path"], status: $0["status"])
        }
    }

    /// Acknowledgements in order of strength: a rejection outranks processed, which outranks received.
    static let ackRanks = ["received": 1, "processed": 2, "rejected": 3]

    /// One transaction per batch; the upserts of the same kind go as multi-row statements (their
    /// order does not matter, see above).
    public func apply(_ entries: [LedgerEntry]) async throws {
        let statements = try entries.flatMap(Self.statements)
        guard !statements.isEmpty else { return }
        try await database.write(SQLBatch.merged(statements) + Self.latencies(after: entries)
                                 + HubSchema.acknowledgementLatencyFold(on: database.backend).map { SQLStatement($0) })
    }

    /// After the upserts, in the same transaction: the latency and bucket of every acknowledged
    /// delivery whose acknowledgement, event link (its permit) or event's acceptance they wrote,
    /// assigned again from the times kept (so a later, earlier acknowledgement or acceptance moves it);
    /// then those that concurrent writers left unassigned (`HubSchema.acknowledgementLatencyRepair`).
    static func latencies(after entries: [LedgerEntry]) -> [SQLStatement] {
        var deliveries: Set<String> = []
        var eventsBySource: [String: Set<String>] = [:]
        for entry in entries {
            switch entry {
            case .accepted(let event): eventsBySource[event.source, default: []].insert(event.eventId)
            case .decided(let decision) where decision.permitted: deliveries.insert(decision.decisionId)
            case .acknowledged(let ack): deliveries.insert(ack.deliveryId)
            default: break
            }
        }
        // One statement, so that a delivery named twice (its acknowledgement and its event's
        // acceptance in one batch) is written once; each condition finds its rows through an index
        // (by id; by source and then ids: a list of pairs would have SQLite read every delivery).
        // An event's deliveries are all assigned, acknowledged or not: on PostgreSQL that locks
        // them, so that a projector writing one's acknowledgement at the same moment waits for this
        // acceptance and then sees it. One writing the permit that links a delivery to its event at
        // the same moment as the event's acceptance can still leave that delivery unassigned: the
        // last statement assigns such deliveries, at the next batch of any projector.
        var conditions = chunked(deliveries.sorted()).map { ids in
            (sql: "(acknowledged_ms IS NOT NULL AND delivery_id IN (\(placeholders(ids.count))))", arguments: ids.map(\.sqlValue))
        }
        for (source, ids) in eventsBySource.sorted(by: { $0.key < $1.key }) {
            conditions += chunked(ids.sorted()).map { ids in
                (sql: "(event_source = ? AND event_id IN (\(placeholders(ids.count))))", arguments: [source.sqlValue] + ids.map(\.sqlValue))
            }
        }
        // Under both backends' limits of bound values (a batch from a rebuild may name more).
        var statements: [SQLStatement] = []
        var pending: [(sql: String, arguments: [SQLValue])] = []
        func flush() {
            guard !pending.isEmpty else { return }
            statements.append(SQLStatement(sql: "UPDATE deliveries \(HubSchema.acknowledgementLatencyAssignment) WHERE " + pending.map(\.sql).joined(separator: " OR "),
                                           arguments: pending.flatMap(\.arguments)))
            pending = []
        }
        for condition in conditions {
            if pending.map(\.arguments.count).reduce(condition.arguments.count, +) > SQLBatch.maximumArguments { flush() }
            pending.append(condition)
        }
        flush()
        return statements + [SQLStatement(HubSchema.acknowledgementLatencyRepair)]
    }

    /// Ids one condition names at most.
    private static func chunked(_ ids: [String]) -> [ArraySlice<String>] {
        stride(from: 0, to: ids.count, by: 5_000).map { ids[$0..<min($0 + 5_000, ids.count)] }
    }

    private static func placeholders(_ count: Int) -> String { Array(repeating: "?", count: count).joined(separator: ", ") }

    /// A time the ledger keeps as text, also as milliseconds since 1970 (null if it is no time).
    static func milliseconds(_ time: String?) -> Int? {
        time.flatMap(HubTime.internetMilliseconds).map(Int.init)
    }

    private static let least = SQLStatement.least

    /// The upserts of one fact.
    static func statements(_ entry: LedgerEntry) throws -> [SQLStatement] {
        switch entry {
        case .accepted(let event):
            var statements = [SQLStatement("""
                INSERT INTO events (source, event_id, type, ketencaseid, producer, event_time, accepted_at, accepted_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (source, event_id) DO UPDATE SET accepted_at = \(least("events.accepted_at", "excluded.accepted_at")),
                    accepted_ms = \(least("events.accepted_ms", "excluded.accepted_ms"))
                """, event.source, event.eventId, event.type, event.ketencaseid, event.producer, event.eventTime, event.acceptedAt,
                Self.milliseconds(event.acceptedAt))]
            for (pointer, value) in event.fields {
                statements.append(SQLStatement("INSERT INTO event_fields (source, event_id, pointer, value) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                                               event.source, event.eventId, pointer, value))
            }
            for person in event.persons {
                statements.append(SQLStatement("""
                    INSERT INTO event_persons (source, event_id, ketencaseid, person) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING
                    """, event.source, event.eventId, event.ketencaseid, person))
            }
            for (role, persons) in event.roles {
                for person in persons {
                    statements.append(SQLStatement("""
                        INSERT INTO case_persons (ketencaseid, role, person, first_seen) VALUES (?, ?, ?, ?)
                        ON CONFLICT (role, person, ketencaseid) DO UPDATE SET first_seen = \(least("case_persons.first_seen", "excluded.first_seen"))
                        """, event.ketencaseid, role, person, event.acceptedAt))
                }
            }
            return statements
        case .decided(let decision):
            var statements = [SQLStatement("""
                INSERT INTO decisions (decision_id, event_source, event_id, ketencaseid, recipient, permitted, rule_id,
                    legal_basis, purpose, matrix_version, decided_at, explanation, outcome, releases, grounds)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
                """, decision.decisionId, decision.eventSource, decision.eventId, decision.ketencaseid, decision.recipient,
                decision.permitted, decision.ruleId, decision.legalBasis, decision.purpose, decision.matrixVersion,
                decision.decidedAt, decision.explanation, decision.outcome ?? (decision.permitted ? "permit" : "deny"),
                decision.releases, decision.grounds)]
            if decision.permitted {
                statements.append(SQLStatement("""
                    INSERT INTO deliveries (delivery_id, organisation, event_source, event_id, ketencaseid) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (delivery_id) DO UPDATE SET event_source = excluded.event_source, event_id = excluded.event_id,
                        ketencaseid = excluded.ketencaseid
                    """, decision.decisionId, decision.recipient, decision.eventSource, decision.eventId, decision.ketencaseid))
            }
            return statements
        case .delivered(let status):
            return [SQLStatement("""
                INSERT INTO deliveries (delivery_id, organisation, outcome, attempts, delivered_at, detail) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (delivery_id) DO UPDATE SET
                    outcome = CASE WHEN deliveries.outcome = 'delivered' OR excluded.outcome = 'delivered' THEN 'delivered'
                                   ELSE excluded.outcome END,
                    attempts = \(SQLStatement.greatest("COALESCE(deliveries.attempts, 0)", "COALESCE(excluded.attempts, 0)")),
                    delivered_at = \(least("deliveries.delivered_at", "excluded.delivered_at")),
                    detail = \(least("deliveries.detail", "excluded.detail"))
                """, status.deliveryId, status.organisation, status.delivered ? "delivered" : "failed", status.attempts, status.at, status.detail)]
        case .acknowledged(let ack):
            return [SQLStatement("""
                INSERT INTO deliveries (delivery_id, organisation, ack_rank, acknowledged_at, ack_reason, acknowledged_ms) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (delivery_id) DO UPDATE SET
                    ack_rank = \(SQLStatement.greatest("deliveries.ack_rank", "excluded.ack_rank")),
                    acknowledged_at = \(least("deliveries.acknowledged_at", "excluded.acknowledged_at")),
                    ack_reason = \(least("deliveries.ack_reason", "excluded.ack_reason")),
                    acknowledged_ms = \(least("deliveries.acknowledged_ms", "excluded.acknowledged_ms"))
                """, ack.deliveryId, ack.organisation, ackRanks[ack.status] ?? 1, ack.at, ack.reason, Self.milliseconds(ack.at))]
        case .deadLettered(let letter):
            let reasons = String(decoding: try JSONEncoder().encode(letter.reasons), as: UTF8.self)
            return [SQLStatement("""
                INSERT INTO dead_letters (dead_letter_id, stage, partner, received_at, reasons, size_bytes) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT DO NOTHING
                """, letter.deadLetterId, letter.stage, letter.partner, letter.receivedAt, reasons, letter.sizeBytes)]
        case .replayed(let replay):
            return [SQLStatement("""
                INSERT INTO replays (replay_id, kind, target, requested_by, at, outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
                """, replay.replayId, replay.kind.rawValue, replay.target, replay.requestedBy, replay.at, replay.outcome.rawValue, replay.detail)]
        case .alerted(let alert):
            return [SQLStatement("""
                INSERT INTO alerts (alert_id, clock, severity, ketencaseid, event_id, organisation, raised_at, due_at, message)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
                """, alert.alertId, alert.clock, alert.severity.rawValue, alert.ketencaseid, alert.eventId, alert.organisation,
                alert.raisedAt, alert.dueAt, alert.message)]
        case .referenced(let registration):
            // The registry never moves a reference: the first registration stands.
            return [SQLStatement("""
                INSERT INTO case_references (organisation, reference, ketencaseid, how, rule, event_id, event_type, registered_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
                """, registration.organisation, registration.reference, registration.ketencaseid, registration.how.rawValue,
                registration.rule, registration.eventId, registration.eventType, registration.registeredAt)]
        case .linkStep(let step):
            guard step.cases.count == 2 else { return [] }
            return [SQLStatement("""
                INSERT INTO case_link_steps (link_id, case_a, case_b, rule, action, by, at, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT DO NOTHING
                """, step.linkId, step.cases[0], step.cases[1], step.rule, step.action.rawValue, step.by, step.at, step.reason)]
        }
    }

    // MARK: - Queries

    private static let deliveryColumns = """
        delivery_id, event_id, event_source, ketencaseid, organisation, attempts, delivered_at, acknowledged_at,
        COALESCE(ack_reason, detail) AS detail,
        CASE WHEN ack_rank = 3 THEN 'rejected' WHEN ack_rank >= 1 THEN 'acknowledged' WHEN outcome = 'delivered' THEN 'delivered'
             WHEN outcome = 'failed' THEN 'failed' ELSE 'routed' END AS state
        """

    public func trace(eventSource: String, eventId: String) async throws -> EventTrace? {
        let results = try await database.read([
            SQLStatement("SELECT * FROM events WHERE source = ? AND event_id = ?", eventSource, eventId),
            SQLStatement("SELECT pointer, value FROM event_fields WHERE source = ? AND event_id = ?", eventSource, eventId),
            SQLStatement("SELECT * FROM decisions WHERE event_source = ? AND event_id = ? ORDER BY recipient, decision_id", eventSource, eventId),
            SQLStatement("SELECT \(Self.deliveryColumns) FROM deliveries WHERE event_source = ? AND event_id = ? ORDER BY organisation, delivery_id",
                         eventSource, eventId),
            SQLStatement("""
                SELECT r.* FROM replays r JOIN deliveries d ON d.delivery_id = r.target WHERE d.event_source = ? AND d.event_id = ? ORDER BY r.at, r.replay_id
                """, eventSource, eventId),
        ])
        guard let row = results[0].first else { return nil }
        var event = Self.event(row)
        for field in results[1] { event.fields[field["pointer"]] = field["value"] }
        return EventTrace(event: event, decisions: results[2].map(Self.decision), deliveries: results[3].map(Self.delivery),
                          replays: results[4].map(Self.replay))
    }

    public func events(inCase ketencaseid: String) async throws -> [EventRow] {
        try await events(where: "e.ketencaseid = ?", ketencaseid)
    }

    public func events(ofType type: String) async throws -> [EventRow] {
        try await events(where: "e.type = ?", type)
    }

    /// Events (`e`) matching the condition, in the order they were accepted, with their kept fields.
    private func events(where condition: String, _ argument: String) async throws -> [EventRow] {
        let results = try await database.read([
            SQLStatement("SELECT e.* FROM events e WHERE \(condition) ORDER BY e.accepted_at, e.source, e.event_id", argument),
            SQLStatement("""
                SELECT f.source, f.event_id, f.pointer, f.value FROM event_fields f JOIN events e ON e.source = f.source AND e.event_id = f.event_id
                WHERE \(condition)
                """, argument),
        ])
        return Self.withFields(results[0].map(Self.event), results[1])
    }

    private static func withFields(_ events: [EventRow], _ fields: [SQLRow]) -> [EventRow] {
        var byEvent: [[String]: [String: String]] = [:]
        for field in fields { byEvent[[field["source"], field["event_id"]], default: [:]][field["pointer"]] = field["value"] }
        return events.map { event in
            var event = event
            event.fields = byEvent[[event.source, event.eventId]] ?? [:]
            return event
        }
    }

    public func deliveries(organisation: String?, state: DeliveryState?) async throws -> [DeliveryRow] {
        try await database.read(SQLStatement("""
            SELECT * FROM (SELECT \(Self.deliveryColumns) FROM deliveries) AS d
            WHERE (? IS NULL OR organisation = ?) AND (? IS NULL OR state = ?) ORDER BY organisation, delivery_id
            """, organisation, organisation, state?.rawValue, state?.rawValue)).map(Self.delivery)
    }

    public func delivery(_ deliveryId: String) async throws -> DeliveryRow? {
        try await database.read(SQLStatement("SELECT \(Self.deliveryColumns) FROM deliveries WHERE delivery_id = ?", deliveryId)).first.map(Self.delivery)
    }

    public func deadLetterSummary() async throws -> (count: Int, oldestReceivedAt: String?) {
        let row = try await database.read(SQLStatement("SELECT COUNT(*) AS letters, MIN(received_at) AS oldest FROM dead_letters"))[0]
        return (row["letters"], row["oldest"])
    }

    public func deadLetters() async throws -> [DeadLetterRow] {
        let results = try await database.read([
            SQLStatement("SELECT * FROM dead_letters ORDER BY received_at, dead_letter_id"),
            SQLStatement("SELECT r.* FROM replays r JOIN dead_letters l ON l.dead_letter_id = r.target ORDER BY r.at, r.replay_id"),
        ])
        let replays = Dictionary(grouping: results[1].map(Self.replay), by: \.target)
        return results[0].map { row in
            var letter = Self.deadLetter(row)
            letter.replays = replays[letter.deadLetterId] ?? []
            return letter
        }
    }

    public func alerts(severity: SLAAlert.Severity?) async throws -> [SLAAlert] {
        try await database.read(SQLStatement("SELECT * FROM alerts WHERE (? IS NULL OR severity = ?) ORDER BY raised_at DESC, alert_id",
                                             severity?.rawValue, severity?.rawValue)).map(Self.alert)
    }

    public func disclosures(concerning person: String) async throws -> [Disclosure] {
        try await database.read(SQLStatement("""
            SELECT e.event_id, e.type, c.ketencaseid, c.recipient, c.decision_id, c.rule_id, c.legal_basis, c.purpose, c.matrix_version,
                   c.decided_at, d.delivered_at, d.acknowledged_at, c.grounds
            FROM event_persons p
            JOIN events e ON e.source = p.source AND e.event_id = p.event_id
            JOIN decisions c ON c.event_source = p.source AND c.event_id = p.event_id AND c.ketencaseid = p.ketencaseid AND c.permitted = 1
            LEFT JOIN deliveries d ON d.delivery_id = c.decision_id
            WHERE p.person = ? ORDER BY c.decided_at, c.recipient, c.decision_id
            """, person)).map { row in
            Disclosure(eventId: row["event_id"], eventType: row["type"], ketencaseid: row["ketencaseid"], recipient: row["recipient"],
                       decisionId: row["decision_id"], ruleId: row["rule_id"], legalBasis: row["legal_basis"], purpose: row["purpose"],
                       matrixVersion: row["matrix_version"], decidedAt: row["decided_at"], deliveredAt: row["delivered_at"],
                       acknowledgedAt: row["acknowledged_at"], grounds: row["grounds"])
        }
    }

    public func unreleasedHolds() async throws -> [HeldDelivery] {
        try await database.read(SQLStatement("""
            SELECT h.decision_id, h.recipient, h.event_id, e.type, h.ketencaseid, h.decided_at, h.explanation, h.grounds
            FROM decisions h JOIN events e ON e.source = h.event_source AND e.event_id = h.event_id
            WHERE h.outcome = 'hold' AND NOT EXISTS (SELECT 1 FROM decisions r WHERE r.releases = h.decision_id)
            ORDER BY h.decided_at, h.decision_id
            """)).map { row in
            HeldDelivery(decisionId: row["decision_id"], recipient: row["recipient"], eventId: row["event_id"], eventType: row["type"],
                         ketencaseid: row["ketencaseid"], decidedAt: row["decided_at"], explanation: row["explanation"],
                         waitsFor: Self.waitsFor(grounds: row["grounds"]))
        }
    }

    public func acknowledgementLatencies() async throws -> [String: LatencyCounts] {
        // The counts by organisation and bucket, and the changes not yet folded into them (those of
        // a batch being applied, or written outside the ledger's batches): a few rows per
        // organisation and bucket, whatever the number of acknowledgements the ledger holds or has
        // held. A bucket all of whose latencies moved to another is left out.
        let rows = try await database.read(SQLStatement("""
            SELECT organisation, le_ms AS le, CAST(SUM(observed) AS BIGINT) AS observed, CAST(SUM(total_ms) AS BIGINT) AS total_ms FROM (
                SELECT organisation, le_ms, observed, total_ms FROM acknowledgement_latency_counts
                UNION ALL
                SELECT organisation, le_ms, observed, total_ms FROM acknowledgement_latency_changes) AS latencies
            GROUP BY organisation, le_ms HAVING SUM(observed) <> 0
            """))
        let bounds = LatencyCounts.boundsMilliseconds
        var counts: [String: LatencyCounts] = [:]
        for row in rows {
            let organisation: String = row["organisation"], bucket: Int = row["le"], observed: Int = row["observed"]
            var latencies = counts[organisation] ?? LatencyCounts(atOrBelow: bounds.map { _ in 0 }, count: 0, totalMilliseconds: 0)
            latencies.count += observed
            latencies.totalMilliseconds += row["total_ms"]
            // Cumulative: a bucket's acknowledgements are at or below its bound and every larger one.
            for (index, bound) in bounds.enumerated() where bucket != -1 && bucket <= bound { latencies.atOrBelow[index] += observed }
            counts[organisation] = latencies
        }
        return counts
    }

    public func references(inCase ketencaseid: String) async throws -> [ReferenceRegistration] {
        try await database.read(SQLStatement("SELECT * FROM case_references WHERE ketencaseid = ? ORDER BY organisation, reference", ketencaseid))
            .map(Self.reference)
    }

    public func caseLinks(inCase ketencaseid: String?) async throws -> [CaseLink] {
        let steps = try await database.read(SQLStatement("SELECT * FROM case_link_steps WHERE ? IS NULL OR case_a = ? OR case_b = ? ORDER BY link_id",
                                                         ketencaseid, ketencaseid, ketencaseid)).map(Self.linkStep)
        let byLink = Dictionary(grouping: steps, by: \.linkId)
        return byLink.keys.sorted().map { CaseLink(steps: byLink[$0]!) }
    }

    public func caseLink(_ linkId: String) async throws -> CaseLink? {
        let steps = try await database.read(SQLStatement("SELECT * FROM case_link_steps WHERE link_id = ?", linkId)).map(Self.linkStep)
        return steps.isEmpty ? nil : CaseLink(steps: steps)
    }

    public func linkCandidates(role: String, cases: Set<String>?) async throws -> [LinkCandidate] {
        let rows = try await database.read(SQLStatement("""
            SELECT a.ketencaseid AS case_a, b.ketencaseid AS case_b,
                   MIN(\(SQLStatement.greatest("a.first_seen", "b.first_seen"))) AS since
            FROM case_persons a JOIN case_persons b ON a.role = b.role AND a.person = b.person AND a.ketencaseid < b.ketencaseid
            WHERE a.role = ? GROUP BY a.ketencaseid, b.ketencaseid ORDER BY a.ketencaseid, b.ketencaseid
            """, role))
        return rows.compactMap { row in
            let pair: [String] = [row["case_a"], row["case_b"]]
            if let cases, cases.isDisjoint(with: pair) { return nil }
            return LinkCandidate(cases: pair, role: role, since: row["since"])
        }
    }

    public func snapshot() async throws -> LedgerSnapshot {
        let results = try await database.read([
            SQLStatement("SELECT * FROM events ORDER BY source, event_id"),
            SQLStatement("SELECT * FROM event_fields"),
            SQLStatement("SELECT * FROM decisions ORDER BY decision_id"),
            SQLStatement("SELECT \(Self.deliveryColumns) FROM deliveries ORDER BY delivery_id"),
            SQLStatement("SELECT * FROM dead_letters ORDER BY dead_letter_id"),
            SQLStatement("SELECT * FROM replays ORDER BY replay_id"),
            SQLStatement("SELECT * FROM alerts ORDER BY alert_id"),
            SQLStatement("SELECT * FROM event_persons ORDER BY source, event_id, ketencaseid, person"),
            SQLStatement("SELECT * FROM case_references ORDER BY organisation, reference"),
            SQLStatement("SELECT * FROM case_link_steps ORDER BY link_id, at, action, by"),
        ])
        return LedgerSnapshot(
            events: Self.withFields(results[0].map(Self.event), results[1]),
            decisions: results[2].map(Self.decision),
            deliveries: results[3].map(Self.delivery),
            deadLetters: results[4].map(Self.deadLetter),
            replays: results[5].map(Self.replay),
            alerts: results[6].map(Self.alert),
            persons: results[7].map { [$0["source"], $0["event_id"], $0["ketencaseid"], $0["person"]] },
            references: results[8].map { [$0["organisation"], $0["reference"], $0["ketencaseid"], $0["how"]] },
            linkSteps: results[9].map(Self.linkStep))
    }

    private static func event(_ row: SQLRow) -> EventRow {
        EventRow(eventId: row["event_id"], source: row["source"], type: row["type"], ketencaseid: row["ketencaseid"],
                 producer: row["producer"], eventTime: row["event_time"], acceptedAt: row["accepted_at"])
    }

    /// The facts a hold waits for, from its grounds: the case facts recorded as unknown (a case
    /// attribute, or `region` when the recipient's organisation could not be resolved).
    static func waitsFor(grounds: String?) -> [String] {
        guard let grounds, let value = try? JSONValue.parse(Data(grounds.utf8)), case .object(let members)? = value["caseFacts"] else { return [] }
        return members.filter { $0.value.stringValue == "unknown" }.map(\.key).sorted()
    }

    private static func decision(_ row: SQLRow) -> DecisionRow {
        let permitted: Bool = row["permitted"]
        return DecisionRow(decisionId: row["decision_id"], recipient: row["recipient"], permitted: permitted,
                           outcome: row["outcome"] ?? (permitted ? "permit" : "deny"), releases: row["releases"], grounds: row["grounds"],
                           ruleId: row["rule_id"], legalBasis: row["legal_basis"], purpose: row["purpose"], matrixVersion: row["matrix_version"],
                           decidedAt: row["decided_at"], explanation: row["explanation"])
    }

    private static func delivery(_ row: SQLRow) -> DeliveryRow {
        DeliveryRow(deliveryId: row["delivery_id"], eventId: row["event_id"], eventSource: row["event_source"], ketencaseid: row["ketencaseid"],
                    organisation: row["organisation"], state: DeliveryState(rawValue: row["state"]) ?? .routed, attempts: row["attempts"],
                    deliveredAt: row["delivered_at"], acknowledgedAt: row["acknowledged_at"], detail: row["detail"])
    }

    private static func deadLetter(_ row: SQLRow) -> DeadLetterRow {
        let reasons = (try? JSONDecoder().decode([String].self, from: Data((row["reasons"] as String).utf8))) ?? []
        return DeadLetterRow(deadLetterId: row["dead_letter_id"], stage: row["stage"], partner: row["partner"], receivedAt: row["received_at"],
                             reasons: reasons, sizeBytes: row["size_bytes"])
    }

    private static func replay(_ row: SQLRow) -> ReplayRecord {
        ReplayRecord(replayId: row["replay_id"], kind: ReplayRecord.Kind(rawValue: row["kind"]) ?? .delivery, target: row["target"],
                     requestedBy: row["requested_by"], at: row["at"], outcome: ReplayRecord.Outcome(rawValue: row["outcome"]) ?? .queued,
                     detail: row["detail"])
    }

    private static func reference(_ row: SQLRow) -> ReferenceRegistration {
        ReferenceRegistration(organisation: row["organisation"], reference: row["reference"], ketencaseid: row["ketencaseid"],
                              how: ReferenceRegistration.How(rawValue: row["how"]) ?? .joined, rule: row["rule"], eventId: row["event_id"],
                              eventType: row["event_type"], registeredAt: row["registered_at"])
    }

    private static func linkStep(_ row: SQLRow) -> CaseLinkRecord {
        CaseLinkRecord(linkId: row["link_id"], cases: [row["case_a"], row["case_b"]], rule: row["rule"],
                       action: CaseLinkRecord.Action(rawValue: row["action"]) ?? .proposed, by: row["by"], at: row["at"], reason: row["reason"])
    }

    private static func alert(_ row: SQLRow) -> SLAAlert {
        SLAAlert(alertId: row["alert_id"], clock: row["clock"], severity: SLAAlert.Severity(rawValue: row["severity"]) ?? .warning, ketencaseid: row["ketencaseid"], eventId: row["event_id"],
                 organisation: row["organisation"], raisedAt: row["raised_at"], dueAt: row["due_at"], message: row["message"])
    }
}

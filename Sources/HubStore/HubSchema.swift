/// The hub's state in SQL: the ledger (every event's life cycle, dead letters, replays, SLA alerts,
/// chain cases' references and links), the API call log, the matrix versions and the retention
/// job's record. One schema, one list of migrations, whichever node opens the store first applies
/// them. A migration, once released, never changes: a change of the schema is a new migration,
/// with its SQL for both backends.
public enum HubSchema {
    public static let schema = SQLSchema(migrations: [
        SQLMigration("v1", sqlite: """
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
            """,
            postgres: """
            -- PostgreSQL joined at this schema: its first migration builds what v1 to v7 built on SQLite.
            -- Text compares byte by byte (collation "C"), as SQLite does: times, ids and orderings agree.
            CREATE TABLE events (
                source TEXT COLLATE "C" NOT NULL, event_id TEXT COLLATE "C" NOT NULL, type TEXT COLLATE "C" NOT NULL, ketencaseid TEXT COLLATE "C" NOT NULL,
                producer TEXT COLLATE "C" NOT NULL, event_time TEXT COLLATE "C" NOT NULL, accepted_at TEXT COLLATE "C",
                PRIMARY KEY (source, event_id));
            CREATE INDEX events_by_case ON events (ketencaseid);
            CREATE INDEX events_by_type ON events (type);
            CREATE TABLE event_fields (
                source TEXT COLLATE "C" NOT NULL, event_id TEXT COLLATE "C" NOT NULL, pointer TEXT COLLATE "C" NOT NULL, value TEXT COLLATE "C" NOT NULL,
                PRIMARY KEY (source, event_id, pointer));
            CREATE TABLE decisions (
                decision_id TEXT COLLATE "C" PRIMARY KEY, event_source TEXT COLLATE "C" NOT NULL, event_id TEXT COLLATE "C" NOT NULL, ketencaseid TEXT COLLATE "C" NOT NULL,
                recipient TEXT COLLATE "C" NOT NULL, permitted BIGINT NOT NULL, rule_id TEXT COLLATE "C", legal_basis TEXT COLLATE "C", purpose TEXT COLLATE "C",
                matrix_version TEXT COLLATE "C" NOT NULL, decided_at TEXT COLLATE "C" NOT NULL, explanation TEXT COLLATE "C", outcome TEXT COLLATE "C", releases TEXT COLLATE "C", grounds TEXT COLLATE "C");
            CREATE INDEX decisions_by_event ON decisions (event_source, event_id);
            CREATE INDEX decisions_by_release ON decisions (releases);
            CREATE TABLE deliveries (
                delivery_id TEXT COLLATE "C" PRIMARY KEY, organisation TEXT COLLATE "C" NOT NULL, event_source TEXT COLLATE "C", event_id TEXT COLLATE "C", ketencaseid TEXT COLLATE "C",
                outcome TEXT COLLATE "C", attempts BIGINT, delivered_at TEXT COLLATE "C", detail TEXT COLLATE "C",
                ack_rank BIGINT NOT NULL DEFAULT 0, acknowledged_at TEXT COLLATE "C", ack_reason TEXT COLLATE "C");
            CREATE INDEX deliveries_by_organisation ON deliveries (organisation);
            CREATE INDEX deliveries_by_event ON deliveries (event_source, event_id);
            CREATE TABLE dead_letters (
                dead_letter_id TEXT COLLATE "C" PRIMARY KEY, stage TEXT COLLATE "C" NOT NULL, partner TEXT COLLATE "C", received_at TEXT COLLATE "C" NOT NULL,
                reasons TEXT COLLATE "C" NOT NULL, size_bytes BIGINT NOT NULL);
            CREATE TABLE api_calls (
                id BIGSERIAL PRIMARY KEY, at TEXT COLLATE "C" NOT NULL, principal TEXT COLLATE "C" NOT NULL, role TEXT COLLATE "C" NOT NULL,
                method TEXT COLLATE "C" NOT NULL, path TEXT COLLATE "C" NOT NULL, status BIGINT NOT NULL);
            CREATE TABLE event_persons (
                source TEXT COLLATE "C" NOT NULL, event_id TEXT COLLATE "C" NOT NULL, ketencaseid TEXT COLLATE "C" NOT NULL, person TEXT COLLATE "C" NOT NULL,
                PRIMARY KEY (person, source, event_id, ketencaseid));
            CREATE TABLE replays (
                replay_id TEXT COLLATE "C" PRIMARY KEY, kind TEXT COLLATE "C" NOT NULL, target TEXT COLLATE "C" NOT NULL, requested_by TEXT COLLATE "C" NOT NULL,
                at TEXT COLLATE "C" NOT NULL, outcome TEXT COLLATE "C" NOT NULL, detail TEXT COLLATE "C");
            CREATE INDEX replays_by_target ON replays (target);
            CREATE TABLE alerts (
                alert_id TEXT COLLATE "C" PRIMARY KEY, clock TEXT COLLATE "C" NOT NULL, severity TEXT COLLATE "C" NOT NULL, ketencaseid TEXT COLLATE "C" NOT NULL, event_id TEXT COLLATE "C",
                organisation TEXT COLLATE "C", raised_at TEXT COLLATE "C" NOT NULL, due_at TEXT COLLATE "C", message TEXT COLLATE "C" NOT NULL);
            CREATE TABLE case_persons (
                ketencaseid TEXT COLLATE "C" NOT NULL, role TEXT COLLATE "C" NOT NULL, person TEXT COLLATE "C" NOT NULL, first_seen TEXT COLLATE "C" NOT NULL,
                PRIMARY KEY (role, person, ketencaseid));
            CREATE INDEX case_persons_by_case ON case_persons (ketencaseid);
            CREATE TABLE case_references (
                organisation TEXT COLLATE "C" NOT NULL, reference TEXT COLLATE "C" NOT NULL, ketencaseid TEXT COLLATE "C" NOT NULL, how TEXT COLLATE "C" NOT NULL, rule TEXT COLLATE "C",
                event_id TEXT COLLATE "C" NOT NULL, event_type TEXT COLLATE "C" NOT NULL, registered_at TEXT COLLATE "C" NOT NULL,
                PRIMARY KEY (organisation, reference));
            CREATE INDEX case_references_by_case ON case_references (ketencaseid);
            CREATE TABLE case_link_steps (
                link_id TEXT COLLATE "C" NOT NULL, case_a TEXT COLLATE "C" NOT NULL, case_b TEXT COLLATE "C" NOT NULL, rule TEXT COLLATE "C" NOT NULL, action TEXT COLLATE "C" NOT NULL,
                by TEXT COLLATE "C" NOT NULL, at TEXT COLLATE "C" NOT NULL, reason TEXT COLLATE "C",
                PRIMARY KEY (link_id, action, by, at));
            CREATE INDEX case_link_steps_by_a ON case_link_steps (case_a);
            CREATE INDEX case_link_steps_by_b ON case_link_steps (case_b);
            """),
        SQLMigration("v2-api-calls", sqlite: """
            CREATE TABLE api_calls (
                id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, principal TEXT NOT NULL, role TEXT NOT NULL,
                method TEXT NOT NULL, path TEXT NOT NULL, status INTEGER NOT NULL);
            """,
            postgres: nil),
        SQLMigration("v3-persons-replays-alerts", sqlite: """
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
            """,
            postgres: nil),
        // v4: a person belongs to an event in the chain case that event was sent in: an id reused in
        // another case (refused by the router) must not lend its persons to the first one's disclosures.
        SQLMigration("v4-persons-by-case", sqlite: """
            CREATE TABLE event_persons_by_case (
                source TEXT NOT NULL, event_id TEXT NOT NULL, ketencaseid TEXT NOT NULL, person TEXT NOT NULL,
                PRIMARY KEY (person, source, event_id, ketencaseid));
            INSERT INTO event_persons_by_case (source, event_id, ketencaseid, person)
                SELECT p.source, p.event_id, e.ketencaseid, p.person FROM event_persons p
                JOIN events e ON e.source = p.source AND e.event_id = p.event_id;
            DROP TABLE event_persons;
            ALTER TABLE event_persons_by_case RENAME TO event_persons;
            """,
            postgres: nil),
        SQLMigration("v5-decision-explanations", sqlite: """
            ALTER TABLE decisions ADD COLUMN explanation TEXT
            """,
            postgres: nil),
        // v6: rows from before have no outcome column: theirs follows from `permitted`.
        SQLMigration("v6-holds-and-grounds", sqlite: """
            ALTER TABLE decisions ADD COLUMN outcome TEXT;
            ALTER TABLE decisions ADD COLUMN releases TEXT;
            ALTER TABLE decisions ADD COLUMN grounds TEXT;
            UPDATE decisions SET outcome = CASE permitted WHEN 1 THEN 'permit' ELSE 'deny' END;
            CREATE INDEX decisions_by_release ON decisions (releases);
            """,
            postgres: nil),
        // v7: which pseudonymous victims and suspects each case names (since its first event naming
        // them), the partners' references of each case, and every step of every case link.
        SQLMigration("v7-chain-cases", sqlite: """
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
            """,
            postgres: nil),
        SQLMigration("matrix-v1", sqlite: """
            CREATE TABLE matrix_versions (
                number INTEGER PRIMARY KEY, matrix_version TEXT NOT NULL, state TEXT NOT NULL,
                proposed_by TEXT NOT NULL, proposed_at TEXT NOT NULL, approved_by TEXT, approved_at TEXT,
                activated_by TEXT, active_from TEXT, files TEXT NOT NULL);
            """,
            postgres: """
            CREATE TABLE matrix_versions (
                number BIGINT PRIMARY KEY, matrix_version TEXT COLLATE "C" NOT NULL, state TEXT COLLATE "C" NOT NULL,
                proposed_by TEXT COLLATE "C" NOT NULL, proposed_at TEXT COLLATE "C" NOT NULL, approved_by TEXT COLLATE "C", approved_at TEXT COLLATE "C",
                activated_by TEXT COLLATE "C", active_from TEXT COLLATE "C", files TEXT COLLATE "C" NOT NULL);
            """),
        // What the retention job removed, when, up to which moment (the data-subject report is
        // complete from the latest cutoff of event life cycles); and the indexes it deletes by.
        SQLMigration("v8-retention", sqlite: """
            CREATE TABLE retention_runs (
                run_at TEXT NOT NULL, kind TEXT NOT NULL, cutoff TEXT NOT NULL, removed INTEGER NOT NULL,
                PRIMARY KEY (run_at, kind));
            \(retentionIndexes)
            """,
            postgres: """
            CREATE TABLE retention_runs (
                run_at TEXT COLLATE "C" NOT NULL, kind TEXT COLLATE "C" NOT NULL, cutoff TEXT COLLATE "C" NOT NULL, removed BIGINT NOT NULL,
                PRIMARY KEY (run_at, kind));
            \(retentionIndexes)
            """),
        // Acknowledgement latencies kept as numbers, so that `/metrics` counts them from an index
        // instead of reading every acknowledged delivery's two times: the times as milliseconds since
        // 1970 (written from now on by the ledger, which reads the texts), each acknowledged
        // delivery's latency and the histogram bucket it falls in (the upper bound in milliseconds,
        // -1 above the last; the bounds are `LatencyCounts.boundsMilliseconds`). Rows already kept
        // get them here; on PostgreSQL a time that is no time gets none, as on SQLite. What the
        // retention job removes stays counted (`acknowledgement_latencies_removed`): the histogram's
        // counts are counters, and a counter that falls reads to a scraper as a restart.
        SQLMigration("v9-acknowledgement-latencies", sqlite: """
            ALTER TABLE events ADD COLUMN accepted_ms INTEGER;
            ALTER TABLE deliveries ADD COLUMN acknowledged_ms INTEGER;
            ALTER TABLE deliveries ADD COLUMN ack_latency_ms INTEGER;
            ALTER TABLE deliveries ADD COLUMN ack_latency_le_ms INTEGER;
            UPDATE events SET accepted_ms = CAST(ROUND((julianday(accepted_at) - 2440587.5) * 86400000.0) AS INTEGER);
            UPDATE deliveries SET acknowledged_ms = CAST(ROUND((julianday(acknowledged_at) - 2440587.5) * 86400000.0) AS INTEGER);
            \(latencyBackfill)
            CREATE TABLE acknowledgement_latencies_removed (
                organisation TEXT NOT NULL, le_ms INTEGER NOT NULL, observed INTEGER NOT NULL, total_ms INTEGER NOT NULL,
                PRIMARY KEY (organisation, le_ms));
            """,
            postgres: """
            ALTER TABLE events ADD COLUMN accepted_ms BIGINT;
            ALTER TABLE deliveries ADD COLUMN acknowledged_ms BIGINT;
            ALTER TABLE deliveries ADD COLUMN ack_latency_ms BIGINT;
            ALTER TABLE deliveries ADD COLUMN ack_latency_le_ms BIGINT;
            CREATE FUNCTION ketenhub_milliseconds(moment TEXT) RETURNS BIGINT LANGUAGE plpgsql AS $$
            BEGIN
                RETURN CAST(ROUND(EXTRACT(EPOCH FROM CAST(moment AS timestamptz)) * 1000) AS BIGINT);
            EXCEPTION WHEN others THEN
                RETURN NULL;
            END
            $$;
            UPDATE events SET accepted_ms = ketenhub_milliseconds(accepted_at);
            UPDATE deliveries SET acknowledged_ms = ketenhub_milliseconds(acknowledged_at);
            DROP FUNCTION ketenhub_milliseconds(TEXT);
            \(latencyBackfill)
            CREATE TABLE acknowledgement_latencies_removed (
                organisation TEXT COLLATE "C" NOT NULL, le_ms BIGINT NOT NULL, observed BIGINT NOT NULL, total_ms BIGINT NOT NULL,
                PRIMARY KEY (organisation, le_ms));
            """),
        // The acknowledged deliveries whose latency is not assigned, found without reading the rest
        // (`acknowledgementLatencyRepair`), and those that concurrent writers left so, assigned.
        SQLMigration("v10-unassigned-latencies", sqlite: unassignedLatencies, postgres: unassignedLatencies),
        // The acknowledgement-latency histogram kept as counts, so that /metrics reads a row per
        // organisation and bucket, not the deliveries (`acknowledgementLatencyFold`).
        SQLMigration("v11-acknowledgement-latency-counts", sqlite: """
            CREATE TABLE acknowledgement_latency_counts (
                organisation TEXT NOT NULL, le_ms INTEGER NOT NULL, observed INTEGER NOT NULL, total_ms INTEGER NOT NULL,
                PRIMARY KEY (organisation, le_ms));
            CREATE TABLE acknowledgement_latency_changes (
                organisation TEXT NOT NULL, le_ms INTEGER NOT NULL, observed INTEGER NOT NULL, total_ms INTEGER NOT NULL);
            \(latencyCountsFromDeliveries)
            CREATE TRIGGER deliveries_latency_assigned AFTER UPDATE ON deliveries
            WHEN OLD.ack_latency_ms IS NOT NEW.ack_latency_ms OR OLD.ack_latency_le_ms IS NOT NEW.ack_latency_le_ms
                OR OLD.organisation IS NOT NEW.organisation
            BEGIN
                INSERT INTO acknowledgement_latency_changes (organisation, le_ms, observed, total_ms)
                    SELECT OLD.organisation, OLD.ack_latency_le_ms, -1, -OLD.ack_latency_ms WHERE OLD.ack_latency_le_ms IS NOT NULL;
                INSERT INTO acknowledgement_latency_changes (organisation, le_ms, observed, total_ms)
                    SELECT NEW.organisation, NEW.ack_latency_le_ms, 1, NEW.ack_latency_ms WHERE NEW.ack_latency_le_ms IS NOT NULL;
            END;
            CREATE TRIGGER deliveries_latency_inserted AFTER INSERT ON deliveries WHEN NEW.ack_latency_le_ms IS NOT NULL
            BEGIN
                INSERT INTO acknowledgement_latency_changes (organisation, le_ms, observed, total_ms)
                    VALUES (NEW.organisation, NEW.ack_latency_le_ms, 1, NEW.ack_latency_ms);
            END;
            """,
            postgres: """
            CREATE TABLE acknowledgement_latency_counts (
                organisation TEXT COLLATE "C" NOT NULL, le_ms BIGINT NOT NULL, observed BIGINT NOT NULL, total_ms BIGINT NOT NULL,
                PRIMARY KEY (organisation, le_ms));
            CREATE TABLE acknowledgement_latency_changes (
                organisation TEXT COLLATE "C" NOT NULL, le_ms BIGINT NOT NULL, observed BIGINT NOT NULL, total_ms BIGINT NOT NULL);
            \(latencyCountsFromDeliveries)
            CREATE FUNCTION ketenhub_acknowledgement_latency_changed() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'UPDATE' AND OLD.ack_latency_le_ms IS NOT NULL THEN
                    INSERT INTO acknowledgement_latency_changes (organisation, le_ms, observed, total_ms)
                        VALUES (OLD.organisation, OLD.ack_latency_le_ms, -1, -OLD.ack_latency_ms);
                END IF;
                IF NEW.ack_latency_le_ms IS NOT NULL THEN
                    INSERT INTO acknowledgement_latency_changes (organisation, le_ms, observed, total_ms)
                        VALUES (NEW.organisation, NEW.ack_latency_le_ms, 1, NEW.ack_latency_ms);
                END IF;
                RETURN NULL;
            END
            $$;
            CREATE TRIGGER deliveries_latency_assigned AFTER UPDATE ON deliveries FOR EACH ROW
                WHEN (OLD.ack_latency_ms IS DISTINCT FROM NEW.ack_latency_ms OR OLD.ack_latency_le_ms IS DISTINCT FROM NEW.ack_latency_le_ms
                      OR OLD.organisation IS DISTINCT FROM NEW.organisation)
                EXECUTE FUNCTION ketenhub_acknowledgement_latency_changed();
            CREATE TRIGGER deliveries_latency_inserted AFTER INSERT ON deliveries FOR EACH ROW WHEN (NEW.ack_latency_le_ms IS NOT NULL)
                EXECUTE FUNCTION ketenhub_acknowledgement_latency_changed();
            """),
    ])

    /// The bounds of the acknowledgement-latency histogram's buckets, in milliseconds, which each
    /// acknowledged delivery's `ack_latency_le_ms` names (-1 above the last), and by which v11's counts
    /// keep them. Other bounds need a migration that assigns every row again and counts afresh: the
    /// counts of deliveries already removed cannot be moved to other buckets.
    public static let acknowledgementLatencyBounds = [100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 300_000, 3_600_000]

    /// `SET` of a delivery's latency (never below 0: two nodes' clocks) and bucket, from its
    /// acknowledgement's and its event's acceptance's milliseconds; both null while either is unknown.
    /// The same on both backends, for the migration and for the ledger's every write.
    public static let acknowledgementLatencyAssignment: String = {
        let difference = "deliveries.acknowledged_ms - e.accepted_ms"
        let buckets = acknowledgementLatencyBounds.map { "WHEN \(difference) <= \($0) THEN \($0)" }.joined(separator: " ")
        return """
            SET (ack_latency_ms, ack_latency_le_ms) = (
                SELECT CASE WHEN \(difference) < 0 THEN 0 ELSE \(difference) END,
                       CASE WHEN \(difference) IS NULL THEN NULL \(buckets) ELSE -1 END
                FROM events e WHERE e.source = deliveries.event_source AND e.event_id = deliveries.event_id)
            """
    }()

    /// Assigns the latency of acknowledged deliveries that have none although their event's
    /// acceptance is known, a bounded number at a time. On PostgreSQL a writer assigns a delivery's
    /// latency from what is committed when its statement starts, so two projectors that write at the
    /// same moment a delivery's link to its event (its permit) and that event's acceptance each miss
    /// the other's fact, and leave the delivery unassigned; the ledger runs this with every batch it
    /// applies, so that the next batch of any projector assigns it (SQLite has one writer at a time).
    public static let acknowledgementLatencyRepair = """
        UPDATE deliveries \(acknowledgementLatencyAssignment) WHERE delivery_id IN (
            SELECT d.delivery_id FROM deliveries d WHERE d.acknowledged_ms IS NOT NULL AND d.ack_latency_le_ms IS NULL
                AND EXISTS (SELECT 1 FROM events e WHERE e.source = d.event_source AND e.event_id = d.event_id AND e.accepted_ms IS NOT NULL)
            LIMIT 1000)
        """

    /// Moves the acknowledgement-latency changes the triggers of v11 record (a row for each latency
    /// assigned, and a negative one for each it replaces) into the counts `/metrics` reads, by
    /// organisation and bucket; the ledger runs it at the end of every batch it applies. A delivery
    /// removed by the retention job stays counted: removal records no change, so the histogram's
    /// counts never fall. The changes are kept apart from the counts, rather than counted into them
    /// by the triggers, so that concurrent projectors do not hold the counts' rows from their first
    /// assignment to their commit, in whatever order their deliveries come: each fold takes them last,
    /// in one order. On PostgreSQL the changes are deleted and counted in one statement, so that a
    /// change another projector commits meanwhile is counted by a later fold, not deleted uncounted
    /// (SQLite has one writer at a time).
    public static func acknowledgementLatencyFold(on backend: SQLBackend) -> [String] {
        func counted(from changes: String) -> String {
            """
            INSERT INTO acknowledgement_latency_counts (organisation, le_ms, observed, total_ms)
            SELECT organisation, le_ms, SUM(observed), SUM(total_ms) FROM \(changes) GROUP BY organisation, le_ms ORDER BY organisation, le_ms
            ON CONFLICT (organisation, le_ms) DO UPDATE SET observed = acknowledgement_latency_counts.observed + excluded.observed,
                total_ms = acknowledgement_latency_counts.total_ms + excluded.total_ms
            """
        }
        return switch backend {
        case .sqlite: [counted(from: "acknowledgement_latency_changes WHERE true"), "DELETE FROM acknowledgement_latency_changes"]
        case .postgres: ["WITH moved AS (DELETE FROM acknowledgement_latency_changes RETURNING organisation, le_ms, observed, total_ms) "
                         + counted(from: "moved")]
        }
    }

    /// The counts of v11 at its start: the deliveries' latencies, and those of the deliveries the
    /// retention job had removed (v9's table, which the counts replace).
    private static let latencyCountsFromDeliveries = """
        INSERT INTO acknowledgement_latency_counts (organisation, le_ms, observed, total_ms)
        SELECT organisation, le_ms, SUM(observed), SUM(total_ms) FROM (
            SELECT organisation, ack_latency_le_ms AS le_ms, COUNT(*) AS observed, SUM(ack_latency_ms) AS total_ms
            FROM deliveries WHERE ack_latency_le_ms IS NOT NULL GROUP BY organisation, ack_latency_le_ms
            UNION ALL
            SELECT organisation, le_ms, observed, total_ms FROM acknowledgement_latencies_removed) AS kept
        GROUP BY organisation, le_ms;
        DROP TABLE acknowledgement_latencies_removed;
        DROP INDEX deliveries_by_ack_latency;
        """

    /// The partial index of `acknowledgementLatencyRepair` (the same on both backends), and the rows
    /// left unassigned before it.
    private static let unassignedLatencies = """
        CREATE INDEX deliveries_latency_unassigned ON deliveries (event_source, event_id)
            WHERE acknowledged_ms IS NOT NULL AND ack_latency_le_ms IS NULL;
        UPDATE deliveries \(acknowledgementLatencyAssignment) WHERE acknowledged_ms IS NOT NULL AND ack_latency_le_ms IS NULL;
        """

    /// Each acknowledged delivery's latency and bucket, and the index `/metrics` counts by.
    private static let latencyBackfill = """
        UPDATE deliveries \(acknowledgementLatencyAssignment) WHERE acknowledged_ms IS NOT NULL;
        CREATE INDEX deliveries_by_ack_latency ON deliveries (organisation, ack_latency_le_ms, ack_latency_ms);
        """

    /// The times the retention job deletes by, the same on both backends.
    private static let retentionIndexes = """
        CREATE INDEX events_by_acceptance ON events (accepted_at);
        CREATE INDEX dead_letters_by_receipt ON dead_letters (received_at);
        CREATE INDEX alerts_by_raise ON alerts (raised_at);
        CREATE INDEX api_calls_by_time ON api_calls (at);
        CREATE INDEX replays_by_time ON replays (at);
        """
}

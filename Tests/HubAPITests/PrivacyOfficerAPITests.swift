import CanonicalEvents
import DeliveryLedger
import Foundation
import HubAPI
import HubAccess
import Hummingbird
import KetenhubTestSupport
import MatrixGovernance
import SharingPolicy
import Testing

/// Every endpoint of the privacy officers' API, for every role, over real matrix versions in SQLite
/// and the schedule a router follows: propose (linted), approve (never by the proposer), activate
/// from a date, diff, simulate, replay; and the data-subject report over a ledger.
@Suite("Privacy officer API")
struct PrivacyOfficerAPITests {
    static let tokens: [String: Principal] = [
        "t-privacy": Principal(name: "fg-1", role: .privacyOfficer), "t-privacy-2": Principal(name: "fg-2", role: .privacyOfficer),
        "t-operator": Principal(name: "ops-1", role: .operator_), "t-admin": Principal(name: "admin-1", role: .admin),
        "t-politie": Principal(name: "politie-bo", role: .partner("politie")),
    ]
    static let matrixDirectory = packageRoot.appendingPathComponent("Contracts/matrix")
    static let person = "psn:b75e5fcf010f32de0e37fc862ca04e27"

    struct Hub {
        var url: URL
        var schedule: MatrixSchedule
        var ledger: SQLLedgerStore
        var baseline: MatrixBundle
    }

    /// The example events, routed under the repository's matrix: the recorded decisions a proposal is replayed against.
    static func recordedDecisions(_ matrix: SharingMatrix) throws -> RecordedExamples {
        let events = try contractExamples("valid").filter { $0.event != "acknowledgement" }
            .map { try CloudEvent(structured: JSONValue.parse(Data(contentsOf: $0.url))) }
        var state = RoutingState()
        var outcomes: [String: [String: DecisionReplay.Outcome]] = [:]
        for event in events {
            guard let step = state.route(event, with: PolicyEvaluator(matrix: matrix)) else { continue }
            for decision in step.decisions { outcomes[CaseState.routingKey(of: event), default: [:]][decision.recipient] = DecisionReplay.Outcome(decision) }
        }
        return RecordedExamples(events: events, outcomes: outcomes)
    }

    struct RecordedExamples: Sendable {
        var events: [CloudEvent]
        var outcomes: [String: [String: DecisionReplay.Outcome]]
    }

    static func withHub(_ backend: StoreBackend, _ body: @Sendable (Hub) async throws -> Void) async throws {
        let baseline = try MatrixBundle(directory: matrixDirectory)
        let matrix = try MatrixLoader.loadValid(baseline)
        let schedule = MatrixSchedule(matrix)
        let database = try await backend.database()
        let ledger = SQLLedgerStore(database: database)
        let governance = try await MatrixGovernance(store: SQLMatrixVersionStore(database: database), schedule: schedule, baseline: baseline)
        let recorded = try recordedDecisions(matrix)
        let router = Router(context: BasicRequestContext.self)
        PrivacyOfficerAPI(governance: governance, ledger: ledger, credentials: Credentials(tokens: tokens)) { proposed in
            DecisionReplay.replay(recorded.events, recorded: recorded.outcomes, with: proposed)
        }.addRoutes(to: router)
        try await serve(router) { url in try await body(Hub(url: url, schedule: schedule, ledger: ledger, baseline: baseline)) }
    }

    /// The repository's sharing-matrix.yaml with VT told only that a VT-melding exists (and its contact person).
    static func narrowed(_ baseline: MatrixBundle) -> String {
        let text = baseline.files["sharing-matrix.yaml"]!
        let before = """
            legalBasis: wpg-veilig-thuis
                disclosure: inhoud
                fields: [/data/meldingId, /data/registeredAt, /data/municipalityCode, /data/concerns, /data/persons, /data/childrenPresent, /data/summary, /data/contactPerson]
            """
        precondition(text.contains(before), "the VTM-VT rule changed; adjust this test")
        return text.replacingOccurrences(of: before, with: """
            legalBasis: wpg-veilig-thuis
                disclosure: dat
                fields: [/data/meldingId, /data/contactPerson]
            """).replacingOccurrences(of: "version: \"2026.11-3\"", with: "version: \"2026.12-1\"")
    }

    static func example(_ path: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(contentsOf: packageRoot.appendingPathComponent("Contracts/examples/\(path)")))
    }

    @Test("the matrix in force, by role", arguments: StoreBackend.all)
    func matrixInForce(backend: StoreBackend) async throws {
        try await Self.withHub(backend) { hub in
            for (token, status) in [("t-privacy", 200), ("t-admin", 200), ("t-operator", 403), ("t-politie", 403)] {
                #expect(try await call(hub.url, "/api/matrix", token: token).status == status, "as \(token)")
            }
            #expect(try await call(hub.url, "/api/matrix", token: nil).status == 401)
            let matrix = try await call(hub.url, "/api/matrix", token: "t-privacy").json as? [String: Any]
            let version = matrix?["version"] as? [String: Any]
            #expect(version?["number"] as? Int == 1 && version?["inForce"] as? Bool == true && version?["proposedBy"] as? String == "repository")
            let rows = matrix?["rows"] as? [[String: Any]] ?? []
            let expected = MatrixTableRow.rows(of: try MatrixLoader.loadValid(hub.baseline))
            #expect(rows.count == expected.count)
            let vt = rows.first { $0["ruleId"] as? String == "VTM-VT" }
            #expect(vt?["eventType"] as? String == "vt-melding" && vt?["recipient"] as? String == "vt" && vt?["disclosure"] as? String == "inhoud")
            #expect(vt?["legalBasis"] as? String == "wpg-veilig-thuis" && (vt?["legalBasisCitation"] as? String)?.isEmpty == false)
            #expect(vt?["legalBasisConfirmed"] as? Bool == false && (vt?["purposeDefinition"] as? String)?.hasPrefix("Veilig Thuis uses it") == true)
            #expect((matrix?["trial"] as? String)?.isEmpty == false, "the shipped version is a trial: its bases await confirmation")
        }
    }

    @Test("a version activated under older checks stays readable after a restart: the rules behind past decisions (#14)", arguments: StoreBackend.all)
    func archivedVersionReadable(backend: StoreBackend) async throws {
        // The repository's matrix as it was before purposes and disclosure levels were defined: it
        // would not lint today, but it was in force, and its decisions must stay explainable.
        var files = try MatrixBundle(directory: packageRoot.appendingPathComponent("Contracts/matrix")).files
        files[MatrixLoader.purposesFile] = nil
        files[MatrixLoader.disclosureLevelsFile] = nil
        let old = MatrixBundle(files: files)
        #expect(try !MatrixLoader.lint(old).isEmpty, "it breaks today's checks")
        let store = try await backend.versions()
        var archived = MatrixVersion(number: 1, matrixVersion: try MatrixLoader.load(old).matrix.version, proposedBy: "repository",
                                     proposedAt: "2026-01-01T00:00:00Z", bundle: old)
        archived.state = .activated
        archived.activeFrom = "2026-01-01T00:00:00Z"
        #expect(try await store.insert(archived))
        let schedule = MatrixSchedule(try MatrixLoader.loadValid(MatrixBundle(directory: packageRoot.appendingPathComponent("Contracts/matrix"))))
        let governance = try await MatrixGovernance(store: store, schedule: schedule, baseline: old)
        let matrix = try await governance.matrix(1)
        #expect(matrix.version == archived.matrixVersion && matrix.baseline.contains { $0.id == "GA-POL" })
        #expect(MatrixTableRow.rows(of: matrix).allSatisfy { $0.purposeDefinition == nil }, "read as stored, nothing invented")
        #expect(schedule.evaluator().matrix.version == archived.matrixVersion, "the router follows it as it was activated")
    }

    @Test("the store gives one version by its number, and every number with its state without the files", arguments: StoreBackend.all)
    func versionStates(backend: StoreBackend) async throws {
        let baseline = try MatrixBundle(directory: packageRoot.appendingPathComponent("Contracts/matrix"))
        let store = try await backend.versions()
        let governance = try await MatrixGovernance(store: store, schedule: MatrixSchedule(try MatrixLoader.loadValid(baseline)), baseline: baseline)
        let proposed = try await governance.propose(baseline, by: "officer-a")
        #expect(proposed.number == 2)
        let states = try await store.states()
        #expect(states.map(\.number) == [1, 2] && states.map(\.state) == [.activated, .proposed])
        let read = try #require(try await store.version(2))
        #expect(read.state == .proposed && read.proposedBy == "officer-a" && read.bundle.files == baseline.files)
        #expect(try await store.version(3) == nil)
        await #expect(throws: GovernanceRefusal.self) { try await governance.version(3) }
    }

    @Test("a proposal is linted on upload: every finding with file, line and rule; nothing stored", arguments: StoreBackend.all)
    func lintedProposal(backend: StoreBackend) async throws {
        try await Self.withHub(backend) { hub in
            let text = hub.baseline.files["sharing-matrix.yaml"]!
            let broken = text + """

                  - id: BAD-1
                    events: [vt-melding]
                    recipient: shn
                    purpose: slachtofferhulp
                    legalBasis: no-such-basis
                    disclosure: dat
                    fields: [/data/meldingId]

                """
            // The finding points at the rule, by its line in the uploaded file.
            let line = broken.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains("id: BAD-1") }! + 1
            let (status, json) = try await call(hub.url, "/api/matrix/versions", token: "t-privacy", method: "POST",
                                                body: ["files": ["sharing-matrix.yaml": broken]])
            #expect(status == 422)
            let findings = (json as? [String: Any])?["findings"] as? [[String: Any]] ?? []
            #expect(findings.contains { $0["file"] as? String == "sharing-matrix.yaml" && $0["rule"] as? String == "BAD-1"
                && $0["line"] as? Int == line && ($0["message"] as? String)?.contains("no-such-basis") == true }, "\(findings)")
            // The invariants travel with the matrix: a vt-melding to SHN without a wish breaks one (#13).
            #expect(findings.contains { $0["rule"] as? String == "BAD-1"
                && ($0["message"] as? String)?.hasPrefix("breaks invariant SHN-ALLEEN-MET-WENS-VAN-HET-SLACHTOFFER") == true }, "\(findings)")
            // A file nothing would read (a misspelt name, a folder too deep) is refused, not stored unread.
            let (misnamed, misnamedAnswer) = try await call(hub.url, "/api/matrix/versions", token: "t-privacy", method: "POST",
                                                            body: ["files": ["regions/utrecht.yml": "region: utrecht", "regions/../../etc/passwd": "x: 1"]])
            let misnamedFiles = ((misnamedAnswer as? [String: Any])?["findings"] as? [[String: Any]] ?? []).compactMap { $0["file"] as? String }
            #expect(misnamed == 422 && misnamedFiles == ["regions/../../etc/passwd", "regions/utrecht.yml"], "\(String(describing: misnamedAnswer))")
            let versions = try await call(hub.url, "/api/matrix/versions", token: "t-privacy").json as? [[String: Any]]
            #expect(versions?.count == 1, "a refused proposal is not stored")
            #expect(try await call(hub.url, "/api/matrix/versions", token: "t-privacy", method: "POST", body: ["nofiles": 1]).status == 400)
        }
    }

    @Test("propose, approve by a second officer only, activate from a date: the router's schedule follows", arguments: StoreBackend.all)
    func lifeCycle(backend: StoreBackend) async throws {
        try await Self.withHub(backend) { hub in
            let proposal = ["files": ["sharing-matrix.yaml": Self.narrowed(hub.baseline)]]
            for token in ["t-operator", "t-admin", "t-politie"] {
                #expect(try await call(hub.url, "/api/matrix/versions", token: token, method: "POST", body: proposal).status == 403, "as \(token)")
            }
            let (created, version) = try await call(hub.url, "/api/matrix/versions", token: "t-privacy", method: "POST", body: proposal)
            #expect(created == 201)
            let proposed = version as? [String: Any]
            #expect(proposed?["number"] as? Int == 2 && proposed?["state"] as? String == "proposed" && proposed?["proposedBy"] as? String == "fg-1")
            #expect((proposed?["matrixVersion"] as? String)?.hasPrefix("2026.12-1+") == true)

            // The proposer may not approve; nor may anyone but a privacy officer; nor can it be activated unapproved.
            let (own, refusal) = try await call(hub.url, "/api/matrix/versions/2/approve", token: "t-privacy", method: "POST")
            #expect(own == 403 && ((refusal as? [String: Any])?["error"] as? String)?.contains("may not approve") == true)
            #expect(try await call(hub.url, "/api/matrix/versions/2/approve", token: "t-admin", method: "POST").status == 403)
            #expect(try await call(hub.url, "/api/matrix/versions/2/approve", token: "t-operator", method: "POST").status == 403)
            #expect(try await call(hub.url, "/api/matrix/versions/2/activate", token: "t-privacy-2", method: "POST", body: [String: String]()).status == 409)
            let (approved, approval) = try await call(hub.url, "/api/matrix/versions/2/approve", token: "t-privacy-2", method: "POST")
            #expect(approved == 200 && (approval as? [String: Any])?["approvedBy"] as? String == "fg-2")
            #expect(try await call(hub.url, "/api/matrix/versions/2/approve", token: "t-privacy-2", method: "POST").status == 409)
            #expect(try await call(hub.url, "/api/matrix/versions/9/approve", token: "t-privacy-2", method: "POST").status == 404)

            // Activated from a date to come: in the schedule from then, the repository's version until then.
            let from = "2030-01-01T00:00:00Z"
            #expect(try await call(hub.url, "/api/matrix/versions/2/activate", token: "t-privacy", method: "POST", body: ["from": "tomorrow"]).status == 400)
            // A fraction of forty digits (Foundation's ISO 8601 formatter ended the process on it) is read, to the millisecond.
            let (longFraction, longRefusal) = try await call(hub.url, "/api/matrix/versions/2/activate", token: "t-privacy", method: "POST",
                                                             body: ["from": "2000-01-01T00:00:00." + String(repeating: "9", count: 40) + "Z"])
            #expect(longFraction == 422 && ((longRefusal as? [String: Any])?["error"] as? String)?.contains("cannot be activated from 2000-01-01T00:00:00Z") == true)
            #expect(try await call(hub.url, "/api/matrix/versions/2/activate", token: "t-operator", method: "POST", body: ["from": from]).status == 403)
            // Not from a date gone by (#13 item 9): which rules were in force then is history.
            let (past, pastRefusal) = try await call(hub.url, "/api/matrix/versions/2/activate", token: "t-privacy", method: "POST",
                                                     body: ["from": "2000-01-01T00:00:00Z"])
            #expect(past == 422)
            #expect(((pastRefusal as? [String: Any])?["error"] as? String)?.contains("cannot be activated from 2000-01-01T00:00:00Z: that is before now") == true,
                    "\(String(describing: pastRefusal))")
            #expect((try await call(hub.url, "/api/matrix/versions/2", token: "t-privacy").json as? [String: Any])?["state"] as? String == "approved",
                    "a refused activation changes nothing")
            let (activated, activation) = try await call(hub.url, "/api/matrix/versions/2/activate", token: "t-privacy", method: "POST", body: ["from": from])
            #expect(activated == 200 && (activation as? [String: Any])?["activeFrom"] as? String == from)
            #expect((activation as? [String: Any])?["inForce"] as? Bool == false)
            let v1 = try MatrixLoader.loadValid(hub.baseline).version
            #expect(hub.schedule.evaluator().matrix.version == v1)
            #expect(hub.schedule.evaluator(at: HubTime.date(from)!).matrix.version == proposed?["matrixVersion"] as? String)
            let inForce = try await call(hub.url, "/api/matrix", token: "t-privacy").json as? [String: Any]
            #expect((inForce?["version"] as? [String: Any])?["number"] as? Int == 1)
            let versions = try await call(hub.url, "/api/matrix/versions", token: "t-admin").json as? [[String: Any]]
            #expect(versions?.compactMap { $0["state"] as? String } == ["activated", "activated"])
            let full = try await call(hub.url, "/api/matrix/versions/2", token: "t-privacy").json as? [String: Any]
            #expect(((full?["bundle"] as? [String: Any])?["files"] as? [String: String])?["sharing-matrix.yaml"] == Self.narrowed(hub.baseline))
        }
    }

    @Test("diff, simulate and replay a proposal against the version in force", arguments: StoreBackend.all)
    func whatIf(backend: StoreBackend) async throws {
        try await Self.withHub(backend) { hub in
            _ = try await call(hub.url, "/api/matrix/versions", token: "t-privacy", method: "POST",
                               body: ["files": ["sharing-matrix.yaml": Self.narrowed(hub.baseline)]])
            let (status, diff) = try await call(hub.url, "/api/matrix/versions/2/diff", token: "t-privacy-2")
            #expect(status == 200)
            let changes = (diff as? [String: Any])?["changes"] as? [[String: Any]] ?? []
            #expect(changes.count == 1)
            #expect(changes.first?["eventType"] as? String == "vt-melding" && changes.first?["ruleID"] as? String == "VTM-VT")
            #expect((changes.first?["details"] as? [String])?.contains("disclosure inhoud → dat") == true)
            #expect(try await call(hub.url, "/api/matrix/versions/2/diff?against=2", token: "t-admin").json.map { ($0 as? [String: Any])?["changes"] as? [Any] }??.isEmpty == true)
            #expect(try await call(hub.url, "/api/matrix/versions/2/diff", token: "t-operator").status == 403)

            let event = try Self.example("vt-melding/valid/melding-met-kind.json")
            let now = try await call(hub.url, "/api/matrix/simulate", token: "t-privacy", method: "POST", body: ["event": event])
            let then = try await call(hub.url, "/api/matrix/simulate", token: "t-privacy", method: "POST", body: ["event": event, "version": 2])
            func vtDecision(_ answer: Any?) -> [String: Any]? {
                ((answer as? [String: Any])?["decisions"] as? [[String: Any]])?.first { ($0["recipient"] as? String)?.hasPrefix("vt-") == true && $0["outcome"] as? String == "permit" }
            }
            #expect(now.status == 200 && vtDecision(now.json)?["disclosure"] as? String == "inhoud")
            #expect(then.status == 200 && vtDecision(then.json)?["disclosure"] as? String == "dat")
            #expect(vtDecision(then.json)?["fields"] as? [String] == ["/data/meldingId", "/data/contactPerson"])
            let invalid = try Self.example("traject/invalid/onbekende-organisatie.json")
            let refused = try await call(hub.url, "/api/matrix/simulate", token: "t-privacy", method: "POST", body: ["event": invalid])
            #expect(refused.status == 422 && ((refused.json as? [String: Any])?["error"] as? String)?.contains("not a valid canonical event") == true)
            // A time with a fractional second of 15,000 digits (#13 item 1): refused, briefly, and the hub answers on.
            var long = try #require(event as? [String: Any])
            long["time"] = "2026-11-20T22:41:00." + String(repeating: "1", count: 15_000) + "+01:00"
            let (longStatus, longAnswer) = try await call(hub.url, "/api/matrix/simulate", token: "t-privacy", method: "POST", body: ["event": long])
            #expect(longStatus == 422)
            #expect(((longAnswer as? [String: Any])?["error"] as? String) == "event is not a valid canonical event: /time: must have at most 40 characters")
            let consent = try Self.example("informatiewens/valid/gegeven.json")
            #expect(try await call(hub.url, "/api/matrix/simulate", token: "t-admin", method: "POST", body: ["event": event, "consents": [consent]]).status == 200)
            #expect(try await call(hub.url, "/api/matrix/simulate", token: "t-privacy", method: "POST", body: ["event": event, "consents": [event]]).status == 422)
            #expect(try await call(hub.url, "/api/matrix/simulate", token: "t-operator", method: "POST", body: ["event": event]).status == 403)

            let (replayed, replay) = try await call(hub.url, "/api/matrix/versions/2/replay", token: "t-privacy", method: "POST")
            #expect(replayed == 200)
            let changed = (replay as? [String: Any])?["changes"] as? [[String: Any]] ?? []
            let recorded = try Self.recordedDecisions(try MatrixLoader.loadValid(hub.baseline))
            let vtMeldingen = recorded.events.filter { event in
                event.type == "nl.ketenhub.vt-melding.v1"
                    && recorded.outcomes[CaseState.routingKey(of: event)]?.contains { $0.key.hasPrefix("vt-") && $0.value.outcome == .permit } == true
            }
            #expect(vtMeldingen.count >= 1)
            #expect(changed.count == vtMeldingen.count, "each example VT-melding's VT delivery narrows, nothing else changes")
            #expect(changed.allSatisfy { $0["eventType"] as? String == "nl.ketenhub.vt-melding.v1" && ($0["recipient"] as? String)?.hasPrefix("vt-") == true })
            #expect(try await call(hub.url, "/api/matrix/versions/2/replay", token: "t-admin", method: "POST").status == 403)
        }
    }

    @Test("the data-subject report: every delivery concerning a person, with recipient, time, rule and legal basis", arguments: StoreBackend.all)
    func dataSubjectReport(backend: StoreBackend) async throws {
        try await Self.withHub(backend) { hub in
            let time = "2026-11-20T10:00:00Z"
            try await hub.ledger.apply([
                .accepted(.init(eventId: "vtm-1", source: "urn:ketenhub:politie", type: "nl.ketenhub.vt-melding.v1", ketencaseid: "KZ-2026-AAAAAA",
                                producer: "politie", eventTime: time, acceptedAt: time, persons: [Self.person, "psn:00000000000000000000000000000001"])),
                .accepted(.init(eventId: "other", source: "urn:ketenhub:politie", type: "nl.ketenhub.melding.v1", ketencaseid: "KZ-2026-BBBBBB",
                                producer: "politie", eventTime: time, acceptedAt: time, persons: ["psn:00000000000000000000000000000001"])),
                .decided(.init(decisionId: "d-vt", eventId: "vtm-1", eventSource: "urn:ketenhub:politie", ketencaseid: "KZ-2026-AAAAAA",
                               recipient: "vt-utrecht", permitted: true, ruleId: "VTM-VT", legalBasis: "wpg-vt-melding", purpose: "veiligheid",
                               matrixVersion: "m1", decidedAt: time)),
                .decided(.init(decisionId: "d-shn", eventId: "vtm-1", eventSource: "urn:ketenhub:politie", ketencaseid: "KZ-2026-AAAAAA",
                               recipient: "shn", permitted: false, matrixVersion: "m1", decidedAt: time)),
                .decided(.init(decisionId: "d-om", eventId: "other", eventSource: "urn:ketenhub:politie", ketencaseid: "KZ-2026-BBBBBB",
                               recipient: "om", permitted: true, ruleId: "MLD-OM", legalBasis: "wpg-verstrekking", purpose: "p", matrixVersion: "m1", decidedAt: time)),
                .delivered(.init(deliveryId: "d-vt", organisation: "vt-utrecht", delivered: true, attempts: 1, at: "2026-11-20T10:00:01Z")),
            ])
            let (status, json) = try await call(hub.url, "/api/data-subjects/\(Self.person)/disclosures", token: "t-privacy")
            #expect(status == 200)
            let report = json as? [String: Any] ?? [:]
            #expect(report["completeFrom"] is NSNull && report["person"] as? String == Self.person, "nothing was removed: complete")
            let rows = report["disclosures"] as? [[String: Any]] ?? []
            #expect(rows.count == 1, "the permitted delivery of the event concerning the person; not the denial, not another person's event")
            #expect(rows.first?["recipient"] as? String == "vt-utrecht" && rows.first?["ruleId"] as? String == "VTM-VT")
            #expect(rows.first?["legalBasis"] as? String == "wpg-vt-melding" && rows.first?["deliveredAt"] as? String == "2026-11-20T10:00:01Z")
            #expect(try await call(hub.url, "/api/data-subjects/\(Self.person)/disclosures", token: "t-admin").status == 200)
            #expect(try await call(hub.url, "/api/data-subjects/\(Self.person)/disclosures", token: "t-operator").status == 403)
            #expect(try await call(hub.url, "/api/data-subjects/\(Self.person)/disclosures", token: "t-politie").status == 403)
            #expect(try await call(hub.url, "/api/data-subjects/123456789/disclosures", token: "t-privacy").status == 400)
            let calls = try await hub.ledger.apiCalls()
            #expect(calls.count == 5 && calls.allSatisfy { $0.path.hasPrefix("/api/data-subjects/") })
        }
    }
}

import DeliveryLedger
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HubAPI
import HubAccess
import HubTopology
import Hummingbird
import KetenhubTestSupport
import Testing

/// Every endpoint of the operators' API, for every role, refusals included, on a real HTTP server over a ledger.
@Suite("Operator API")
struct OperatorAPITests {
    static let tokens: [String: Principal] = [
        "t-operator": Principal(name: "ops-1", role: .operator_), "t-admin": Principal(name: "admin-1", role: .admin),
        "t-privacy": Principal(name: "fg-1", role: .privacyOfficer), "t-politie": Principal(name: "politie-bo", role: .partner("politie")),
        "t-om": Principal(name: "om-bo", role: .partner("om")),
    ]

    /// A ledger with one event delivered to politie (acknowledged) and om (delivered), and a dead letter.
    static func ledger(_ backend: StoreBackend) async throws -> SQLLedgerStore {
        let ledger = try await backend.ledger()
        let time = "2026-11-20T10:00:00Z"
        try await ledger.apply([
            .accepted(.init(eventId: "ga-1", source: "urn:ketenhub:om", type: "nl.ketenhub.gedragsaanwijzing.v1", ketencaseid: "KZ-2026-AAAAAA",
                            producer: "om", eventTime: time, acceptedAt: time, fields: ["/endDate": "2027-03-31", "/orderId": "GA-SECRET-77"])),
            .decided(.init(decisionId: "dec-1-politie", eventId: "ga-1", eventSource: "urn:ketenhub:om", ketencaseid: "KZ-2026-AAAAAA",
                           recipient: "politie", permitted: true, ruleId: "r1", legalBasis: "b", purpose: "p", matrixVersion: "v1", decidedAt: time)),
            .decided(.init(decisionId: "dec-1-3ro", eventId: "ga-1", eventSource: "urn:ketenhub:om", ketencaseid: "KZ-2026-AAAAAA",
                           recipient: "3ro", permitted: true, ruleId: "r2", legalBasis: "b", purpose: "p", matrixVersion: "v1", decidedAt: time)),
            .decided(.init(decisionId: "dec-1-shn", eventId: "ga-1", eventSource: "urn:ketenhub:om", ketencaseid: "KZ-2026-AAAAAA",
                           recipient: "shn", permitted: false, matrixVersion: "v1", decidedAt: time,
                           explanation: "no rule applies; GA-SHN: the victim's informatiewens was withdrawn (recorded 2026-11-19T09:00:00Z)")),
            .delivered(.init(deliveryId: "dec-1-politie", organisation: "politie", delivered: true, attempts: 1, at: time)),
            .acknowledged(.init(deliveryId: "dec-1-politie", organisation: "politie", status: "processed", at: time)),
            .delivered(.init(deliveryId: "dec-1-3ro", organisation: "3ro", delivered: true, attempts: 2, at: time)),
            .deadLettered(.init(deadLetterId: "dlq-1", stage: "inbound", partner: "politie", receivedAt: time, reasons: ["line 2: DOCTYPE"], sizeBytes: 90)),
            .alerted(SLAAlert(alertId: "a-1", clock: "zsm", severity: .breach, ketencaseid: "KZ-2026-AAAAAA", raisedAt: time, message: "9 h")),
            .alerted(SLAAlert(alertId: "a-2", clock: "zsm", severity: .warning, ketencaseid: "KZ-2026-AAAAAA", raisedAt: time, message: "6 h")),
        ])
        return ledger
    }

    /// The hub's side of replays and content, answering from the ledger's own rows: this test is about
    /// who may call what; the real replays run end to end in `HubAPIEndToEndTests`.
    static let actions = HubActions(
        replayDeadLetter: { id, principal in
            // A failure of the hub itself (not a refusal): answered 500 and recorded like any call.
            if id == "dlq-broken" { throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "disk says /secret/path"]) }
            guard id == "dlq-1" else { throw APIRefusal(.notFound, "no dead letter \(id)") }
            return ReplayRecord(replayId: "r-1", kind: .deadLetter, target: id, requestedBy: principal, at: "2026-11-20T11:00:00Z", outcome: .rejected)
        },
        replayDelivery: { id, organisation, principal in
            ReplayRecord(replayId: "r-2", kind: .delivery, target: id, requestedBy: principal, at: "2026-11-20T11:00:00Z", outcome: .queued,
                      detail: "sent again to \(organisation)")
        },
        deliveryContent: { organisation, id in .object(["for": .string(organisation), "delivery": .string(id)]) })

    static func serve(_ ledger: any LedgerStore, _ body: @Sendable (URL) async throws -> Void) async throws {
        let router = Router(context: BasicRequestContext.self)
        OperatorAPI(ledger: ledger, credentials: Credentials(tokens: tokens), actions: actions).addRoutes(to: router)
        try await KetenhubTestSupport.serve(router, body)
    }

    static func raw(_ url: URL, _ path: String, token: String?) async throws -> (status: Int, body: String) {
        var request = URLRequest(url: URL(string: url.absoluteString + path)!)
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await httpData(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    static func get(_ url: URL, _ path: String, token: String?, method: String = "GET") async throws -> (status: Int, json: Any?) {
        try await call(url, path, token: token, method: method)
    }

    @Test("each endpoint for each role: what it may see, and the refusals; every call recorded", arguments: StoreBackend.all)
    func rolesAndEndpoints(backend: StoreBackend) async throws {
        let ledger = try await Self.ledger(backend)
        try await Self.serve(ledger) { url in
            let trace = "/api/trace?source=urn:ketenhub:om&id=ga-1"
            let matrix: [(path: String, token: String?, status: Int)] = [
                ("/api/cases/KZ-2026-AAAAAA/events", "t-operator", 200), ("/api/cases/KZ-2026-AAAAAA/events", "t-admin", 200),
                ("/api/cases/KZ-2026-AAAAAA/events", "t-privacy", 403), ("/api/cases/KZ-2026-AAAAAA/events", "t-politie", 403),
                ("/api/cases/KZ-2026-AAAAAA/events", nil, 401), ("/api/cases/KZ-2026-AAAAAA/events", "t-made-up", 401),
                (trace, "t-operator", 200), (trace, "t-admin", 200), (trace, "t-politie", 403), (trace, "t-privacy", 200),
                ("/api/trace?source=urn:ketenhub:om&id=nope", "t-operator", 404), ("/api/trace", "t-operator", 400),
                ("/api/deliveries", "t-operator", 200), ("/api/deliveries?organisation=3ro&state=delivered", "t-admin", 200),
                ("/api/deliveries", "t-politie", 200), ("/api/deliveries?organisation=politie", "t-politie", 200),
                ("/api/deliveries?organisation=3ro", "t-politie", 403), ("/api/deliveries", "t-privacy", 403),
                ("/api/deliveries?state=lost", "t-operator", 400),
                ("/api/dead-letters", "t-operator", 200), ("/api/dead-letters", "t-admin", 200), ("/api/dead-letters", "t-om", 403),
                ("/api/dead-letters", "t-privacy", 403),
                ("/api/alerts", "t-operator", 200), ("/api/alerts?severity=breach", "t-admin", 200), ("/api/alerts", "t-politie", 403),
                ("/api/alerts", "t-privacy", 403), ("/api/alerts?severity=late", "t-operator", 400),
                // Content: only the recipient, of its own delivery.
                ("/api/deliveries/dec-1-politie/content", "t-politie", 200), ("/api/deliveries/dec-1-politie/content", "t-om", 404),
                ("/api/deliveries/dec-1-politie/content", "t-operator", 403), ("/api/deliveries/dec-1-politie/content", "t-admin", 403),
                ("/api/deliveries/dec-1-politie/content", "t-privacy", 403), ("/api/deliveries/dec-1-politie/content", nil, 401),
            ]
            for (path, token, status) in matrix {
                #expect(try await Self.get(url, path, token: token).status == status, "\(path) as \(token ?? "nobody")")
            }
            let replays: [(path: String, token: String?, status: Int)] = [
                ("/api/dead-letters/dlq-1/replay", "t-operator", 202), ("/api/dead-letters/dlq-9/replay", "t-admin", 404),
                ("/api/dead-letters/dlq-1/replay", "t-politie", 403), ("/api/dead-letters/dlq-1/replay", "t-privacy", 403),
                ("/api/deliveries/dec-1-3ro/replay", "t-operator", 202), ("/api/deliveries/dec-9/replay", "t-operator", 404),
                ("/api/deliveries/dec-1-3ro/replay", "t-om", 403), ("/api/deliveries/dec-1-3ro/replay", nil, 401),
            ]
            for (path, token, status) in replays {
                #expect(try await Self.get(url, path, token: token, method: "POST").status == status, "POST \(path) as \(token ?? "nobody")")
            }
            let replayed = try await Self.get(url, "/api/deliveries/dec-1-3ro/replay", token: "t-operator", method: "POST").json as? [String: Any]
            #expect(replayed?["requestedBy"] as? String == "ops-1" && replayed?["detail"] as? String == "sent again to 3ro")
            let content = try await Self.get(url, "/api/deliveries/dec-1-politie/content", token: "t-politie").json as? [String: Any]
            #expect(content?["for"] as? String == "politie")
            let refusedContent = try await Self.get(url, "/api/deliveries/dec-1-politie/content", token: "t-operator").json as? [String: Any]
            #expect((refusedContent?["error"] as? String)?.contains("never the content") == true)
            for (token, role) in [("t-operator", "operator"), ("t-privacy", "privacy-officer"), ("t-politie", "partner:politie"), ("t-admin", "admin")] {
                let me = try await Self.get(url, "/api/me", token: token).json as? [String: String]
                #expect(me?["role"] == role && me?["name"] == Self.tokens[token]?.name, "\(token)")
            }
            #expect(try await Self.get(url, "/api/me", token: nil).status == 401)
            let breaches = try await Self.get(url, "/api/alerts?severity=breach", token: "t-operator").json as? [[String: Any]]
            #expect(breaches?.compactMap { $0["alertId"] as? String } == ["a-1"])
            // What they see.
            let events = try await Self.get(url, "/api/cases/KZ-2026-AAAAAA/events", token: "t-operator").json as? [[String: Any]]
            #expect(events?.map { $0["eventId"] as? String } == ["ga-1"])
            let traced = try await Self.get(url, trace, token: "t-operator").json as? [String: Any]
            #expect((traced?["deliveries"] as? [[String: Any]])?.compactMap { $0["state"] as? String }.sorted() == ["acknowledged", "delivered"])
            let all = try await Self.get(url, "/api/deliveries", token: "t-operator").json as? [[String: Any]]
            #expect(all?.compactMap { $0["organisation"] as? String }.sorted() == ["3ro", "politie"])
            let own = try await Self.get(url, "/api/deliveries", token: "t-politie").json as? [[String: Any]]
            #expect(own?.compactMap { $0["organisation"] as? String } == ["politie"], "a partner sees only its own")
            let delivered = try await Self.get(url, "/api/deliveries?organisation=3ro&state=delivered", token: "t-admin").json as? [[String: Any]]
            #expect(delivered?.compactMap { $0["deliveryId"] as? String } == ["dec-1-3ro"])
            let letters = try await Self.get(url, "/api/dead-letters", token: "t-operator").json as? [[String: Any]]
            #expect(letters?.first?["reasons"] as? [String] == ["line 2: DOCTYPE"])
            #expect(letters?.first?["original"] == nil, "operators see metadata, never the message itself")

            // Operators see metadata, never values from the event (#13 item 8): the fields kept for the SLA clocks stay in the ledger.
            for path in ["/api/cases/KZ-2026-AAAAAA/events", trace] {
                let (_, body) = try await Self.raw(url, path, token: "t-operator")
                #expect(!body.contains("GA-SECRET-77") && !body.contains("2027-03-31") && !body.contains("\"fields\""), "\(path): \(body)")
            }
            #expect(try await ledger.trace(eventSource: "urn:ketenhub:om", eventId: "ga-1")?.event.fields["/orderId"] == "GA-SECRET-77")
            // Why SHN was denied: for privacy officers, not for operators (it speaks of the victim's wish).
            func shnDecision(_ token: String) async throws -> [String: Any]? {
                ((try await Self.get(url, trace, token: token).json as? [String: Any])?["decisions"] as? [[String: Any]])?
                    .first { $0["recipient"] as? String == "shn" }
            }
            let forOfficer = try await shnDecision("t-privacy")
            #expect(forOfficer?["explanation"] as? String == "no rule applies; GA-SHN: the victim's informatiewens was withdrawn (recorded 2026-11-19T09:00:00Z)")
            let forOperator = try await shnDecision("t-operator")
            #expect(forOperator?["explanation"] == nil && forOperator?["permitted"] as? Bool == false)

            // A call that fails for another reason than a refusal is answered and recorded too (#13 item 11).
            let (broken, brokenAnswer) = try await Self.get(url, "/api/dead-letters/dlq-broken/replay", token: "t-operator", method: "POST")
            #expect(broken == 500)
            #expect((brokenAnswer as? [String: Any])?["error"] as? String == "the hub could not answer this call now; try it again later")

            // Every call, refused or not, is in the ledger, with who called and the answer.
            let calls = try await ledger.apiCalls()
            #expect(calls.count == matrix.count + replays.count + 20)
            #expect(calls.contains { $0.path == "/api/dead-letters/dlq-broken/replay" && $0.status == 500 && $0.principal == "ops-1" })
            #expect(calls.first?.principal == "ops-1" && calls.first?.role == "operator")
            #expect(calls.first?.path == "/api/cases/KZ-2026-AAAAAA/events" && calls.first?.status == 200)
            #expect(calls.contains { $0.principal == "anonymous" && $0.status == 401 })
            #expect(calls.contains { $0.principal == "politie-bo" && $0.path == "/api/deliveries?organisation=3ro" && $0.status == 403 })
        }
    }
}

import CanonicalEvents
import DeliveryLedger
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HubTopology
import KetenhubDemo
import KetenhubTestSupport
import PartnerGateway
import Testing

/// The API on the whole running hub (embedded cluster, gateway, router, delivery workers, simulated
/// partners, ledger): a delivery replayed reaches its partner again; a dead letter replayed is refused
/// again with its reasons; a partner reads its delivery's content and an operator may not; the
/// data-subject report agrees with the ledger; and a matrix version proposed, approved by a second
/// privacy officer and activated over HTTP is what the router routes the next message under.
@Suite("Hub API end to end", .serialized)
struct HubAPIEndToEndTests {
    /// Polls until `body` gives a value, for what the hub does asynchronously (projection, delivery).
    static func eventually<T: Sendable>(_ what: String, seconds: Double = 60, _ body: @escaping @Sendable () async throws -> T?) async throws -> T {
        try await within(seconds, what) {
            while true {
                if let value = try await body() { return value }
                try await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    @Test("replays, content, the data-subject report and a matrix activation over HTTP on the running hub")
    func wholeHub() async throws {
        var settings = DemoTests.settings(cases: 4, seed: 11)
        settings.brokenEvery = 5
        let tokens = Tokens()
        let report = try await DemoHub(settings: settings, logger: testLogger).run(exitWhenDone: true, running: { _, issued, _ in
            await tokens.set(issued)
        }, inspect: { hub in
            let token = await tokens.value
            try await Self.acknowledgements(hub, token)
            try await Self.denyExplanations(hub, token)
            try await Self.replays(hub, token)
            try await Self.content(hub, token)
            try await Self.dataSubjectReport(hub, token)
            try await Self.activation(hub, token)
        })
        #expect(try #require(report).deadLetters > 0)
    }

    /// Deliveries to the police units (the demo's cases all have a municipality, so none goes to the national point).
    static func policeUnitDeliveries(_ hub: DemoHub.Running, state: DeliveryState?) async throws -> [DeliveryRow] {
        try await hub.ledger.deliveries(organisation: nil, state: state).filter { $0.organisation.hasPrefix("politie-") }
    }

    static func replays(_ hub: DemoHub.Running, _ token: [String: String]) async throws {
        let url = hub.httpAddress
        // A delivery to a police unit, sent again: delivered a second time under the replay's id, in the ledger's trace.
        let delivery = try #require(try await policeUnitDeliveries(hub, state: .acknowledged).first)
        let unit = delivery.organisation
        let (status, answer) = try await call(url, "/api/deliveries/\(delivery.deliveryId)/replay", token: token["operator"], method: "POST")
        #expect(status == 202)
        let replayId = try #require((answer as? [String: Any])?["replayId"] as? String)
        #expect((answer as? [String: Any])?["outcome"] as? String == "queued" && (answer as? [String: Any])?["requestedBy"] as? String == "operator")
        let redelivered = try await eventually("the replayed delivery") {
            try await TopicReader(bootstrapServers: hub.bootstrapServers).readAll(hub.topics.deliveryStatus).values.flatMap { $0 }
                .compactMap { try? JSONDecoder().decode(DeliveryStatus.self, from: Data($0.value)) }
                .first { $0.replayId == replayId }
        }
        #expect(redelivered.deliveryId == delivery.deliveryId && redelivered.outcome == .delivered && redelivered.organisation == unit)
        let trace = try await eventually("the replay in the ledger") {
            try await hub.ledger.trace(eventSource: delivery.eventSource!, eventId: delivery.eventId!).flatMap { $0.replays.isEmpty ? nil : $0 }
        }
        #expect(trace.replays.map(\.replayId) == [replayId] && trace.replays.first?.target == delivery.deliveryId)
        #expect(try await call(url, "/api/deliveries/\(delivery.deliveryId)/replay", token: token[unit], method: "POST").status == 403)

        // A partner's broken message, replayed: refused again, for the same reasons, under the same dead-letter id.
        let letters = try await hub.ledger.deadLetters()
        let letter = try #require(letters.first { $0.stage == "inbound" && $0.sizeBytes > 0 })
        let (replayed, outcome) = try await call(url, "/api/dead-letters/\(letter.deadLetterId)/replay", token: token["admin"], method: "POST")
        #expect(replayed == 202)
        #expect((outcome as? [String: Any])?["outcome"] as? String == "rejected")
        let recorded = try await eventually("the dead letter's replay in the ledger") {
            try await hub.ledger.deadLetters().first { $0.deadLetterId == letter.deadLetterId && !$0.replays.isEmpty }
        }
        #expect(recorded.replays.first?.requestedBy == "admin" && recorded.replays.first?.outcome == .rejected)
        #expect(try await hub.ledger.deadLetters().map(\.deadLetterId) == letters.map(\.deadLetterId), "refused again under the same dead-letter id")
        #expect(try await call(url, "/api/dead-letters/dlq-none/replay", token: token["operator"], method: "POST").status == 404)
    }

    /// #13 item 2: a partner acknowledges only its own deliveries, known to the hub, in their own case.
    static func acknowledgements(_ hub: DemoHub.Running, _ token: [String: String]) async throws {
        let url = hub.httpAddress
        let shn = try #require(try await hub.ledger.deliveries(organisation: "shn", state: nil).first { $0.ketencaseid != nil })
        let before = try #require(try await hub.ledger.delivery(shn.deliveryId))
        let forged = ["deliveryId": shn.deliveryId, "ketencaseid": shn.ketencaseid!, "status": "rejected", "reason": "niet van ons"]
        let (status, answer) = try await call(url, "/partners/politie/acknowledgements", token: token["politie"], method: "POST", body: forged)
        #expect(status == 403)
        #expect(((answer as? [String: Any])?["error"] as? String) == "politie may acknowledge only its own deliveries; this one is addressed to another organisation")
        let unknown = ["deliveryId": "dec-00000000000000000000000000000000-politie", "ketencaseid": shn.ketencaseid!, "status": "received"]
        let (unknownStatus, unknownAnswer) = try await call(url, "/partners/politie/acknowledgements", token: token["politie"], method: "POST", body: unknown)
        #expect(unknownStatus == 404)
        let wrongCase = ["deliveryId": shn.deliveryId, "ketencaseid": "KZ-2099-ZZZZZZ", "status": "received"]
        let (caseStatus, caseAnswer) = try await call(url, "/partners/shn/acknowledgements", token: token["shn"], method: "POST", body: wrongCase)
        #expect(caseStatus == 422 && ((caseAnswer as? [String: Any])?["error"] as? String) == "ketencaseid is not the chain case of this delivery")
        // A body far past any acknowledgement's size is refused unread, with an error in JSON like every other refusal.
        let huge = ["deliveryId": shn.deliveryId, "ketencaseid": shn.ketencaseid!, "status": "rejected", "reason": String(repeating: "x", count: 100_000)]
        let (hugeStatus, hugeAnswer) = try await call(url, "/partners/shn/acknowledgements", token: token["shn"], method: "POST", body: huge)
        #expect(hugeStatus == 413 && ((hugeAnswer as? [String: Any])?["error"] as? String) == "an acknowledgement may be at most 65536 bytes")
        // A status outside the three is named, its value not repeated: it is whatever the partner sent.
        let oddStatus = ["deliveryId": shn.deliveryId, "ketencaseid": shn.ketencaseid!, "status": "<b>BSN 123456782</b>"]
        let (oddCode, oddAnswer) = try await call(url, "/partners/shn/acknowledgements", token: token["shn"], method: "POST", body: oddStatus)
        #expect(oddCode == 422 && ((oddAnswer as? [String: Any])?["error"] as? String) == "status must be received, processed or rejected")
        // Every refusal is dead-lettered (stage acknowledgement) under the id its answer names, with the
        // sender, the reason and the size: the operators see politie acknowledging SHN's delivery.
        let refusals = [(answer, "politie", 403), (unknownAnswer, "politie", 404), (caseAnswer, "shn", 422), (hugeAnswer, "shn", 413),
                        (oddAnswer, "shn", 422)]
        let ids = refusals.map { ($0.0 as? [String: Any])?["deadLetterId"] as? String ?? "" }
        #expect(ids.allSatisfy { $0.hasPrefix("dlq-ack-") } && Set(ids).count == refusals.count, "\(ids)")
        let letters = try await eventually("the refused acknowledgements among the dead letters") {
            let letters = try await hub.ledger.deadLetters().filter { ids.contains($0.deadLetterId) }
            return letters.count == ids.count ? letters : nil
        }
        for ((refused, partner, code), id) in zip(refusals, ids) {
            let letter = try #require(letters.first { $0.deadLetterId == id })
            #expect(letter.stage == "acknowledgement" && letter.partner == partner, "\(code)")
            #expect(letter.reasons == [((refused as? [String: Any])?["error"] as? String) ?? "?"], "\(code)")
        }
        #expect(letters.first { $0.deadLetterId == ids[3] }?.sizeBytes == 65_537, "refused unread: more than the limit")
        #expect(try await call(url, "/api/dead-letters/\(ids[0])/replay", token: token["admin"], method: "POST").status == 409,
                "an acknowledgement's dead letter is not a message to submit again")
        // Nothing of it reached the ledger: SHN's delivery stands as it stood.
        try await Task.sleep(for: .seconds(1))
        let after = try await hub.ledger.delivery(shn.deliveryId)
        #expect(after?.state == before.state && after?.detail == before.detail)
        // SHN's own acknowledgement is taken.
        let own = ["deliveryId": shn.deliveryId, "ketencaseid": shn.ketencaseid!, "status": "processed"]
        #expect(try await call(url, "/partners/shn/acknowledgements", token: token["shn"], method: "POST", body: own).status == 202)
    }

    /// #13: a deny explains itself, from the router's record to a privacy officer's trace.
    static func denyExplanations(_ hub: DemoHub.Running, _ token: [String: String]) async throws {
        let url = hub.httpAddress
        var denied: EventRow?
        for event in try await hub.ledger.snapshot().events where denied == nil {
            if try await hub.ledger.trace(eventSource: event.source, eventId: event.eventId)?.decisions.contains(where: { !$0.permitted }) == true {
                denied = event
            }
        }
        let event = try #require(denied)
        let path = "/api/trace?source=\(event.source)&id=\(event.eventId)"
        let (status, answer) = try await call(url, path, token: token["privacy-officer"])
        #expect(status == 200)
        let denies = ((answer as? [String: Any])?["decisions"] as? [[String: Any]] ?? []).filter { $0["permitted"] as? Bool == false }
        #expect(!denies.isEmpty && denies.allSatisfy { ($0["explanation"] as? String)?.isEmpty == false }, "\(denies)")
        let operatorView = try await call(url, path, token: token["operator"]).json as? [String: Any]
        #expect((operatorView?["decisions"] as? [[String: Any]])?.allSatisfy { $0["explanation"] == nil } == true)
    }

    static func content(_ hub: DemoHub.Running, _ token: [String: String]) async throws {
        let url = hub.httpAddress
        let delivery = try #require(try await policeUnitDeliveries(hub, state: nil).first)
        let (status, json) = try await call(url, "/api/deliveries/\(delivery.deliveryId)/content", token: token[delivery.organisation])
        #expect(status == 200)
        // The data as the partner received it (the exact fields are checked after the activation below).
        #expect((json as? [String: Any])?.isEmpty == false)
        for (who, expected) in [("operator", 403), ("admin", 403), ("privacy-officer", 403), ("om", 404)] {
            #expect(try await call(url, "/api/deliveries/\(delivery.deliveryId)/content", token: token[who]).status == expected, "as \(who)")
        }
    }

    static func dataSubjectReport(_ hub: DemoHub.Running, _ token: [String: String]) async throws {
        let snapshot = try await hub.ledger.snapshot()
        let person = try #require(snapshot.persons.first?[3])
        // Independently: the permitted decisions of every event the ledger links to the person.
        var permits: Set<String> = []
        for link in snapshot.persons where link[3] == person {
            permits.formUnion(try await hub.ledger.trace(eventSource: link[0], eventId: link[1])?.decisions.filter(\.permitted).map(\.decisionId) ?? [])
        }
        let (status, json) = try await call(hub.httpAddress, "/api/data-subjects/\(person)/disclosures", token: token["privacy-officer"])
        #expect(status == 200)
        let rows = (json as? [String: Any])?["disclosures"] as? [[String: Any]] ?? []
        #expect(rows.count == permits.count && !rows.isEmpty)
        #expect(Set(rows.compactMap { $0["decisionId"] as? String }) == permits)
        #expect(rows.allSatisfy { $0["recipient"] != nil && $0["ruleId"] != nil && $0["legalBasis"] != nil && $0["decidedAt"] != nil })
        #expect(try await call(hub.httpAddress, "/api/data-subjects/\(person)/disclosures", token: token["operator"]).status == 403)
    }

    static func activation(_ hub: DemoHub.Running, _ token: [String: String]) async throws {
        let url = hub.httpAddress
        let current = try String(contentsOf: packageRoot.appendingPathComponent("Contracts/matrix/sharing-matrix.yaml"), encoding: .utf8)
        let narrowed = current.replacingOccurrences(of: """
                disclosure: inhoud
                fields: [/data/meldingId, /data/registeredAt, /data/municipalityCode, /data/concerns, /data/persons, /data/childrenPresent, /data/summary, /data/contactPerson]
            """, with: """
                disclosure: dat
                fields: [/data/meldingId, /data/contactPerson]
            """)
        #expect(narrowed != current)
        let (created, version) = try await call(url, "/api/matrix/versions", token: token["privacy-officer"], method: "POST", body: ["files": ["sharing-matrix.yaml": narrowed]])
        #expect(created == 201)
        let number = try #require((version as? [String: Any])?["number"] as? Int)
        let matrixVersion = try #require((version as? [String: Any])?["matrixVersion"] as? String)
        #expect(try await call(url, "/api/matrix/versions/\(number)/approve", token: token["privacy-officer"], method: "POST").status == 403)
        #expect(try await call(url, "/api/matrix/versions/\(number)/approve", token: token["privacy-officer-2"], method: "POST").status == 200)
        #expect(try await call(url, "/api/matrix/versions/\(number)/activate", token: token["privacy-officer"], method: "POST", body: [String: String]()).status == 200)
        let inForce = try await call(url, "/api/matrix", token: token["privacy-officer"]).json as? [String: Any]
        #expect((inForce?["version"] as? [String: Any])?["number"] as? Int == number)

        // The next VT-melding is routed under the new version: VT learns only that it exists.
        let message = try Data(contentsOf: packageRoot.appendingPathComponent("Contracts/partners/politie/examples/vt-melding-en-aanhouding.xml"))
        var request = URLRequest(url: url.appendingPathComponent("partners/politie/messages"))
        request.httpMethod = "POST"
        request.httpBody = message
        request.setValue("Bearer \(token["politie"]!)", forHTTPHeaderField: "Authorization")
        let (data, response) = try await httpData(for: request)
        #expect((response as? HTTPURLResponse)?.statusCode == 202)
        let receipt = try JSONDecoder().decode(Receipt.self, from: data)
        let melding = try #require(receipt.events.first { $0.type == "nl.ketenhub.vt-melding.v1" })
        let trace = try await eventually("the new VT-melding routed and delivered") {
            try await hub.ledger.trace(eventSource: "urn:ketenhub:politie", eventId: melding.id).flatMap { trace in
                trace.deliveries.contains { $0.organisation.hasPrefix("vt-") && $0.state != .routed } ? trace : nil
            }
        }
        let vt = try #require(trace.decisions.first { $0.recipient.hasPrefix("vt-") && $0.permitted })
        #expect(vt.matrixVersion == matrixVersion && vt.ruleId == "VTM-VT")
        let (status, content) = try await call(url, "/api/deliveries/\(vt.decisionId)/content", token: token[vt.recipient])
        #expect(status == 200)
        #expect(Set((content as? [String: Any])?.keys.map { $0 } ?? []) == ["meldingId", "contactPerson"])
    }
}

actor Tokens {
    var value: [String: String] = [:]
    func set(_ tokens: [String: String]) { value = tokens }
}

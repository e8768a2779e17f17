import CanonicalEvents
import EmbeddedKafka
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HubAccess
import HubServer
import HubTopology
import KetenhubTestSupport
import Testing

/// #16: chain cases found by the partners' own references, on a hub node (gateway, router,
/// delivery, ledger) on the embedded cluster. No back-office knows the chain case id: the police
/// open a case with their BVH number, the OM and Veilig Thuis join it once with their own
/// reference beside the chain case id they received, and send only their reference afterwards.
@Suite("Chain cases by partners' references", .serialized)
struct ChainCaseTests {
    static let partners = packageRoot.appendingPathComponent("Contracts/partners")
    static let police = "politie-amsterdam", parket = "om-amsterdam", veiligThuis = "vt-amsterdam-amstelland"

    /// A hub node on its own embedded cluster, delivering to outboxes.
    final class Hub: @unchecked Sendable {
        let cluster: EmbeddedCluster
        let node: HubNode
        let run: Task<Void, Error>
        let url: URL
        let tokens: [String: String]
        let work = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("chain-cases"))
        let topics = HubTopics()

        init(organisations: [String]) async throws {
            cluster = try EmbeddedCluster(brokers: 1, logger: testLogger)
            try await cluster.createTopics(topics.specifications(organisations: organisations))
            var kafka = HubConfiguration.KafkaSettings(bootstrapServers: cluster.bootstrapServers)
            kafka.fetchMaxWaitMilliseconds = EmbeddedCluster.fetchMaxWaitMilliseconds
            var configuration = HubConfiguration(node: "chain-cases", roles: [.gateway, .router, .delivery, .ledger, .api], kafka: kafka)
            configuration.matrix = packageRoot.appendingPathComponent("Contracts/matrix")
            configuration.formats = ChainCaseTests.partners
            configuration.clocks = packageRoot.appendingPathComponent("Contracts/sla/clocks.yaml")
            configuration.store = .sqlite(path: work.appendingPathComponent("ledger.sqlite").path)
            configuration.http.port = 0
            configuration.http.drainSeconds = 1
            for organisation in organisations { configuration.transports[organisation] = .directory(work.appendingPathComponent("outbox/\(organisation)")) }
            try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
            let (credentials, issued) = Credentials.generate(for: organisations.map { Principal(name: $0, role: .partner($0)) }
                + ["operator-1", "operator-2"].map { Principal(name: $0, role: .operator_) })
            tokens = Dictionary(uniqueKeysWithValues: issued.map { ($0.key.name, $0.value) })
            let address = AddressBox()
            node = try await HubNode(configuration: configuration, extraCredentials: credentials, handlesSignals: false, logger: testLogger) { await address.set($0) }
            let node = self.node
            run = Task { try await node.run() }
            url = try await within(30, "the node serving") { while true { if let url = await address.url { return url }; try await Task.sleep(for: .milliseconds(50)) } }
        }

        /// Posts a partner's native message; the status and the receipt.
        func post(_ message: String, as organisation: String) async throws -> (status: Int, receipt: [String: Any]) {
            var request = URLRequest(url: url.appendingPathComponent("partners/\(organisation)/messages"))
            request.httpMethod = "POST"
            request.setValue("Bearer \(tokens[organisation]!)", forHTTPHeaderField: "Authorization")
            request.httpBody = Data(message.utf8)
            let (data, response) = try await httpData(for: request)
            return ((response as! HTTPURLResponse).statusCode, (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:])
        }

        /// Calls the hub's API as `principal`; the status and the JSON answer.
        func call(_ path: String, as principal: String, method: String = "GET", body: [String: Any]? = nil) async throws -> (status: Int, json: Any?) {
            var request = URLRequest(url: URL(string: url.absoluteString + path)!)
            request.httpMethod = method
            request.setValue("Bearer \(tokens[principal]!)", forHTTPHeaderField: "Authorization")
            if let body { request.httpBody = try JSONSerialization.data(withJSONObject: body) }
            let (data, response) = try await httpData(for: request)
            return ((response as! HTTPURLResponse).statusCode, try? JSONSerialization.jsonObject(with: data))
        }

        /// Polls the API until `accept` takes its answer.
        func eventually(_ what: String, _ path: String, as principal: String, _ accept: @escaping @Sendable (Any?) -> Bool) async throws -> Any? {
            let answer = try await within(60, what) {
                while true {
                    let (status, json) = try await self.call(path, as: principal)
                    if status == 200, accept(json) { return JSONAnswer(json) }
                    try await Task.sleep(for: .milliseconds(200))
                }
            }
            return answer.json
        }

        /// The CloudEvents attributes of every delivery in an organisation's outbox, by event id.
        func delivered(to organisation: String) -> [String: [String: String]] {
            let outbox = work.appendingPathComponent("outbox/\(organisation)")
            var found: [String: [String: String]] = [:]
            for name in (try? FileManager.default.contentsOfDirectory(atPath: outbox.path)) ?? [] where name.hasSuffix(".ce.json") {
                guard let data = FileManager.default.contents(atPath: outbox.appendingPathComponent(name).path),
                      let attributes = try? JSONDecoder().decode([String: String].self, from: data), let id = attributes["id"] else { continue }
                found[id] = attributes
            }
            return found
        }

        /// Waits until `organisation` has received the event with this id.
        func delivery(of id: String, to organisation: String) async throws -> [String: String] {
            try await within(60, "\(id) delivered to \(organisation)") {
                while true {
                    if let attributes = self.delivered(to: organisation)[id] { return attributes }
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
        }

        func stop() async {
            await node.stop()
            _ = try? await run.value
            cluster.shutdown()
            try? FileManager.default.removeItem(at: work)
        }
    }

    /// A JSON answer handed out of a task (it is only read afterwards).
    final class JSONAnswer: @unchecked Sendable {
        let json: Any?
        init(_ json: Any?) { self.json = json }
    }

    actor AddressBox {
        var url: URL?
        func set(_ url: URL) { self.url = url }
    }

    static func example(_ path: String) throws -> String {
        try String(contentsOf: partners.appendingPathComponent(path), encoding: .utf8)
    }

    /// The message without its chain case ids: what a back-office that knows only its own references sends.
    static func withoutChainCase(_ message: String) -> String {
        message.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.contains("<Ketenzaak>") && !$0.contains("\"ketenzaak\"") }.joined(separator: "\n")
    }

    static func events(_ receipt: [String: Any]) -> [[String: Any]] { receipt["events"] as? [[String: Any]] ?? [] }

    @Test("a node lists its parts while they run, so that a stop that takes too long can name them, and none once it has stopped")
    func runningParts() async throws {
        let hub = try await Hub(organisations: [Self.police, Self.parket])
        let running = hub.node.runningParts
        let expected = ["admin", "lag-admin", "database", "producer", "reference-registry", "ledger", "router",
                        "delivery-\(Self.police)", "delivery-\(Self.parket)", "consumer-lag", "http", "drain"]
        let deadline = ContinuousClock.now + .seconds(30)
        var listed = running.current
        while !Set(expected).isSubset(of: listed), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
            listed = running.current
        }
        #expect(Set(expected).isSubset(of: listed), "missing: \(Set(expected).subtracting(listed).sorted()); listed: \(listed)")
        #expect(listed.count == Set(listed).count, "each part once: \(listed)")
        await hub.stop()
        #expect(running.current == [], "parts still listed after the node stopped: \(running.current)")
    }

    @Test("a police registration opens a case; the OM and VT join it with their references; receipts and deliveries carry the right ids; an unknown dossier is refused naming it")
    func openJoinResolveRefuse() async throws {
        let hub = try await Hub(organisations: [Self.police, Self.parket, Self.veiligThuis, "3ro", "shn", "rvdk-noordwest-nederland", "politie", "om", "rvdk"])
        do {
            // The police's VT-melding and arrest, with the BVH number and no chain case id: the first opens a case, the second is in it.
            let registration = Self.withoutChainCase(try Self.example("politie/examples/vt-melding-en-aanhouding.xml"))
                .replacingOccurrences(of: "afzender=\"politie\"", with: "afzender=\"\(Self.police)\"")
            let (opened, openedReceipt) = try await hub.post(registration, as: Self.police)
            #expect(opened == 202, "\(openedReceipt)")
            let policeEvents = Self.events(openedReceipt)
            let caseId = try #require(policeEvents.first?["ketencaseid"] as? String)
            #expect(caseId.wholeMatch(of: /KZ-2026-[0-9A-Z]{6}/) != nil && caseId != "KZ-2026-4F7Q2A", "a case id the hub gave")
            #expect(policeEvents.map { $0["chainCase"] as? String } == ["opened", "found"])
            #expect(policeEvents.map { $0["openingRule"] as? String } == ["OPEN-POLITIE-REGISTRATIE", nil])
            #expect(policeEvents.allSatisfy { $0["ketencaseid"] as? String == caseId && $0["partnerref"] as? String == "BVH-2026112012345" })
            // The same registration again: the same case, found by its reference (no second case).
            let again = try await hub.post(registration, as: Self.police)
            #expect(Self.events(again.receipt).map { $0["ketencaseid"] as? String } == [caseId, caseId])
            #expect(Self.events(again.receipt).map { $0["chainCase"] as? String } == ["found", "found"])

            // Veilig Thuis received the VT-melding under the chain case id, without a reference of its own yet.
            let melding = try await hub.delivery(of: "BVH-2026-0001", to: Self.veiligThuis)
            #expect(melding["ketencaseid"] == caseId && melding["partnerref"] == nil)

            // The OM joins: its parketnummer beside the chain case id it received. Then it sends its parketnummer only.
            let zsm = try Self.example("om/examples/zsm-en-gedragsaanwijzing.xml").replacingOccurrences(of: "KZ-2026-4F7Q2A", with: caseId)
                .replacingOccurrences(of: "afzender=\"om\"", with: "afzender=\"\(Self.parket)\"")
            let joined = try await hub.post(zsm, as: Self.parket)
            #expect(joined.status == 202, "\(joined.receipt)")
            #expect(Self.events(joined.receipt).allSatisfy { $0["chainCase"] as? String == "stated" && $0["partnerref"] as? String == "13-123456-26" })
            // Veilig Thuis joins with its dossier, then sends a terugkoppeling with the dossier only.
            let beoordeling = try Self.example("vt/examples/beoordeling-en-traject.json").replacingOccurrences(of: "KZ-2026-4F7Q2A", with: caseId)
            #expect(try await hub.post(beoordeling, as: Self.veiligThuis).status == 202)
            let terugkoppeling = try await hub.post(Self.withoutChainCase(try Self.example("vt/examples/terugkoppeling.json")), as: Self.veiligThuis)
            #expect(terugkoppeling.status == 202, "\(terugkoppeling.receipt)")
            #expect(Self.events(terugkoppeling.receipt).map { $0["ketencaseid"] as? String } == [caseId])

            let later = Self.withoutChainCase(try Self.example("om/examples/schorsing-vonnis-invrijheidstelling.xml"))
                .replacingOccurrences(of: "afzender=\"om\"", with: "afzender=\"\(Self.parket)\"")
            // (The example carries no parketnummer: each of its records gets the OM's.)
            let onlyReference = try await hub.post(later.replacing(/(\s*)<Tijdstip>([^<]*)<\/Tijdstip>/) { match in
                "\(match.1)<Tijdstip>\(match.2)</Tijdstip>\(match.1)<Parketnummer>13-123456-26</Parketnummer>"
            }, as: Self.parket)
            #expect(onlyReference.status == 202, "\(onlyReference.receipt)")
            #expect(!Self.events(onlyReference.receipt).isEmpty)
            #expect(Self.events(onlyReference.receipt).allSatisfy { $0["ketencaseid"] as? String == caseId && $0["chainCase"] as? String == "found" })

            // Deliveries carry the recipient's own reference: the police's BVH number, the OM's parketnummer, VT's dossier.
            let schorsing = try #require(Self.events(onlyReference.receipt).first?["id"] as? String)
            let toPolice = try await hub.delivery(of: schorsing, to: Self.police)
            #expect(toPolice["ketencaseid"] == caseId && toPolice["partnerref"] == "BVH-2026112012345")
            let toVeiligThuis = try await hub.delivery(of: schorsing, to: Self.veiligThuis)
            #expect(toVeiligThuis["partnerref"] == "VT-D-2026-5531")
            let toParket = try await hub.delivery(of: "VT-AA-2026-00017-1", to: Self.parket)  // the veiligheidsbeoordeling
            #expect(toParket["ketencaseid"] == caseId && toParket["partnerref"] == "13-123456-26")
            let feedback = try await hub.delivery(of: "VT-AA-2026-00031-1", to: Self.police)  // the terugkoppeling
            #expect(feedback["ketencaseid"] == caseId && feedback["partnerref"] == "BVH-2026112012345")

            // A VT message with a dossier the hub does not know and no chain case id: refused, naming the dossier.
            let unknown = Self.withoutChainCase(try Self.example("vt/examples/beoordeling-en-traject.json"))
                .replacingOccurrences(of: "VT-D-2026-5531", with: "VT-D-2026-9999").replacingOccurrences(of: "VT-AA-2026-00017", with: "VT-AA-2026-00099")
            let refused = try await hub.post(unknown, as: Self.veiligThuis)
            #expect(refused.status == 422)
            let reasons = (refused.receipt["problems"] as? [[String: Any]] ?? []).compactMap { $0["reason"] as? String }
            #expect(reasons.count == 2 && reasons.allSatisfy {
                $0.hasPrefix("dossiernummer VT-D-2026-9999 matches no chain case of \(Self.veiligThuis), and no rule lets a ") && $0.contains("open one")
            }, "\(reasons)")
            #expect(refused.receipt["deadLetterId"] is String)

            // A reference already in one case cannot be moved to another.
            let moved = zsm.replacingOccurrences(of: caseId, with: "KZ-2026-ZZZZZZ")
            let conflict = try await hub.post(moved, as: Self.parket)
            #expect(conflict.status == 422)
            #expect((conflict.receipt["problems"] as? [[String: Any]])?.first?["reason"] as? String
                    == "Parketnummer 13-123456-26 of \(Self.parket) belongs to chain case \(caseId), not to KZ-2026-ZZZZZZ")
        } catch {
            await hub.stop()
            throw error
        }
        await hub.stop()
    }

    /// A police registration of another case: its own BVH number and record ids, and the persons given.
    static func registration(bvh: String, ids: String, replacing persons: [String: String]) throws -> String {
        var message = withoutChainCase(try example("politie/examples/vt-melding-en-aanhouding.xml"))
            .replacingOccurrences(of: "afzender=\"politie\"", with: "afzender=\"\(police)\"")
            .replacingOccurrences(of: "BVH-2026112012345", with: bvh).replacingOccurrences(of: "BVH-2026-000", with: ids)
        for (from, to) in persons { message = message.replacingOccurrences(of: from, with: to) }
        return message
    }

    static func links(_ json: Any?) -> [[String: Any]] { (json as? [String: Any])?["links"] as? [[String: Any]] ?? [] }

    @Test("cases sharing a suspect are linked by the automatic rule; cases sharing a victim only when one operator proposes and a second confirms; the trace shows who")
    func linking() async throws {
        let hub = try await Hub(organisations: [Self.police, Self.parket, Self.veiligThuis, "3ro", "shn", "rvdk-noordwest-nederland", "politie", "om", "rvdk"])
        do {
            let victim = "psn:80948c818127a7f26b8d1542e95d67da", suspect = "psn:b75e5fcf010f32de0e37fc862ca04e27"
            let child = "psn:195f482a0e85834c0d145ee404725469"
            // A: the example; B: the same victim, another suspect; C: the same suspect, another victim and child.
            let a = try Self.registration(bvh: "BVH-2026-A", ids: "BVH-A-", replacing: [:])
            let b = try Self.registration(bvh: "BVH-2026-B", ids: "BVH-B-", replacing: [suspect: "psn:0000000000000000000000000000b0b0"])
            let c = try Self.registration(bvh: "BVH-2026-C", ids: "BVH-C-", replacing: [victim: "psn:0000000000000000000000000000c0c0",
                                                                                         child: "psn:0000000000000000000000000000c0c1"])
            var cases: [String] = []
            for message in [a, b, c] {
                let (status, receipt) = try await hub.post(message, as: Self.police)
                #expect(status == 202, "\(receipt)")
                cases.append(try #require(Self.events(receipt).first?["ketencaseid"] as? String))
            }
            #expect(Set(cases).count == 3)
            let (caseA, caseB, caseC) = (cases[0], cases[1], cases[2])

            // A and C share the suspect: linked by the hub under LINK-SAME-SUSPECT, at once.
            let automatic = try await hub.eventually("A and C linked by the rule", "/api/case-links", as: "operator-1") { json in
                Self.links(json).contains { ($0["cases"] as? [String]) == [caseA, caseC].sorted() && $0["state"] as? String == "linked" }
            }
            let ac = try #require(Self.links(automatic).first { ($0["cases"] as? [String]) == [caseA, caseC].sorted() })
            #expect(ac["rule"] as? String == "LINK-SAME-SUSPECT")
            #expect((ac["steps"] as? [[String: Any]])?.map { [$0["action"] as? String, $0["by"] as? String] } == [["linked", "hub"]])
            // A and B share the victim: a candidate for the operators, not linked.
            let listed = try await hub.eventually("A and B a candidate", "/api/case-links", as: "operator-1") { json in
                ((json as? [String: Any])?["candidates"] as? [[String: Any]] ?? []).contains { ($0["cases"] as? [String]) == [caseA, caseB].sorted() }
            }
            #expect(!Self.links(listed).contains { ($0["cases"] as? [String]) == [caseA, caseB].sorted() }, "no link without two operators")
            #expect(((listed as? [String: Any])?["candidates"] as? [[String: Any]])?.allSatisfy { $0["rule"] as? String == "LINK-SAME-VICTIM" } == true)
            #expect(!String(describing: listed).contains("psn:"), "the person the cases share is not named")

            // What the rules do not allow is refused.
            #expect(try await hub.call("/api/case-links", as: "operator-1", method: "POST", body: ["cases": [caseA, caseC], "rule": "LINK-SAME-SUSPECT"]).status == 422)
            #expect(try await hub.call("/api/case-links", as: "operator-1", method: "POST", body: ["cases": [caseB, caseC], "rule": "LINK-SAME-VICTIM"]).status == 422)
            #expect(try await hub.call("/api/case-links", as: Self.police, method: "POST", body: ["cases": [caseA, caseB], "rule": "LINK-SAME-VICTIM"]).status == 403)

            // One operator proposes, the same one cannot confirm, a second one does.
            let (proposed, proposal) = try await hub.call("/api/case-links", as: "operator-1", method: "POST",
                                                          body: ["cases": [caseB, caseA], "rule": "LINK-SAME-VICTIM", "reason": "zelfde slachtoffer"])
            #expect(proposed == 202)
            let linkId = try #require((proposal as? [String: Any])?["linkId"] as? String)
            _ = try await hub.eventually("the proposal in the ledger", "/api/cases/\(caseB)", as: "operator-1") { json in
                Self.links(json).contains { $0["linkId"] as? String == linkId && $0["state"] as? String == "proposed" }
            }
            #expect(try await hub.call("/api/case-links", as: "operator-2", method: "POST", body: ["cases": [caseA, caseB], "rule": "LINK-SAME-VICTIM"]).status == 409)
            let own = try await hub.call("/api/case-links/\(linkId)/confirm", as: "operator-1", method: "POST")
            #expect(own.status == 403 && ((own.json as? [String: Any])?["error"] as? String)?.contains("a second operator confirms it") == true)
            #expect(try await hub.call("/api/case-links/\(linkId)/confirm", as: "operator-2", method: "POST").status == 202)

            // The trace of A's VT-melding shows both links and who made each step, and A's references.
            let trace = try await hub.eventually("the link in A's trace", "/api/trace?source=urn:ketenhub:\(Self.police)&id=BVH-A-1", as: "operator-2") { json in
                Self.links(json).contains { $0["linkId"] as? String == linkId && $0["state"] as? String == "linked" }
            }
            let ab = try #require(Self.links(trace).first { $0["linkId"] as? String == linkId })
            #expect((ab["steps"] as? [[String: Any]])?.map { [$0["action"] as? String, $0["by"] as? String] }
                    == [["proposed", "operator-1"], ["linked", "operator-2"]])
            #expect(Self.links(trace).map { $0["rule"] as? String }.sorted { ($0 ?? "") < ($1 ?? "") } == ["LINK-SAME-SUSPECT", "LINK-SAME-VICTIM"])
            let references = (trace as? [String: Any])?["references"] as? [[String: Any]] ?? []
            #expect(references.map { [$0["organisation"] as? String, $0["reference"] as? String, $0["how"] as? String] }
                    == [[Self.police, "BVH-2026-A", "opened"]])

            // An operator unlinks, saying why; the link is then unlinked, with the step.
            #expect(try await hub.call("/api/case-links/\(linkId)/unlink", as: "operator-1", method: "POST", body: ["reason": " "]).status == 400)
            #expect(try await hub.call("/api/case-links/\(linkId)/unlink", as: "operator-1", method: "POST", body: ["reason": "andere zaak"]).status == 202)
            _ = try await hub.eventually("the unlink", "/api/cases/\(caseA)", as: "operator-1") { json in
                Self.links(json).contains { $0["linkId"] as? String == linkId && $0["state"] as? String == "unlinked" }
            }
        } catch {
            await hub.stop()
            throw error
        }
        await hub.stop()
    }

    @Test("registrations posted at the same time each open their own case, at once: the registry catches up one reader at a time, and never spins")
    func concurrentOpenings() async throws {
        let hub = try await Hub(organisations: [Self.police, Self.parket, Self.veiligThuis, "3ro", "shn", "rvdk-noordwest-nederland", "politie", "om", "rvdk"])
        do {
            let receipts = try await within(60, "24 registrations at once") {
                try await withThrowingTaskGroup(of: ReceiptBox.self) { group in
                    for number in 1...24 {
                        let message = try Self.registration(bvh: "BVH-2026-P\(number)", ids: "BVH-P\(number)-", replacing: [:])
                        group.addTask {
                            let (status, receipt) = try await hub.post(message, as: Self.police)
                            return ReceiptBox(status: status, events: Self.events(receipt).map { "\($0["ketencaseid"] ?? "")" })
                        }
                    }
                    var all: [ReceiptBox] = []
                    for try await receipt in group { all.append(receipt) }
                    return all
                }
            }
            #expect(receipts.count == 24 && receipts.allSatisfy { $0.status == 202 })
            #expect(Set(receipts.compactMap(\.events.first)).count == 24, "a case of its own for each BVH number")
            #expect(receipts.allSatisfy { Set($0.events).count == 1 }, "both records of a registration in its case")
        } catch {
            await hub.stop()
            throw error
        }
        await hub.stop()
    }

    struct ReceiptBox: Sendable {
        var status: Int
        var events: [String]
    }
}

import DeliveryLedger
import EmbeddedKafka
import Foundation
import HubAccess
import HubServer
import KetenhubDemo
import KetenhubTestSupport
import SLAClocks
import Testing

/// #17: several nodes on one PostgreSQL. The demo's node (gateway, router, delivery, ledger, API)
/// and a second node (ledger, API) share one database: two projectors write the same facts at once,
/// two API nodes answer from the same rows, and two privacy officers approve on different nodes at once.
@Suite("Several nodes on one PostgreSQL", .serialized)
struct SharedStoreTests {
    @Test("two API nodes and two projectors: live equals rebuilt, each partner sees only its own deliveries on either node, concurrent approvals give one",
          .enabled(if: StoreBackend.all.contains(.postgres), "KETENHUB_TEST_BACKENDS leaves PostgreSQL out"))
    func twoNodesOneDatabase() async throws {
        let location = try StoreBackend.postgres.location()
        var settings = DemoTests.settings(cases: 6, seed: 17)
        settings.store = location
        let tokens = Tokens()
        let demo = settings
        let report = try await DemoHub(settings: demo, logger: testLogger).run(exitWhenDone: true, running: { _, issued, _ in
            await tokens.set(issued)
        }, inspect: { hub in
            var token = await tokens.value
            // The second node takes the demo's principals, and a third privacy officer of its own.
            token["privacy-officer-3"] = "t-privacy-officer-3-\(UUID().uuidString)"
            var principals: [String: Principal] = [:]
            for (name, secret) in token { principals[secret] = Principal(name: name, role: Self.role(of: name)) }
            var kafka = HubConfiguration.KafkaSettings(bootstrapServers: hub.bootstrapServers)
            kafka.fetchMaxWaitMilliseconds = EmbeddedCluster.fetchMaxWaitMilliseconds
            var configuration = HubConfiguration(node: "second", roles: [.ledger, .api], kafka: kafka)
            configuration.matrix = demo.matrixDirectory
            configuration.formats = demo.formatsDirectory
            configuration.clocks = demo.clocksFile
            configuration.console = demo.consoleDirectory
            configuration.store = location
            configuration.http.port = 0
            configuration.http.drainSeconds = 1
            let address = ChainCaseTests.AddressBox()
            let second = try await HubNode(configuration: configuration, extraCredentials: Credentials(tokens: principals), handlesSignals: false,
                                           logger: testLogger) { await address.set($0) }
            let running = Task { try await second.run() }
            defer { running.cancel() }
            let nodes = [hub.httpAddress, try await within(30, "the second node serving") {
                while true { if let url = await address.url { return url }; try await Task.sleep(for: .milliseconds(50)) }
            }]

            // Both projectors follow every topic into the one database; wait for every acknowledgement.
            let permits = try await LedgerTests.caughtUp(hub, seconds: 60)
            let live = try await hub.ledger.snapshot()
            #expect(Set(live.deliveries.map(\.deliveryId)) == permits)

            // A rebuild from the topics into a database of its own equals what two projectors wrote.
            let rebuilt = try await StoreBackend.postgres.ledger()
            let kept = SLAEvaluator(clocks: try SLAClock.load(demo.clocksFile)).keptFields
            try await LedgerProjector(bootstrapServers: hub.bootstrapServers, topics: hub.topics, store: rebuilt, keptFields: kept,
                                      logger: testLogger).rebuild()
            let again = try await rebuilt.snapshot()
            #expect(again.events == live.events && again.decisions == live.decisions && again.deliveries == live.deliveries)
            #expect(again.deadLetters == live.deadLetters && again.persons == live.persons && again.references == live.references)
            // The latency counts both projectors folded, each at the end of its batches, are those of
            // the rows they wrote.
            let shared = try #require(hub.ledger as? SQLLedgerStore)
            let (counted, recounted) = (try await shared.acknowledgementLatencies(), try await StoreTests.recounted(shared))
            #expect(!counted.isEmpty && counted == recounted)

            // Either node answers the same, and a partner sees only its own deliveries on both.
            let answers = try await nodes.asyncMap { try await call($0, "/api/deliveries", token: token["operator"]) }
            #expect(answers.allSatisfy { $0.status == 200 } && (answers[0].json as? [[String: Any]])?.count == permits.count)
            #expect(NSArray(array: answers[0].json as? [Any] ?? []).isEqual(to: answers[1].json as? [Any] ?? []), "one database, one answer")
            let recipients = Set(live.deliveries.map(\.organisation))
            for organisation in recipients.sorted() {
                let own = live.deliveries.filter { $0.organisation == organisation }.map(\.deliveryId).sorted()
                for node in nodes {
                    let (status, json) = try await call(node, "/api/deliveries", token: token[organisation])
                    let rows = json as? [[String: Any]] ?? []
                    #expect(status == 200 && rows.compactMap { $0["deliveryId"] as? String }.sorted() == own, "\(organisation) on \(node)")
                    #expect(try await call(node, "/api/deliveries?organisation=\(recipients.first { $0 != organisation }!)",
                                           token: token[organisation]).status == 403)
                }
            }

            // The four-eyes rule across nodes: proposed on one node, its proposer cannot approve on the
            // other; two officers approving on the two nodes at once give one approval.
            for round in 1...4 {
                let (created, proposal) = try await call(nodes[round % 2], "/api/matrix/versions", token: token["privacy-officer"], method: "POST",
                                                         body: ["files": [String: String]()])
                let number = try #require((proposal as? [String: Any])?["number"] as? Int, "\(created) \(String(describing: proposal))")
                #expect(try await call(nodes[(round + 1) % 2], "/api/matrix/versions/\(number)/approve", token: token["privacy-officer"],
                                       method: "POST").status == 403, "the proposer, on the other node")
                let officers = [token["privacy-officer-2"], token["privacy-officer-3"]]
                let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                    for (node, officer) in zip(nodes, officers) {
                        group.addTask { try await call(node, "/api/matrix/versions/\(number)/approve", token: officer, method: "POST").status }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }.sorted()
                }
                #expect(statuses == [200, 409], "round \(round): \(statuses)")
                let stored = try await call(nodes[round % 2], "/api/matrix/versions/\(number)", token: token["admin"]).json as? [String: Any]
                #expect(stored?["state"] as? String == "approved")
                #expect(["privacy-officer-2", "privacy-officer-3"].contains(stored?["approvedBy"] as? String ?? ""))
            }
            await second.stop()
            _ = try? await running.value
        })
        let finished = try #require(report)
        #expect(finished.deadLetters == finished.rejectedMessages)
    }

    static func role(of name: String) -> Role {
        if name.hasPrefix("operator") { return .operator_ }
        if name.hasPrefix("privacy-officer") { return .privacyOfficer }
        if name == "admin" { return .admin }
        return .partner(name)
    }
}

extension Array where Element: Sendable {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}

import CanonicalEvents
import ChildProcesses
import EmbeddedKafka
import Foundation
import HubTopology
import Hummingbird
import Kafka
import KetenhubTestSupport
import PartnerGateway
import Testing

/// The delivery worker as a separate process, killed with SIGKILL over and over while it delivers.
@Suite("Delivery worker crash recovery")
struct DeliveryCrashTests {
    /// A partner endpoint that records every request, in arrival order, and answers after a moment.
    actor Endpoint {
        private(set) var arrivals: [(key: String, caseId: String, eventId: String)] = []
        func record(_ key: String, _ caseId: String, _ eventId: String) { arrivals.append((key, caseId, eventId)) }
    }

    @Test("killed 10 times while delivering 600 records: every delivery arrives, in order per case; a repeat only at a kill, with the same Idempotency-Key",
          .timeLimit(.minutes(4)))
    func sigkillWhileDelivering() async throws {
        let cluster = try EmbeddedCluster(brokers: 1, logger: testLogger)
        defer { cluster.shutdown() }
        let topics = HubTopics()
        try await cluster.createTopics(topics.specifications(organisations: ["politie"]))

        // 600 deliveries to politie of 60 cases, each with its own delivery (decision) id.
        let example = try CloudEvent(structured: JSONValue.parse(Data(contentsOf: packageRoot.appendingPathComponent("Contracts/examples/gedragsaanwijzing/valid/opgelegd.json"))))
        var deliveries: [CloudEvent] = []
        for number in 0..<600 {
            var event = example
            event.id = "ga-\(number)"
            event.ketencaseid = String(format: "KZ-2026-C%05d", number % 60)
            event.decisionid = "dec-\(number)-politie"
            deliveries.append(event)
        }
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers), logger: testLogger)
        try await producer.sendAll(deliveries.map { KafkaProducerMessage(topic: topics.deliveries("politie"), cloudEvent: $0.kafkaRecord()) })
        await producer.shutdown()

        let endpoint = Endpoint()
        let router = Router(context: BasicRequestContext.self)
        router.post("deliveries") { request, _ -> Response in
            func header(_ name: String) -> String { request.headers.first { $0.name.canonicalName == name }?.value ?? "" }
            try await Task.sleep(for: .milliseconds(4))
            await endpoint.record(header("idempotency-key"), header("ce-ketencaseid"), header("ce-id"))
            return Response(status: .ok)
        }
        let server = try await TestServer(router)
        let url = server.url.appendingPathComponent("deliveries").absoluteString

        func startWorker() throws -> ChildProcess {
            try ChildProcess(try ketenhubBinary(), ["deliver", "--bootstrap", cluster.bootstrapServers, "--organisation", "politie", "--endpoint", url,
                                                    "--formats", packageRoot.appendingPathComponent("Contracts/partners").path])
        }

        // Each worker is killed once it has delivered a random 20 to 50 more requests: the kill lands
        // while it delivers on a fast machine as on a slow one (a fixed sleep let a fast machine's
        // workers finish all 600 before the fifth kill), and ten kills leave at least 100 for the last.
        var arrivalsAtKill: [Int] = []
        for _ in 0..<10 {
            let worker = try startWorker()
            let target = (arrivalsAtKill.last ?? 0) + Int.random(in: 20...50)
            try await within(60, "a restarted worker delivering up to request \(target)") {
                while await endpoint.arrivals.count < target { try await Task.sleep(for: .milliseconds(5)) }
            }
            worker.send(SIGKILL)
            #expect(await worker.exitStatus() == 128 + SIGKILL)
            arrivalsAtKill.append(await endpoint.arrivals.count)
        }
        let survivor = try startWorker()
        let total = deliveries.count
        try await within(120, "the last worker delivering everything") {
            while Set(await endpoint.arrivals.map(\.key)).count < total { try await Task.sleep(for: .milliseconds(100)) }
        }
        try await Task.sleep(for: .milliseconds(500))  // nothing more may come
        survivor.send(SIGTERM)
        await survivor.exitStatus()
        await server.stop()

        let arrivals = await endpoint.arrivals
        let keys = arrivals.map(\.key)
        #expect(Set(keys) == Set(deliveries.map { $0.decisionid! }), "every delivery arrived")
        let repeats = keys.count - Set(keys).count
        print("delivery crash test: \(deliveries.count) deliveries, \(arrivals.count) requests, \(repeats) repeats, arrivals at each kill \(arrivalsAtKill)")
        #expect(arrivalsAtKill.count == 10 && arrivalsAtKill.last! < total, "every kill landed before the last delivery")
        #expect(repeats <= arrivalsAtKill.count, "at most the one delivery in flight is repeated per kill")
        // In order per case, first arrivals counted: the partner that keeps each Idempotency-Key once sees every case in order.
        var seen = Set<String>()
        let firsts = arrivals.filter { seen.insert($0.key).inserted }
        for caseNumber in 0..<60 {
            let caseId = String(format: "KZ-2026-C%05d", caseNumber)
            let expectedOrder = deliveries.filter { $0.ketencaseid == caseId }.map(\.id)
            #expect(firsts.filter { $0.caseId == caseId }.map(\.eventId) == expectedOrder, "\(caseId)")
        }
        // The status topic records every delivery as delivered.
        let statuses = try await TopicReader(bootstrapServers: cluster.bootstrapServers, logger: testLogger).readAll(topics.deliveryStatus)
            .values.flatMap { $0 }.map { try JSONDecoder().decode(DeliveryStatus.self, from: Data($0.value)) }
        #expect(Set(statuses.filter { $0.outcome == .delivered }.map(\.deliveryId)) == Set(keys))
    }
}

import CanonicalEvents
import EmbeddedKafka
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HubTopology
import HubAccess
import Hummingbird
import Kafka
import KetenhubTestSupport
import PartnerAdapters
import PartnerGateway
import Testing

/// The inbound side on a real cluster and a real HTTP server: hostile and broken messages are refused
/// with a clear receipt, dead-lettered with their original bytes, and the messages after them flow.
@Suite("Partner gateway on the embedded cluster", .serialized)
struct GatewayTests {
    static let partners = packageRoot.appendingPathComponent("Contracts/partners")

    /// A running gateway: cluster, topics, HTTP server on a free port, drop directories.
    final class Fixture: @unchecked Sendable {
        let cluster: EmbeddedCluster
        let topics = HubTopics()
        let producer: KafkaProducer
        let gateway: InboundGateway
        let tokens: [String: String]
        let server: TestServer
        let url: URL
        let dropDirectories: DropDirectoryInbound

        init() async throws {
            cluster = try EmbeddedCluster(brokers: 1, logger: testLogger)
            try await cluster.createTopics(topics.specifications(organisations: ["politie", "om", "3ro", "vt-utrecht"]))
            var producerConfiguration = KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers)
            producerConfiguration.client.overrides = HubTopics.deadLetterProducerOverrides
            producer = try KafkaProducer(configuration: producerConfiguration, logger: testLogger)
            gateway = InboundGateway(formats: try PartnerFormats.load(directory: GatewayTests.partners), producer: producer, topics: topics, logger: testLogger)
            let (credentials, tokens) = Credentials.generate(for: ["politie", "om", "3ro", "vt-utrecht", "vt-amsterdam-amstelland"].map {
                Principal(name: $0, role: .partner($0))
            })
            self.tokens = Dictionary(uniqueKeysWithValues: tokens.map { ($0.key.name, $0.value) })
            let router = Router(context: BasicRequestContext.self)
            HTTPInbound(gateway: gateway, credentials: credentials, acknowledgements: AcknowledgementPublisher(producer: producer, topics: topics))
                .addRoutes(to: router)
            server = try await TestServer(router)
            url = server.url
            dropDirectories = DropDirectoryInbound(root: FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("inbox")),
                                                   organisations: ["3ro"], gateway: gateway, logger: testLogger)
        }

        func post(_ body: Data, as organisation: String, token: String?) async throws -> (status: Int, receipt: [String: Any]) {
            let (status, data) = try await postRaw(body, as: organisation, token: token)
            return (status, (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:])
        }

        func postRaw(_ body: Data, as organisation: String, token: String?) async throws -> (status: Int, body: Data) {
            var request = URLRequest(url: url.appendingPathComponent("partners/\(organisation)/messages"))
            request.httpMethod = "POST"
            if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
            request.httpBody = body
            let (data, response) = try await httpData(for: request)
            return ((response as! HTTPURLResponse).statusCode, data)
        }

        func rawDeadLetters() async throws -> [Data] {
            try await TopicReader(bootstrapServers: cluster.bootstrapServers, logger: testLogger).readAll(topics.deadLetter).values.flatMap { $0 }
                .map { Data($0.value) }
        }

        func deadLetters() async throws -> [DeadLetter] {
            try await TopicReader(bootstrapServers: cluster.bootstrapServers, logger: testLogger).readAll(topics.deadLetter).values.flatMap { $0 }
                .map { try JSONDecoder().decode(DeadLetter.self, from: Data($0.value)) }
        }

        func canonicalIds() async throws -> [String] {
            try await TopicReader(bootstrapServers: cluster.bootstrapServers, logger: testLogger).readAll(topics.canonical).values.flatMap { $0 }
                .compactMap { $0.header("ce_id")?.stringValue }.sorted()
        }

        func stop() async {
            await server.stop()
            await producer.shutdown()
            cluster.shutdown()
        }
    }

    static func file(_ path: String) throws -> Data { try Data(contentsOf: partners.appendingPathComponent(path)) }

    @Test("every hostile or broken message over HTTP: 422, every problem in the receipt, a dead letter with the original bytes; valid ones after it flow")
    func hostileOverHTTP() async throws {
        let hub = try await Fixture()
        let cases: [(String, String)] = [("politie", "politie/invalid/xxe.xml"), ("politie", "politie/invalid/billion-laughs.xml"),
                                         ("politie", "politie/invalid/afgebroken.xml"), ("politie", "politie/invalid/onjuiste-waarden.xml"),
                                         ("vt-amsterdam-amstelland", "vt/invalid/geen-utf8.json"), ("vt-amsterdam-amstelland", "vt/invalid/afgebroken.json")]
        var expectedLetters: [(String, Data)] = []
        for (organisation, path) in cases {
            let bytes = try Self.file(path)
            let (status, receipt) = try await hub.post(bytes, as: organisation, token: hub.tokens[organisation])
            #expect(status == 422, "\(path)")
            #expect(receipt["status"] as? String == "rejected")
            let problems = (receipt["problems"] as? [[String: Any]] ?? []).map { "\($0["location"] as? String ?? ""): \($0["reason"] as? String ?? "")" }
            let expected = try String(contentsOf: Self.partners.appendingPathComponent(path).deletingPathExtension().appendingPathExtension("error"), encoding: .utf8)
                .split(separator: "\n")
            #expect(problems.count == expected.count, "\(path): \(problems)")
            for line in expected { #expect(problems.contains { $0.contains(line) }, "\(path): \(line)") }
            expectedLetters.append((receipt["deadLetterId"] as? String ?? "", bytes))
        }
        // Then a valid message: accepted, its events on the canonical topic.
        let (status, receipt) = try await hub.post(try Self.file("politie/examples/vt-melding-en-aanhouding.xml"), as: "politie", token: hub.tokens["politie"])
        #expect(status == 202)
        #expect((receipt["events"] as? [Any])?.count == 2)
        #expect(try await hub.canonicalIds() == ["BVH-2026-0001", "BVH-2026-0002"])

        let letters = try await hub.deadLetters()
        #expect(letters.count == cases.count)
        for (id, bytes) in expectedLetters {
            let letter = try #require(letters.first { $0.deadLetterId == id })
            #expect(letter.stage == "inbound")
            #expect(Data(base64Encoded: letter.original.base64) == bytes)
            #expect(letter.original.sizeBytes == bytes.count)
            #expect(!letter.reasons.isEmpty)
        }
        #expect(Set(letters.compactMap(\.partner)) == ["politie", "vt-amsterdam-amstelland"])
        // Receipts and dead letters are what their contracts say.
        let contracts = try RecordContracts.load()
        for raw in try await hub.rawDeadLetters() {
            #expect(contracts.validate(try JSONValue.parse(raw), against: "dead-letter.schema.json") == [])
        }
        let refused = try await hub.postRaw(try Self.file("politie/invalid/xxe.xml"), as: "politie", token: hub.tokens["politie"])
        let accepted = try await hub.postRaw(try Self.file("om/examples/zsm-en-gedragsaanwijzing.xml"), as: "om", token: hub.tokens["om"])
        for raw in [refused.body, accepted.body] {
            #expect(contracts.validate(try JSONValue.parse(raw), against: "receipt.schema.json") == [])
        }
        await hub.stop()
    }

    @Test("credentials: none is 401, another partner's is 403, a message claiming another sender is refused; nothing is published")
    func credentials() async throws {
        let hub = try await Fixture()
        let politie = try Self.file("politie/examples/vt-melding-en-aanhouding.xml")
        #expect(try await hub.post(politie, as: "politie", token: nil).status == 401)
        #expect(try await hub.post(politie, as: "politie", token: "kh_made-up").status == 401)
        let (forbidden, body) = try await hub.post(politie, as: "politie", token: hub.tokens["om"])
        #expect(forbidden == 403)
        #expect(body["error"] as? String == "the credential of om may not post for politie")
        // VT Utrecht posting a message that says it is from VT Amsterdam-Amstelland.
        let (status, receipt) = try await hub.post(try Self.file("vt/examples/beoordeling-en-traject.json"), as: "vt-utrecht", token: hub.tokens["vt-utrecht"])
        #expect(status == 422)
        #expect((receipt["problems"] as? [[String: Any]])?.first?["reason"] as? String ==
                "the message says it is from vt-amsterdam-amstelland, but it was sent with the credential of vt-utrecht")
        #expect(try await hub.canonicalIds() == [])
        #expect(try await hub.deadLetters().count == 1)
        await hub.stop()
    }

    @Test("an oversized message is refused on its announced length, unread: 413 and a dead letter with its size")
    func oversized() async throws {
        let hub = try await Fixture()
        let limit = try PartnerFormats.load(directory: Self.partners).formats["politie"]!.maxBytes
        let (status, receipt) = try await hub.post(Data(repeating: UInt8(ascii: "<"), count: limit + 10), as: "politie", token: hub.tokens["politie"])
        #expect(status == 413)
        #expect((receipt["problems"] as? [[String: Any]])?.first?["reason"] as? String ==
                "the message is \(limit + 10) bytes; messages from politie may be at most \(limit) bytes")
        let letters = try await hub.deadLetters()
        #expect(letters.count == 1)
        #expect(letters.first?.original.sizeBytes == limit + 10)
        #expect(letters.first?.original.base64 == "")
        // The next message flows.
        #expect(try await hub.post(try Self.file("politie/examples/vt-melding-en-aanhouding.xml"), as: "politie", token: hub.tokens["politie"]).status == 202)
        await hub.stop()
    }

    @Test("a large message with thousands of problems: 422, the first 100 problems and their count, one dead letter with the whole message (#13 item 5)")
    func largeInvalid() async throws {
        let hub = try await Fixture()
        let record = try String(contentsOf: Self.partners.appendingPathComponent("politie/invalid/onjuiste-waarden.xml"), encoding: .utf8)
            .components(separatedBy: "<Registratie ")[1].components(separatedBy: "</Registratie>")[0]
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<BVHExport afzender=\"politie\">\n"
        var records = 0
        while xml.utf8.count < 900_000 {
            records += 1
            xml += "<Registratie " + record.replacingOccurrences(of: "BVH-2026-0101", with: "BVH-2026-\(records)") + "</Registratie>\n"
        }
        xml += "</BVHExport>\n"
        let (status, body) = try await hub.postRaw(Data(xml.utf8), as: "politie", token: hub.tokens["politie"])
        let receipt = try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any])
        #expect(status == 422)
        #expect(body.count < 64 * 1024, "the answer is bounded: \(body.count) bytes")
        #expect((receipt["problems"] as? [[String: Any]])?.count == 100)
        #expect(receipt["problemCount"] as? Int == records * 4, "four problems per record")
        let letters = try await hub.deadLetters()
        #expect(letters.count == 1 && letters.first?.deadLetterId == receipt["deadLetterId"] as? String)
        #expect(letters.first?.reasons.count == 101 && letters.first?.reasons.last?.reason == "and \(records * 4 - 100) more problems (\(records * 4) in all)")
        #expect(letters.first.flatMap { Data(base64Encoded: $0.original.base64) } == Data(xml.utf8), "the whole message is kept")
        // A 3RO batch file of 1.9 MB with a bad code in every row: the same, its dead letter keeping all of it.
        let csv = try String(contentsOf: Self.partners.appendingPathComponent("3ro/examples/advies-traject-overtreding.csv"), encoding: .utf8)
        let lines = csv.components(separatedBy: "\r\n")
        let badRow = lines[1].replacingOccurrences(of: ";B-SAFER;H;", with: ";B-SAFER;X;")
        #expect(badRow != lines[1])
        func batch(_ rows: Int) -> Data {
            Data((([lines[0]] + (1...rows).map { badRow.replacingOccurrences(of: "3RO-2026-110001", with: "3RO-2026-9\($0)") }).joined(separator: "\r\n") + "\r\n").utf8)
        }
        let one = try await hub.post(batch(1), as: "3ro", token: hub.tokens["3ro"])
        let perRow = try #require(one.receipt["problemCount"] as? Int)
        #expect(one.status == 422 && perRow >= 1)
        let rows = 1_900_000 / (badRow.utf8.count + 2)
        let large = batch(rows)
        let (csvStatus, csvBody) = try await hub.postRaw(large, as: "3ro", token: hub.tokens["3ro"])
        let csvReceipt = try #require(try JSONSerialization.jsonObject(with: csvBody) as? [String: Any])
        #expect(csvStatus == 422 && csvBody.count < 64 * 1024)
        #expect(csvReceipt["problemCount"] as? Int == rows * perRow && (csvReceipt["problems"] as? [Any])?.count == 100)
        let csvLetter = try await hub.deadLetters().first { $0.deadLetterId == csvReceipt["deadLetterId"] as? String }
        #expect(csvLetter.flatMap { Data(base64Encoded: $0.original.base64) } == large)
        // Two messages refused unread are two dead letters; the next valid message flows.
        let limit = try PartnerFormats.load(directory: Self.partners).formats["politie"]!.maxBytes
        for _ in 0..<2 {
            #expect(try await hub.post(Data(repeating: UInt8(ascii: "<"), count: limit + 10), as: "politie", token: hub.tokens["politie"]).status == 413)
        }
        let ids = try await hub.deadLetters().map(\.deadLetterId)
        #expect(ids.count == 5 && Set(ids).count == 5, "\(ids)")
        #expect(try await hub.post(try Self.file("politie/examples/vt-melding-en-aanhouding.xml"), as: "politie", token: hub.tokens["politie"]).status == 202)
        await hub.stop()
    }

    @Test("a drop directory: files under a temporary name are left alone; a complete file is taken once, with its receipt beside it")
    func dropDirectory() async throws {
        let hub = try await Fixture()
        let inbox = hub.dropDirectories.inbox(of: "3ro")
        let running = Task { try await hub.dropDirectories.run() }
        try await within(10, "inbox created") { while !FileManager.default.fileExists(atPath: inbox.appendingPathComponent("done").path) { try await Task.sleep(for: .milliseconds(20)) } }
        let valid = try Self.file("3ro/examples/advies-traject-overtreding.csv")
        try valid.write(to: inbox.appendingPathComponent("batch-1.csv.part"))
        try Self.file("3ro/invalid/afgebroken.csv").write(to: inbox.appendingPathComponent("batch-0.csv"))
        try await Task.sleep(for: .milliseconds(600))
        #expect(FileManager.default.fileExists(atPath: inbox.appendingPathComponent("batch-1.csv.part").path), "a file being written is not taken")
        try FileManager.default.moveItem(at: inbox.appendingPathComponent("batch-1.csv.part"), to: inbox.appendingPathComponent("batch-1.csv"))
        let receiptFile = inbox.appendingPathComponent("done/batch-1.csv.receipt.json")
        try await within(10, "receipt") { while !FileManager.default.fileExists(atPath: receiptFile.path) { try await Task.sleep(for: .milliseconds(20)) } }
        running.cancel()
        let receipt = try JSONDecoder().decode(Receipt.self, from: Data(contentsOf: receiptFile))
        #expect(receipt.status == .accepted)
        #expect(receipt.events.map(\.id) == ["3RO-2026-110001", "3RO-2026-110002", "3RO-2026-110003"])
        #expect(try Data(contentsOf: inbox.appendingPathComponent("done/batch-1.csv")) == valid)
        let rejected = try JSONDecoder().decode(Receipt.self, from: Data(contentsOf: inbox.appendingPathComponent("rejected/batch-0.csv.receipt.json")))
        #expect(rejected.status == .rejected)
        #expect(rejected.problems.first?.reason == "a quoted field is not closed; a truncated file ends like this")
        #expect(try await hub.canonicalIds() == ["3RO-2026-110001", "3RO-2026-110002", "3RO-2026-110003"])
        #expect(try await hub.deadLetters().map(\.partner) == ["3ro"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: inbox.path).sorted() == [".claimed", "done", "rejected"])
        await hub.stop()
    }

    @Test("a drop directory takes regular files only: a link, a FIFO or an oversized file is refused unopened or unread, and a replaced hub folder stops the inbox (#13)")
    func dropDirectoryHostile() async throws {
        let hub = try await Fixture()
        let inbox = hub.dropDirectories.inbox(of: "3ro")
        for sub in ["", ".claimed", "done", "rejected"] {
            try FileManager.default.createDirectory(at: inbox.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        let secret = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("secret"))
        try Data("regel_id;soort\r\ngeheim;x\r\n".utf8).write(to: secret)
        try FileManager.default.createSymbolicLink(atPath: inbox.appendingPathComponent("a-link.csv").path, withDestinationPath: secret.path)
        #expect(mkfifo(inbox.appendingPathComponent("b-fifo.csv").path, 0o600) == 0)
        let limit = try PartnerFormats.load(directory: Self.partners).formats["3ro"]!.maxBytes
        try Data(repeating: UInt8(ascii: "x"), count: limit + 1).write(to: inbox.appendingPathComponent("c-large.csv"))
        let valid = try Self.file("3ro/examples/advies-traject-overtreding.csv")
        try valid.write(to: inbox.appendingPathComponent("d-valid.csv"))

        let receipts = try await within(20, "the scan, which must not block on the FIFO") { await hub.dropDirectories.scan("3ro") }
        #expect(receipts.map(\.status) == [.rejected, .rejected, .rejected, .accepted])
        #expect(receipts[0].problems.first?.reason == "a-link.csv is a symbolic link, not a regular file; only regular files are taken, and it was not opened")
        #expect(receipts[1].problems.first?.reason == "b-fifo.csv is a FIFO, not a regular file; only regular files are taken, and it was not opened")
        #expect(receipts[2].problems.first?.reason == "the message is \(limit + 1) bytes; messages from 3ro may be at most \(limit) bytes")
        // The link was moved as a link, and what it points at was never read.
        let moved = inbox.appendingPathComponent("rejected/a-link.csv").path
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: moved) == secret.path)
        let letters = try await hub.deadLetters()
        #expect(letters.count == 3 && letters.allSatisfy { $0.original.base64.isEmpty && $0.partner == "3ro" })
        #expect(Set(letters.map(\.deadLetterId)).count == 3)
        #expect(try await hub.canonicalIds() == ["3RO-2026-110001", "3RO-2026-110002", "3RO-2026-110003"])

        // A partner that replaces the hub's done folder by a link stops its inbox; nothing is written through the link.
        let elsewhere = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("elsewhere"))
        try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        try FileManager.default.moveItem(at: inbox.appendingPathComponent("done"), to: inbox.appendingPathComponent("old-done"))
        try FileManager.default.createSymbolicLink(atPath: inbox.appendingPathComponent("done").path, withDestinationPath: elsewhere.path)
        try valid.write(to: inbox.appendingPathComponent("e-valid.csv"))
        #expect(await hub.dropDirectories.scan("3ro").isEmpty)
        #expect(FileManager.default.fileExists(atPath: inbox.appendingPathComponent("e-valid.csv").path), "left where it was")
        #expect(try FileManager.default.contentsOfDirectory(atPath: elsewhere.path).isEmpty)
        // Put right, the inbox is read again.
        try FileManager.default.removeItem(at: inbox.appendingPathComponent("done"))
        try FileManager.default.moveItem(at: inbox.appendingPathComponent("old-done"), to: inbox.appendingPathComponent("done"))
        #expect(await hub.dropDirectories.scan("3ro").map(\.status) == [.accepted])
        await hub.stop()
    }

    @Test("the same message sent twice carries the same event ids, the key on which the router routes it once")
    func resend() async throws {
        let hub = try await Fixture()
        let politie = try Self.file("politie/examples/vt-melding-en-aanhouding.xml")
        let first = try await hub.post(politie, as: "politie", token: hub.tokens["politie"])
        let second = try await hub.post(politie, as: "politie", token: hub.tokens["politie"])
        #expect(first.status == 202 && second.status == 202)
        #expect(try await hub.canonicalIds() == ["BVH-2026-0001", "BVH-2026-0001", "BVH-2026-0002", "BVH-2026-0002"])
        await hub.stop()
    }
}

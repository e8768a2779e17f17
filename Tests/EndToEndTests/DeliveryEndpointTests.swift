import CanonicalEvents
import EmbeddedKafka
import Foundation
import HubTopology
import ChildProcesses
import Hummingbird
import HummingbirdTLS
import Kafka
import KetenhubTestSupport
import Logging
import NIOSSL
import PartnerAdapters
import PartnerGateway
import Testing

/// The delivery worker against a partner endpoint that does not behave: a delivery goes to the
/// recipient's endpoint and nowhere else, and no answer holds the worker up.
@Suite("Delivery worker against a misbehaving endpoint")
struct DeliveryEndpointTests {
    /// Requests as they arrived: the endpoint's by event id (and the `ce-subject` headers it got), the other server's.
    actor Arrivals {
        private(set) var endpoint: [String] = []
        private(set) var subjects: [String] = []
        private(set) var elsewhere: [(path: String, authorization: String?)] = []
        func atEndpoint(_ eventId: String) { endpoint.append(eventId) }
        func subject(_ value: String) { subjects.append(value) }
        func atElsewhere(_ path: String, _ authorization: String?) { elsewhere.append((path, authorization)) }
        func attempts(of eventId: String) -> Int { endpoint.filter { $0 == eventId }.count }
    }

    /// An embedded cluster with `deliveries` on politie's delivery topic, and politie's worker delivering them over `transport`.
    struct Fixture {
        let cluster: EmbeddedCluster
        let topics = HubTopics()
        let worker: Task<Void, any Error>

        init(_ deliveries: [CloudEvent], transport: DeliveryTransport, logger: Logger = testLogger) async throws {
            cluster = try EmbeddedCluster(brokers: 1, logger: testLogger)
            try await cluster.createTopics(topics.specifications(organisations: ["politie"]))
            let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers), logger: testLogger)
            let topic = topics.deliveries("politie")
            try await producer.sendAll(deliveries.map { KafkaProducerMessage(topic: topic, cloudEvent: $0.kafkaRecord()) })
            await producer.shutdown()
            let formats = try PartnerFormats.load(directory: packageRoot.appendingPathComponent("Contracts/partners"))
            let delivering = DeliveryWorker(organisation: "politie", transport: transport,
                                            translator: PartnerTranslator(format: try #require(formats.deliveryFormat(for: "politie"))),
                                            bootstrapServers: cluster.bootstrapServers, topics: topics,
                                            retry: RetryPolicy(initial: .milliseconds(100), maximum: .milliseconds(200)), logger: logger)
            worker = Task { try await delivering.run() }
        }

        /// The delivery statuses written so far.
        @Sendable func statuses() async throws -> [DeliveryStatus] {
            try await TopicReader(bootstrapServers: cluster.bootstrapServers, logger: testLogger).readAll(topics.deliveryStatus)
                .values.flatMap { $0 }.map { try JSONDecoder().decode(DeliveryStatus.self, from: Data($0.value)) }
        }

        /// Waits until there are `count` statuses, stops the worker and the cluster, and returns them.
        func finish(statuses count: Int) async throws -> [DeliveryStatus] {
            let statuses = try await within(60, "\(count) delivery statuses") {
                while true {
                    let statuses = try await self.statuses()
                    if statuses.count >= count { return statuses }
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            await stop()
            return statuses
        }

        func stop() async {
            worker.cancel()
            _ = try? await worker.value
            cluster.shutdown()
        }
    }

    /// A delivery to politie of the example gedragsaanwijzing, as event `number`.
    static func delivery(_ number: Int) throws -> CloudEvent {
        var event = try CloudEvent(structured: JSONValue.parse(Data(contentsOf: packageRoot.appendingPathComponent(
            "Contracts/examples/gedragsaanwijzing/valid/opgelegd.json"))))
        event.id = "ga-\(number)"
        event.decisionid = "dec-\(number)-politie"
        return event
    }

    @Test("a redirect is a refusal, followed nowhere; an answer without end is cut off after the status; a refused credential or a missing endpoint is waited out; a subject's line break is percent-encoded",
          .timeLimit(.minutes(2)))
    func redirectAndEndlessAnswer() async throws {
        var deliveries = try (0..<3).map(Self.delivery)
        deliveries[2].subject = Self.subject
        let arrivals = Arrivals()
        let elsewhereRouter = Router(context: BasicRequestContext.self)
        for method in [HTTPRequest.Method.post, .get] {  // a 303 or a 302 is followed with a GET
            elsewhereRouter.on("{path}", method: method) { request, _ -> Response in
                await arrivals.atElsewhere(request.uri.path, request.headers[.authorization])
                return Response(status: .ok)
            }
        }
        let elsewhere = try await TestServer(elsewhereRouter)
        let endpointRouter = Router(context: BasicRequestContext.self)
        let elsewhereURL = elsewhere.url.appendingPathComponent("collect").absoluteString
        endpointRouter.post("deliveries") { request, _ -> Response in
            let eventId = request.headers.first { $0.name.canonicalName == "ce-id" }?.value ?? ""
            await arrivals.atEndpoint(eventId)
            if let subject = request.headers.first(where: { $0.name.canonicalName == "ce-subject" })?.value { await arrivals.subject(subject) }
            if request.headers.contains(where: { $0.name.canonicalName == "x-injected" }) { await arrivals.subject("x-injected header") }
            switch eventId {
            case "ga-0": return Response(status: .temporaryRedirect, headers: [.location: elsewhereURL])
            case "ga-1":
                // A status, then a body that never ends.
                return Response(status: .ok, body: ResponseBody { writer in
                    while true { try await writer.write(ByteBuffer(repeating: UInt8(ascii: " "), count: 65_536)) }
                })
            default:
                // The hub's credential refused, then the endpoint not there, then taken: the delivery waits meanwhile.
                switch await arrivals.attempts(of: eventId) {
                case 1: return Response(status: .unauthorized)
                case 2: return Response(status: .notFound)
                default: return Response(status: .ok)
                }
            }
        }
        let endpoint = try await TestServer(endpointRouter)

        let target = endpoint.url.appendingPathComponent("deliveries")
        let hub = try await Fixture(deliveries, transport: .http(target, authorization: "Bearer hub-at-politie"))
        let statuses = try await hub.finish(statuses: deliveries.count)
        await endpoint.stop()
        await elsewhere.stop()

        #expect(statuses.map(\.deliveryId) == ["dec-0-politie", "dec-1-politie", "dec-2-politie"])
        #expect(statuses.map(\.outcome) == [.failed, .delivered, .delivered])
        #expect(statuses.first?.detail == "HTTP 307: the endpoint redirects, and a delivery is sent to no other address than its recipient's endpoint")
        #expect(statuses.map(\.attempts) == [1, 1, 3])
        #expect(await arrivals.endpoint == ["ga-0", "ga-1", "ga-2", "ga-2", "ga-2"])
        #expect(await arrivals.elsewhere.isEmpty, "nothing, not the hub's credential either, went to the address the endpoint redirected to")
        // A subject with a line break and a non-ASCII letter: percent-encoded in its header, as the CloudEvents HTTP binding asks.
        // (The example's own subject, on the first two, has nothing to encode.)
        let subjects = await arrivals.subjects
        #expect(subjects == [deliveries[0].subject, deliveries[1].subject] + Array(repeating: "zaak%20B%C3%A9k%0D%0AX-Injected:%20%22ja%22%20100%25", count: 3),
                "\(subjects)")
        #expect(subjects.last?.removingPercentEncoding == Self.subject)
    }

    static let subject = "zaak Bék\r\nX-Injected: \"ja\" 100%"

    /// A partner's certificate authority, made with the openssl command for one test: the partner's
    /// endpoint and the hub's client certificate signed by it, and an impostor's self-signed endpoint.
    struct TestPKI {
        let directory: URL
        func file(_ name: String) -> URL { directory.appendingPathComponent(name) }
        func certificate(_ name: String) throws -> NIOSSLCertificateSource { .certificate(try NIOSSLCertificate(file: file(name).path, format: .pem)) }
        func key(_ name: String) throws -> NIOSSLPrivateKeySource { .privateKey(try NIOSSLPrivateKey(file: file(name).path, format: .pem)) }

        init() async throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("pki"))
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let newKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
            try "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n".write(to: file("endpoint.ext"), atomically: true, encoding: .utf8)
            try "extendedKeyUsage=clientAuth\n".write(to: file("hub.ext"), atomically: true, encoding: .utf8)
            try await Self.openssl(["req", "-x509", "-days", "2"] + newKey + ["-keyout", file("ca.key").path, "-out", file("ca.pem").path, "-subj", "/CN=Partner test CA"])
            for (name, subject) in [("endpoint", "/CN=127.0.0.1"), ("hub", "/CN=ketenhub")] {
                try await Self.openssl(["req"] + newKey + ["-keyout", file("\(name).key").path, "-out", file("\(name).csr").path, "-subj", subject])
                try await Self.openssl(["x509", "-req", "-in", file("\(name).csr").path, "-CA", file("ca.pem").path, "-CAkey", file("ca.key").path,
                                        "-set_serial", name == "hub" ? "3" : "2", "-days", "2", "-extfile", file("\(name).ext").path,
                                        "-out", file("\(name).pem").path])
            }
            try await Self.openssl(["req", "-x509", "-days", "2"] + newKey + ["-keyout", file("impostor.key").path, "-out", file("impostor.pem").path,
                                                           "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"])
        }

        static func openssl(_ arguments: [String]) async throws {
            let run = try ChildProcess(URL(fileURLWithPath: "/usr/bin/openssl"), arguments, errors: .pipe)
            let status = await run.exitStatus()
            try #require(status == 0, "openssl \(arguments.first ?? ""): \(String(decoding: run.readErrors(), as: UTF8.self))")
        }
    }

    @Test("over TLS with the partner's own roots and the hub's client certificate, a delivery goes to the endpoint those roots vouch for; an impostor's endpoint gets nothing, and the partner's nothing from a worker without the certificate; a key not the certificate's is refused",
          .timeLimit(.minutes(2)))
    func mutualTLS() async throws {
        let pki = try await TestPKI()
        defer { try? FileManager.default.removeItem(at: pki.directory) }
        let arrivals = Arrivals()
        func endpointRouter(_ server: String) -> Router<BasicRequestContext> {
            let router = Router(context: BasicRequestContext.self)
            router.post("deliveries") { request, _ -> Response in
                await arrivals.atEndpoint("\(server) \(request.headers.first { $0.name.canonicalName == "ce-id" }?.value ?? "")")
                return Response(status: .ok)
            }
            return router
        }
        // The partner's endpoint asks for a client certificate its own CA signed.
        let endpoint = try await TestServer(endpointRouter("partner"), tls: try .tls(tlsConfiguration: .makeServerConfigurationWithMTLS(
            certificateChain: [try pki.certificate("endpoint.pem")], privateKey: try pki.key("endpoint.key"),
            trustRoots: .file(pki.file("ca.pem").path))))
        let impostor = try await TestServer(endpointRouter("impostor"), tls: try .tls(tlsConfiguration: .makeServerConfiguration(
            certificateChain: [try pki.certificate("impostor.pem")], privateKey: try pki.key("impostor.key"))))
        let hubTLS = try DeliveryTLS(trustRoots: pki.file("ca.pem"), certificate: pki.file("hub.pem"), privateKey: pki.file("hub.key"))
        let rootsOnly = try DeliveryTLS(trustRoots: pki.file("ca.pem"), certificate: nil, privateKey: nil)
        // The two workers that must not deliver, each with its failed attempts counted from its warnings.
        let (toImpostorLog, withoutCertificateLog) = (CapturingLogHandler.Records(), CapturingLogHandler.Records())
        func logger(_ records: CapturingLogHandler.Records) -> Logger { Logger(label: "worker") { _ in CapturingLogHandler(records: records, logLevel: .warning) } }

        let toPartner = try await Fixture([try Self.delivery(0)], transport: .http(endpoint.url.appendingPathComponent("deliveries"),
                                                                                   authorization: "Bearer hub-at-politie", tls: hubTLS))
        let toImpostor = try await Fixture([try Self.delivery(1)], transport: .http(impostor.url.appendingPathComponent("deliveries"),
                                                                                    authorization: "Bearer hub-at-politie", tls: hubTLS),
                                           logger: logger(toImpostorLog))
        let withoutCertificate = try await Fixture([try Self.delivery(2)], transport: .http(endpoint.url.appendingPathComponent("deliveries"), tls: rootsOnly),
                                                   logger: logger(withoutCertificateLog))
        let delivered = try await toPartner.finish(statuses: 1)
        // An attempt at the impostor takes AsyncHTTPClient's connect timeout (10 s): it tries to connect again until then.
        try await within(60, "a failed attempt at the impostor, two without the certificate") {
            while toImpostorLog.count(of: "delivery not taken; trying again") < 1 || withoutCertificateLog.count(of: "delivery not taken; trying again") < 2 {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        let undelivered = (try await toImpostor.statuses(), try await withoutCertificate.statuses())
        await toImpostor.stop()
        await withoutCertificate.stop()
        await endpoint.stop()
        await impostor.stop()

        #expect(delivered.map(\.outcome) == [.delivered])
        #expect(delivered.first?.transport == "http \(endpoint.url.absoluteString)/deliveries (TLS trusting \(pki.file("ca.pem").path) as \(pki.file("hub.pem").path))")
        #expect(await arrivals.endpoint == ["partner ga-0"], "nothing reached the impostor, nor the partner from the worker without a certificate")
        #expect(undelivered.0.isEmpty && undelivered.1.isEmpty, "both deliveries wait")
        let impostorDetail = toImpostorLog.all.first?.metadata["detail"]?.description ?? ""
        #expect(impostorDetail.contains("CERTIFICATE_VERIFY_FAILED"), "\(impostorDetail)")
        // Without a certificate the endpoint ends the handshake (TLS 1.3: an alert the worker reads as
        // CERTIFICATE_REQUIRED, or a reset when its request crossed the alert): nothing arrived above.
        print("mutual TLS test: the worker without a certificate was told \(withoutCertificateLog.all.first?.metadata["detail"]?.description ?? "")")

        // A key that is not the certificate's, a certificate without its key, a file that is not PEM: refused, naming the file.
        let mismatch = #expect(throws: DeliveryTLS.Refusal.self) {
            try DeliveryTLS(trustRoots: nil, certificate: pki.file("hub.pem"), privateKey: pki.file("endpoint.key"))
        }
        #expect(mismatch?.setting == .privateKey && mismatch?.description == "\(pki.file("endpoint.key").path) is not the private key of the client certificate \(pki.file("hub.pem").path)")
        let alone = #expect(throws: DeliveryTLS.Refusal.self) { try DeliveryTLS(trustRoots: nil, certificate: pki.file("hub.pem"), privateKey: nil) }
        #expect(alone?.setting == .privateKey)
        let notPEM = #expect(throws: DeliveryTLS.Refusal.self) { try DeliveryTLS(trustRoots: pki.file("hub.ext"), certificate: nil, privateKey: nil) }
        #expect(notPEM?.setting == .trustRoots && notPEM?.description == "\(pki.file("hub.ext").path): the trusted root file holds no PEM certificate")
        let keyAsRoots = #expect(throws: DeliveryTLS.Refusal.self) { try DeliveryTLS(trustRoots: pki.file("ca.key"), certificate: nil, privateKey: nil) }
        #expect(keyAsRoots.map { !$0.description.contains("PRIVATE KEY") } == true, "a key given as roots is not quoted back")
    }

    @Test("an outbox replaced by a link gets nothing written through it; the delivery waits, and goes once the outbox is a directory again",
          .timeLimit(.minutes(2)))
    func outboxReplacedByALink() async throws {
        // The partner's folder: its outbox a link to another partner's folder.
        let files = FileManager.default
        let work = files.temporaryDirectory.appendingPathComponent(uniqueName("outbox"))
        let (outbox, elsewhere) = (work.appendingPathComponent("politie/outbox"), work.appendingPathComponent("om/inbox"))
        try files.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        try files.createDirectory(at: outbox.deletingLastPathComponent(), withIntermediateDirectories: true)
        try files.createSymbolicLink(at: outbox, withDestinationURL: elsewhere)
        // The worker's attempts that did not deliver, counted from its warnings.
        let logged = CapturingLogHandler.Records()
        let hub = try await Fixture([try Self.delivery(0)], transport: .directory(outbox),
                                    logger: Logger(label: "worker") { _ in CapturingLogHandler(records: logged, logLevel: .warning) })
        try await within(60, "three attempts through the link") {
            while logged.count(of: "delivery not taken; trying again") < 3 { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(try files.contentsOfDirectory(atPath: elsewhere.path) == [], "nothing written through the link")
        #expect(try await hub.statuses().isEmpty, "the delivery waits")
        // The partner's outbox is a directory again: the delivery goes there.
        try files.removeItem(at: outbox)
        try files.createDirectory(at: outbox, withIntermediateDirectories: false)
        let done = try #require(try await hub.finish(statuses: 1).first)
        #expect(done.outcome == .delivered && done.attempts > 3, "\(done)")
        #expect(try files.contentsOfDirectory(atPath: outbox.path).map { $0.hasSuffix(".ce.json") ? "ce" : "body" }.sorted() == ["body", "ce"])
        #expect(try files.contentsOfDirectory(atPath: elsewhere.path) == [])
        try? files.removeItem(at: work)
    }
}

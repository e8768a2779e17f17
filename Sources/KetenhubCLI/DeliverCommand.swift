import ArgumentParser
import Foundation
import Logging
import PartnerAdapters
import PartnerGateway

/// `ketenhub deliver`: one organisation's delivery worker as its own process, as a hub node runs
/// it: reads the organisation's delivery topic in order and delivers each record over the partner's
/// transport, retrying for as long as it takes; a restarted worker goes on from its committed offsets
/// and the delivery-status topic.
struct DeliverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deliver",
        abstract: "Deliver one organisation's deliveries to its endpoint or outbox until SIGTERM."
    )

    @Option(help: "The Kafka bootstrap servers.")
    var bootstrap: String

    @Option(help: "The receiving organisation, for example politie or vt-utrecht.")
    var organisation: String

    @Option(help: "The partner's HTTP endpoint for deliveries.")
    var endpoint: String?

    @Option(help: "PEM file of the roots the endpoint's certificate must chain to (instead of the system's).")
    var trustRoots: String?

    @Option(help: "PEM file of the hub's client certificate, for an endpoint that asks for one (mutual TLS).")
    var certificate: String?

    @Option(help: "PEM file of the client certificate's private key.")
    var privateKey: String?

    @Option(help: "The partner's outbox directory, instead of an endpoint.")
    var outbox: String?

    @Option(help: "The partner formats directory.")
    var formats: String = AdapterCommand.defaultDirectory

    @Option(help: "The first wait between attempts, in milliseconds; it doubles up to five minutes.")
    var retryMs = 1_000

    func validate() throws {
        guard (endpoint == nil) != (outbox == nil) else { throw ValidationError("give either --endpoint URL or --outbox DIR") }
        if outbox != nil, trustRoots != nil || certificate != nil || privateKey != nil {
            throw ValidationError("--trust-roots, --certificate and --private-key are for an --endpoint")
        }
    }

    func run() async throws {
        let logger = commandLogger("ketenhub.deliver", level: .warning)
        let formats = try PartnerFormats.load(directory: URL(fileURLWithPath: formats))
        guard let format = formats.deliveryFormat(for: organisation) else { throw ValidationError("no partner format serves \(organisation)") }
        let transport: DeliveryTransport
        if let endpoint {
            guard let url = URL(string: endpoint) else { throw ValidationError("not a URL: \(endpoint)") }
            let files = [trustRoots, certificate, privateKey].map { $0.map { URL(fileURLWithPath: $0) } }
            if files.contains(where: { $0 != nil }), url.scheme != "https" { throw ValidationError("TLS settings need an https --endpoint") }
            do {
                transport = .http(url, tls: files.allSatisfy { $0 == nil } ? nil : try DeliveryTLS(trustRoots: files[0], certificate: files[1], privateKey: files[2]))
            } catch let refusal as DeliveryTLS.Refusal {
                throw ValidationError(refusal.setting.map { "--\($0.optionName): \(refusal)" } ?? "\(refusal)")
            }
        } else {
            transport = .directory(URL(fileURLWithPath: outbox!))
        }
        let worker = DeliveryWorker(organisation: organisation, transport: transport, translator: PartnerTranslator(format: format),
                                    bootstrapServers: bootstrap, retry: RetryPolicy(initial: .milliseconds(retryMs), maximum: .seconds(300)),
                                    logger: logger)
        let signals = TerminationSignals()
        let running = Task { try await worker.run() }
        printNow("delivering to \(organisation) over \(transport)")
        _ = await signals.next()
        running.cancel()
        try? await running.value
    }
}

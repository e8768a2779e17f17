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

    @Option(help: "The partner's outbox directory, instead of an endpoint.")
    var outbox: String?

    @Option(help: "The partner formats directory.")
    var formats: String = AdapterCommand.defaultDirectory

    @Option(help: "The first wait between attempts, in milliseconds; it doubles up to five minutes.")
    var retryMs = 1_000

    func validate() throws {
        guard (endpoint == nil) != (outbox == nil) else { throw ValidationError("give either --endpoint URL or --outbox DIR") }
    }

    func run() async throws {
        let logger = commandLogger("ketenhub.deliver", level: .warning)
        let formats = try PartnerFormats.load(directory: URL(fileURLWithPath: formats))
        guard let format = formats.deliveryFormat(for: organisation) else { throw ValidationError("no partner format serves \(organisation)") }
        let transport: DeliveryTransport
        if let endpoint {
            guard let url = URL(string: endpoint) else { throw ValidationError("not a URL: \(endpoint)") }
            transport = .http(url)
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

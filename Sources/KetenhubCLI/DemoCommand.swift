import ArgumentParser
import CanonicalEvents
import Foundation
import HubStore
import KetenhubDemo
import Logging

/// `ketenhub demo`: the whole hub on the embedded cluster: partner adapters over HTTP and drop
/// directories, the routing service with the shipped sharing matrix, delivery to every partner with
/// acknowledgements, and simulated partner back-offices feeding made-up cases.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run Ketenhub with simulated partners on the embedded cluster (until Ctrl-C, or --exit-when-done)."
    )

    @Option(help: "Made-up chain cases the simulated partners send.")
    var cases = 20

    @Option(help: "The seed of the made-up cases: the same seed, the same cases.")
    var seed: UInt64 = 7

    @Option(help: "The hub's HTTP port (partners' endpoints); 0 picks a free one.")
    var httpPort = 8080

    @Flag(help: "Feed the cases in, wait until every delivery is acknowledged, and print the counts as one JSON object on the last line.")
    var exitWhenDone = false

    @Option(help: "Write the demo's partner tokens (JSON, by organisation) to this file, for `ketenhub simulate --credentials`.")
    var credentialsFile: String?

    @Option(help: "Also accept the tokens of this credentials file (`ketenhub credentials add`), read again within seconds when it changes.")
    var credentialsStore: String?

    @Option(help: "Keep the delivery ledger in this SQLite file (default: in memory).")
    var ledger: String?

    @Option(help: "The sharing matrix directory.")
    var matrix: String = MatrixCommand.defaultDirectory

    @Option(help: "The partner formats directory.")
    var formats: String = AdapterCommand.defaultDirectory

    func run() async throws {
        let logger = commandLogger("ketenhub.demo", level: .critical)
        var settings = DemoHub.Settings()
        settings.cases = cases
        settings.seed = seed
        settings.httpPort = httpPort
        settings.matrixDirectory = URL(fileURLWithPath: matrix)
        settings.formatsDirectory = URL(fileURLWithPath: formats)
        settings.store = .sqlite(path: ledger)
        settings.credentialStore = credentialsStore
        settings.ownsProcess = !exitWhenDone
        let ledgerPath = ledger
        let hub = DemoHub(settings: settings, logger: logger)
        let quiet = exitWhenDone
        let credentialsFile = credentialsFile
        let caseCount = cases
        let announce: @Sendable (URL, [String: String], String) async -> Void = { address, tokens, kafka in
            if let credentialsFile {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                try? encoder.encode(tokens).write(to: URL(fileURLWithPath: credentialsFile), options: .atomic)
            }
            guard !quiet else { return }
            printNow("Ketenhub \(Ketenhub.version) demo: the hub with simulated partners on the embedded cluster")
            printNow("(librdkafka's in-memory mock cluster, not for production; production runs on Apache Kafka)")
            printNow("embedded cluster: \(kafka)")
            printNow("console:  \(address.absoluteString)/  (sign in with a token below: each role sees its own pages)")
            printNow("partner endpoints: \(address.absoluteString)/partners/{organisation}/messages")
            printNow("metrics (Prometheus):  curl -s \(address.absoluteString)/metrics")
            printNow("operator API:  curl -s -H 'Authorization: Bearer \(tokens["operator"] ?? "")' '\(address.absoluteString)/api/deliveries?state=acknowledged'")
            printNow("demo credentials (bearer tokens) by role:")
            for role in ["operator", "operator-2", "privacy-officer", "privacy-officer-2", "admin"] { printNow("  \(role): \(tokens[role] ?? "")") }
            printNow("partners (one token per organisation), for example:")
            for organisation in ["politie", "politie-amsterdam", "om-amsterdam", "vt-amsterdam-amstelland", "shn", "3ro"] {
                printNow("  \(organisation): \(tokens[organisation] ?? "")")
            }
            printNow("send a message yourself:")
            printNow("  curl -s -H 'Authorization: Bearer \(tokens["politie"] ?? "")' --data-binary @Contracts/partners/politie/examples/vt-melding-en-aanhouding.xml \(address.absoluteString)/partners/politie/messages")
            if let credentialsFile {
                printNow("more cases from the simulated partners:  swift run ketenhub simulate --cases 5 --seed 8 --hub \(address.absoluteString) --credentials \(credentialsFile)")
            }
            if let ledgerPath {
                printNow("the delivery ledger:  sqlite3 \(ledgerPath) 'SELECT organisation, COUNT(*) FROM deliveries GROUP BY organisation'")
            }
            printNow("try a file without sending it:  swift run ketenhub adapter translate --partner om Contracts/partners/om/examples/zsm-en-gedragsaanwijzing.xml")
            printNow(caseCount > 0 ? "\(caseCount) simulated cases are being sent; Ctrl-C stops the demo."
                                   : "no simulated case is sent; Ctrl-C stops the demo.")
        }
        if exitWhenDone {
            guard let report = try await hub.run(exitWhenDone: true, running: announce) else { throw ExitCode(1) }
            printNow(String(decoding: report.json.encoded(), as: UTF8.self))
            return
        }
        let running = hub.runningParts
        let watchdog = StopWatchdog(limit: .seconds(30)) { running.current }
        _ = try await hub.run(exitWhenDone: false, running: announce, progress: { printNow($0) })
        watchdog.disarm()
        printNow("demo stopped")
    }
}

import ArgumentParser
import CanonicalEvents
import Foundation
import SharingPolicy
import Logging
import PartnerAdapters
import PartnerSimulation

/// `ketenhub simulate`: the simulated partners on their own: seeded case timelines in each partner's
/// native format, written to a directory (for partners' developers and for tests), or sent to a
/// running hub with the partners' credentials (as `ketenhub demo --credentials-file` writes them).
struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Generate made-up case timelines in each partner's native format; write them out or send them to a hub.",
        discussion: "The whole loop, with back-offices that take the deliveries and acknowledge them, runs in `ketenhub demo`."
    )

    @Option(help: "Made-up chain cases.")
    var cases = 10

    @Option(help: "The seed: the same seed, the same cases.")
    var seed: UInt64 = 7

    @Option(help: "Write each native message to DIR/<organisation>/ instead of sending it.")
    var out: String?

    @Option(help: "The hub's address, for example http://127.0.0.1:8080.")
    var hub: String?

    @Option(help: "A JSON file of the partners' bearer tokens by organisation (ketenhub demo --credentials-file).")
    var credentials: String?

    @Option(help: "The hub's drop-directory root, for the partners that deliver files (3ro).")
    var inbox: String?

    @Option(help: "The partner formats directory.")
    var formats: String = AdapterCommand.defaultDirectory

    @Option(help: "The sharing matrix directory: its registry decides each case's regional partners.")
    var matrix: String = MatrixCommand.defaultDirectory

    func validate() throws {
        guard (out == nil) != (hub == nil) else { throw ValidationError("give either --out DIR or --hub URL") }
        if hub != nil, credentials == nil { throw ValidationError("--hub needs --credentials FILE") }
    }

    func run() async throws {
        let formats = try PartnerFormats.load(directory: URL(fileURLWithPath: formats))
        let registry = try MatrixLoader.loadValid(directory: URL(fileURLWithPath: matrix)).organisations
        let facts = CaseTimelines(seed: seed, registry: registry).facts(cases: cases)
        if let out {
            for (index, (fact, message)) in try PartnerSimulator.messages(facts, formats: formats).enumerated() {
                let folder = URL(fileURLWithPath: out).appendingPathComponent(fact.organisation)
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                let syntax = formats.format(for: fact.organisation)!.syntax.rawValue
                try Data(message.utf8).write(to: folder.appendingPathComponent(String(format: "%05d-", index + 1) + fact.event.id + "." + syntax))
            }
            printNow("\(facts.count) messages of \(cases) cases written to \(out)/<organisation>/")
            return
        }
        guard let hub, let hubURL = URL(string: hub), let credentials else { return }
        let tokens = try JSONDecoder().decode([String: String].self, from: Data(contentsOf: URL(fileURLWithPath: credentials)))
        var transports: [String: PartnerSimulator.Transport] = [:]
        if let inbox {
            for format in formats.formats.values where format.syntax == .csv {
                for organisation in format.organisations where !organisation.hasSuffix("*") { transports[organisation] = .directory(URL(fileURLWithPath: inbox)) }
            }
        }
        let logger = commandLogger("ketenhub.simulate", level: .warning)
        let outcome = try await PartnerSimulator(formats: formats, hub: hubURL, tokens: tokens, transports: transports, logger: logger).send(facts)
        printNow("sent \(outcome.messages) messages: \(outcome.accepted) accepted (\(outcome.acceptedEvents) events), \(outcome.rejected) refused")
        if outcome.accepted + outcome.rejected < outcome.messages { throw ExitCode(1) }
    }
}

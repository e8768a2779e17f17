import ArgumentParser
import CanonicalEvents
import Foundation
import PartnerAdapters

/// `ketenhub adapter ...`: for a partner's developers testing their exports and imports.
struct AdapterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "adapter",
        abstract: "Translate a partner's native message to canonical events, or canonical events to its native format.",
        subcommands: [Translate.self, Render.self]
    )

    static let defaultDirectory = "Contracts/partners"

    struct Options: ParsableArguments {
        @Option(help: "The partner: politie, om, vt (or a vt-<region> organisation), 3ro, rvdk or shn.")
        var partner: String

        @Option(help: "The directory of the partner formats.")
        var formats: String = AdapterCommand.defaultDirectory

        /// The partner's own format; for `delivery`, the one it receives deliveries in.
        func translator(delivery: Bool = false) throws -> PartnerTranslator {
            let formats = try PartnerFormats.load(directory: URL(fileURLWithPath: formats))
            guard let format = delivery ? formats.deliveryFormat(for: partner) : formats.format(for: partner) else {
                throw ValidationError("no partner format serves '\(partner)'; known: \(formats.formats.keys.sorted().joined(separator: ", "))")
            }
            return PartnerTranslator(format: format)
        }
    }

    struct Translate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the canonical events (structured JSON) a native message yields, or every problem with its place; non-zero exit on any problem.")

        @OptionGroup var options: Options

        @Argument(help: "The native message file.")
        var file: String

        func run() async throws {
            let translator = try options.translator()
            guard let bytes = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
            // A vt-<region> given as partner is the sender; a format name leaves it to the message.
            let sender = options.partner == translator.format.partner ? nil : options.partner
            do {
                let events = try translator.translate(Array(bytes), from: sender)
                let array = JSONValue.array(events.map(\.structured))
                printNow(String(decoding: array.encoded(pretty: true), as: UTF8.self))
            } catch {
                for problem in error.problems { printError("\(file): \(problem)") }
                printError("\(file): refused, \(error.problems.count) problem\(error.problems.count == 1 ? "" : "s")")
                throw ExitCode(1)
            }
        }
    }

    struct Render: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print canonical events (a structured CloudEvents JSON object or array) as the partner's native message: as the hub delivers them, or, for events of a kind the partner sends, as it sends them.")

        @OptionGroup var options: Options

        @Argument(help: "A canonical event file, or a JSON array of events.")
        var file: String

        func run() async throws {
            guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
            let value = try JSONValue.parse(data)
            let events = try (value.arrayValue ?? [value]).map { try CloudEvent(structured: $0) }
            // The partner's own facts (a developer checking an export) as it sends them; anything
            // else as the hub delivers it, with the tables of the format the partner receives in.
            let sending = try options.translator()
            let producers = Set(events.compactMap(\.producer))
            let own = producers.count == 1 && producers.allSatisfy(sending.format.serves)
            let translator = own ? sending : try options.translator(delivery: true)
            do {
                print(try translator.render(events, sender: own ? producers.first! : "hub"), terminator: "")
            } catch {
                for problem in error.problems { printError("\(file): \(problem)") }
                throw ExitCode(1)
            }
        }
    }
}

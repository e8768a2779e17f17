import ArgumentParser
import CanonicalEvents
import Foundation
import HubTopology
import Router
import SharingPolicy

/// `ketenhub matrix ...`: the privacy officer's tools for the sharing matrix.
struct MatrixCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "matrix",
        abstract: "Check, try out and compare versions of the sharing matrix.",
        subcommands: [Lint.self, Test.self, Simulate.self, Diff.self, Replay.self]
    )

    static let defaultDirectory = "Contracts/matrix"

    struct Lint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a matrix directory; one line per problem (file:line: rule: message), non-zero exit on any.")

        @Argument(help: "The matrix directory.")
        var directory: String = MatrixCommand.defaultDirectory

        func run() async throws {
            let bundle = try MatrixBundle(directory: URL(fileURLWithPath: directory))
            let findings = try MatrixLoader.lint(bundle)
            for finding in findings { printNow("\(directory)/\(finding)") }
            if !findings.isEmpty {
                printError("\(findings.count) problem\(findings.count == 1 ? "" : "s") in \(directory)")
                throw ExitCode(1)
            }
            let matrix = try MatrixLoader.load(bundle).matrix
            printNow("\(directory): matrix \(matrix.version) is valid: \(matrix.baseline.count) baseline rules, "
                     + "\(matrix.regional.values.map(\.count).reduce(0, +)) regional rules, \(matrix.legalBases.count) legal bases, "
                     + "\(matrix.organisations.organisations.count) organisations")
        }
    }

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the matrix's invariants and run its scenarios (invariants.yaml, scenarios/*.yaml).",
            discussion: "One line per invariant and scenario that holds; for each that does not, the rule that breaks it (file:line: rule: message). Non-zero exit on any.")

        @Argument(help: "The matrix directory.")
        var directory: String = MatrixCommand.defaultDirectory

        func run() async throws {
            let loaded = try MatrixLoader.load(MatrixBundle(directory: URL(fileURLWithPath: directory)))
            let matrix = loaded.matrix
            // Findings of reading the invariants and scenarios themselves count too.
            let unreadable = loaded.findings.filter {
                $0.location.file == MatrixLoader.invariantsFile || $0.location.file.hasPrefix(MatrixLoader.scenariosDirectory + "/")
            }
            let findings = unreadable + matrix.checkInvariantsAndScenarios()
            for invariant in matrix.invariants where !findings.contains(where: { $0.message.contains("invariant \(invariant.id) ") }) {
                let excepted = invariant.exceptions.keys.sorted()
                printNow("invariant \(invariant.id): holds" + (excepted.isEmpty ? "" : " (excepted: \(excepted.joined(separator: ", ")))"))
            }
            for scenario in matrix.scenarios where !findings.contains(where: { $0.message.hasPrefix("scenario \(scenario.id):") }) {
                printNow("scenario \(scenario.id): as expected")
            }
            for finding in findings { printNow("\(directory)/\(finding)") }
            if !findings.isEmpty {
                printError("\(findings.count) problem\(findings.count == 1 ? "" : "s") in \(directory)")
                throw ExitCode(1)
            }
            printNow("\(matrix.invariants.count) invariants hold, \(matrix.scenarios.count) scenarios as expected")
        }
    }

    struct Simulate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show who would receive an event, under which rule and legal basis, and which fields.")

        @Option(help: "A canonical event file (structured CloudEvents JSON).")
        var event: String

        @Option(help: "An informatiewens or toestemming event file giving consent (repeatable).")
        var consent: [String] = []

        @Option(help: "The matrix directory.")
        var matrix: String = MatrixCommand.defaultDirectory

        @Flag(help: "Print the decisions as JSON.")
        var json = false

        func run() async throws {
            let evaluator = PolicyEvaluator(matrix: try MatrixLoader.loadValid(directory: URL(fileURLWithPath: matrix)))
            let consents = try consent.map { file in
                guard let record = ConsentRecord(try readEvent(file)) else {
                    throw ValidationError("\(file) is not an informatiewens or toestemming event")
                }
                return record
            }
            let report = SimulationReport(simulating: try readEvent(event), consents: consents, with: evaluator)
            if json {
                printNow(String(decoding: try prettyJSON(report), as: UTF8.self))
                return
            }
            printNow("\(report.type) \(report.event) (matrix \(report.matrixVersion))")
            for decision in report.decisions {
                if decision.outcome == .permit {
                    printNow("  \(decision.recipient): permit by \(decision.ruleId!) (legal basis \(decision.legalBasis!), purpose \(decision.purpose!), disclosure \(decision.disclosure!.rawValue))")
                    printNow("      fields: \(decision.fields.joined(separator: ", "))")
                } else {
                    printNow("  \(decision.recipient): \(decision.outcome.rawValue): \(decision.reason ?? "")")
                }
                for considered in decision.considered where !considered.applied {
                    printNow("      \(considered.ruleId) did not apply: \(considered.reason ?? "")")
                }
            }
        }
    }
}

/// Reads a structured canonical event, refusing one that does not meet its contract.
func readEvent(_ path: String) throws -> CloudEvent {
    guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
    let problems = ContractCatalogue.embedded.validate(json: data)
    guard problems.isEmpty else {
        throw ValidationError("\(path) is not a valid canonical event:\n" + problems.map { "  \($0)" }.joined(separator: "\n"))
    }
    return try CloudEvent(structured: JSONValue.parse(data))
}

func prettyJSON(_ value: some Encodable) throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return try encoder.encode(value)
}

extension MatrixCommand {
    struct Diff: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List, per event type and recipient, what a new matrix version changes.")

        @Argument(help: "The current matrix directory.")
        var old: String

        @Argument(help: "The proposed matrix directory.")
        var new: String

        func run() async throws {
            let before = try MatrixLoader.loadValid(directory: URL(fileURLWithPath: old))
            let after = try MatrixLoader.loadValid(directory: URL(fileURLWithPath: new))
            let changes = MatrixDiff.compare(before, after)
            printNow("\(before.version) → \(after.version): \(changes.count) change\(changes.count == 1 ? "" : "s")")
            for change in changes { printNow("  \(change)") }
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-evaluate recorded decisions against a proposed matrix and list every decision that would change.",
            discussion: """
                With --bootstrap, the events and the recorded decisions are read from the hub's topics. With --events, \
                the given event files are replayed and the decisions the current matrix makes stand for the recorded ones.
                """)

        @Option(help: "The proposed matrix directory.")
        var matrix: String

        @Option(help: "Bootstrap servers of the hub's Kafka cluster.")
        var bootstrap: String?

        @Option(parsing: .upToNextOption, help: "Canonical event files, in the order they were routed.")
        var events: [String] = []

        @Option(help: "The current matrix directory (with --events).")
        var current: String = MatrixCommand.defaultDirectory

        func run() async throws {
            let proposed = PolicyEvaluator(matrix: try MatrixLoader.loadValid(directory: URL(fileURLWithPath: matrix)))
            let recorded = if let bootstrap {
                try await RecordedDecisions.read(bootstrapServers: bootstrap)
            } else {
                try Self.recordedByCurrentMatrix(events, current)
            }
            let changes = recorded.replay(with: proposed)
            printNow("\(recorded.outcomes.values.map(\.count).reduce(0, +)) recorded decisions on \(recorded.events.count) events; \(changes.count) would change under \(proposed.matrix.version)")
            for change in changes { printNow("  \(change)") }
        }

        static func recordedByCurrentMatrix(_ files: [String], _ current: String) throws -> RecordedDecisions {
            guard !files.isEmpty else { throw ValidationError("give --bootstrap or --events") }
            let events = try files.map(readEvent)
            let evaluator = PolicyEvaluator(matrix: try MatrixLoader.loadValid(directory: URL(fileURLWithPath: current)))
            var state = RoutingState()
            var recorded: [String: [String: DecisionReplay.Outcome]] = [:]
            for event in events {
                guard let step = state.route(event, with: evaluator) else { continue }
                for decision in step.decisions { recorded[CaseState.routingKey(of: event), default: [:]][decision.recipient] = DecisionReplay.Outcome(decision) }
            }
            return RecordedDecisions(events: events, outcomes: recorded)
        }
    }
}

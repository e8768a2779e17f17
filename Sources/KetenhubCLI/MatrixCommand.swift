import ArgumentParser
import CanonicalEvents
import Foundation
import SharingPolicy

/// `ketenhub matrix ...`: the privacy officer's tools for the sharing matrix.
struct MatrixCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "matrix",
        abstract: "Check, try out and compare versions of the sharing matrix.",
        subcommands: [Lint.self, Simulate.self, Diff.self, Replay.self]
    )

    static let defaultDirectory = "Contracts/matrix"

    struct Lint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a matrix directory; one line per problem (file:line: rule: message), non-zero exit on any.")

        @Argument(help: "The matrix directory.")
        var directory: String = MatrixCommand.defaultDirectory

        func run() async throws {
            let loaded = try MatrixLoader.load(directory: URL(fileURLWithPath: directory))
            let findings = (loaded.findings + MatrixLinter().lint(loaded.matrix)).sorted()
            for finding in findings { printNow("\(directory)/\(finding)") }
            if !findings.isEmpty {
                printError("\(findings.count) problem\(findings.count == 1 ? "" : "s") in \(directory)")
                throw ExitCode(1)
            }
            let matrix = loaded.matrix
            printNow("\(directory): matrix \(matrix.version) is valid: \(matrix.baseline.count) baseline rules, "
                     + "\(matrix.regional.values.map(\.count).reduce(0, +)) regional rules, \(matrix.legalBases.count) legal bases, "
                     + "\(matrix.organisations.organisations.count) organisations")
        }
    }

    struct Simulate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show who would receive an event, under which rule and legal basis, and which fields.")

        @Option(help: "A canonical event file (structured CloudEvents JSON).")
        var event: String

        @Option(help: "An informatiewens event file giving a victim's consent (repeatable).")
        var consent: [String] = []

        @Option(help: "The matrix directory.")
        var matrix: String = MatrixCommand.defaultDirectory

        @Flag(help: "Print the decisions as JSON.")
        var json = false

        func run() async throws {
            let evaluator = PolicyEvaluator(matrix: try MatrixLoader.loadValid(directory: URL(fileURLWithPath: matrix)))
            let canonical = try readEvent(event)
            var consentState = ConsentState()
            for file in consent {
                guard let record = ConsentRecord(try readEvent(file)) else {
                    throw ValidationError("\(file) is not an informatiewens event")
                }
                consentState.record(record)
            }
            var caseState = CaseState(caseId: canonical.ketencaseid)
            caseState.absorb(canonical, organisations: evaluator.matrix.organisations)
            if let record = ConsentRecord(canonical) { consentState.record(record) }
            let decisions = evaluator.evaluate(canonical, case: caseState, consent: consentState)
            if json {
                let report = SimulationReport(event: canonical.id, type: canonical.type, matrixVersion: evaluator.matrix.version, decisions: decisions)
                printNow(String(decoding: try prettyJSON(report), as: UTF8.self))
                return
            }
            printNow("\(canonical.type) \(canonical.id) (matrix \(evaluator.matrix.version))")
            for decision in decisions {
                if decision.outcome == .permit {
                    printNow("  \(decision.recipient): permit by \(decision.ruleId!) (legal basis \(decision.legalBasis!), purpose \(decision.purpose!), disclosure \(decision.disclosure!.rawValue))")
                    printNow("      fields: \(decision.fields.joined(separator: ", "))")
                } else {
                    printNow("  \(decision.recipient): deny: \(decision.reason ?? "")")
                }
                for considered in decision.considered where !considered.applied {
                    printNow("      \(considered.ruleId) did not apply: \(considered.reason ?? "")")
                }
            }
        }
    }
}

struct SimulationReport: Codable {
    var event: String
    var type: String
    var matrixVersion: String
    var decisions: [Decision]
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
        static let configuration = CommandConfiguration(abstract: "placeholder")
        func run() async throws {}
    }
    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "placeholder")
        func run() async throws {}
    }
}

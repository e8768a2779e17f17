import ArgumentParser
import CanonicalEvents
import Foundation

struct ContractsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contracts",
        abstract: "Work with the canonical event contracts.",
        subcommands: [Validate.self]
    )

    struct Validate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate canonical event files (structured CloudEvents JSON).",
            discussion: "Prints one line per problem: file, JSON Pointer, reason. Exits 0 when every file is valid."
        )

        @Argument(help: "Event files to validate.")
        var files: [String]

        @Option(help: "Validate against the schemas in this directory instead of the ones built in.")
        var contracts: String?

        func run() async throws {
            let catalogue = try contracts.map { try ContractCatalogue(directory: URL(fileURLWithPath: $0)) } ?? .embedded
            var invalid = 0
            for file in files {
                let problems: [ValidationProblem]
                if let data = FileManager.default.contents(atPath: file) {
                    problems = catalogue.validate(json: data)
                } else {
                    problems = [ValidationProblem(pointer: .root, reason: "cannot read the file")]
                }
                if !problems.isEmpty { invalid += 1 }
                for problem in problems {
                    printNow("\(file): \(problem)")
                }
            }
            if invalid > 0 {
                printError("\(invalid) of \(files.count) file\(files.count == 1 ? "" : "s") invalid")
                throw ExitCode(1)
            }
        }
    }
}

func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

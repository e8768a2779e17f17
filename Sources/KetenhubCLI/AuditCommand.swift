import ArgumentParser
import Foundation
import HubTopology
import Router

/// `ketenhub audit verify`: the decision records' hash chains, checked by whoever relies on them.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Check the routing decisions' audit trail.",
        subcommands: [Verify.self]
    )

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify every audit chain on the audit topic.",
            discussion: """
                Prints, per chain (audit partition), the decisions verified, and exits 0 when every chain is intact. \
                Otherwise prints the first problem of each broken chain (a record missing, out of place, altered, or \
                recorded twice with different content) and exits 1. Records removed from a chain's end cannot be seen \
                from the topic alone.
                """
        )

        @Option(help: "Bootstrap servers of the hub's Kafka cluster.")
        var bootstrap: String

        @Option(help: "The audit topic.")
        var topic = HubTopics().audit

        func run() async throws {
            let report = try await AuditChainVerifier.verify(topic: topic, bootstrapServers: bootstrap)
            var firstProblems: [Int32: AuditChainVerifier.Problem] = [:]
            for problem in report.problems where firstProblems[problem.partition] == nil { firstProblems[problem.partition] = problem }
            for (partition, count) in report.verified.sorted(by: { $0.key < $1.key }) {
                if let problem = firstProblems[partition] {
                    printNow("\(problem)")
                } else {
                    printNow("audit partition \(partition): \(count) decision\(count == 1 ? "" : "s") verified")
                }
            }
            let total = report.verified.values.reduce(0, +)
            if firstProblems.isEmpty {
                printNow("\(total) decisions verified in \(report.verified.count) chain\(report.verified.count == 1 ? "" : "s")")
            } else {
                printError("\(firstProblems.count) of \(report.verified.count) chains broken")
                throw ExitCode(1)
            }
        }
    }
}

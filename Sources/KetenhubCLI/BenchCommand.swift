import ArgumentParser
import Foundation
import KetenhubBench
import Logging

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the hub on the embedded cluster; each benchmark prints one JSON object on its last line.",
        subcommands: [KafkaBench.self]
    )
}

struct KafkaBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kafka",
        abstract: "Raw produce (idempotent, acks=all) and consume throughput of 300-byte records."
    )

    @Flag(help: "Print only the JSON result line.")
    var json = false

    @Option(help: "Records to produce and consume.")
    var messages = 200_000

    @Option(help: "Partitions of the benchmark topic (default: enough that none holds more than ~2.5 MB).")
    var partitions: Int32?

    func run() async throws {
        var logger = Logger(label: "ketenhub.bench")
        logger.logLevel = .warning
        let benchmark = KafkaThroughputBenchmark(messages: messages, partitions: partitions)
        let result = try await benchmark.run(logger: logger)
        if !json {
            print("produced \(result.messages) records of \(result.record_bytes) bytes: \(Int(result.produce_msgs_per_s)) msgs/s")
            print("consumed \(result.messages) records: \(Int(result.consume_msgs_per_s)) msgs/s")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        print(String(decoding: try encoder.encode(result), as: UTF8.self))
    }
}

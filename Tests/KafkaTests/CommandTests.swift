import Foundation
import Testing

/// The `ketenhub` command as a user runs it.
@Suite("ketenhub command")
struct CommandTests {
    @Test("--version prints the version")
    func version() throws {
        let (status, output) = try Self.run(["--version"])
        #expect(status == 0)
        #expect(output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ".").count == 3)
    }

    @Test("bench kafka --json ends with one JSON object carrying both rates, every record consumed once")
    func benchKafka() throws {
        let (status, output) = try Self.run(["bench", "kafka", "--json", "--messages", "3000"])
        #expect(status == 0)
        let lastLine = try #require(output.split(separator: "\n").last)
        let result = try #require(try JSONSerialization.jsonObject(with: Data(lastLine.utf8)) as? [String: Any])
        #expect(result["messages"] as? Int == 3000)
        #expect(result["record_bytes"] as? Int == 300)
        #expect((result["produce_msgs_per_s"] as? Double ?? 0) > 0)
        #expect((result["consume_msgs_per_s"] as? Double ?? 0) > 0)
    }

    static func run(_ arguments: [String]) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = try InteropTests.ketenhubBinary()
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

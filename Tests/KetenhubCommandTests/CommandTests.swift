import Foundation
import KetenhubTestSupport
import Testing

/// The `ketenhub` command as a user runs it.
@Suite("ketenhub command")
struct CommandTests {
    @Test("--version prints the version")
    func version() throws {
        let (status, output, _) = try runKetenhub(["--version"])
        #expect(status == 0)
        #expect(output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ".").count == 3)
    }

    @Test("bench kafka --json ends with one JSON object carrying both rates, every record consumed once")
    func benchKafka() throws {
        let (status, output, _) = try runKetenhub(["bench", "kafka", "--json", "--messages", "3000"])
        #expect(status == 0)
        let lastLine = try #require(output.split(separator: "\n").last)
        let result = try #require(try JSONSerialization.jsonObject(with: Data(lastLine.utf8)) as? [String: Any])
        #expect(result["messages"] as? Int == 3000)
        #expect(result["record_bytes"] as? Int == 300)
        #expect((result["produce_msgs_per_s"] as? Double ?? 0) > 0)
        #expect((result["consume_msgs_per_s"] as? Double ?? 0) > 0)
    }
}

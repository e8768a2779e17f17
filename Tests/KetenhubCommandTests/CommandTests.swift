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

    @Test("demo --exit-when-done ends with one JSON object: accepted, rejected, permits, denies, deliveries and acks by organisation")
    func demo() throws {
        let (status, output, errors) = try runKetenhub(["demo", "--cases", "3", "--seed", "7", "--exit-when-done", "--http-port", "0"])
        #expect(status == 0, "\(errors)")
        let lastLine = try #require(output.split(separator: "\n").last)
        let result = try #require(try JSONSerialization.jsonObject(with: Data(lastLine.utf8)) as? [String: Any])
        for key in ["accepted", "rejected", "permits", "denies"] { #expect(result[key] is Int, "\(key)") }
        let deliveries = try #require(result["deliveries"] as? [String: Int])
        let acks = try #require(result["acks"] as? [String: Int])
        #expect(deliveries == acks, "every delivery acknowledged")
        #expect(deliveries.values.reduce(0, +) == result["permits"] as? Int)
        #expect(Set(deliveries.keys).isSuperset(of: ["politie", "om", "shn"]))
        #expect((result["accepted"] as? Int ?? 0) > 30)
        #expect((result["rejected"] as? Int ?? 0) > 0)
    }
}

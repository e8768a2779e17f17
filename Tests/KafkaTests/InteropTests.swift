import ChildProcesses
import Foundation
import Kafka
import KetenhubTestSupport
import Testing

/// `ketenhub broker` as a separate process, `kcat` (another librdkafka program) producing to it,
/// our consumer reading: the embedded cluster is a real Kafka endpoint on loopback.
@Suite("Interoperability with other Kafka clients")
struct InteropTests {
    @Test("kcat produces to `ketenhub broker`, the Swift consumer reads exactly those records")
    func kcatToSwift() async throws {
        let binary = try ketenhubBinary()
        let kcat = try #require(which("kcat"), "kcat is not installed (make test installs it)")
        let portFile = FileManager.default.temporaryDirectory.appendingPathComponent("\(uniqueName("broker")).port")
        let broker = try ChildProcess(binary, ["broker", "--brokers", "3", "--port-file", portFile.path, "--topic", "partner-export:3"])
        defer { if broker.isRunning { broker.send(SIGTERM) } }

        let bootstrap = try await within(30, "the port file") {
            while true {
                if let text = try? String(contentsOf: portFile, encoding: .utf8), let line = text.split(separator: "\n").first {
                    return String(line)
                }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        #expect(bootstrap.split(separator: ",").count == 3)

        // kcat: key and value split at ':', one record per line, two headers on each.
        let lines = (0..<12).map { "case-\($0 % 4):melding-\($0)" }
        let producer = try ChildProcess(kcat, ["-P", "-b", bootstrap, "-t", "partner-export", "-K", ":",
                                               "-H", "ce_source=politie", "-H", "ce_type=nl.ketenhub.melding.v1"],
                                        input: Data((lines.joined(separator: "\n") + "\n").utf8))
        #expect(await producer.exitStatus() == 0)

        var configuration = KafkaConsumerConfiguration(bootstrapServers: bootstrap, groupID: uniqueName("interop"))
        configuration.isolationLevel = .readCommitted
        let consumer = try KafkaConsumer(configuration: configuration, logger: testLogger)
        try consumer.subscribe(topics: ["partner-export"])
        let received = try await collect(consumer, count: lines.count)
        let extra = try await drain(consumer, seconds: 1)
        await consumer.close()

        #expect(extra.isEmpty)
        #expect(received.map { "\($0.keyString ?? ""):\($0.valueString)" }.sorted() == lines.sorted())
        for record in received {
            #expect(record.headers == [KafkaHeader(key: "ce_source", string: "politie"),
                                       KafkaHeader(key: "ce_type", string: "nl.ketenhub.melding.v1")])
        }

        // SIGTERM stops the broker cleanly and takes its port file away.
        broker.send(SIGTERM)
        #expect(await broker.exitStatus() == 0, "the broker ends cleanly on SIGTERM")
        #expect(!FileManager.default.fileExists(atPath: portFile.path))
    }
}

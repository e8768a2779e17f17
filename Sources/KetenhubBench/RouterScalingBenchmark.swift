import CanonicalEvents
import ChildProcesses
import EmbeddedKafka
import Foundation
import HubTopology
import Kafka
import Logging
import Router
import SharingPolicy

/// What routing for long costs a router: the time to take a partition over by the length of its
/// history, and the resident memory of a router process by the events it routed. On the embedded
/// cluster, whose partitions keep only their newest ~5 MB: the long history stays under that (about
/// 3,000 decision records), and the memory runs publish in rounds that the router routes before
/// the next, so that nothing it has to read is dropped first.
struct RouterScalingBenchmark {
    var matrix: SharingMatrix
    var logger: Logger

    /// The same twelve cases in partition 0, through their facts `rounds` times, routed; then a new
    /// router takes the partitions over, three times: the median milliseconds from assignment to
    /// routing for partition 0, and the records it read back.
    func takeOver(rounds: Int) async throws -> (milliseconds: Double, recordsRead: Int, decisions: Int) {
        let cluster = try EmbeddedCluster(brokers: 3, logger: logger)
        defer { cluster.shutdown() }
        let topics = HubTopics()
        try await cluster.createTopics(topics.specifications(organisations: matrix.organisations.organisations.map(\.code)))
        let cases = SyntheticCases(seed: 7)
        let events = (1...rounds).flatMap { round in (1...12).flatMap { cases.events(case: $0, round: round) } }
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers), logger: logger)
        try await producer.sendAll(events.map { KafkaProducerMessage(topic: topics.canonical, partition: 0, cloudEvent: $0.kafkaRecord()) })
        await producer.shutdown()
        var configuration = RouterConfiguration(bootstrapServers: cluster.bootstrapServers)
        configuration.batchSize = 50
        configuration.fetchMaxWaitMilliseconds = EmbeddedCluster.fetchMaxWaitMilliseconds
        let first = RoutingService(configuration: configuration, matrix: matrix, logger: logger)
        let routing = Task { try await first.run() }
        while first.committedRecords < events.count { try await Task.sleep(for: .milliseconds(20)) }
        routing.cancel()
        try await routing.value
        var times: [Double] = []
        var read = 0
        for _ in 0..<3 {
            let next = RoutingService(configuration: configuration, matrix: matrix, logger: logger)
            let running = Task { try await next.run() }
            while next.currentPhase != .running { try await Task.sleep(for: .milliseconds(5)) }
            times.append(next.takeOverMilliseconds[0] ?? 0)
            read = next.recordsReadAtTakeOver[0] ?? 0
            running.cancel()
            try await running.value
        }
        let reader = TopicReader(bootstrapServers: cluster.bootstrapServers, logger: logger)
        let decisions = try await reader.read(topics.audit, from: [0: KafkaOffset.beginning]).count
        return (times.sorted()[1], read, decisions)
    }

    /// A router process (this executable's `route`) routing rounds of events of the same 1,000
    /// cases, each round's facts 10 days after the last, with a 30-day deduplication horizon: its
    /// resident memory (VmRSS) once it has routed each of `marks` events.
    func residentMemory(marks: [Int]) async throws -> [Int: Double] {
        let cluster = try EmbeddedCluster(brokers: 3, logger: logger)
        defer { cluster.shutdown() }
        let topics = HubTopics()
        try await cluster.createTopics(topics.specifications(organisations: matrix.organisations.organisations.map(\.code)))
        // Its log is kept while it runs and quoted if it ends early.
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("ketenhub-bench-router-\(getpid()).log")
        try? FileManager.default.removeItem(at: log)
        defer { try? FileManager.default.removeItem(at: log) }
        let router = try ChildProcess(URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath(),
                                      ["route", "--bootstrap", cluster.bootstrapServers, "--dedup-horizon-days", "30", "--group", "bench-memory"],
                                      output: .file(log), errors: .sameAsOutput)
        do {
            let resident = try await residentMemory(of: router, log: log, marks: marks, cluster: cluster, topics: topics)
            await Self.stop(router)
            return resident
        } catch {
            await Self.stop(router)
            throw error
        }
    }

    private func residentMemory(of router: ChildProcess, log: URL, marks: [Int], cluster: EmbeddedCluster, topics: HubTopics) async throws -> [Int: Double] {
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers), logger: logger)
        var progressConfiguration = KafkaConsumerConfiguration(bootstrapServers: cluster.bootstrapServers, groupID: "bench-memory")
        progressConfiguration.client.clientID = "bench-memory-progress"
        let progress = try KafkaConsumer(configuration: progressConfiguration, logger: logger)
        let partitions = (0..<topics.partitions).map { KafkaTopicPartition(topic: topics.canonical, partition: $0) }
        let cases = SyntheticCases(seed: 11)
        var published = 0
        var round = 1
        var resident: [Int: Double] = [:]
        for mark in marks.sorted() {
            while published < mark {
                let events = (1...1_000).flatMap { cases.events(case: $0, round: round) }
                round += 1
                try await producer.sendAll(events.map { KafkaProducerMessage(topic: topics.canonical, cloudEvent: $0.kafkaRecord()) })
                published += events.count
                // The router routes the round before the next is published: the embedded cluster keeps
                // only a partition's newest ~5 MB, and one round is ~1 MB per partition.
                let deadline = ContinuousClock.now + .seconds(300)
                while try await progress.committedOffsets(partitions).values.compactMap({ $0 }).reduce(0, +) < Int64(published) {
                    guard router.isRunning else {
                        let tail = ((try? String(contentsOf: log, encoding: .utf8)) ?? "").split(separator: "\n").suffix(20).joined(separator: "\n")
                        throw KafkaError(kind: .client, reason: "the router process ended (status \(await router.exitStatus())) before it routed \(published) events; its log ends:\n\(tail)")
                    }
                    guard ContinuousClock.now < deadline else {
                        throw KafkaError(kind: .client, reason: "the router process did not route \(published) events in 300 s")
                    }
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            resident[mark] = Self.residentMegabytes(of: router.pid)
        }
        await producer.shutdown()
        await progress.close()
        return resident
    }

    /// Stops the router process: SIGTERM, and SIGKILL if it still runs after 10 s.
    private static func stop(_ router: ChildProcess) async {
        router.send(SIGTERM)
        let deadline = ContinuousClock.now + .seconds(10)
        while router.isRunning {
            if ContinuousClock.now > deadline { router.send(SIGKILL) }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }

    /// VmRSS of a process, in MB (Linux).
    static func residentMegabytes(of pid: Int32) -> Double {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
        return (kilobytes / 1024 * 10).rounded() / 10
    }
}

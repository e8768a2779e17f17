import CanonicalEvents
import ChildProcesses
import EmbeddedKafka
import Foundation
import HubTopology
import Kafka
import KetenhubTestSupport
import Router
import Synchronization
import Testing

/// The routing service as a separate process, killed with SIGKILL over and over while it routes.
/// One test at a time: each keeps both cores busy.
@Suite("Router crash recovery", .serialized)
struct CrashTests {
    typealias F = RouterFixtures

    /// A case's timeline, in the order the partners would publish it.
    static let timeline = [
        "vt-melding/melding-met-kind", "melding/aangifte-belaging", "sash-screening/herziening-hoog", "aanhouding/na-overtreding",
        "veiligheidsbeoordeling/acuut-onveilig", "reclasseringsadvies/vroeghulp", "zsm-beslissing/vasthouden-voorgeleiding",
        "informatiewens/gegeven", "gedragsaanwijzing/opgelegd", "overtreding-voorwaarde/gebiedsverbod-politie",
        "schorsing/met-enkelband", "traject/toezicht-gestart", "vonnis/veroordeling-met-voorwaarden",
        "invrijheidstelling/einde-detentie", "contactpersoon/casusregisseur", "informatiewens/ingetrokken", "invrijheidstelling/verlof",
    ]

    /// A router node; the group waits 4 s for a killed one before it hands its partitions on. (Not less
    /// than the embedded cluster's 3 s wait for a new group's first members: a member waiting to join
    /// sends no heartbeat, and one whose session ends meanwhile is dropped, and joins again, forever.)
    static func startRouter(_ bootstrap: String, log: URL) throws -> ChildProcess {
        try ChildProcess(try ketenhubBinary(), ["route", "--bootstrap", bootstrap, "--batch-size", "100", "--linger-ms", "20", "--session-timeout-ms", "4000",
                                                "--matrix", packageRoot.appendingPathComponent("Contracts/matrix").path],
                         output: .file(log), errors: .sameAsOutput)
    }

    @Test("killed 20 times while routing thousands of events: every delivery exactly once, every decision recorded once, the chain intact",
          .timeLimit(.minutes(9)))
    func sigkillWhileRouting() async throws {
        let cluster = try await F.cluster()
        defer { cluster.shutdown() }
        let cases = 180
        var events: [CloudEvent] = []
        for number in 1...cases {
            events += Self.timeline.enumerated().map { F.event($0.element, case: number, sequence: $0.offset) }
        }
        // Some events are published twice, as a partner's retry would.
        let retried = stride(from: 0, to: events.count, by: 37).map { events[$0] }
        let all = events + retried
        #expect(all.count > 3_000)

        let log = FileManager.default.temporaryDirectory.appendingPathComponent("\(uniqueName("router")).log")
        let publishing = Task {
            // ~230 s of input: as long as twenty rounds of starting, routing and being killed take.
            for chunk in stride(from: 0, to: all.count, by: 30) {
                try await F.publish(Array(all[chunk..<min(chunk + 30, all.count)]), to: cluster)
                try await Task.sleep(for: .milliseconds(2_300))
            }
        }

        // Progress is read from the audit partitions' ends, not their records.
        let progress = try F.AuditProgress(bootstrap: cluster.bootstrapServers, partitions: F.topics.partitions)
        var killsWhileRouting = 0
        var decisionsAtKill: [Int] = []
        for round in 0..<20 {
            let before = try await progress.end()
            let router = try Self.startRouter(cluster.bootstrapServers, log: log)
            // Killed once it routes, a moment later: mid-batch. Starting takes a while and longer on a
            // loaded machine (the embedded cluster elects the group's oldest member leader, the killed
            // predecessor until its 4 s session is over, then rebalances, ~3 s, and the router reads its
            // state back), so a fixed time killed some before they routed. With nothing left to route
            // (publishing over), it is killed after 20 s all the same.
            let deadline = ContinuousClock.now + .seconds(20)
            while try await progress.end() <= before, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(200)) }
            try await Task.sleep(for: .milliseconds(Int.random(in: 300...2_500)))
            router.send(SIGKILL)
            #expect(await router.exitStatus() == 128 + SIGKILL, "round \(round)")
            let recorded = try await F.auditRecords(cluster).values.map(\.count).reduce(0, +)
            if recorded > (decisionsAtKill.last ?? 0) { killsWhileRouting += 1 }
            decisionsAtKill.append(recorded)
        }
        try await publishing.value
        await progress.close()

        let reader = TopicReader(bootstrapServers: cluster.bootstrapServers, logger: F.logger)
        let expected = F.expected(from: try await reader.readAll(F.topics.canonical))
        let survivor = try Self.startRouter(cluster.bootstrapServers, log: log)
        defer { if survivor.isRunning { survivor.send(SIGTERM) } }
        try await within(180, "the last router finishing (log: \(log.path))") {
            while Set(try await F.auditRecords(cluster).values.flatMap { $0 }.map(\.decisionId)).count < expected.decisions.count {
                try await Task.sleep(for: .milliseconds(500))
            }
        }
        survivor.send(SIGTERM)
        await survivor.exitStatus()

        #expect(killsWhileRouting >= 15, "kills that interrupted routing: \(decisionsAtKill)")
        let redeliveries = try await F.expectRoutedExactlyOnce(expected, bootstrap: cluster.bootstrapServers).redeliveries
        print("crash test: \(all.count) events, \(expected.decisions.count) decisions, \(expected.deliveries.values.map(\.count).reduce(0, +)) deliveries, \(redeliveries) redeliveries deduplicated, decisions at each kill \(decisionsAtKill)")
    }

    /// Several router nodes on a cluster of their own (`ketenhub broker`), killed one after another while
    /// they share the partitions, one more joining and leaving. The topics get 24 partitions: the
    /// embedded cluster keeps only a partition's newest ~5 MB, and 10,000 events make some 50,000
    /// decision records (~70 MB) that must all stay readable for the check.
    @Test("three router processes on `ketenhub broker` killed 15 times or more while routing 10,000 events, a fourth joining and leaving: every delivery once, every decision recorded once under the matrix in force, every chain verified by `ketenhub audit verify` (#19)",
          .timeLimit(.minutes(12)))
    func routersSharingPartitionsKilled() async throws {
        let binary = try ketenhubBinary()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("routers"))
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let portFile = directory.appendingPathComponent("broker.port")
        let broker = try ChildProcess(binary, ["broker", "--hub-topics", "--partitions", "24", "--port-file", portFile.path],
                                      output: .file(directory.appendingPathComponent("broker.log")), errors: .sameAsOutput)
        defer { if broker.isRunning { broker.send(SIGTERM); broker.wait() } }
        let bootstrap = try await within(30, "the broker's port file") {
            while true {
                if let text = try? String(contentsOf: portFile, encoding: .utf8), let line = text.split(separator: "\n").first { return String(line) }
                try await Task.sleep(for: .milliseconds(50))
            }
        }

        var events: [CloudEvent] = []
        for number in 1...560 {
            events += Self.timeline.enumerated().map { F.event($0.element, case: number, sequence: $0.offset) }
        }
        let retried = stride(from: 0, to: events.count, by: 19).map { events[$0] }  // a partner's retries
        let all = events + retried
        #expect(all.count >= 10_000)
        let published = PublishedFlag()
        let publishing = Task {
            for chunk in stride(from: 0, to: all.count, by: 100) {
                try await F.publish(Array(all[chunk..<min(chunk + 100, all.count)]), bootstrap: bootstrap)
                try await Task.sleep(for: .milliseconds(2_000))
            }
            published.done.store(true, ordering: .sequentiallyConsistent)
        }

        // Progress is read from the audit topic's end offsets: cheap enough to ask at every kill.
        let progress = try F.AuditProgress(bootstrap: bootstrap, partitions: 24)

        func startRouter(_ slot: Int) throws -> ChildProcess {
            try ChildProcess(binary, ["route", "--bootstrap", bootstrap, "--batch-size", "100", "--linger-ms", "20", "--session-timeout-ms", "4000",
                                      "--matrix", packageRoot.appendingPathComponent("Contracts/matrix").path],
                             output: .file(directory.appendingPathComponent("router-\(slot).log")), errors: .sameAsOutput)
        }
        var routers = try (0..<3).map(startRouter)
        var fourth: ChildProcess?
        var kills = 0
        var killsWhileRouting = 0
        var endAtKill: [Int64] = [try await progress.end()]
        // A kill every 11-14 s. After each, the whole group stands still for some 7-10 s on the embedded
        // cluster: the restarted node's join starts a rebalance, whose leader is the oldest member, the
        // killed one until its 4 s session is over; then every node drains, rejoins, takes its
        // partitions over again (eager protocol) and routes.
        while kills < 40 && (killsWhileRouting < 15 || !published.done.load(ordering: .sequentiallyConsistent)) {
            try await Task.sleep(for: .milliseconds(Int.random(in: 11_000...14_000)))
            let slot = kills % 3
            routers[slot].send(SIGKILL)
            #expect(await routers[slot].exitStatus() == 128 + SIGKILL)
            kills += 1
            let end = try await progress.end()
            if end > endAtKill.last! { killsWhileRouting += 1 }
            endAtKill.append(end)
            routers[slot] = try startRouter(slot)
            if kills == 5 { fourth = try startRouter(3) }
            if kills == 10, let joined = fourth {
                joined.send(SIGTERM)  // leaves the group: its partitions are drained and handed on
                #expect(await joined.exitStatus() == 0, "the fourth router leaves cleanly")
                fourth = nil
            }
        }
        try await publishing.value
        await progress.close()

        let reader = TopicReader(bootstrapServers: bootstrap, logger: F.logger)
        let expected = F.expected(from: try await reader.readAll(F.topics.canonical))
        try await within(240, "the routers finishing (logs: \(directory.path))") {
            while Set(try await F.auditRecords(bootstrap: bootstrap).values.flatMap { $0 }.map(\.decisionId)).count < expected.decisions.count {
                try await Task.sleep(for: .seconds(1))
            }
        }
        for router in routers { router.send(SIGTERM) }
        for router in routers { #expect(await router.exitStatus() == 0, "a router stops cleanly on SIGTERM") }

        #expect(kills >= 15 && killsWhileRouting >= 15, "kills \(kills), of which while routing \(killsWhileRouting): audit ends \(endAtKill)")
        let (audit, redeliveries) = try await F.expectRoutedExactlyOnce(expected, bootstrap: bootstrap)
        #expect(audit.values.joined().allSatisfy { $0.matrixVersion == F.matrix.version }, "every decision under the matrix in force")
        let verified = try await runKetenhub(["audit", "verify", "--bootstrap", bootstrap])
        #expect(verified.status == 0, "\(verified.output)\(verified.errors)")
        #expect(verified.output.hasSuffix("\(expected.decisions.count) decisions verified in \(audit.count) chains\n"), "\(verified.output.suffix(200))")
        print("routers sharing partitions, killed: \(all.count) events, \(expected.decisions.count) decisions, \(expected.deliveries.values.map(\.count).reduce(0, +)) deliveries, \(redeliveries) redeliveries deduplicated, \(kills) kills (\(killsWhileRouting) while routing), audit ends at each kill \(endAtKill)")
    }
}

/// Whether the test's publisher has sent everything.
private final class PublishedFlag: Sendable {
    let done = Atomic(false)
}

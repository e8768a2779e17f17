import CanonicalEvents
import EmbeddedKafka
import Foundation
import HubTopology
import Kafka
import KetenhubTestSupport
import Router
import Testing

/// The routing service as a separate process, killed with SIGKILL over and over while it routes.
@Suite("Router crash recovery")
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

    static func startRouter(_ bootstrap: String, log: URL) throws -> ChildProcess {
        try ChildProcess(try ketenhubBinary(), ["route", "--bootstrap", bootstrap, "--batch-size", "100", "--linger-ms", "20", "--session-timeout-ms", "2000",
                                                "--matrix", packageRoot.appendingPathComponent("Contracts/matrix").path],
                         output: .file(log), errors: .sameAsOutput)
    }

    @Test("killed 20 times while routing thousands of events: every delivery exactly once, every decision recorded once, the chain intact",
          .timeLimit(.minutes(5)))
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
            for chunk in stride(from: 0, to: all.count, by: 40) {
                try await F.publish(Array(all[chunk..<min(chunk + 40, all.count)]), to: cluster)
                try await Task.sleep(for: .milliseconds(600))
            }
        }

        var killsWhileRouting = 0
        var decisionsAtKill: [Int] = []
        var idleRounds = 0  // rounds in a row whose router recorded nothing before it was killed
        for round in 0..<20 {
            let router = try Self.startRouter(cluster.bootstrapServers, log: log)
            // Long enough to start (load state, open the transaction) and route some batches, short enough to die mid-way;
            // on a loaded machine a router that got nowhere is given a second longer next time.
            try await Task.sleep(for: .milliseconds(Int.random(in: 1_800...3_500) + 1_000 * idleRounds))
            router.send(SIGKILL)
            #expect(router.wait() == 128 + SIGKILL, "round \(round)")
            let recorded = try await F.auditRecords(cluster).values.map(\.count).reduce(0, +)
            if recorded > (decisionsAtKill.last ?? 0) {
                killsWhileRouting += 1
                idleRounds = 0
            } else {
                idleRounds += 1
            }
            decisionsAtKill.append(recorded)
        }
        try await publishing.value

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
        survivor.wait()

        #expect(killsWhileRouting >= 15, "kills that interrupted routing: \(decisionsAtKill)")
        let delivered = try await F.delivered(cluster)
        #expect(Set(delivered.keys) == Set(expected.deliveries.keys))
        for (organisation, keys) in expected.deliveries {
            #expect(delivered[organisation]?.unique == keys, "\(organisation): missing \(keys.subtracting(delivered[organisation]?.unique ?? []).count)")
            #expect(delivered[organisation]?.conflicting == 0, "\(organisation): a redelivery differs from the first delivery")
        }
        let audit = try await F.auditRecords(cluster)
        let recorded = audit.values.flatMap { $0 }
        #expect(Set(recorded.map(\.decisionId)) == expected.decisions)
        #expect(recorded.count == expected.decisions.count, "every decision recorded exactly once")
        for (partition, records) in audit { #expect(AuditChainVerifier.verify(partition: partition, records) == []) }
        let redeliveries = delivered.values.map { $0.raw - $0.unique.count }.reduce(0, +)
        print("crash test: \(all.count) events, \(expected.decisions.count) decisions, \(expected.deliveries.values.map(\.count).reduce(0, +)) deliveries, \(redeliveries) redeliveries deduplicated, decisions at each kill \(decisionsAtKill)")
    }
}

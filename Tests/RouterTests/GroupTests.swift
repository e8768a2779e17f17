import CanonicalEvents
import EmbeddedKafka
import Foundation
import HubTopology
import Kafka
import KetenhubTestSupport
import Router
import Synchronization
import Testing

/// Several routing services in one consumer group, joining and leaving while events arrive.
@Suite("Routers sharing the partitions")
struct GroupTests {
    typealias F = RouterFixtures

    @Test("routers join and leave while routing: each partition has one router at a time, every delivery arrives (once after deduplication by id), every decision is recorded once, every chain verifies",
          .timeLimit(.minutes(4)))
    func handOver() async throws {
        let cluster = try await F.cluster()
        defer { cluster.shutdown() }
        // Input keeps arriving until the last hand-over is over, whatever a rebalance costs on a busy
        // machine: a fixed stretch of input could end before a late joiner has any to route.
        let published = Mutex<[CloudEvent]>([])
        let lastHandOverDone = Atomic(false)
        let publishing = Task {
            var casesPublished = 0
            while !lastHandOverDone.load(ordering: .relaxed) || casesPublished < 60 {
                let chunk = ((casesPublished + 1)...(casesPublished + 2)).flatMap { number in
                    CrashTests.timeline.enumerated().map { F.event($0.element, case: number, sequence: $0.offset) }
                }
                casesPublished += 2
                try await F.publish(chunk, to: cluster)
                published.withLock { $0 += chunk }
                try await Task.sleep(for: .milliseconds(700))
            }
        }
        let configuration = RoutingServiceTests.configuration(cluster)
        let routers = (0..<4).map { _ in RoutingService(configuration: configuration, matrix: F.matrix, logger: F.logger) }
        var running: [Task<Void, any Error>?] = Array(repeating: nil, count: 4)
        // Every 20 ms: which router routes which partition. No partition may be routed by two at once.
        let overlaps = Mutex<[String]>([])
        let spread = Mutex(0)  // samples in which three routers had partitions
        let watching = Task {
            while !Task.isCancelled {
                let owned = routers.map(\.routedPartitions)
                let all = owned.flatMap { $0 }
                if Set(all).count != all.count { overlaps.withLock { $0.append("\(owned)") } }
                if owned.filter({ !$0.isEmpty }).count >= 3 { spread.withLock { $0 += 1 } }
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        /// Waits until exactly these routers route partitions (every partition routed).
        func settled(_ indices: Set<Int>) async throws {
            try await within(30, "routers \(indices.sorted()) sharing the partitions") {
                while Set(routers.indices.filter { !routers[$0].routedPartitions.isEmpty }) != indices
                        || routers.map(\.routedPartitions.count).reduce(0, +) != Int(F.topics.partitions) {
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
        }
        /// Waits until each of these routers has committed input it read in this phase.
        func routingInput(_ indices: Set<Int>) async throws {
            let before = routers.map(\.committedRecords)
            try await within(60, "routers \(indices.sorted()) committing new input") {
                while !indices.allSatisfy({ routers[$0].committedRecords > before[$0] }) {
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
        }
        running[0] = Task { try await routers[0].run() }
        running[1] = Task { try await routers[1].run() }
        try await settled([0, 1])
        try await routingInput([0, 1])
        running[2] = Task { try await routers[2].run() }  // joins
        try await settled([0, 1, 2])
        try await routingInput([0, 1, 2])
        running[0]?.cancel()  // leaves
        try await running[0]?.value
        running[3] = Task { try await routers[3].run() }  // joins
        try await settled([1, 2, 3])
        try await routingInput([1, 2, 3])
        running[1]?.cancel()  // leaves
        try await running[1]?.value
        try await settled([2, 3])
        try await routingInput([2, 3])
        lastHandOverDone.store(true, ordering: .relaxed)
        try await publishing.value
        let all = published.withLock { $0 }

        let reader = TopicReader(bootstrapServers: cluster.bootstrapServers, logger: F.logger)
        let expected = F.expected(from: try await reader.readAll(F.topics.canonical))
        try await within(90, "the remaining routers finishing") {
            while Set(try await F.auditRecords(cluster).values.flatMap { $0 }.map(\.decisionId)).count < expected.decisions.count {
                try await Task.sleep(for: .milliseconds(300))
            }
        }
        for task in running.compactMap({ $0 }) { task.cancel() }
        for task in running.compactMap({ $0 }) { try await task.value }
        watching.cancel()

        #expect(overlaps.withLock { $0 } == [], "a partition routed by two routers at once")
        #expect(spread.withLock { $0 } > 0, "three routers shared the partitions at some moment")
        #expect(routers.allSatisfy { $0.committedRecords > 0 }, "each router routed some input: \(routers.map(\.committedRecords))")
        // A hand-over on the embedded cluster may read the last batches again (it refuses offset
        // commits while the group rebalances): their decisions are recorded once, their deliveries
        // are the same records again, which receivers deduplicate by id.
        #expect(routers.map(\.committedRecords).reduce(0, +) >= all.count, "every input record committed: \(routers.map(\.committedRecords))")
        let redeliveries = try await F.expectRoutedExactlyOnce(expected, bootstrap: cluster.bootstrapServers).redeliveries
        print("routers sharing partitions: \(all.count) events, input records committed per router \(routers.map(\.committedRecords)), \(redeliveries) redeliveries deduplicated")
    }
}

import Foundation
import Testing
@testable import Kafka
@testable import Router

@Suite("Hand-over from the routing loop to the committer")
struct HandoverTests {
    @Test("batches are taken in the order put; a second put waits until the first is taken")
    func order() async throws {
        let handover = Handover<Int>()
        #expect(await handover.put(1))
        let second = Task { await handover.put(2) }
        // The second batch cannot be placed while the first is there: its put is still waiting.
        try await Task.sleep(for: .milliseconds(50))
        #expect(await handover.take() == 1)
        #expect(await second.value)
        #expect(await handover.take() == 2)
        handover.close()
        #expect(await handover.take() == nil, "nothing more was put")
    }

    @Test("a waiting taker gets the next batch put")
    func waitingTaker() async throws {
        let handover = Handover<Int>()
        let taking = Task { await handover.take() }
        try await Task.sleep(for: .milliseconds(50))
        #expect(await handover.put(7))
        #expect(await taking.value == 7)
    }

    @Test("closing lets the taker finish what was put, ends a waiting take, and refuses puts; discarding drops what was put")
    func closing() async throws {
        let handover = Handover<Int>()
        #expect(await handover.put(1))
        let refused = Task { await handover.put(2) }
        try await Task.sleep(for: .milliseconds(50))
        handover.close()
        #expect(await refused.value == false)
        #expect(await handover.take() == 1)
        #expect(await handover.take() == nil)
        #expect(await handover.put(3) == false)

        let discarded = Handover<Int>()
        #expect(await discarded.put(1))
        let dropped = Task { await discarded.put(2) }
        try await Task.sleep(for: .milliseconds(50))
        discarded.discard()
        #expect(await dropped.value == false)
        #expect(await discarded.take() == nil, "discarding drops what was put")

        let idle = Handover<Int>()
        let waiting = Task { await idle.take() }
        try await Task.sleep(for: .milliseconds(50))
        idle.close()
        #expect(await waiting.value == nil)
    }

    @Test("a merging hand-over joins batches put while one waits, in order, up to what the merge accepts; then a put waits its turn")
    func merging() async throws {
        let handover = Handover<[Int]>(merging: { waiting, later in
            guard waiting.count + later.count <= 4 else { return false }
            waiting += later
            return true
        })
        #expect(await handover.put([1]))
        #expect(await handover.put([2, 3]), "joined to the waiting batch: the put does not wait")
        #expect(await handover.put([4]))
        let fifth = Task { await handover.put([5, 6]) }
        // Four records wait: the fifth and sixth would make six, so their put waits.
        try await Task.sleep(for: .milliseconds(50))
        #expect(await handover.take() == [1, 2, 3, 4])
        #expect(await fifth.value)
        #expect(await handover.put([7]), "joined to the batch that took the slot")
        #expect(await handover.take() == [5, 6, 7])
        // A batch handed straight to a waiting taker is not held back to be joined.
        let taking = Task { await handover.take() }
        try await Task.sleep(for: .milliseconds(50))
        #expect(await handover.put([8]))
        #expect(await taking.value == [8])
        handover.close()
        #expect(await handover.take() == nil)
    }

    @Test("a partition's batches join in offset order, records with their parse results, up to the limit")
    func parsedBatches() {
        func batch(_ offsets: Range<Int64>) -> ParsedBatch {
            ParsedBatch(messages: offsets.map { KafkaConsumerMessage(topic: "in", partition: 0, offset: $0, key: nil, value: [], headers: [], timestamp: nil, assignmentGeneration: 1) },
                        parsed: offsets.map { .failure(DeadLetterMessage(message: KafkaProducerMessage(topic: "dead", key: Array("\($0)".utf8), value: []))) })
        }
        var waiting = batch(0..<3)
        let joined = waiting.append(batch(3..<5), upTo: 5)
        #expect(joined)
        #expect(waiting.messages.map(\.offset) == [0, 1, 2, 3, 4])
        let keys = waiting.parsed.map { result -> String in
            guard case .failure(let dead) = result else { return "" }
            return String(decoding: dead.message.key ?? [], as: UTF8.self)
        }
        #expect(keys == ["0", "1", "2", "3", "4"], "each record keeps its own parse result")
        let passing = waiting.append(batch(5..<6), upTo: 5)
        #expect(!passing, "a sixth record would pass the limit")
        #expect(waiting.messages.count == 5, "a refused batch is not joined in part")
    }
}

import Foundation
import Testing
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
}

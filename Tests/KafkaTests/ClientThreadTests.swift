import Foundation
@testable import Kafka
import Synchronization
import Testing

/// The bounded wait that keeps a consumer's close from waiting forever on librdkafka.
@Suite("Client thread: a call waited for at most so long")
struct ClientThreadTests {
    @Test("a call that ends in time answers true; one that does not answers false at its deadline, and the thread runs nothing after it")
    func boundedWait() async throws {
        let thread = ClientThread(name: "bounded-wait-test")
        #expect(await thread.run(within: .seconds(10)) {})

        let release = DispatchSemaphore(value: 0)
        let started = ContinuousClock.now
        #expect(await thread.run(within: .milliseconds(300)) { release.wait() } == false)
        // Answered at its deadline, not when the call ends (it cannot end before it is released
        // below); the upper bound is loose because a loaded test run may resume this task late.
        let waited = ContinuousClock.now - started
        #expect(waited >= .milliseconds(300) && waited < .seconds(30))

        // The blocked call still holds the thread: the next one waits behind it until it is released.
        let ran = Mutex(false)
        #expect(await thread.run(within: .milliseconds(200)) { ran.withLock { $0 = true } } == false)
        #expect(ran.withLock { $0 } == false)
        release.signal()
        try await Task.sleep(for: .milliseconds(200))
        #expect(ran.withLock { $0 })
        thread.shutdown()
    }
}

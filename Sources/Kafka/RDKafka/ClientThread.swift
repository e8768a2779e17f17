import Foundation
import Synchronization

/// A thread of its own on which one client's blocking librdkafka calls run, one at a time, so that
/// none of them ever blocks Swift's cooperative thread pool.
final class ClientThread: @unchecked Sendable {
    // Guarded by `condition`.
    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []
    private var stopping = false
    private var finished = false

    init(name: String) {
        let thread = Thread { [self] in self.runLoop() }
        thread.name = name
        thread.start()
    }

    /// Runs `body` on the thread and returns its result to the awaiting task.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let accepted = submit { continuation.resume(with: Result { try body() }) }
            if !accepted {
                continuation.resume(throwing: KafkaError(kind: .state, reason: "the client is shut down"))
            }
        }
    }

    /// Runs `body` on the thread and blocks the calling (non-cooperative) thread until it is done.
    func runAndWait<T: Sendable>(_ body: @escaping @Sendable () -> T) -> T? {
        let done = DispatchSemaphore(value: 0)
        let result = ResultBox<T>()
        guard submit({ result.value = body(); done.signal() }) else { return nil }
        done.wait()
        return result.value
    }

    /// Runs `body` on the thread and waits at most `timeout` for it: true if it finished in time. A
    /// body that does not finish goes on running, and the thread does nothing else after it.
    func run(within timeout: Duration, _ body: @escaping @Sendable () -> Void) async -> Bool {
        let outcome = FirstOutcome()
        return await withCheckedContinuation { continuation in
            outcome.waiting(continuation)
            guard submit({ body(); outcome.resume(true) }) else { return outcome.resume(true) }  // nothing left to run
            outcome.expire(after: timeout)
        }
    }

    @discardableResult
    func submit(_ job: @escaping @Sendable () -> Void) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { return false }
        jobs.append(job)
        condition.signal()
        return true
    }

    /// Lets the jobs already submitted finish, then ends the thread and waits for it.
    func shutdown() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }

    private func runLoop() {
        while true {
            condition.lock()
            while jobs.isEmpty && !stopping { condition.wait() }
            if jobs.isEmpty && stopping {
                finished = true
                condition.broadcast()
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job()
        }
    }
}

/// Runs a blocking call (joining a client's thread, destroying a handle) on a thread of its own and
/// waits for it without holding one of Swift's cooperative threads (one per core: two blocked
/// calls stall every task of the process).
public func onThreadOfItsOwn(_ body: @escaping @Sendable () -> Void) async {
    await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
        Thread {
            body()
            done.resume()
        }.start()
    }
}

private final class ResultBox<T>: @unchecked Sendable {
    var value: T?
}

/// Whichever comes first of a job's end and its deadline resumes the waiting task; the other finds
/// it resumed already. The deadline is a Dispatch timer, not a task sleeping on Swift's cooperative
/// pool: it fires on time however busy (or blocked) the pool's threads are.
private final class FirstOutcome: Sendable {
    private let continuation = Mutex<CheckedContinuation<Bool, Never>?>(nil)

    func waiting(_ continuation: CheckedContinuation<Bool, Never>) {
        self.continuation.withLock { $0 = continuation }
    }

    func expire(after timeout: Duration) {
        let (seconds, attoseconds) = timeout.components
        let nanoseconds = Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)
        DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(nanoseconds)) { [self] in resume(false) }
    }

    func resume(_ finished: Bool) {
        continuation.withLock { continuation in
            defer { continuation = nil }
            return continuation
        }?.resume(returning: finished)
    }
}

import Dispatch
import Foundation

/// SIGINT and SIGTERM as something to await, so a command can shut down cleanly instead of dying.
/// `@unchecked Sendable`: the dispatch sources are only created here and cancelled in `deinit`.
final class TerminationSignals: @unchecked Sendable {
    private let stream: AsyncStream<Int32>
    private let sources: [any DispatchSourceSignal]

    init() {
        let (stream, continuation) = AsyncStream<Int32>.makeStream()
        self.stream = stream
        sources = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)  // the dispatch source takes over from the default action
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { continuation.yield(number) }
            source.resume()
            return source
        }
    }

    deinit { sources.forEach { $0.cancel() } }

    /// Waits for the next termination signal and returns its number.
    func next() async -> Int32 {
        var iterator = stream.makeAsyncIterator()
        return await iterator.next() ?? SIGTERM
    }
}

/// Writes a line to standard output at once, unbuffered, so a process reading it sees it now.
func printNow(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// Bounds a stop: after the first SIGINT or SIGTERM the process has `limit` to end by itself; past
/// it, it says so on standard error, naming the parts still running (`running`), and exits 1, so
/// that a part that does not stop (a client hung in a blocking call) never keeps a node alive
/// unnoticed, and the operator learns which. Signals still go to whoever handles them.
final class StopWatchdog: @unchecked Sendable {
    private let sources: [any DispatchSourceSignal]

    init(limit: Duration, running: @escaping @Sendable () -> [String]) {
        let seconds = Double(limit.components.seconds)
        var sources: [any DispatchSourceSignal] = []
        let box = WatchdogState()
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)  // the dispatch sources take over from the default action
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                guard box.startOnce() else { return }
                DispatchQueue.global().asyncAfter(deadline: .now() + seconds) {
                    guard box.isArmed else { return }
                    let parts = running()
                    let still = parts.isEmpty ? "" : " (still running: \(parts.joined(separator: ", ")))"
                    FileHandle.standardError.write(Data("error: not stopped \(Int(seconds)) s after the signal\(still); exiting\n".utf8))
                    exit(1)
                }
            }
            source.resume()
            sources.append(source)
        }
        self.sources = sources
        self.state = box
    }

    private let state: WatchdogState

    /// The process is ending by itself: the watchdog stands down.
    func disarm() { state.disarm() }

    deinit { sources.forEach { $0.cancel() } }
}

private final class WatchdogState: @unchecked Sendable {
    private let lock = NSLock()
    private var started = false
    private var armed = true

    func startOnce() -> Bool { lock.withLock { defer { started = true }; return !started } }
    var isArmed: Bool { lock.withLock { armed } }
    func disarm() { lock.withLock { armed = false } }
}

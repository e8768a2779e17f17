import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A process the tests and benchmarks start (`ketenhub`, kcat, promtool), through posix_spawn. Not Foundation's
/// `Process`: on Linux its `run()` lists /proc/self/fd and copies each entry's whole name buffer,
/// reading past the end of the directory buffer (AddressSanitizer reports a heap-buffer-overflow in
/// `findMaximumOpenFromProcSelfFD`); in a test process with many sockets that read can fault, and did.
/// Pipes are made close-on-exec, so that no other child inherits them and holds them open.
/// Thread-safe for the one task that owns it. In an async test, wait with `exitStatus()`: `wait()`
/// blocks the calling thread.
public final class ChildProcess: @unchecked Sendable {
    public enum Output {
        /// Kept in a pipe, read with `readOutput()` / `readErrors()`.
        case pipe
        case discard
        /// Appended to a file.
        case file(URL)
        /// Standard error only: where standard output goes.
        case sameAsOutput
    }

    private static let spawning = NSLock()

    public let pid: pid_t
    private let outputFD: Int32?
    private let errorFD: Int32?
    private let lock = NSLock()
    private var status: Int32?

    public init(_ executable: URL, _ arguments: [String], input: Data? = nil, output: Output = .discard, errors: Output = .discard) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var parentEnds: [Int32] = []
        var childEnds: [Int32] = []
        func pipePair() throws -> (read: Int32, write: Int32) {
            var fds: [Int32] = [0, 0]
            guard pipe(&fds) == 0 else { throw ChildProcessError(what: "pipe", code: errno) }
            fds.forEach { _ = fcntl($0, F_SETFD, FD_CLOEXEC) }
            return (fds[0], fds[1])
        }
        // Pipes are made and children spawned one at a time, so that no child is spawned between a
        // pipe's creation and its close-on-exec flag (pipe2 is not in Swift's Glibc module).
        Self.spawning.lock()
        defer { Self.spawning.unlock() }
        var inputWriter: Int32?
        if input != nil {
            let ends = try pipePair()
            posix_spawn_file_actions_adddup2(&actions, ends.read, 0)
            childEnds.append(ends.read)
            inputWriter = ends.write
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        func route(_ output: Output, to fd: Int32) throws -> Int32? {
            switch output {
            case .pipe:
                let ends = try pipePair()
                posix_spawn_file_actions_adddup2(&actions, ends.write, fd)
                childEnds.append(ends.write)
                parentEnds.append(ends.read)
                return ends.read
            case .discard:
                posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", O_WRONLY, 0)
            case .file(let url):
                posix_spawn_file_actions_addopen(&actions, fd, url.path, O_WRONLY | O_APPEND | O_CREAT, 0o644)
            case .sameAsOutput:
                posix_spawn_file_actions_adddup2(&actions, 1, fd)
            }
            return nil
        }
        outputFD = try route(output, to: 1)
        errorFD = try route(errors, to: 2)

        let argv = ([executable.path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable.path, &actions, nil, argv, environ)
        childEnds.forEach { close($0) }
        guard result == 0 else {
            parentEnds.forEach { close($0) }
            if let inputWriter { close(inputWriter) }
            throw ChildProcessError(what: "posix_spawn \(executable.path)", code: result)
        }
        self.pid = pid
        if let inputWriter, let input {
            // Written from a thread of its own, so that a child that reads slowly cannot block the caller.
            Thread {
                input.withUnsafeBytes { bytes in
                    var offset = 0
                    while offset < bytes.count {
                        let written = write(inputWriter, bytes.baseAddress! + offset, bytes.count - offset)
                        if written <= 0 { break }
                        offset += written
                    }
                }
                close(inputWriter)
            }.start()
        }
    }

    /// Standard output, to its end (when the child closes it).
    public func readOutput() -> Data { outputFD.map(Self.readAll) ?? Data() }

    /// Standard error, to its end.
    public func readErrors() -> Data { errorFD.map(Self.readAll) ?? Data() }

    /// Both, read at once (a child that fills one pipe while the other is read would otherwise stall).
    public func readOutputAndErrors() -> (output: Data, errors: Data) {
        let errors = ResultHolder()
        let reader = Thread { errors.data = self.readErrors(); errors.done.signal() }
        reader.start()
        let output = readOutput()
        errors.done.wait()
        return (output, errors.data)
    }

    private static func readAll(_ fd: Int32) -> Data {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count > 0 { data.append(contentsOf: buffer[0..<count]) } else if count < 0 && errno == EINTR { continue } else { break }
        }
        close(fd)
        return data
    }

    public func send(_ signal: Int32) { kill(pid, signal) }

    /// Waits for the child; its exit status, or 128 + the signal that ended it (as a shell says).
    @discardableResult
    public func wait() -> Int32 {
        if let status = lock.withLock({ status }) { return status }
        var raw: Int32 = 0
        while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
        return record(raw)
    }

    /// Waits for the child on a thread of its own, not on Swift's pool (see `offThePool`).
    @discardableResult
    public func exitStatus() async -> Int32 {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: self.wait()) }.start()
        }
    }

    /// Whether the child still runs (it is reaped here once it has ended).
    public var isRunning: Bool {
        if lock.withLock({ status }) != nil { return false }
        var raw: Int32 = 0
        guard waitpid(pid, &raw, WNOHANG) == pid else { return true }
        record(raw)
        return false
    }

    @discardableResult
    private func record(_ raw: Int32) -> Int32 {
        let signal = raw & 0x7f
        let decoded = signal == 0 ? (raw >> 8) & 0xff : 128 + signal
        lock.withLock { status = decoded }
        return decoded
    }
}

public struct ChildProcessError: Error, CustomStringConvertible {
    public let what: String
    public let code: Int32
    public var description: String { "\(what): \(String(cString: strerror(code)))" }
}

private final class ResultHolder: @unchecked Sendable {
    var data = Data()
    let done = DispatchSemaphore(value: 0)
}

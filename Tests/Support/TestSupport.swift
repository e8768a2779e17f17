import CanonicalEvents
import ChildProcesses
import Foundation
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Kafka
import Logging

// Helpers the test targets share.

public func uniqueName(_ prefix: String) -> String { "\(prefix)-\(UUID().uuidString.prefix(8))" }

public struct Timeout: Error, CustomStringConvertible {
    public let what: String
    public init(what: String) { self.what = what }
    public var description: String { "timed out: \(what)" }
}

/// Runs `body`, failing with `Timeout` if it takes longer than `seconds`.
public func within<T: Sendable>(_ seconds: Double, _ what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            return nil
        }
        defer { group.cancelAll() }
        if let value = try await group.next() ?? nil { return value }
        throw Timeout(what: what)
    }
}

/// Reads until `count` records arrived (or `seconds` passed) and returns them in arrival order.
public func collect(_ consumer: KafkaConsumer, count: Int, seconds: Double = 30) async throws -> [KafkaConsumerMessage] {
    try await within(seconds, "waiting for \(count) records") {
        var records: [KafkaConsumerMessage] = []
        for try await message in consumer.messages {
            records.append(message)
            if records.count == count { break }
        }
        return records
    }
}

/// Reads for `seconds` and returns whatever arrived: for asserting that nothing (more) does.
public func drain(_ consumer: KafkaConsumer, seconds: Double) async throws -> [KafkaConsumerMessage] {
    let reader = Task {
        var records: [KafkaConsumerMessage] = []
        // The sequence ends when the task is cancelled.
        for try await message in consumer.messages { records.append(message) }
        return records
    }
    try await Task.sleep(for: .seconds(seconds))
    reader.cancel()
    return try await reader.value
}

/// The `ketenhub` executable: `KETENHUB_BIN` (set by `make test`), else the debug build of this checkout.
public func ketenhubBinary() throws -> URL {
    if let path = ProcessInfo.processInfo.environment["KETENHUB_BIN"] { return URL(fileURLWithPath: path) }
    let candidate = packageRoot.appendingPathComponent(".build/debug/ketenhub")
    guard FileManager.default.isExecutableFile(atPath: candidate.path) else {
        throw Timeout(what: "no ketenhub binary at \(candidate.path); run `swift build` first or set KETENHUB_BIN")
    }
    return candidate
}

/// The checkout the tests run in.
public let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// Runs `ketenhub` with `arguments` to completion; returns its exit status, standard output and standard error.
/// The child's whole life is waited for on a thread of its own (see `offThePool`).
public func runKetenhub(_ arguments: [String]) async throws -> (status: Int32, output: String, errors: String) {
    let binary = try ketenhubBinary()
    return try await offThePool {
        let process = try ChildProcess(binary, arguments, output: .pipe, errors: .pipe)
        let (output, errors) = process.readOutputAndErrors()
        return (process.wait(), String(decoding: output, as: UTF8.self), String(decoding: errors, as: UTF8.self))
    }
}

/// Runs blocking work (waiting for a child process, reading its pipes) on a thread of its own. The
/// tests of all suites share Swift's cooperative pool, one thread per core (two on these machines):
/// a test that blocked one of them for the minutes a benchmark runs starved every other test in the
/// process, whose waits then timed out.
public func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

/// The first executable called `program` on the PATH.
public func which(_ program: String) -> URL? {
    let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
    return paths.map { URL(fileURLWithPath: String($0)).appendingPathComponent(program) }
        .first { FileManager.default.isExecutableFile(atPath: $0.path) }
}

/// One example file of `Contracts/examples/<event>/<kind>/<name>.json`.
public struct ContractExample: Sendable {
    public var event: String
    public var kind: String
    public var name: String
    public var url: URL

    /// `event/kind/name.json`, relative to `Contracts/examples`.
    public var relativePath: String { "\(event)/\(kind)/\(name).json" }
}

/// Every example of one kind (`valid` or `invalid`), sorted by event type and name.
public func contractExamples(_ kind: String) -> [ContractExample] {
    let root = packageRoot.appendingPathComponent("Contracts/examples")
    let events = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
    return events.sorted().flatMap { event -> [ContractExample] in
        let folder = root.appendingPathComponent("\(event)/\(kind)")
        let files = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return files.filter { $0.hasSuffix(".json") }.sorted().map { file in
            ContractExample(event: event, kind: kind, name: String(file.dropLast(".json".count)), url: folder.appendingPathComponent(file))
        }
    }
}

/// Tests log only what KETENHUB_TEST_LOG asks for (critical by default).
public let testLogger: Logger = {
    var logger = Logger(label: "ketenhub.tests")
    logger.logLevel = ProcessInfo.processInfo.environment["KETENHUB_TEST_LOG"].flatMap { Logger.Level(rawValue: $0) } ?? .critical
    return logger
}()

/// The schemas of the hub's own records, with the shared definitions they refer to.
public enum RecordContracts {
    public static func load() throws -> SchemaSet {
        var documents: [String: JSONValue] = [:]
        for folder in ["Contracts/records", "Contracts/events"] {
            let url = packageRoot.appendingPathComponent(folder)
            for name in try FileManager.default.contentsOfDirectory(atPath: url.path) where name.hasSuffix(".schema.json") {
                documents[name] = try JSONValue.parse(Data(contentsOf: url.appendingPathComponent(name)))
            }
        }
        return SchemaSet(documents: documents)
    }
}

/// The port a test's HTTP server got, once it listens.
public final class PortHolder: @unchecked Sendable {
    private let lock = NSLock()
    private var port: Result<Int, any Error>?

    public init() {}

    public func set(_ value: Int) { lock.withLock { port = .success(value) } }

    /// The server ended before it listened: `value()` throws its error rather than waiting on.
    public func fail(_ error: any Error) { lock.withLock { port = port ?? .failure(error) } }

    public func value() async throws -> Int {
        for _ in 0..<400 {
            if let port = lock.withLock({ port }) { return try port.get() }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw Timeout(what: "HTTP server start")
    }
}

/// One request over real HTTP, answered or failed within ten minutes. A test asserts what an answer
/// says, not how soon it comes (speed is for the benchmarks): with URLRequest's default of 60 s, a
/// 900 KB message to an in-process hub went unanswered in time on a loaded CI machine running forty
/// tests beside it, and the test failed on the wait alone. A hub that never answers still fails.
public func httpData(for request: URLRequest) async throws -> (Data, URLResponse) {
    var request = request
    request.timeoutInterval = 600
    return try await URLSession.shared.data(for: request)
}

/// One API call over real HTTP: the status and the decoded JSON answer.
public func call(_ url: URL, _ path: String, token: String?, method: String = "GET", body: Any? = nil) async throws -> (status: Int, json: Any?) {
    var request = URLRequest(url: URL(string: url.absoluteString + path)!)
    request.httpMethod = method
    if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
    if let body {
        request.httpBody = try JSONSerialization.data(withJSONObject: body)
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
    }
    let (data, response) = try await httpData(for: request)
    return ((response as! HTTPURLResponse).statusCode, try? JSONSerialization.jsonObject(with: data))
}

/// A small deterministic generator (SplitMix64): the same seed gives the same values on every run,
/// so a failing seed can be replayed.
public struct SeededGenerator: RandomNumberGenerator {
    public var state: UInt64

    public init(state: UInt64) { self.state = state }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// `promtool check metrics` (Debian's prometheus package, which `make test` installs) on an exposition.
public func checkWithPromtool(_ text: String) async throws {
    let promtool = try #require(which("promtool"), "promtool is not installed (make test installs Debian's prometheus package)")
    let (status, report) = try await offThePool {
        let process = try ChildProcess(promtool, ["check", "metrics"], input: Data(text.utf8), output: .pipe, errors: .sameAsOutput)
        let report = String(decoding: process.readOutput(), as: UTF8.self)
        return (process.wait(), report)
    }
    #expect(status == 0, "promtool check metrics: \(report)")
}

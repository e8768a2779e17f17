import Logging
import Synchronization

/// Keeps every log record at or above its level, for tests that check what a component logged.
public struct CapturingLogHandler: LogHandler {
    public struct Record: Sendable {
        public var level: Logger.Level
        public var message: String
        public var metadata: Logger.Metadata
    }

    /// The records, shared by every copy of the handler (a logger copies its handler with each change of metadata or level).
    public final class Records: Sendable {
        private let records = Mutex<[Record]>([])
        public init() {}
        public var all: [Record] { records.withLock { $0 } }
        public func count(of message: String) -> Int { records.withLock { $0.filter { $0.message == message }.count } }
        fileprivate func append(_ record: Record) { records.withLock { $0.append(record) } }
    }

    public let records: Records
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level

    public init(records: Records, logLevel: Logger.Level = .trace) {
        self.records = records
        self.logLevel = logLevel
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
        records.append(Record(level: level, message: message.description, metadata: self.metadata.merging(metadata ?? [:]) { $1 }))
    }
}

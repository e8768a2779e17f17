/// Settings shared by every client. `overrides` passes any further librdkafka property through
/// unchanged (for example SASL/TLS settings of a production Apache Kafka cluster).
public struct KafkaClientSettings: Sendable {
    public var bootstrapServers: String
    public var clientID: String
    /// librdkafka statistics are emitted into swift-metrics at this interval (nil: off).
    public var statisticsIntervalMilliseconds: Int?
    public var overrides: [String: String]

    public init(bootstrapServers: String, clientID: String = "ketenhub",
                statisticsIntervalMilliseconds: Int? = nil, overrides: [String: String] = [:]) {
        self.bootstrapServers = bootstrapServers
        self.clientID = clientID
        self.statisticsIntervalMilliseconds = statisticsIntervalMilliseconds
        self.overrides = overrides
    }

    var properties: [String: String] {
        // TCP_NODELAY, as Kafka's own clients and brokers use: requests are small and latency matters
        // more than packet count (librdkafka 2.0.2 leaves Nagle's algorithm on by default, and a small
        // request then waits for the broker's delayed ACK). A node's own properties may say otherwise.
        var p = ["socket.nagle.disable": "true"].merging(Self.processProperties) { _, node in node }
        p["bootstrap.servers"] = bootstrapServers
        p["client.id"] = clientID
        if let interval = statisticsIntervalMilliseconds { p["statistics.interval.ms"] = String(interval) }
        return p
    }
}

public struct KafkaProducerConfiguration: Sendable {
    public var client: KafkaClientSettings
    /// Idempotence (and with it `acks=all`) is on unless explicitly turned off.
    public var idempotent = true
    /// How long librdkafka holds a record to batch it with the next (its own default is 5 ms). The
    /// hub's records are few and each is waited for (a partner's message, a delivery): 1 ms. Under
    /// load librdkafka batches anyway, records gathering while a request is in flight.
    public var lingerMilliseconds = 1
    /// How long librdkafka keeps retrying one record before its delivery report fails.
    public var messageTimeoutMilliseconds = 30_000
    /// Set for a transactional producer; one id per logical instance of a service.
    public var transactionalID: String?
    /// Must exceed `messageTimeoutMilliseconds` (a librdkafka 2.0.2 requirement).
    public var transactionTimeoutMilliseconds = 60_000

    public init(bootstrapServers: String, clientID: String = "ketenhub-producer") {
        self.client = KafkaClientSettings(bootstrapServers: bootstrapServers, clientID: clientID)
    }

    /// The librdkafka properties a producer of this configuration gets (public for the benchmarks'
    /// baselines on librdkafka's own API, which must run the same configuration).
    public var properties: [String: String] {
        var p = client.properties
        p["enable.idempotence"] = idempotent ? "true" : "false"
        p["acks"] = "all"
        p["linger.ms"] = String(lingerMilliseconds)
        p["message.timeout.ms"] = String(messageTimeoutMilliseconds)
        if let transactionalID {
            p["transactional.id"] = transactionalID
            p["transaction.timeout.ms"] = String(transactionTimeoutMilliseconds)
        }
        return p.merging(client.overrides) { _, override in override }
    }
}

public struct KafkaConsumerConfiguration: Sendable {
    public enum IsolationLevel: String, Sendable {
        case readCommitted = "read_committed"
        case readUncommitted = "read_uncommitted"
    }

    public enum OffsetReset: String, Sendable {
        case earliest, latest
    }

    public var client: KafkaClientSettings
    public var groupID: String
    public var isolationLevel: IsolationLevel = .readCommitted
    public var autoOffsetReset: OffsetReset = .earliest
    /// Offsets are stored explicitly (`storeOffset`) and committed explicitly (`commit`) by default:
    /// a record counts as processed only when the application says so.
    public var autoCommitIntervalMilliseconds: Int?
    /// How long the group waits for a silent member; the member's heartbeat goes at a third of it
    /// (at most librdkafka's default of 3 s), so that two missed heartbeats do not end a session.
    public var sessionTimeoutMilliseconds = 10_000
    /// How many records one hop to the poll thread fetches at most.
    public var pollBatchSize = 500
    /// How long a broker may hold a fetch that finds no new records (`fetch.wait.max.ms`). Apache
    /// Kafka answers as soon as records arrive, so its default of 500 ms costs no latency there; the
    /// embedded cluster always holds such a fetch for the whole time, so consumers on it ask for less.
    public var fetchMaxWaitMilliseconds = 500

    public init(bootstrapServers: String, groupID: String, clientID: String = "ketenhub-consumer") {
        self.client = KafkaClientSettings(bootstrapServers: bootstrapServers, clientID: clientID)
        self.groupID = groupID
    }

    /// The librdkafka properties a consumer of this configuration gets (public: see the producer's).
    public var properties: [String: String] {
        var p = client.properties
        p["group.id"] = groupID
        p["isolation.level"] = isolationLevel.rawValue
        p["auto.offset.reset"] = autoOffsetReset.rawValue
        p["enable.auto.offset.store"] = "false"
        if let interval = autoCommitIntervalMilliseconds {
            p["enable.auto.commit"] = "true"
            p["auto.commit.interval.ms"] = String(interval)
        } else {
            p["enable.auto.commit"] = "false"
        }
        p["session.timeout.ms"] = String(sessionTimeoutMilliseconds)
        p["heartbeat.interval.ms"] = String(min(3_000, max(100, sessionTimeoutMilliseconds / 3)))
        p["fetch.wait.max.ms"] = String(fetchMaxWaitMilliseconds)
        // librdkafka stops fetching once its local queue holds queued.min.messages records (100,000 by
        // default) and, in 2.0.2, looks again only about once a second: a consumer of small records
        // that fell that far behind sat idle for most of a second after catching up (seen in `bench
        // kafka` with librdkafka's fetch debug log). The bytes bound (queued.max.messages.kbytes, 64 MB)
        // still bounds the memory; the hub's records, above 1 kB, reach it first anyway. Over that
        // bound librdkafka 2.0.2 also waits a second before fetching again, which idles only a
        // consumer that drains 64 MB in less than a second (the raw benchmark's, which sizes its
        // queue to the run); the hub's consumers, at tens of MB/s, are still draining when it fetches.
        p["queued.min.messages"] = "1000000"
        // Eager assignment: librdkafka 2.0.2's cooperative-sticky consumer can crash when closed
        // before its first assignment (fixed in 2.3.0).
        p["partition.assignment.strategy"] = "range"
        return p.merging(client.overrides) { _, override in override }
    }
}

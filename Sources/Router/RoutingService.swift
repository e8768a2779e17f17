import CanonicalEvents
import Foundation
import HubMetrics
import HubTopology
import Kafka
import Logging
import SharingPolicy
import Synchronization

public struct RouterConfiguration: Sendable {
    public var bootstrapServers: String
    public var topics = HubTopics()
    /// The prefix of the routers' transactional ids, the same on every node: each input partition's
    /// router writes as `<prefix>-<partition>`, so that the partition's next owner fences its last.
    public var transactionalID = "ketenhub-router"
    /// How far back a router remembers the events it routed, by the day they happened: one
    /// published again within it is routed once; one older than it is refused with a dead letter
    /// (the router no longer knows whether it routed it, and never routes an event twice). A case
    /// keeps the events of this many days in its state, not its whole history.
    public var deduplicationHorizonDays = 365
    /// A partition's state is written whole once the state records written since its last snapshot
    /// pass twice its live state and at least this many (see `PartitionPipeline.encode`).
    public var snapshotMinimumRecords = 32
    /// The consumer group the router nodes share the canonical topic's partitions in.
    public var groupID = "ketenhub-router"
    /// How long the group waits for a silent member before it gives the member's partitions to
    /// others: a killed node's partitions stand still this long. Apache Kafka refuses less than its
    /// `group.min.session.timeout.ms` (6 s by default); the embedded cluster drops members whose
    /// session is shorter than its 3 s wait for a new group's first members.
    public var sessionTimeoutMilliseconds = 6_000
    /// A partition's batch (one transaction) closes at this many events; a read takes up to this
    /// many for each partition the node routes ...
    public var batchSize = 500
    /// ... or this long after its first event, whichever comes first. None by default: a read
    /// takes the events that have arrived, since batches decided while their partition's
    /// transaction is under way join the next one (`PreparedBatch.append`) and a router that is
    /// behind finds full batches waiting; waiting for more only held every event of a light load
    /// back (2 ms of it cost about 3 ms of `bench router`'s median latency at 2,000 events/s).
    public var lingerMilliseconds: Int32 = 0
    /// A partition's batch also closes before its records' keys and values pass this many bytes
    /// (a record larger than that goes alone): with `batchSize` it bounds the memory a partition's
    /// router holds, four batches at most (see `BatchLimit`), whatever the size of the records.
    public var batchBytes = 8 << 20
    /// The input consumer's `fetch.wait.max.ms` (see `KafkaConsumerConfiguration`).
    public var fetchMaxWaitMilliseconds = 500
    /// Where the router counts what it committed (routed events, decisions by outcome).
    public var metrics: MetricsRegistry?

    public init(bootstrapServers: String) {
        self.bootstrapServers = bootstrapServers
    }

    /// The defaults, for the settings and flags that show them (`ketenhub route`, the node's file).
    public static let defaults = RouterConfiguration(bootstrapServers: "")

    var batchLimit: BatchLimit { BatchLimit(events: batchSize, bytes: batchBytes) }

    /// The batch sizes an operator may set: a read takes up to a batch for each partition routed,
    /// into a buffer of that many records.
    public static let batchSizeRange = 1...10_000
    /// The batch bytes an operator may set: at least one record of Kafka's default largest size
    /// (1 MB); at most 64 MiB, with which a node routing all six partitions may hold 1.5 GiB of
    /// records (four batches each).
    public static let batchBytesRange = (1 << 20)...(64 << 20)
}

/// The routing service of one node: a member of the routers' consumer group on the canonical
/// topic, with a `PartitionRouter` for each input partition the group gives it. It reads records,
/// parses and validates them (on several cores; parsing needs no state) and hands each partition's
/// records to that partition's router, which decides, records and delivers them in transactions of
/// its own. Nodes scale by partition: add one and the group spreads the partitions over one more.
///
/// Hand-over: when the group takes partitions away (a node joins or leaves), their routers are
/// drained inside the rebalance (what they took is committed, the position too), and the group
/// hands them on only after that. A node that is killed leaves a transaction open at worst: on
/// Apache Kafka the next owner's producer fences and aborts it; on the embedded cluster its records
/// stay visible, and every output carries a deterministic id (decision id; a delivery keeps the
/// event's source and id), so readers deduplicate them and the next router does not record a
/// decision twice.
///
/// Crash-only: any failure ends `run`; the caller starts a new instance, which joins the group again.
public final class RoutingService: Sendable {
    public enum Phase: Sendable, Equatable { case starting, running, stopped, failed }

    private let environment: RouterEnvironment
    private let phase = Mutex(Phase.starting)
    private let routers = PartitionRouters()

    public convenience init(configuration: RouterConfiguration, matrix: SharingMatrix, catalogue: ContractCatalogue = .embedded,
                            logger: Logger = Logger(label: "ketenhub.router")) {
        self.init(configuration: configuration, matrices: MatrixSchedule(matrix), catalogue: catalogue, logger: logger)
    }

    /// A router that follows `matrices`: each batch is routed under the version in force when it is routed.
    public init(configuration: RouterConfiguration, matrices: MatrixSchedule, catalogue: ContractCatalogue = .embedded,
                logger: Logger = Logger(label: "ketenhub.router")) {
        environment = RouterEnvironment(configuration: configuration, matrices: matrices, catalogue: catalogue, logger: logger,
                                        progress: RouterProgress())
    }

    /// Running once the group has given this node its partitions and each of their routers has read
    /// its state back; starting while it waits for either.
    public var currentPhase: Phase {
        let phase = self.phase.withLock { $0 }
        guard phase == .running else { return phase }
        return routers.allRouting ? .running : .starting
    }

    /// Input records this instance has committed (routed, deduplicated or dead-lettered).
    public var committedRecords: Int { environment.progress.committed }

    /// Records this instance has written in committed transactions (decisions, deliveries, state, dead letters).
    public var producedRecords: Int { environment.progress.produced }

    /// The input partitions this instance routes now.
    public var routedPartitions: [Int32] { routers.partitions }

    /// Records each partition's router read back when it took the partition over (its start-up work).
    public var recordsReadAtTakeOver: [Int32: Int] { routers.takeOvers.mapValues(\.recordsRead) }

    /// Milliseconds from each partition's assignment to its router routing (producer initialised, state read back).
    public var takeOverMilliseconds: [Int32: Double] { routers.takeOvers.mapValues(\.milliseconds) }

    /// Routes until the task is cancelled (then returns) or something fails (then throws).
    public func run() async throws {
        let configuration = environment.configuration
        let topics = configuration.topics
        var consumerConfiguration = KafkaConsumerConfiguration(bootstrapServers: configuration.bootstrapServers, groupID: configuration.groupID)
        consumerConfiguration.client.clientID = "ketenhub-router"
        consumerConfiguration.pollBatchSize = configuration.batchSize
        consumerConfiguration.fetchMaxWaitMilliseconds = configuration.fetchMaxWaitMilliseconds
        consumerConfiguration.sessionTimeoutMilliseconds = configuration.sessionTimeoutMilliseconds
        let (routers, environment) = (self.routers, self.environment)
        let consumer = try KafkaConsumer(configuration: consumerConfiguration, logger: environment.logger, rebalanceListener: KafkaRebalanceListener(
            assigned: { partitions, committed, generation in
                routers.start(partitions.map(\.partition), committed: committed.map { $0.reduce(into: [:]) { $0[$1.key.partition] = $1.value } },
                              generation: generation, environment: environment)
            },
            revoking: { partitions in routers.drainBlocking(partitions.map(\.partition)) }))
        routers.consumer = consumer
        var reading: Task<[Int32: [ParsedBatch]], any Error>?
        do {
            try consumer.subscribe(topics: [topics.canonical])
            phase.withLock { $0 = .running }
            environment.logger.info("router joining the group", metadata: ["group": "\(configuration.groupID)",
                                                                           "matrix": "\(environment.matrices.evaluator().matrix.version)",
                                                                           "batchSize": "\(configuration.batchSize)", "batchBytes": "\(configuration.batchBytes)"])
            // One batch is read and parsed while the one before is handed to its partitions' routers.
            reading = Task { try await self.readBatch(consumer) }
            while !Task.isCancelled, let read = reading {
                let batch = try await read.value
                reading = Task { try await self.readBatch(consumer) }
                try await routers.route(batch)
            }
            _ = try? await reading?.value  // the consumer is closed below: no poll may be under way
            try await routers.drainAll()
            await consumer.close()
            phase.withLock { $0 = .stopped }
        } catch {
            phase.withLock { $0 = .failed }
            environment.logger.error("router failed; its partitions go on from their last commits", metadata: ["error": "\(error)"])
            _ = try? await reading?.value
            try? await routers.drainAll()
            await consumer.close()
            throw error
        }
    }

    /// The next records read, parsed and validated, by partition, in batches of at most a batch's size.
    private func readBatch(_ consumer: KafkaConsumer) async throws -> [Int32: [ParsedBatch]] {
        let batchSize = environment.configuration.batchSize
        // A batch's size for each partition routed: a partition's router that is behind gets a
        // batch's worth in one read (a read of one batch's size across six partitions gave each
        // about a sixth of one, and a transaction for each sixth).
        let batch = try await nextBatch(consumer, upTo: batchSize * max(1, routers.count))
        let parsed = await parseAll(batch)
        return ParsedBatch.byPartition(batch, parsed: parsed, within: environment.configuration.batchLimit)
    }

    /// Waits for the first record, then collects until `limit` records or the linger time has passed.
    private func nextBatch(_ consumer: KafkaConsumer, upTo limit: Int) async throws -> [KafkaConsumerMessage] {
        var batch = try await consumer.poll(maxMessages: limit, timeoutMilliseconds: 100)
        guard !batch.isEmpty else { return [] }
        let deadline = ContinuousClock.now + .milliseconds(Int(environment.configuration.lingerMilliseconds))
        while batch.count < limit {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { break }
            let milliseconds = Int32(max(1, remaining.components.attoseconds / 1_000_000_000_000_000 + remaining.components.seconds * 1000))
            batch += try await consumer.poll(maxMessages: limit - batch.count, timeoutMilliseconds: milliseconds)
        }
        return batch
    }

    /// Read once: asking costs a system call.
    private static let processors = ProcessInfo.processInfo.activeProcessorCount

    /// Parses and validates a batch's records, in chunks on several cores: each record on its own,
    /// so they need not wait for each other, unlike routing, which goes in order.
    private func parseAll(_ batch: [KafkaConsumerMessage]) async -> [Result<CloudEvent, DeadLetterMessage>] {
        let chunks = batch.count < 64 ? 1 : max(1, min(Self.processors, 4))
        let environment = self.environment
        guard chunks > 1 else { return batch.map(environment.parse) }
        let size = (batch.count + chunks - 1) / chunks
        return await withTaskGroup(of: (Int, [Result<CloudEvent, DeadLetterMessage>]).self) { group in
            for start in stride(from: 0, to: batch.count, by: size) {
                let chunk = batch[start..<min(start + size, batch.count)]
                group.addTask { (start, chunk.map(environment.parse)) }
            }
            var results = [Result<CloudEvent, DeadLetterMessage>?](repeating: nil, count: batch.count)
            for await (start, parsed) in group {
                for (offset, result) in parsed.enumerated() { results[start + offset] = result }
            }
            return results.map { $0! }
        }
    }
}

/// The partition routers of one routing service, by input partition. Started and drained from the
/// consumer's rebalance callbacks (on its poll thread), handed batches by the service's loop.
final class PartitionRouters: Sendable {
    private struct State {
        var routers: [Int32: PartitionRouter] = [:]
        var assigned = false
        /// Set once the service stops: no router is started any more.
        var closed = false
    }

    private let state = Mutex(State())
    private let member = Mutex<KafkaConsumer?>(nil)

    /// The group member whose partitions these are; set before it subscribes.
    var consumer: KafkaConsumer? {
        get { member.withLock { $0 } }
        set { member.withLock { $0 = newValue } }
    }

    var partitions: [Int32] { state.withLock { $0.routers.keys.sorted() } }

    var count: Int { state.withLock { $0.routers.count } }

    var takeOvers: [Int32: (recordsRead: Int, milliseconds: Double)] { state.withLock { $0.routers.compactMapValues(\.takeOver) } }

    /// Whether this node has had an assignment and every router of it routes.
    var allRouting: Bool { state.withLock { $0.assigned && $0.routers.values.allSatisfy { $0.currentStage == .routing } } }

    /// Starts a router for each newly assigned partition (on the poll thread: it only starts tasks),
    /// their state read back together (one reader per state topic) as of the committed positions
    /// their input starts from.
    /// Without the committed positions (they could not be read), the routers fail: the service ends,
    /// and its successor joins again.
    func start(_ partitions: [Int32], committed: [Int32: Int64]?, generation: UInt64, environment: RouterEnvironment) {
        guard let consumer else { return }
        let topics = environment.configuration.topics
        let reader = TopicReader(bootstrapServers: environment.configuration.bootstrapServers, logger: environment.logger)
        let memories = MemoriesLoad(partitions: partitions) {
            guard let committed else { throw KafkaError(kind: .client, reason: "the committed positions of \(partitions) could not be read") }
            let positions = partitions.map { KafkaTopicPartition(topic: topics.canonical, partition: $0) }
            let ends = try await consumer.watermarks(positions).reduce(into: [Int32: Int64]()) { $0[$1.key.partition] = $1.value.high }
            return try await RouterMemory.load(partitions: partitions, topics: topics, committed: committed, ends: ends, reader: reader,
                                               logger: environment.logger)
        }
        state.withLock { state in
            guard !state.closed else { return }
            state.assigned = true
            for partition in partitions {
                state.routers[partition] = PartitionRouter(partition: partition, generation: generation, environment: environment,
                                                           consumer: consumer, memories: memories)
            }
        }
    }

    /// Drains the routers of partitions being revoked, blocking the calling thread (the consumer's
    /// poll thread, inside the rebalance) until they have committed what they took.
    func drainBlocking(_ partitions: [Int32]) {
        let leaving = state.withLock { state in partitions.compactMap { state.routers.removeValue(forKey: $0) } }
        guard !leaving.isEmpty else { return }
        let done = DispatchSemaphore(value: 0)
        Task {
            await withTaskGroup(of: Void.self) { group in
                for router in leaving {
                    // A router that fails now has ended all the same: the partition's next router
                    // goes on from its last commit.
                    group.addTask { try? await router.drain() }
                }
            }
            done.signal()
        }
        done.wait()
    }

    /// Drains every router and starts none any more; throws the first failure.
    func drainAll() async throws {
        let leaving = state.withLock { state in
            state.closed = true
            defer { state.routers = [:] }
            return Array(state.routers.values)
        }
        var failure: (any Error)?
        for router in leaving {
            do { try await router.drain() } catch { failure = failure ?? error }
        }
        if let failure { throw failure }
    }

    /// Hands each partition's records to its router; records fetched under an assignment since
    /// revoked are dropped (the partition's next router reads them again from the committed position).
    /// Throws when a router failed.
    func route(_ batches: [Int32: [ParsedBatch]]) async throws {
        for (partition, batches) in batches.sorted(by: { $0.key < $1.key }) {
            guard let router = state.withLock({ $0.routers[partition] }), router.generation == batches[0].messages[0].assignmentGeneration else { continue }
            for records in batches {
                guard await router.route(records) else {
                    if router.currentStage == .failed { try await router.drain() }
                    break  // it ended: it takes nothing more
                }
            }
        }
        if let failed = state.withLock({ $0.routers.values.first { $0.currentStage == .failed } }) { try await failed.drain() }
    }
}

/// A dead-letter record, as the failure of parsing.
struct DeadLetterMessage: Error, Sendable {
    let message: KafkaProducerMessage
}

extension RouterEnvironment {
    /// The event in a record, or the dead letter that says why there is none.
    func parse(_ message: KafkaConsumerMessage) -> Result<CloudEvent, DeadLetterMessage> {
        let reasons: [DeadLetter.Reason]
        do {
            let structured = try CloudEvent.structured(kafkaRecord: CloudEventRecord(message))
            let event = try CloudEvent(structured: structured)
            let problems = catalogue.validate(event: structured)
            if problems.isEmpty { return .success(event) }
            reasons = problems.map { DeadLetter.Reason(location: $0.pointer.description, reason: $0.reason) }
        } catch {
            reasons = [DeadLetter.Reason(location: nil, reason: "\(error)")]
        }
        return .failure(deadLetter(message, reasons: reasons))
    }

    /// The dead letter of an input record the router refuses, with its place on the input topic.
    func deadLetter(_ message: KafkaConsumerMessage, reasons: [DeadLetter.Reason]) -> DeadLetterMessage {
        logger.warning("canonical event refused", metadata: ["partition": "\(message.partition)", "offset": "\(message.offset)", "reasons": "\(reasons.map(\.reason))"])
        let letter = DeadLetter(
            deadLetterId: "dlq-\(message.topic)-\(message.partition)-\(message.offset)",
            receivedAt: HubTime.text(Date()), stage: "routing",
            partner: message.header("ce_source")?.stringValue.flatMap { CloudEvent.organisation(fromSource: $0) },
            reasons: reasons,
            original: DeadLetter.Original(contentType: message.header("content-type")?.stringValue ?? "application/octet-stream",
                                          bytes: message.value))
        let headers = [KafkaHeader(key: DeadLetter.originTopicHeader, string: message.topic),
                       KafkaHeader(key: DeadLetter.originPartitionHeader, string: String(message.partition)),
                       KafkaHeader(key: DeadLetter.originOffsetHeader, string: String(message.offset))]
        return DeadLetterMessage(message: try! KafkaProducerMessage(  // a DeadLetter always encodes
            topic: configuration.topics.deadLetter, key: letter.deadLetterId, json: letter, headers: headers))
    }
}

/// What a routing service has committed, counted by its partition routers, readable from any task.
final class RouterProgress: Sendable {
    private let counts = Mutex((committed: 0, produced: 0))
    var committed: Int { counts.withLock { $0.committed } }
    var produced: Int { counts.withLock { $0.produced } }
    func add(committed count: Int, produced: Int) {
        counts.withLock {
            $0.committed += count
            $0.produced += produced
        }
    }
}

import CanonicalEvents
import Foundation
import HubMetrics
import HubTopology
import Kafka
import Logging
import SharingPolicy

public struct RouterConfiguration: Sendable {
    public var bootstrapServers: String
    public var topics = HubTopics()
    /// One transactional id per router instance; a restarted instance fences its predecessor.
    public var transactionalID = "ketenhub-router"
    public var groupID = "ketenhub-router"
    /// A batch closes at this many events ...
    public var batchSize = 500
    /// ... or this long after its first event, whichever comes first.
    public var lingerMilliseconds: Int32 = 2
    /// The input consumer's `fetch.wait.max.ms` (see `KafkaConsumerConfiguration`).
    public var fetchMaxWaitMilliseconds = 500
    /// Where the router counts what it committed (routed events, decisions by outcome).
    public var metrics: MetricsRegistry?

    public init(bootstrapServers: String) {
        self.bootstrapServers = bootstrapServers
    }
}

/// The routing service: reads canonical events, applies the sharing matrix, and writes in Kafka
/// transactions each batch's decision records, and then its deliveries, derived state and input
/// positions. A batch's deliveries go in the transaction after the one that recorded its
/// decisions, so that nothing is delivered whose decision was not recorded; see `commitAll`.
///
/// Crash-only: any failure ends `run`; the caller starts a new instance, which rebuilds its memory
/// from the topics. Every output carries a deterministic id (decision id; a delivery keeps the
/// event's source and id), so that readers deduplicate what a killed predecessor left behind.
public final class RoutingService: Sendable {
    public enum Phase: Sendable, Equatable { case starting, running, stopped, failed }

    private let configuration: RouterConfiguration
    private let matrices: MatrixSchedule
    private let catalogue: ContractCatalogue
    private let logger: Logger
    private let phase = PhaseBox()

    public convenience init(configuration: RouterConfiguration, matrix: SharingMatrix, catalogue: ContractCatalogue = .embedded,
                            logger: Logger = Logger(label: "ketenhub.router")) {
        self.init(configuration: configuration, matrices: MatrixSchedule(matrix), catalogue: catalogue, logger: logger)
    }

    /// A router that follows `matrices`: each batch is routed under the version in force when it is routed.
    public init(configuration: RouterConfiguration, matrices: MatrixSchedule, catalogue: ContractCatalogue = .embedded,
                logger: Logger = Logger(label: "ketenhub.router")) {
        self.configuration = configuration
        self.matrices = matrices
        self.catalogue = catalogue
        self.logger = logger
    }

    public var currentPhase: Phase { phase.value }

    /// Input records this instance has committed (routed, deduplicated or dead-lettered).
    public var committedRecords: Int { phase.committed }

    /// Records this instance has written in committed transactions (decisions, deliveries, state, dead letters).
    public var producedRecords: Int { phase.produced }

    /// Routes until the task is cancelled (then returns) or something fails (then throws).
    public func run() async throws {
        phase.value = .starting
        let topics = configuration.topics
        var consumerConfiguration = KafkaConsumerConfiguration(bootstrapServers: configuration.bootstrapServers, groupID: configuration.groupID)
        consumerConfiguration.client.clientID = "ketenhub-router"
        consumerConfiguration.pollBatchSize = configuration.batchSize
        consumerConfiguration.fetchMaxWaitMilliseconds = configuration.fetchMaxWaitMilliseconds
        let consumer = try KafkaConsumer(configuration: consumerConfiguration, logger: logger)
        var producerConfiguration = KafkaProducerConfiguration(bootstrapServers: configuration.bootstrapServers, clientID: "ketenhub-router")
        producerConfiguration.transactionalID = configuration.transactionalID
        producerConfiguration.client.overrides.merge(HubTopics.deadLetterProducerOverrides) { _, new in new }
        producerConfiguration.lingerMilliseconds = 1
        let producer = try KafkaTransactionalProducer(configuration: producerConfiguration, logger: logger)
        let handover = Handover<EncodingBatch>()
        var committing: Task<Void, any Error>?
        var reading: Task<([KafkaConsumerMessage], [Result<CloudEvent, DeadLetterMessage>]), any Error>?
        do {
            // Fencing the predecessor and reading the state back do not depend on each other.
            async let initialised: Void = producer.initTransactions()
            let partitions = (0..<Int32(try await consumer.partitionCount(topic: topics.canonical)))
                .map { KafkaTopicPartition(topic: topics.canonical, partition: $0) }
            let committed = try await consumer.committedOffsets(partitions).reduce(into: [Int32: Int64]()) { result, entry in
                if let offset = entry.value { result[entry.key.partition] = offset }
            }
            var memory = try await RouterMemory.load(topics: topics, committed: committed,
                                                     reader: TopicReader(bootstrapServers: configuration.bootstrapServers, logger: logger),
                                                     logger: logger)
            try await initialised
            try await producer.loadTopicMetadata(writingTo: topics.isRouterOutput)
            try consumer.assign(partitions.map {
                KafkaTopicPartitionOffset(topic: topics.canonical, partition: $0.partition, offset: committed[$0.partition] ?? KafkaOffset.beginning)
            })
            phase.value = .running
            logger.info("router running", metadata: ["matrix": "\(matrices.evaluator().matrix.version)", "committed": "\(committed)"])
            // Up to four batches are in hand at once: the committer's, one waiting in the hand-over,
            // one decided here in input order and then encoded on all cores (each audit chain goes
            // on from the batch before), and one being read and parsed (which needs no state).
            // Transactions commit in batch order. Deciding builds on the state of
            // batches not yet committed; if a commit fails the instance ends, and its successor
            // starts again from the committed offsets and state.
            committing = Task {
                do {
                    try await self.commitAll(from: handover, consumer: consumer, producer: producer)
                } catch {
                    handover.close()
                    throw error
                }
            }
            reading = Task { try await self.readBatch(consumer) }
            var heads = AuditHeads(initial: memory.chains)
            while !Task.isCancelled, let read = reading {
                let (batch, parsed) = try await read.value
                reading = Task { try await self.readBatch(consumer) }
                if batch.isEmpty { continue }
                let encoding = Self.encode(decide(batch, parsed: parsed, memory: &memory), heads: &heads, topics: topics)
                guard await handover.put(encoding) else { break }  // the committer failed; its error ends the run below
            }
            handover.close()
            _ = try? await reading?.value  // the consumer is closed below: no poll may be under way
            try await committing?.value
            phase.value = .stopped
        } catch {
            phase.value = .failed
            logger.error("router failed; its successor will take over from the last committed batch", metadata: ["error": "\(error)"])
            handover.close()
            _ = try? await committing?.value  // let a transaction in flight end before the producer closes
            _ = try? await reading?.value
            await producer.shutdown()
            await consumer.close()
            throw error
        }
        await producer.shutdown()
        await consumer.close()
    }

    /// The next batch, parsed and validated.
    private func readBatch(_ consumer: KafkaConsumer) async throws -> ([KafkaConsumerMessage], [Result<CloudEvent, DeadLetterMessage>]) {
        let batch = try await nextBatch(consumer)
        return (batch, await parseAll(batch))
    }

    /// Waits for the first record, then collects until the batch is full or the linger time has passed.
    private func nextBatch(_ consumer: KafkaConsumer) async throws -> [KafkaConsumerMessage] {
        var batch = try await consumer.poll(maxMessages: configuration.batchSize, timeoutMilliseconds: 100)
        guard !batch.isEmpty else { return [] }
        let deadline = ContinuousClock.now + .milliseconds(Int(configuration.lingerMilliseconds))
        while batch.count < configuration.batchSize {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { break }
            let milliseconds = Int32(max(1, remaining.components.attoseconds / 1_000_000_000_000_000 + remaining.components.seconds * 1000))
            batch += try await consumer.poll(maxMessages: configuration.batchSize - batch.count, timeoutMilliseconds: milliseconds)
        }
        return batch
    }

    /// One batch's outputs, ready for its transaction.
    struct PreparedBatch: Sendable {
        var decisionRecords: [KafkaProducerMessage] = []
        var outputs: [KafkaProducerMessage] = []
        var offsets: [KafkaTopicPartitionOffset] = []
        var records = 0
        var counts = BatchCounts()
    }

    /// For the metrics, once committed: routed events by type, decisions by recipient and outcome.
    struct BatchCounts: Sendable {
        var routedByType: [String: Int] = [:]
        var decisions: [DecisionCount: Int] = [:]
    }

    struct DecisionCount: Hashable, Sendable { var recipient: String; var outcome: String }

    /// Read once: asking costs a system call.
    private static let processors = ProcessInfo.processInfo.activeProcessorCount

    /// Parses and validates a batch's records, in chunks on several cores: each record on its own,
    /// so they need not wait for each other, unlike routing, which goes in order.
    private func parseAll(_ batch: [KafkaConsumerMessage]) async -> [Result<CloudEvent, DeadLetterMessage>] {
        let chunks = batch.count < 64 ? 1 : max(1, min(Self.processors, 4))
        guard chunks > 1 else { return batch.map(parse) }
        let size = (batch.count + chunks - 1) / chunks
        return await withTaskGroup(of: (Int, [Result<CloudEvent, DeadLetterMessage>]).self) { group in
            for start in stride(from: 0, to: batch.count, by: size) {
                let chunk = batch[start..<min(start + size, batch.count)]
                group.addTask { (start, chunk.map(self.parse)) }
            }
            var results = [Result<CloudEvent, DeadLetterMessage>?](repeating: nil, count: batch.count)
            for await (start, parsed) in group {
                for (offset, result) in parsed.enumerated() { results[start + offset] = result }
            }
            return results.map { $0! }
        }
    }

    /// One routed event's outputs, before they are encoded.
    private struct RoutedEvent: Sendable {
        var event: CloudEvent
        /// The decisions not recorded before (a redelivered event's decisions are recorded once).
        var decisions: [Decision]
        /// Every permit (a redelivered event is delivered again; readers deduplicate), projected when encoded.
        var permits: [Decision]
    }

    /// One batch decided: its events' decisions in input order, not yet encoded.
    private struct DecidedBatch: Sendable {
        var records: Int
        var deadLetters: [KafkaProducerMessage] = []
        var routed: [Int32: [RoutedEvent]] = [:]
        /// State is written once per case and per person in a case for the whole batch: its latest value, with
        /// the position of the last input it reflects.
        var caseStates: [String: (state: CaseState, source: InputPosition)] = [:]
        var consents: [String: (record: ConsentRecord, source: InputPosition)] = [:]
        var offsets: [KafkaTopicPartitionOffset] = []
        var counts = BatchCounts()
        var evaluator: PolicyEvaluator
        var decidedAt: String

        /// One event's decisions for its partition's encoding: those not recorded before (a
        /// redelivered event's are recorded once), and every permit (delivered again; readers deduplicate).
        mutating func add(_ event: CloudEvent, _ decisions: [Decision], partition: Int32, recorded: inout Set<String>) {
            let unrecorded = decisions.filter { recorded.insert($0.decisionId).inserted }
            for decision in unrecorded {
                counts.decisions[DecisionCount(recipient: decision.recipient, outcome: decision.outcome.rawValue), default: 0] += 1
            }
            routed[partition, default: []].append(RoutedEvent(event: event, decisions: unrecorded, permits: decisions.filter { $0.outcome == .permit }))
        }
    }

    /// Decides a parsed batch: the part of routing that goes in input order (a case's state and a
    /// person's consent build up event by event). `memory` moves on with it.
    private func decide(_ batch: [KafkaConsumerMessage], parsed: [Result<CloudEvent, DeadLetterMessage>],
                        memory: inout RouterMemory) -> DecidedBatch {
        var decided = DecidedBatch(records: batch.count, evaluator: matrices.evaluator(),
                                   decidedAt: HubTime.text(Date()))
        var positions: [Int32: Int64] = [:]
        for (message, result) in zip(batch, parsed) {
            positions[message.partition] = message.offset + 1
            let event: CloudEvent
            switch result {
            case .success(let parsed): event = parsed
            case .failure(let deadLetter):
                decided.deadLetters.append(deadLetter)
                continue
            }
            if let other = memory.routing.caseRouted(withKeyOf: event), other != event.ketencaseid {
                // Routing it would give its deliveries and decisions the ids of the first one's.
                decided.deadLetters.append(deadLetter(message, reasons: [DeadLetter.Reason(
                    location: "/id", reason: "this source already used this id for an event in chain case \(other): an id names one fact in the whole hub; send the event with an id of its own")]))
                continue
            }
            guard let step = memory.routing.decide(event, with: decided.evaluator) else {
                logger.debug("duplicate event routed once", metadata: ["source": "\(event.source)", "id": "\(event.id)"])
                continue
            }
            decided.counts.routedByType[event.type, default: 0] += 1
            // Held deliveries this event released are decided first, as the routing state did.
            for released in step.released {
                decided.add(released.event, released.decisions, partition: message.partition, recorded: &memory.recordedDecisions)
            }
            decided.add(event, step.decisions, partition: message.partition, recorded: &memory.recordedDecisions)
            let source = InputPosition(partition: message.partition, offset: message.offset)
            decided.caseStates[event.ketencaseid] = (step.caseState, source)
            if let consent = step.consent { decided.consents[consent.key] = (consent, source) }
        }
        decided.offsets = positions.map { KafkaTopicPartitionOffset(topic: configuration.topics.canonical, partition: $0.key, offset: $0.value) }
        return decided
    }

    /// Where each input partition's audit chain stands for the encoding stage: the encoding of the
    /// partition's latest batch, or before the first, the chain read back at start.
    private struct AuditHeads {
        var initial: [Int32: AuditChain]
        var latest: [Int32: Task<EncodedPartition, Never>] = [:]
    }

    /// A batch being encoded: one task per input partition and one for the state records.
    private struct EncodingBatch: Sendable {
        var decided: DecidedBatch
        var partitions: [Task<EncodedPartition, Never>]
        var state: Task<[KafkaProducerMessage], Never>

        /// The batch's outputs, once every part is encoded: decision records and deliveries in
        /// partition order, then dead letters and state.
        func prepared() async -> PreparedBatch {
            var prepared = PreparedBatch(offsets: decided.offsets, records: decided.records, counts: decided.counts)
            for partition in partitions {
                let encoded = await partition.value
                prepared.decisionRecords += encoded.decisionRecords
                prepared.outputs += encoded.deliveries
            }
            prepared.outputs += decided.deadLetters
            prepared.outputs += await state.value
            return prepared
        }
    }

    /// Starts encoding a decided batch on all cores: projecting the deliveries and writing the
    /// decision records, each input partition on its own task after the same partition of the batch
    /// before (its audit chain goes on from there); the state records meanwhile.
    private static func encode(_ decided: DecidedBatch, heads: inout AuditHeads, topics: HubTopics) -> EncodingBatch {
        var partitions: [Task<EncodedPartition, Never>] = []
        for (partition, events) in decided.routed.sorted(by: { $0.key < $1.key }) {
            let previous = heads.latest[partition]
            let initial = heads.initial[partition] ?? AuditChain()
            let task = Task {
                let chain = await previous?.value.chain ?? initial
                return encode(events, partition: partition, chain: chain, decidedAt: decided.decidedAt, evaluator: decided.evaluator, topics: topics)
            }
            heads.latest[partition] = task
            partitions.append(task)
        }
        let (cases, people) = (decided.caseStates, decided.consents)
        var withoutEvents = decided
        withoutEvents.routed = [:]  // the partition tasks hold them
        return EncodingBatch(decided: withoutEvents, partitions: partitions,
                             state: Task { stateRecords(cases: cases, consents: people, topics: topics) })
    }

    /// The latest state of each case and person the batch changed, with the input it reflects.
    private static func stateRecords(cases: [String: (state: CaseState, source: InputPosition)],
                                     consents: [String: (record: ConsentRecord, source: InputPosition)],
                                     topics: HubTopics) -> [KafkaProducerMessage] {
        var records: [KafkaProducerMessage] = []
        for (caseId, latest) in cases.sorted(by: { $0.key < $1.key }) {
            records.append(KafkaProducerMessage(topic: topics.caseState, partition: latest.source.partition, key: Array(caseId.utf8),
                                                value: CaseStateRecord(state: latest.state, source: latest.source).json))
        }
        for (key, latest) in consents.sorted(by: { $0.key < $1.key }) {
            records.append(KafkaProducerMessage(topic: topics.consentState, key: Array(key.utf8),
                                                value: ConsentStateRecord(record: latest.record, source: latest.source).json))
        }
        return records
    }

    private struct EncodedPartition: Sendable {
        var partition: Int32
        var chain: AuditChain
        var decisionRecords: [KafkaProducerMessage] = []
        var deliveries: [KafkaProducerMessage] = []
    }

    /// One input partition's decision records, chained on its audit partition, and its deliveries, in input order.
    private static func encode(_ events: [RoutedEvent], partition: Int32, chain: AuditChain, decidedAt: String, evaluator: PolicyEvaluator,
                               topics: HubTopics) -> EncodedPartition {
        var result = EncodedPartition(partition: partition, chain: chain)
        for routed in events {
            // Deliveries first: a permit's decision record carries the digest of what it delivers.
            // (A handful per event: found in a list, not hashed by their long ids.)
            var delivered: [(decisionId: String, digest: String, persons: [String])] = []
            for permit in routed.permits {
                let delivery = evaluator.delivery(of: routed.event, for: permit)
                let record = delivery.kafkaRecord()
                delivered.append((permit.decisionId, DecisionRecord.payloadDigest(of: record.value), Projection.persons(in: delivery.data)))
                result.deliveries.append(KafkaProducerMessage(topic: topics.deliveries(permit.recipient), cloudEvent: record))
            }
            for var decision in routed.decisions {
                let delivery = delivered.first { $0.decisionId == decision.decisionId }
                decision.disclosedPersons = delivery?.persons
                let (_, json) = result.chain.append(DecisionRecord(decision, event: routed.event, decidedAt: decidedAt,
                                                                   payloadDigest: delivery?.digest))
                result.decisionRecords.append(KafkaProducerMessage(topic: topics.audit, partition: partition,
                                                                   key: Array(routed.event.ketencaseid.utf8), value: json))
            }
        }
        return result
    }

    /// Commits the batches in order, each batch's decision records one transaction ahead of its
    /// deliveries: transaction k holds the decision records of batch k with the deliveries, state,
    /// dead letters and input offsets of batch k-1. The embedded cluster shows the records of an
    /// unfinished (and of an aborted) transaction that reached it, and no delivery may be seen there
    /// whose decision is not; if the decision records cannot be written, their batch's deliveries
    /// are never sent. Pairing the two batches in one transaction costs one delivery round per batch
    /// instead of two (decisions, then deliveries, each waiting for the other).
    ///
    /// A successor that finds a batch's decisions recorded but its offsets not committed routes the
    /// batch again, does not record them twice (`RouterMemory.recordedDecisions`) and delivers it.
    private func commitAll(from handover: Handover<EncodingBatch>, consumer: KafkaConsumer, producer: KafkaTransactionalProducer) async throws {
        var recorded: PreparedBatch?  // its decisions committed, its deliveries not yet
        while true {
            // Recorded deliveries do not wait for more input: with no batch decided now, they go alone.
            let next = recorded == nil ? await handover.take() : handover.takeIfReady()
            if recorded == nil && next == nil { return }
            var transaction = BatchTransaction()
            if let recorded { transaction.deliver(recorded) }
            recorded = nil
            if let batch = await next?.prepared() {
                if batch.decisionRecords.isEmpty {
                    transaction.deliver(batch)  // nothing to record first
                } else {
                    transaction.record(batch)
                    recorded = batch
                }
            }
            try await commit(transaction, consumer: consumer, producer: producer)
        }
    }

    /// One transaction's records: the decision records of one batch and the deliveries, state,
    /// dead letters and input offsets of the batches whose decisions are already recorded.
    struct BatchTransaction {
        var records: [KafkaProducerMessage] = []
        var offsets: [KafkaTopicPartition: KafkaTopicPartitionOffset] = [:]
        /// The input records of the delivered batches, and what to count once they are committed.
        var inputs = 0
        var counts: [BatchCounts] = []

        mutating func record(_ batch: PreparedBatch) {
            records += batch.decisionRecords
        }

        mutating func deliver(_ batch: PreparedBatch) {
            records += batch.outputs
            for offset in batch.offsets { offsets[offset.topicPartition] = offset }  // a later batch reads further
            inputs += batch.records
            counts.append(batch.counts)
        }
    }

    private func commit(_ transaction: BatchTransaction, consumer: KafkaConsumer, producer: KafkaTransactionalProducer) async throws {
        let start = ContinuousClock.now
        let offsets = Array(transaction.offsets.values)
        try await producer.withTransaction { txn in
            try await txn.deliverAll(transaction.records)
            if !offsets.isEmpty { try await txn.sendOffsetsToTransaction(offsets, consumer: consumer) }
        }
        // The embedded cluster does not store offsets sent to a transaction; committing them again is
        // harmless on Apache Kafka and makes a restart on the embedded cluster resume here too. Not
        // waited for: a commit lost in a crash only means the successor reads the batch again, and
        // deduplicates it (every decision and delivery has a deterministic id).
        if !offsets.isEmpty { try consumer.commitWithoutWaiting(offsets) }
        phase.add(committed: transaction.inputs, produced: transaction.records.count)
        if let metrics = configuration.metrics {
            for counts in transaction.counts {
                for (type, count) in counts.routedByType {
                    metrics.increment("ketenhub_events_routed_total", help: "Canonical events routed (decided for every candidate recipient).",
                                      labels: ["type": type], by: Double(count))
                }
                for (decision, count) in counts.decisions {
                    metrics.increment("ketenhub_decisions_total", help: "Routing decisions, permits and denies, by recipient.",
                                      labels: ["recipient": decision.recipient, "outcome": decision.outcome], by: Double(count))
                }
            }
        }
        logger.debug("transaction committed", metadata: ["records": "\(transaction.records.count)", "inputs": "\(transaction.inputs)",
                                                         "duration": "\(ContinuousClock.now - start)"])
    }

    /// The event in a record, or the dead letter that says why there is none.
    private func parse(_ message: KafkaConsumerMessage) -> Result<CloudEvent, DeadLetterMessage> {
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
    private func deadLetter(_ message: KafkaConsumerMessage, reasons: [DeadLetter.Reason]) -> DeadLetterMessage {
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

/// A dead-letter record, as the failure of parsing.
struct DeadLetterMessage: Error, Sendable {
    let message: KafkaProducerMessage
}

extension Array where Element == KafkaProducerMessage {
    fileprivate mutating func append(_ deadLetter: DeadLetterMessage) { append(deadLetter.message) }
}

/// The service's phase and progress, readable from any task.
private final class PhaseBox: @unchecked Sendable {
    private let lock = NSLock()
    private var phase = RoutingService.Phase.starting
    private var committedCount = 0
    private var producedCount = 0
    var value: RoutingService.Phase {
        get { lock.withLock { phase } }
        set { lock.withLock { phase = newValue } }
    }
    var committed: Int { lock.withLock { committedCount } }
    var produced: Int { lock.withLock { producedCount } }
    func add(committed count: Int, produced: Int) {
        lock.withLock {
            committedCount += count
            producedCount += produced
        }
    }
}


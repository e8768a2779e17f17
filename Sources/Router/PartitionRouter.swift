import CanonicalEvents
import Foundation
import HubTopology
import Kafka
import Logging
import SharingPolicy
import Synchronization

/// What every partition router of one routing service shares: its configuration, the matrices it
/// routes under, and its counts.
struct RouterEnvironment: Sendable {
    var configuration: RouterConfiguration
    var matrices: MatrixSchedule
    var catalogue: ContractCatalogue
    var logger: Logger
    var progress: RouterProgress
}

/// How much one batch of a partition (one transaction) may hold: events, and the bytes of their
/// records (keys and values). The bytes bound what a partition's router holds (a batch waiting, one
/// being decided, one waiting for its transaction and one in it) however large the records are:
/// by events alone, four batches of records near Kafka's 1 MB limit would be gigabytes.
struct BatchLimit: Sendable {
    var events: Int
    var bytes: Int

    /// Whether a batch of `events` events and `bytes` bytes may take `more` events of `moreBytes`
    /// bytes. A batch's first records are taken whatever their size: a record larger than the bound
    /// goes in a batch of its own.
    func admits(events: Int, bytes: Int, more: Int, moreBytes: Int) -> Bool {
        events == 0 || (events + more <= self.events && bytes + moreBytes <= self.bytes)
    }
}

extension KafkaConsumerMessage {
    /// What the record's key and value take, as counted against `BatchLimit.bytes`.
    var batchBytes: Int { value.count + (key?.count ?? 0) }
}

/// One input partition's records as read, each parsed and validated (or the dead letter saying why not), in offset order.
struct ParsedBatch: Sendable {
    var messages: [KafkaConsumerMessage] = []
    var parsed: [Result<CloudEvent, DeadLetterMessage>] = []
    /// The records' bytes (see `BatchLimit`).
    var bytes = 0

    /// Appends `later` (the partition's next records) if the two stay within `limit`.
    mutating func append(_ later: ParsedBatch, within limit: BatchLimit) -> Bool {
        guard limit.admits(events: messages.count, bytes: bytes, more: later.messages.count, moreBytes: later.bytes) else { return false }
        messages += later.messages
        parsed += later.parsed
        bytes += later.bytes
        return true
    }

    /// Records read (from several partitions, each in offset order) with their parse results, by
    /// partition, in batches within `limit` each.
    static func byPartition(_ messages: [KafkaConsumerMessage], parsed: [Result<CloudEvent, DeadLetterMessage>],
                            within limit: BatchLimit) -> [Int32: [ParsedBatch]] {
        var batches: [Int32: [ParsedBatch]] = [:]
        for (message, result) in zip(messages, parsed) {
            var partition = batches.removeValue(forKey: message.partition) ?? [ParsedBatch()]  // alone: appending copies nothing
            let size = message.batchBytes
            let (events, bytes) = (partition[partition.count - 1].messages.count, partition[partition.count - 1].bytes)
            if !limit.admits(events: events, bytes: bytes, more: 1, moreBytes: size) { partition.append(ParsedBatch()) }
            partition[partition.count - 1].messages.append(message)
            partition[partition.count - 1].parsed.append(result)
            partition[partition.count - 1].bytes += size
            batches[message.partition] = partition
        }
        return batches
    }
}

/// One input partition's routing, while this node's group member owns the partition.
///
/// A case's events are all in one partition (the chain case id is the key), and so are its state,
/// its consent and its decisions: the partition's router reads them back from the same partition
/// of the state and audit topics, and needs nothing from any other partition. It writes with a
/// transactional producer of its own, `<prefix>-<partition>`: on Apache Kafka the next owner's
/// producer, initialised with the same id, fences this one's, so a member that lost the partition
/// without noticing (paused past its session) can no longer commit on it.
///
/// Stages: starting (producer initialised, state read back) -> routing -> ended, or failed. Draining
/// (`drain`) ends it: the transaction under way is committed, batches not yet sent are dropped, and
/// the input position is committed, waited for. The service drains it when the group takes the
/// partition away, before the group hands it on: the next owner starts from the position this one
/// committed last, with the state it wrote.
///
/// Made on the consumer's poll thread (in the rebalance callback), fed by the service's loop, and
/// drained from either; its own work runs on tasks of its own.
final class PartitionRouter: Sendable {
    enum Stage: Sendable { case starting, routing, ended, failed }

    let partition: Int32
    /// The assignment this router serves: records fetched under another are not its to route.
    let generation: UInt64
    private let input: Handover<ParsedBatch>
    private let memories: MemoriesLoad
    private let stage: StageBox
    private let task: Task<Void, any Error>

    /// `memories` reads back the state of the partitions assigned with this one (see `RouterMemory.load`).
    init(partition: Int32, generation: UInt64, environment: RouterEnvironment, consumer: KafkaConsumer, memories: MemoriesLoad) {
        self.partition = partition
        self.generation = generation
        // Records read while the router is still busy wait in one batch, up to a batch's size.
        let limit = environment.configuration.batchLimit
        let input = Handover<ParsedBatch>(merging: { $0.append($1, within: limit) })
        let stage = StageBox()
        self.input = input
        self.memories = memories
        self.stage = stage
        let assigned = ContinuousClock.now
        let pipeline = PartitionPipeline(partition: partition, environment: environment, consumer: consumer, input: input, memories: memories)
        task = Task {
            do {
                try await pipeline.run { recordsRead in
                    let took = ContinuousClock.now - assigned
                    let milliseconds = Double(took.components.seconds) * 1000 + Double(took.components.attoseconds) / 1e15
                    stage.takeOver.withLock { $0 = (recordsRead, milliseconds) }
                    stage.set(.routing)
                }
                stage.set(.ended)
            } catch {
                stage.set(.failed)
                input.close()  // the dispatcher's next hand-over returns false
                throw error
            }
        }
    }

    var currentStage: Stage { stage.value.withLock { $0 } }

    /// What taking the partition over took, once it routes: records read back, and milliseconds
    /// from the assignment to routing (producer initialised, state read back).
    var takeOver: (recordsRead: Int, milliseconds: Double)? { stage.takeOver.withLock { $0 } }

    private final class StageBox: Sendable {
        let value = Mutex(Stage.starting)
        let takeOver = Mutex<(recordsRead: Int, milliseconds: Double)?>(nil)
        func set(_ stage: Stage) { value.withLock { $0 = stage } }
    }

    /// Hands a batch of this partition's records over, joined to the one still waiting if together
    /// they make at most a batch, else waiting while it waits; false if the router ended or failed
    /// before taking it.
    func route(_ batch: ParsedBatch) async -> Bool { await input.put(batch) }

    /// Ends the router: waits for the transaction under way, drops the batches read or decided but
    /// not yet sent (nothing of them is written; the partition's next router reads them again from
    /// the committed position), and commits the position. Throws its failure. A router still
    /// starting stops reading its state back (see `MemoriesLoad`): it took nothing.
    ///
    /// Short, because the group waits for it: a member that keeps the rebalance waiting past its
    /// session is dropped from the group, which then hands its partitions on while it still
    /// writes. On Apache Kafka the next owner's producer fences it; the embedded cluster does not
    /// fence, and a loaded machine once saw two routers extend one audit chain that way.
    func drain() async throws {
        input.discard()
        if currentStage == .starting { memories.abandon(partition) }
        do {
            try await task.value
        } catch is PartitionRevokedWhileStarting {
        }
    }
}

/// The work of one partition router, on its own tasks: deciding and encoding in input order, and
/// committing one batch behind.
private struct PartitionPipeline: Sendable {
    let partition: Int32
    let environment: RouterEnvironment
    let consumer: KafkaConsumer
    let input: Handover<ParsedBatch>
    let memories: MemoriesLoad

    var topics: HubTopics { environment.configuration.topics }
    var logger: Logger { environment.logger }

    /// Routes until the input is closed; `whenRouting` is told, once the state is read back, how
    /// many records that took.
    func run(whenRouting: @Sendable (Int) -> Void) async throws {
        let configuration = environment.configuration
        var producerConfiguration = KafkaProducerConfiguration(bootstrapServers: configuration.bootstrapServers,
                                                               clientID: "ketenhub-router-\(partition)")
        producerConfiguration.transactionalID = "\(configuration.transactionalID)-\(partition)"
        producerConfiguration.client.overrides.merge(HubTopics.deadLetterProducerOverrides) { _, new in new }
        producerConfiguration.lingerMilliseconds = 1
        let producer = try KafkaTransactionalProducer(configuration: producerConfiguration, logger: logger)
        // Batches decided while the committer is busy join the next batch, up to a batch's size:
        // a router behind its transactions commits what waited in one.
        let limit = configuration.batchLimit
        let handover = Handover<PreparedBatch>(merging: { $0.append($1, within: limit) })
        var committing: Task<Void, any Error>?
        do {
            // Fencing the partition's previous producer and reading its state back do not depend on each other.
            async let initialised: Void = producer.initTransactions()
            var memory = try await memories.take(partition)
            try await initialised
            try await producer.loadTopicMetadata(writingTo: topics.isRouterOutput)
            whenRouting(memory.recordsRead)
            let positions = memory.positions
            // Two batches are in hand at once: the committer's, and the next, decided and encoded
            // here (building on the state of the batch not yet committed; if that commit fails the
            // router fails, and the partition's next router starts again from what was committed).
            committing = Task {
                do {
                    try await self.commitAll(from: handover, producer: producer, positions: positions)
                } catch {
                    handover.close()
                    throw error
                }
            }
            while let batch = await input.take() {
                let decided = decide(batch, memory: &memory)
                guard await handover.put(encode(decided, memory: &memory)) else { break }  // the committer failed
            }
            handover.discard()  // the input was discarded (see `drain`): so is the batch decided from it
            try await committing?.value
        } catch {
            if error is PartitionRevokedWhileStarting {
                logger.info("partition revoked while its router was starting", metadata: ["partition": "\(partition)"])
            } else {
                logger.error("partition router failed; the partition's next router takes over from its last commit",
                             metadata: ["partition": "\(partition)", "error": "\(error)"])
            }
            handover.close()
            input.close()
            _ = try? await committing?.value  // let a transaction in flight end before the producer closes
            await producer.shutdown()
            throw error
        }
        await producer.shutdown()
    }

    // MARK: - Deciding (in input order)

    /// One routed event's outputs, before they are encoded.
    private struct RoutedEvent: Sendable {
        var event: CloudEvent
        /// The decisions not recorded before (a redelivered event's decisions are recorded once).
        var decisions: [Decision]
        /// Every permit (a redelivered event is delivered again; readers deduplicate), projected when encoded.
        var permits: [Decision]
    }

    /// One batch decided: its events' decisions in input order, not yet encoded.
    private struct DecidedBatch {
        var records: Int
        var inputBytes: Int
        var deadLetters: [KafkaProducerMessage] = []
        var routed: [RoutedEvent] = []
        /// State is written once per case and per person in a case for the whole batch: its latest
        /// value, with the position of the last input it reflects.
        var caseStates: [String: (state: CaseState, source: InputPosition)] = [:]
        var consents: [String: (record: ConsentRecord, source: InputPosition)] = [:]
        var next: Int64?
        var counts = BatchCounts()
        var evaluator: PolicyEvaluator
        var decidedAt: String

        /// One event's decisions: those not recorded before (on input routed again after a
        /// take-over, see `RouterMemory.recordedDecisions`), and every permit (delivered again;
        /// readers deduplicate). Within one router a decision comes up once: an event routed before
        /// is not routed again, and a release names the event that releases.
        mutating func add(_ event: CloudEvent, _ decisions: [Decision], recorded: Set<String>) {
            let unrecorded = recorded.isEmpty ? decisions : decisions.filter { !recorded.contains($0.decisionId) }
            for index in unrecorded.indices {  // read in place, not copied
                counts.decisions[DecisionCount(recipient: unrecorded[index].recipient, outcome: unrecorded[index].outcome.rawValue), default: 0] += 1
            }
            routed.append(RoutedEvent(event: event, decisions: unrecorded, permits: decisions.filter { $0.outcome == .permit }))
        }
    }

    /// Decides a parsed batch: a case's state and a person's consent build up event by event. `memory` moves on with it.
    private func decide(_ batch: ParsedBatch, memory: inout RouterMemory) -> DecidedBatch {
        let now = Date()
        var decided = DecidedBatch(records: batch.messages.count, inputBytes: batch.bytes, evaluator: environment.matrices.evaluator(),
                                   decidedAt: HubTime.text(now))
        let horizonDays = environment.configuration.deduplicationHorizonDays
        let tomorrow = String(HubTime.text(now.addingTimeInterval(86_400)).prefix(10))
        for (message, result) in zip(batch.messages, batch.parsed) {
            decided.next = message.offset + 1
            let event: CloudEvent
            switch result {
            case .success(let parsed): event = parsed
            case .failure(let deadLetter):
                decided.deadLetters.append(deadLetter.message)
                continue
            }
            // The horizon as the events before this one left it, not as it stood when the batch
            // began: how input is cut into batches depends on timing (and differs for a partition's
            // next router reading it again), and must not change which events are routed.
            let horizon = memory.horizon.start(days: horizonDays)
            memory.routing.forgetBefore = horizon
            if CaseState.day(of: event) < horizon, !memory.routing.hasRouted(event) {
                decided.deadLetters.append(environment.deadLetter(message, reasons: [DeadLetter.Reason(
                    location: "/time", reason: "the event happened before the routing horizon (\(horizonDays) days, from \(horizon)): the router no longer remembers whether it routed it, and never routes an event twice; it is not routed")]).message)
                continue
            }
            if let other = memory.routing.caseRouted(withKeyOf: event), other != event.ketencaseid {
                // Routing it would give its deliveries and decisions the ids of the first one's.
                decided.deadLetters.append(environment.deadLetter(message, reasons: [DeadLetter.Reason(
                    location: "/id", reason: "this source already used this id for an event in chain case \(other): an id names one fact in the whole hub; send the event with an id of its own")]).message)
                continue
            }
            guard let step = memory.routing.decide(event, with: decided.evaluator) else {
                logger.debug("duplicate event routed once", metadata: ["source": "\(event.source)", "id": "\(event.id)"])
                continue
            }
            decided.counts.routedByType[event.type, default: 0] += 1
            memory.horizon.saw(CaseState.day(of: event), notAfter: tomorrow)
            // Held deliveries this event released are decided first, as the routing state did.
            for released in step.released {
                decided.add(released.event, released.decisions, recorded: memory.recordedDecisions)
            }
            decided.add(event, step.decisions, recorded: memory.recordedDecisions)
            let source = InputPosition(partition: message.partition, offset: message.offset)
            decided.caseStates[event.ketencaseid] = (step.caseState, source)
            memory.caseSources[event.ketencaseid] = source
            if let consent = step.consent {
                decided.consents[consent.key] = (consent, source)
                memory.consentSources[consent.key] = source
            }
        }
        // Past the partition's end at take-over, no input was routed before.
        if let next = decided.next, next >= memory.rereadEnd, !memory.recordedDecisions.isEmpty { memory.recordedDecisions = [] }
        return decided
    }

    // MARK: - Encoding

    /// A decided batch's records: the decision records, chained on the partition's audit partition,
    /// and its deliveries, in input order; then dead letters and state. The state goes whole (a
    /// snapshot) once the records written since the last snapshot outnumber the live state twice
    /// over: then the partition's next router reads its state from the snapshot on, at most three
    /// times the live state however long the partition's history.
    private func encode(_ decided: DecidedBatch, memory: inout RouterMemory) -> PreparedBatch {
        var decided = decided
        var prepared = PreparedBatch(records: decided.records, inputBytes: decided.inputBytes, counts: decided.counts)
        let live = memory.routing.cases.count + memory.routing.consent.count
        if memory.stateRecordsSinceSnapshot > max(environment.configuration.snapshotMinimumRecords, 2 * live) {
            prepared.snapshot = true
            memory.stateRecordsSinceSnapshot = 0
            for (caseId, state) in memory.routing.cases where decided.caseStates[caseId] == nil {
                if let source = memory.caseSources[caseId] { decided.caseStates[caseId] = (state, source) }
            }
            for record in memory.routing.consent.records where decided.consents[record.key] == nil {
                if let source = memory.consentSources[record.key] { decided.consents[record.key] = (record, source) }
            }
        }
        memory.stateRecordsSinceSnapshot += decided.caseStates.count + decided.consents.count
        if let next = decided.next {
            prepared.offset = KafkaTopicPartitionOffset(topic: topics.canonical, partition: partition, offset: next)
        }
        let evaluator = decided.evaluator
        // The batch's deliveries and decision records are written in this one buffer, each copied out.
        var scratch = JSONWriter(capacity: 8_192)
        // Events are read where they are (through the buffer: an array's element is read as a copy,
        // a retain and a release per field of an event or a decision).
        decided.routed.withUnsafeBufferPointer { routedEvents in
            for index in routedEvents.indices {
                encode(routedEvents[index], evaluator: evaluator, decidedAt: decided.decidedAt, chain: &memory.chain, scratch: &scratch, into: &prepared)
            }
        }
        prepared.chain = memory.chain
        prepared.outputs += decided.deadLetters
        // The latest state of each case and person the batch changed, with the input it reflects,
        // on this partition of the state topics.
        for (caseId, latest) in decided.caseStates.sorted(by: { $0.key < $1.key }) {
            prepared.stateRecords.append(KafkaProducerMessage(topic: topics.caseState, partition: partition, key: Array(caseId.utf8),
                                                              value: CaseStateRecord(state: latest.state, source: latest.source).json))
        }
        for (key, latest) in decided.consents.sorted(by: { $0.key < $1.key }) {
            prepared.stateRecords.append(KafkaProducerMessage(topic: topics.consentState, partition: partition, key: Array(key.utf8),
                                                              value: ConsentStateRecord(record: latest.record, source: latest.source).json))
        }
        return prepared
    }

    /// One routed event's deliveries, then its decision records, linked onto `chain`, into
    /// `prepared`. Deliveries first: a permit's decision record carries the digest of what it
    /// delivers. `routed` is borrowed, not copied, and its decisions are read where they are.
    private func encode(_ routed: RoutedEvent, evaluator: PolicyEvaluator, decidedAt: String, chain: inout AuditChain,
                        scratch: inout JSONWriter, into prepared: inout PreparedBatch) {
        let event = routed.event
        // Permits listing the same fields (rules often do) disclose the same data: it is projected,
        // written, digested and searched for persons once per event; each permit's decision id is
        // kept with the place of what it disclosed. (A handful per event: found in a list, not
        // hashed by their long ids.) Permits are read in place, as decisions are below.
        var delivered: [(decisionId: String, disclosure: Int)] = []
        var disclosed: [(fields: [String], data: JSONValue, value: [UInt8], digest: String, persons: [String])] = []
        routed.permits.withUnsafeBufferPointer { permits in
            for index in permits.indices {
                let shared: Int
                if let found = disclosed.firstIndex(where: { $0.fields == permits[index].fields }) {
                    shared = found
                } else {
                    let data = evaluator.disclosedData(of: event, for: permits[index])
                    let value = data.encodedBytes(using: &scratch)
                    disclosed.append((permits[index].fields, data, value, DecisionRecord.payloadDigest(of: value), Projection.persons(in: data)))
                    shared = disclosed.count - 1
                }
                let record = evaluator.delivery(of: event, for: permits[index], data: disclosed[shared].data).kafkaRecord(value: disclosed[shared].value)
                delivered.append((permits[index].decisionId, shared))
                prepared.outputs.append(KafkaProducerMessage(topic: topics.deliveries(permits[index].recipient), cloudEvent: record))
            }
        }
        // Each record is linked in place: a copy of a record costs a retain and a release per field.
        let key = Array(event.ketencaseid.utf8)
        routed.decisions.withUnsafeBufferPointer { decisions in
            for index in decisions.indices {
                let disclosure = delivered.first { $0.decisionId == decisions[index].decisionId }?.disclosure
                var record = DecisionRecord(decisions[index], event: event, decidedAt: decidedAt, payloadDigest: disclosure.map { disclosed[$0].digest })
                record.disclosedPersons = disclosure.map { disclosed[$0].persons }
                let json = chain.append(&record, using: &scratch)
                prepared.decisionRecords.append(KafkaProducerMessage(topic: topics.audit, partition: partition, key: key, value: json))
            }
        }
    }

    // MARK: - Committing

    /// Commits the batches in order, each in one transaction: first its decision records and state,
    /// and the broker's acknowledgement of them; then its deliveries, dead letters and checkpoint.
    /// The embedded cluster shows the records of an unfinished (and of an aborted) transaction that
    /// reached it, and no delivery may be seen there whose decision is not: deliveries go once the
    /// decisions are there. If the decision records cannot be written, the batch's deliveries are
    /// never sent. The input position is added to the transaction from its start (two rounds to the
    /// group's coordinator, alongside the decisions' round rather than after it): the transaction
    /// commits it with the records or not at all, whenever it was added. A delivery is visible one
    /// commit after its event was read, not two.
    ///
    /// A successor that finds a batch's decisions recorded but its position not committed (on the
    /// embedded cluster, records of a transaction that did not commit) routes the batch again, does
    /// not record them twice (`RouterMemory.recordedDecisions`) and delivers it. Once the handover is
    /// closed (or discarded by a drain) and the batches taken are committed, the last position is
    /// committed to the group and waited for: the partition's next owner starts there (see below for
    /// when it cannot be).
    ///
    /// Each transaction that commits an input position also writes the partition's checkpoint
    /// (`RouterCheckpoint`), from `positions`, which the delivery reports of the decision and
    /// state records move on.
    private func commitAll(from handover: Handover<PreparedBatch>, producer: KafkaTransactionalProducer, positions: RouterPositions) async throws {
        var positions = positions
        var last: KafkaTopicPartitionOffset?
        while let batch = await handover.take() {
            try await commit(batch, producer: producer, positions: &positions)
            last = batch.offset ?? last
        }
        guard let last else { return }
        do {
            try await consumer.commit([last])
        } catch {
            // The embedded cluster refuses offset commits while its group rebalances, which is when
            // partitions are handed over (Apache Kafka takes them, and has the transaction's anyway).
            // Then the next router reads the last batches again: it does not record their decisions
            // twice, and receivers deduplicate their deliveries by id.
            logger.warning("input position not committed at hand-over; the next router reads the last batches again",
                           metadata: ["partition": "\(partition)", "offset": "\(last.offset)", "error": "\(error)"])
        }
    }

    private func commit(_ batch: PreparedBatch, producer: KafkaTransactionalProducer, positions: inout RouterPositions) async throws {
        let start = ContinuousClock.now
        let offsets = batch.offset.map { [$0] } ?? []
        let recorded = batch.decisionRecords + batch.stateRecords
        // A snapshot begins where the state stood before it; the rest moves on with the delivery
        // reports of the recorded records, and the checkpoint is made from there: it names the
        // audit offset past this batch's decisions, which a successor then need not read.
        var after = positions
        if batch.snapshot { (after.cases.snapshot, after.consents.snapshot) = (after.cases.end, after.consents.end) }
        let (topics, partition) = (self.topics, self.partition)
        after = try await producer.withTransaction { txn in
            async let positionAdded: Void = txn.sendOffsetsToTransaction(offsets, consumer: consumer)
            var after = after
            after.advance(past: recorded.isEmpty ? [] : try await txn.sendAll(recorded), topics: topics, chain: batch.chain)
            var outputs = batch.outputs
            if let input = batch.offset {
                outputs.append(try KafkaProducerMessage(topic: topics.routerCheckpoints, partition: partition, key: String(partition),
                                                        json: after.checkpoint(input: input.offset)))
            }
            try await txn.deliverAll(outputs)
            try await positionAdded
            return after
        }
        positions = after
        // The embedded cluster does not store offsets sent to a transaction; committing them again is
        // harmless on Apache Kafka and makes a restart on the embedded cluster resume here too. Not
        // waited for: a commit lost in a crash only means the successor reads the batch again, and
        // deduplicates it (every decision and delivery has a deterministic id).
        if !offsets.isEmpty { try consumer.commitWithoutWaiting(offsets) }
        environment.progress.add(committed: batch.records, produced: recorded.count + batch.outputs.count + (batch.offset == nil ? 0 : 1))
        if let metrics = environment.configuration.metrics {
            for (type, count) in batch.counts.routedByType {
                metrics.increment("ketenhub_events_routed_total", help: "Canonical events routed (decided for every candidate recipient).",
                                  labels: ["type": type], by: Double(count))
            }
            for (decision, count) in batch.counts.decisions {
                metrics.increment("ketenhub_decisions_total", help: "Routing decisions, permits and denies, by recipient.",
                                  labels: ["recipient": decision.recipient, "outcome": decision.outcome], by: Double(count))
            }
        }
        logger.debug("transaction committed", metadata: ["partition": "\(partition)", "records": "\(recorded.count + batch.outputs.count)",
                                                         "inputs": "\(batch.records)", "duration": "\(ContinuousClock.now - start)"])
    }
}

/// One batch's outputs, ready for its transaction.
struct PreparedBatch: Sendable {
    var decisionRecords: [KafkaProducerMessage] = []
    /// Deliveries and dead letters.
    var outputs: [KafkaProducerMessage] = []
    /// The case and consent state the batch changed (or all of it: `snapshot`).
    var stateRecords: [KafkaProducerMessage] = []
    var snapshot = false
    /// The audit chain after the batch's decision records.
    var chain = AuditChain()
    /// The input position after the batch, if it read any record.
    var offset: KafkaTopicPartitionOffset?
    var records = 0
    /// The bytes of the input records it was decided from (see `BatchLimit`).
    var inputBytes = 0
    var counts = BatchCounts()
}

extension PreparedBatch {
    /// Appends `later` (the partition's next batch, decided on the state this one leaves) if the
    /// input of the two stays within `limit`: one transaction then commits both, as it would one batch
    /// read whole. Its records follow this one's (order per key kept); its chain and input position
    /// are where both end; a snapshot in either makes the joined batch's state records begin one,
    /// since the snapshot's start is taken where the state stood before the transaction.
    mutating func append(_ later: PreparedBatch, within limit: BatchLimit) -> Bool {
        guard limit.admits(events: records, bytes: inputBytes, more: later.records, moreBytes: later.inputBytes) else { return false }
        decisionRecords += later.decisionRecords
        outputs += later.outputs
        stateRecords += later.stateRecords
        snapshot = snapshot || later.snapshot
        chain = later.chain
        offset = later.offset ?? offset
        records += later.records
        inputBytes += later.inputBytes
        counts.add(later.counts)
        return true
    }
}

/// For the metrics, once committed: routed events by type, decisions by recipient and outcome.
struct BatchCounts: Sendable {
    var routedByType: [String: Int] = [:]
    var decisions: [DecisionCount: Int] = [:]

    mutating func add(_ other: BatchCounts) {
        routedByType.merge(other.routedByType, uniquingKeysWith: +)
        decisions.merge(other.decisions, uniquingKeysWith: +)
    }
}

struct DecisionCount: Hashable, Sendable { var recipient: String; var outcome: String }

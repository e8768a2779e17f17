import CanonicalEvents
import Foundation
import HubTopology
import Kafka
import Logging
import SharingPolicy
import Synchronization

/// What a partition's router knows when it takes the partition over: the state of its cases and of
/// their consent derived from input it has committed, the head of its audit chain, and the
/// decisions already recorded for input it will route again. Cases stay in their partition (the
/// chain case id is the key), and their state, consent and decisions are written to the same
/// partition of the state and audit topics.
struct RouterMemory {
    var routing = RoutingState()
    var chain = AuditChain()
    /// The input position each case's and each consent's state reflects (written with it).
    var caseSources: [String: InputPosition] = [:]
    var consentSources: [String: InputPosition] = [:]
    /// Decisions recorded for input at or past the committed position (a batch recorded whose
    /// delivery was not committed, or a killed transaction's on the embedded cluster): that input
    /// is routed again, and these are not recorded twice. Needed only until the router has passed
    /// `rereadEnd`, the partition's end when it took over; later input was never routed.
    var recordedDecisions: Set<String> = []
    var rereadEnd: Int64 { positions.reread?.end ?? 0 }
    /// Where the router writes next, as far as it knows (see `RouterPositions`).
    var positions = RouterPositions()
    /// The partition's deduplication horizon.
    var horizon = DeduplicationHorizon()
    /// Records read back at take-over: the start-up work, which the checkpoint bounds.
    var recordsRead = 0
    /// State records written since the newest snapshot began (as far as read back, and then encoded).
    var stateRecordsSinceSnapshot = 0

    /// Reads the memory of partitions taken over at once back from the hub's topics (one reader per
    /// topic for all of them): first each partition's newest checkpoint its committed position
    /// allows, then only what its audit and state partitions hold after it. State derived from input
    /// at or past the committed position is ignored: that input will be routed again and derive it
    /// again. The end of the audit chain is taken as the topic shows it, deduplicated, so that the
    /// router extends what is there.
    static func load(partitions: [Int32], topics: HubTopics, committed: [Int32: Int64], ends: [Int32: Int64], reader: TopicReader,
                     logger: Logger) async throws -> [Int32: RouterMemory] {
        var memories = Dictionary(uniqueKeysWithValues: partitions.map { ($0, RouterMemory()) })
        let decoder = JSONDecoder()
        let checkpoints = try await RouterCheckpoint.newest(partitions: partitions, topic: topics.routerCheckpoints, committed: committed,
                                                            reader: reader, logger: logger)
        func isCommitted(_ source: InputPosition, in partition: Int32) -> Bool {
            source.partition == partition && source.offset < (committed[partition] ?? 0)
        }

        // The three topics are independent: read them at once, each from the checkpoint's offsets.
        async let caseRecords = reader.read(topics.caseState, from: checkpoints.mapValues(\.cases))
        async let consentRecords = reader.read(topics.consentState, from: checkpoints.mapValues(\.consents))
        async let auditRecords = reader.read(topics.audit, from: checkpoints.mapValues(\.audit.offset))
        // A day after tomorrow does not move the horizon (see `DeduplicationHorizon`).
        let tomorrow = String(HubTime.text(Date().addingTimeInterval(86_400)).prefix(10))
        for message in try await caseRecords {
            memories[message.partition]?.recordsRead += 1
            memories[message.partition]?.positions.cases.end = message.offset + 1
            guard let record = try? decoder.decode(CaseStateRecord.self, from: Data(message.value)),
                  isCommitted(record.source, in: message.partition) else { continue }
            memories[message.partition]?.routing.cases[record.state.caseId] = record.state
            for day in record.state.routed.values { memories[message.partition]?.horizon.saw(day, notAfter: tomorrow) }
            memories[message.partition]?.caseSources[record.state.caseId] = record.source
        }
        for message in try await consentRecords {
            memories[message.partition]?.recordsRead += 1
            memories[message.partition]?.positions.consents.end = message.offset + 1
            guard let record = try? decoder.decode(ConsentStateRecord.self, from: Data(message.value)),
                  isCommitted(record.source, in: message.partition) else { continue }
            memories[message.partition]?.routing.consent.record(record.record)
            memories[message.partition]?.consentSources[record.record.key] = record.source
        }
        let audit = Dictionary(grouping: try await auditRecords, by: \.partition)
        for partition in partitions {
            let checkpoint = checkpoints[partition]!
            let read = audit[partition] ?? []
            let decoded = read.compactMap { try? decoder.decode(DecisionRecord.self, from: Data($0.value)) }
            let unique = AuditChainVerifier.deduplicated(decoded).records
            // A chain whose head was altered is not extended: the router fails, and says where.
            if let problem = AuditChainVerifier.verifyHead(partition: partition, unique, after: (checkpoint.audit.sequence, checkpoint.audit.hash)) {
                throw AuditChainBroken(problem: problem)
            }
            var memory = memories[partition]!
            memory.chain = AuditChain(sequence: checkpoint.audit.sequence, head: checkpoint.audit.hash)
            if let last = unique.last { memory.chain.adopt(last) }
            memory.recordedDecisions = Set(unique.map(\.decisionId))
            memory.recordsRead += read.count
            memory.positions.audit = RouterPositions.Audit(end: (read.last?.offset).map { $0 + 1 } ?? checkpoint.audit.offset,
                                                           chain: memory.chain)
            memory.positions.reread = (ends[partition] ?? 0, checkpoint.audit)
            memory.positions.cases.snapshot = checkpoint.cases
            memory.positions.cases.end = max(memory.positions.cases.end, checkpoint.cases)
            memory.positions.consents.snapshot = checkpoint.consents
            memory.positions.consents.end = max(memory.positions.consents.end, checkpoint.consents)
            memory.stateRecordsSinceSnapshot = memory.recordsRead - read.count
            memories[partition] = memory
            logger.info("partition state loaded", metadata: [
                "partition": "\(partition)", "committed": "\(committed[partition] ?? 0)", "checkpoint": "\(checkpoint.input)",
                "cases": "\(memory.routing.cases.count)", "consents": "\(memory.routing.consent.count)",
                "decisions": "\(memory.recordedDecisions.count)", "records read": "\(memory.recordsRead)"])
        }
        return memories
    }
}

/// The memories of partitions assigned together, read back once for all of them; each partition's
/// router takes its own out, so that none stays held here once routing goes on.
///
/// A router whose partition is taken away before it routes gives its memory up (`abandon`): it has
/// taken no input, so nothing waits on it. Once every router of the assignment has, the reading
/// stops. Otherwise the group's rebalance would wait for a start-up nobody uses, and on a loaded
/// machine wait past the session timeout, so that the group went on without this member and its
/// return began another rebalance.
final class MemoriesLoad: Sendable {
    private final class Slots: Sendable {
        let memories = Mutex<[Int32: RouterMemory]>([:])
        let abandoned = Mutex<Set<Int32>>([])
    }
    private let partitions: Set<Int32>
    private let slots: Slots
    private let loading: Task<Void, any Error>

    init(partitions: [Int32], _ load: @escaping @Sendable () async throws -> [Int32: RouterMemory]) {
        let slots = Slots()
        self.partitions = Set(partitions)
        self.slots = slots
        loading = Task {
            let loaded = try await load()
            slots.memories.withLock { $0 = loaded }
        }
    }

    /// The partition's memory, once all are read back (a partition's second take gets an empty one).
    /// Throws `PartitionRevokedWhileStarting` once the partition's memory was given up.
    func take(_ partition: Int32) async throws -> RouterMemory {
        let loaded = await loading.result
        if slots.abandoned.withLock({ $0.contains(partition) }) { throw PartitionRevokedWhileStarting(partition: partition) }
        try loaded.get()
        return slots.memories.withLock { $0.removeValue(forKey: partition) } ?? RouterMemory()
    }

    /// Gives the partition's memory up; the last partition of the assignment to do so stops the reading.
    func abandon(_ partition: Int32) {
        let everyPartition = slots.abandoned.withLock { abandoned in
            abandoned.insert(partition)
            return abandoned.isSuperset(of: partitions)
        }
        if everyPartition { loading.cancel() }
    }
}

/// A partition taken away while its router was still reading its state back: the router ends
/// without having taken any input.
struct PartitionRevokedWhileStarting: Error, CustomStringConvertible {
    var partition: Int32
    var description: String { "partition \(partition) was revoked before its router routed" }
}

/// The first day a partition's router still remembers the events of: the deduplication horizon,
/// counted back from the newest day among the events it routed (not from today: the same events
/// are judged the same whenever they are routed). A day after tomorrow does not move it, so that
/// one event dated in the far future cannot make every other event too old.
struct DeduplicationHorizon: Sendable {
    private(set) var newest = ""
    private var cached: (newest: String, days: Int, start: String)?

    mutating func saw(_ day: String, notAfter limit: String) {
        if day > newest && day <= limit { newest = day }
    }

    /// The horizon's first day (`yyyy-mm-dd`); empty before any event was routed.
    mutating func start(days: Int) -> String {
        guard !newest.isEmpty else { return "" }
        if let cached, cached.newest == newest, cached.days == days { return cached.start }
        let start = HubTime.day(newest).map { String(HubTime.text($0.addingTimeInterval(-Double(days) * 86_400)).prefix(10)) } ?? ""
        cached = (newest, days, start)
        return start
    }
}

/// Where a partition's router writes: the ends of its audit and state partitions, as its delivery
/// reports and its reading back at take-over show them (lower bounds: transaction markers and
/// records of other transactions only push the true ends further), and where its state's newest
/// snapshot begins. What each checkpoint records.
struct RouterPositions: Sendable {
    struct Audit: Sendable {
        var end: Int64 = 0
        /// The chain at `end`.
        var chain = AuditChain()
    }
    struct State: Sendable {
        var end: Int64 = 0
        var snapshot: Int64 = 0
    }
    var audit = Audit()
    var cases = State()
    var consents = State()
    /// Until its input passes `end` (the partition's end when this router took it over), a router
    /// may route input again whose decisions a predecessor recorded before this router's audit end,
    /// from `audit` (the position it read them from) on. Its checkpoints keep that position until
    /// then: a successor starting from one of them must find those decisions too, or it would
    /// record them again (a hand-over whose commits the group refused mid-rebalance did).
    var reread: (end: Int64, audit: RouterCheckpoint.AuditPosition)?

    /// Moves the ends past records the broker acknowledged; `chain` is the audit chain after them.
    mutating func advance(past reports: [KafkaDeliveryReport], topics: HubTopics, chain: AuditChain) {
        for report in reports {
            switch report.topic {
            case topics.audit: audit.end = max(audit.end, report.offset + 1)
            case topics.caseState: cases.end = max(cases.end, report.offset + 1)
            case topics.consentState: consents.end = max(consents.end, report.offset + 1)
            default: break
            }
        }
        audit.chain = chain
    }

    /// The checkpoint of a transaction that commits input up to `input`, made once its decision
    /// and state records are acknowledged (and `advance`d past): every decision on input up to
    /// there is recorded before the audit end, every one on later input at or past it (or, while
    /// input routed before is routed again, at or past where this router read it: `reread`).
    func checkpoint(input: Int64) -> RouterCheckpoint {
        let own = RouterCheckpoint.AuditPosition(offset: audit.end, sequence: audit.chain.sequence, hash: audit.chain.head)
        let position = reread.flatMap { input < $0.end ? $0.audit : nil } ?? own
        return RouterCheckpoint(input: input, audit: position, cases: cases.snapshot, consents: consents.snapshot)
    }
}

extension RouterCheckpoint {
    /// How many of a checkpoint partition's last records are read first: the committed position
    /// is nearly always one of the last few checkpoints.
    static let tail: Int64 = 64

    /// Each partition's newest checkpoint at or before its committed position: from the partition's
    /// last records, or if none of them qualifies, from all of it; `origin` if there is none.
    static func newest(partitions: [Int32], topic: String, committed: [Int32: Int64], reader: TopicReader,
                       logger: Logger) async throws -> [Int32: RouterCheckpoint] {
        let decoder = JSONDecoder()
        func choose(_ records: [KafkaConsumerMessage]) -> [Int32: RouterCheckpoint] {
            var chosen: [Int32: RouterCheckpoint] = [:]
            for message in records {
                guard let checkpoint = try? decoder.decode(RouterCheckpoint.self, from: Data(message.value)),
                      checkpoint.input <= (committed[message.partition] ?? 0) else { continue }
                chosen[message.partition] = checkpoint  // records come in offset order: the last is the newest
            }
            return chosen
        }
        let tailRecords = try await reader.read(topic, from: Dictionary(uniqueKeysWithValues: partitions.map { ($0, KafkaOffset.tail(tail)) }))
        var chosen = choose(tailRecords)
        // A partition whose last records are all ahead of its committed position (its router's
        // commits were refused for a while) is searched whole.
        let ahead = Set(tailRecords.map(\.partition)).subtracting(chosen.keys).sorted()
        if !ahead.isEmpty {
            logger.info("checkpoints searched from the beginning", metadata: ["partitions": "\(ahead)"])
            chosen.merge(choose(try await reader.read(topic, from: Dictionary(uniqueKeysWithValues: ahead.map { ($0, KafkaOffset.beginning) })))) { $1 }
        }
        for partition in partitions where chosen[partition] == nil { chosen[partition] = .origin }
        return chosen
    }
}

/// The audit chain a router would extend is not intact: it does not route (audit fails closed).
struct AuditChainBroken: Error, CustomStringConvertible {
    var problem: AuditChainVerifier.Problem
    var description: String { "the audit chain cannot be extended: \(problem)" }
}

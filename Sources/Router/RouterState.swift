import CanonicalEvents
import Foundation
import HubTopology
import Kafka
import Logging
import SharingPolicy

/// What a partition's router knows when it takes the partition over: the state of its cases and of
/// their consent derived from input it has committed, the head of its audit chain, and the decisions
/// already recorded on it. Cases stay in their partition (the chain case id is the key), and their
/// state, consent and decisions are written to the same partition of the state and audit topics.
struct RouterMemory {
    var routing = RoutingState()
    var chain = AuditChain()
    var recordedDecisions: Set<String> = []

    /// Reads the memory of partitions taken over at once back from the hub's topics (one reader per
    /// topic for all of them). State derived from input at or past the partition's committed position
    /// is ignored: that input will be routed again and derive it again. The audit chain is taken as
    /// the topic shows it, deduplicated, so that the router extends what is there.
    static func load(partitions: [Int32], topics: HubTopics, committed: [Int32: Int64], reader: TopicReader,
                     logger: Logger) async throws -> [Int32: RouterMemory] {
        var memories = Dictionary(uniqueKeysWithValues: partitions.map { ($0, RouterMemory()) })
        let decoder = JSONDecoder()
        func isCommitted(_ source: InputPosition, in partition: Int32) -> Bool {
            source.partition == partition && source.offset < (committed[partition] ?? 0)
        }

        // The three topics are independent: read them at once.
        async let caseRecords = reader.readAll(topics.caseState, partitions: partitions)
        async let consentRecords = reader.readAll(topics.consentState, partitions: partitions)
        async let auditRecords = reader.readAll(topics.audit, partitions: partitions)
        for message in try await caseRecords {
            guard let record = try? decoder.decode(CaseStateRecord.self, from: Data(message.value)),
                  isCommitted(record.source, in: message.partition) else { continue }
            memories[message.partition]?.routing.cases[record.state.caseId] = record.state
        }
        for message in try await consentRecords {
            guard let record = try? decoder.decode(ConsentStateRecord.self, from: Data(message.value)),
                  isCommitted(record.source, in: message.partition) else { continue }
            memories[message.partition]?.routing.consent.record(record.record)
        }
        let audit = Dictionary(grouping: try await auditRecords, by: \.partition)
        for partition in partitions {
            let decoded = (audit[partition] ?? []).compactMap { try? decoder.decode(DecisionRecord.self, from: Data($0.value)) }
            let unique = AuditChainVerifier.deduplicated(decoded).records
            // A chain whose head was altered is not extended: the router fails, and says where.
            if let problem = AuditChainVerifier.verifyHead(partition: partition, unique) { throw AuditChainBroken(problem: problem) }
            if let last = unique.last { memories[partition]!.chain.adopt(last) }
            memories[partition]!.recordedDecisions.formUnion(unique.map(\.decisionId))
        }
        for (partition, memory) in memories.sorted(by: { $0.key < $1.key }) {
            logger.info("partition state loaded", metadata: [
                "partition": "\(partition)", "committed": "\(committed[partition] ?? 0)", "cases": "\(memory.routing.cases.count)",
                "consents": "\(memory.routing.consent.count)", "decisions": "\(memory.recordedDecisions.count)"])
        }
        return memories
    }
}

/// The audit chain a router would extend is not intact: it does not route (audit fails closed).
struct AuditChainBroken: Error, CustomStringConvertible {
    var problem: AuditChainVerifier.Problem
    var description: String { "the audit chain cannot be extended: \(problem)" }
}

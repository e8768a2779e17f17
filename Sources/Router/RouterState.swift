import CanonicalEvents
import Foundation
import HubTopology
import Kafka
import Logging
import SharingPolicy

/// What a router instance knows when it starts: case and consent state derived from input it has
/// committed, the head of each audit chain, and the decisions already recorded.
struct RouterMemory {
    var routing = RoutingState()
    var chains: [Int32: AuditChain] = [:]
    var recordedDecisions: Set<String> = []

    /// Rebuilds the memory from the hub's topics. State derived from input at or past the committed
    /// position is ignored: that input will be routed again and derive it again. The audit chains are
    /// taken as the topic shows them, deduplicated, so that the router extends what is there.
    static func load(topics: HubTopics, committed: [Int32: Int64], reader: TopicReader, logger: Logger) async throws -> RouterMemory {
        var memory = RouterMemory()
        let decoder = JSONDecoder()
        func isCommitted(_ source: InputPosition) -> Bool { source.offset < (committed[source.partition] ?? 0) }

        // The three topics are independent: read them at once.
        async let caseRecords = reader.readAll(topics.caseState)
        async let consentRecords = reader.readAll(topics.consentState)
        async let auditRecords = reader.readAll(topics.audit)
        for (_, records) in try await caseRecords {
            for message in records {
                guard let record = try? decoder.decode(CaseStateRecord.self, from: Data(message.value)), isCommitted(record.source) else { continue }
                memory.routing.cases[record.state.caseId] = record.state
            }
        }
        for (_, records) in try await consentRecords.sorted(by: { $0.key < $1.key }) {
            for message in records {
                guard let record = try? decoder.decode(ConsentStateRecord.self, from: Data(message.value)), isCommitted(record.source) else { continue }
                memory.routing.consent.record(record.record)
            }
        }
        for (partition, records) in try await auditRecords {
            let decoded = records.compactMap { try? decoder.decode(DecisionRecord.self, from: Data($0.value)) }
            let unique = AuditChainVerifier.deduplicated(decoded).records
            // A chain whose head was altered is not extended: the router fails, and says where.
            if let problem = AuditChainVerifier.verifyHead(partition: partition, unique) { throw AuditChainBroken(problem: problem) }
            var chain = AuditChain()
            if let last = unique.last { chain.adopt(last) }
            memory.chains[partition] = chain
            memory.recordedDecisions.formUnion(unique.map(\.decisionId))
        }
        logger.info("router state loaded", metadata: [
            "cases": "\(memory.routing.cases.count)", "consents": "\(memory.routing.consent.count)",
            "decisions": "\(memory.recordedDecisions.count)"])
        return memory
    }
}

/// The audit chain a router would extend is not intact: it does not route (audit fails closed).
struct AuditChainBroken: Error, CustomStringConvertible {
    var problem: AuditChainVerifier.Problem
    var description: String { "the audit chain cannot be extended: \(problem)" }
}

import CanonicalEvents
import EmbeddedKafka
import Foundation
import HubTopology
import Kafka
import KetenhubTestSupport
import Router
import SharingPolicy
import Testing

/// `ketenhub audit verify` as a separate process against an audit topic on the embedded cluster:
/// intact chains are counted; a removed, altered or reordered record is named (#13).
@Suite("Audit verification", .serialized)
struct AuditVerifyTests {
    /// Two chains (partitions 0 and 1) of `count` records each, as the router writes them.
    static func chains(_ count: Int) throws -> [Int32: [[UInt8]]] {
        var result: [Int32: [[UInt8]]] = [:]
        for partition: Int32 in [0, 1] {
            var chain = AuditChain()
            for number in 1...count {
                let text = AuditChainTests.permit.replacingOccurrences(of: "dec-1-politie", with: "dec-\(partition)-\(number)-politie")
                result[partition, default: []].append(chain.append(try AuditChainTests.record(text)).json)
            }
        }
        return result
    }

    static func verify(_ records: [Int32: [[UInt8]]]) async throws -> (status: Int32, output: String, errors: String) {
        let cluster = try EmbeddedCluster(brokers: 1, logger: testLogger)
        defer { cluster.shutdown() }
        let topic = uniqueName("audit")
        try await cluster.createTopics([KafkaTopicSpecification(name: topic, partitions: 2)])
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers), logger: testLogger)
        try await producer.sendAll(records.sorted { $0.key < $1.key }.flatMap { partition, values in
            values.map { KafkaProducerMessage(topic: topic, partition: partition, key: Array("KZ-2026-AAAAAA".utf8), value: $0) }
        })
        await producer.shutdown()
        return try await runKetenhub(["audit", "verify", "--bootstrap", cluster.bootstrapServers, "--topic", topic])
    }

    @Test("intact chains: exit 0 and the decisions verified per chain")
    func intact() async throws {
        let (status, output, _) = try await Self.verify(try Self.chains(4))
        #expect(status == 0)
        #expect(output == """
            audit partition 0: 4 decisions verified
            audit partition 1: 4 decisions verified
            8 decisions verified in 2 chains

            """)
    }

    @Test("a record removed, altered or moved: exit 1 naming the first broken link of that chain")
    func broken() async throws {
        var removed = try Self.chains(4)
        removed[1]!.remove(at: 1)
        var (status, output, errors) = try await Self.verify(removed)
        #expect(status == 1)
        #expect(output == "audit partition 0: 4 decisions verified\naudit partition 1, record 3: expected record 2: a record is missing or out of place\n")
        #expect(errors.hasSuffix("1 of 2 chains broken\n"))

        var altered = try Self.chains(4)
        altered[0]![2] = Array(String(decoding: altered[0]![2], as: UTF8.self).replacingOccurrences(of: "wpg-art-16", with: "wpg-art-19").utf8)
        (status, output, _) = try await Self.verify(altered)
        #expect(status == 1)
        #expect(output.hasPrefix("audit partition 0, record 3: its content does not match its hash (altered)\n"))

        var reordered = try Self.chains(4)
        reordered[0]!.swapAt(1, 2)
        (status, output, _) = try await Self.verify(reordered)
        #expect(status == 1)
        #expect(output.hasPrefix("audit partition 0, record 3: expected record 2: a record is missing or out of place\n"))
    }

    @Test("a router does not extend a chain whose head was altered")
    func routerRefusesAlteredHead() async throws {
        var chains = try Self.chains(3)
        chains[0]![2] = Array(String(decoding: chains[0]![2], as: UTF8.self).replacingOccurrences(of: "toezicht", with: "anders").utf8)
        let unique = chains[0]!.map { try! JSONDecoder().decode(DecisionRecord.self, from: Data($0)) }
        #expect(AuditChainVerifier.verifyHead(partition: 0, unique)?.reason == "the chain's head does not match its hash (altered)")
        #expect(AuditChainVerifier.verifyHead(partition: 1, chains[1]!.map { try! JSONDecoder().decode(DecisionRecord.self, from: Data($0)) }) == nil)
        #expect(AuditChainVerifier.verifyHead(partition: 1, Array(chains[1]!.dropFirst()).map { try! JSONDecoder().decode(DecisionRecord.self, from: Data($0)) }) == nil,
                "only the head and its link are checked at start; the whole chain is audit verify's")
        // The router itself: it fails at start, naming the chain, and routes nothing.
        let cluster = try await RouterFixtures.cluster()
        defer { cluster.shutdown() }
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers), logger: testLogger)
        try await producer.sendAll(chains[0]!.map { KafkaProducerMessage(topic: RouterFixtures.topics.audit, partition: 0, key: Array("KZ-2026-AAAAAA".utf8), value: $0) })
        await producer.shutdown()
        try await RouterFixtures.publish([RouterFixtures.event("gedragsaanwijzing/opgelegd", case: 1, sequence: 0)], to: cluster)
        var configuration = RouterConfiguration(bootstrapServers: cluster.bootstrapServers)
        configuration.transactionalID = uniqueName("router")
        configuration.groupID = configuration.transactionalID
        let service = RoutingService(configuration: configuration, matrix: RouterFixtures.matrix, logger: testLogger)
        do {
            try await service.run()
            Issue.record("the router ran on an altered chain")
        } catch {
            #expect("\(error)" == "the audit chain cannot be extended: audit partition 0, record 3: the chain's head does not match its hash (altered)")
        }
        #expect(try await RouterFixtures.delivered(cluster).isEmpty)
    }
}

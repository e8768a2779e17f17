import CanonicalEvents
import Foundation
import Testing
@testable import Kafka
@testable import Router

@Suite("Hand-over from the routing loop to the committer")
struct HandoverTests {
    @Test("batches are taken in the order put; a second put waits until the first is taken")
    func order() async throws {
        let handover = Handover<Int>()
        #expect(await handover.put(1))
        let second = Task { await handover.put(2) }
        // The second batch cannot be placed while the first is there: its put is still waiting.
        try await Task.sleep(for: .milliseconds(50))
        #expect(await handover.take() == 1)
        #expect(await second.value)
        #expect(await handover.take() == 2)
        handover.close()
        #expect(await handover.take() == nil, "nothing more was put")
    }

    @Test("a waiting taker gets the next batch put")
    func waitingTaker() async throws {
        let handover = Handover<Int>()
        let taking = Task { await handover.take() }
        try await Task.sleep(for: .milliseconds(50))
        #expect(await handover.put(7))
        #expect(await taking.value == 7)
    }

    @Test("closing lets the taker finish what was put, ends a waiting take, and refuses puts; discarding drops what was put")
    func closing() async throws {
        let handover = Handover<Int>()
        #expect(await handover.put(1))
        let refused = Task { await handover.put(2) }
        try await Task.sleep(for: .milliseconds(50))
        handover.close()
        #expect(await refused.value == false)
        #expect(await handover.take() == 1)
        #expect(await handover.take() == nil)
        #expect(await handover.put(3) == false)

        let discarded = Handover<Int>()
        #expect(await discarded.put(1))
        let dropped = Task { await discarded.put(2) }
        try await Task.sleep(for: .milliseconds(50))
        discarded.discard()
        #expect(await dropped.value == false)
        #expect(await discarded.take() == nil, "discarding drops what was put")

        let idle = Handover<Int>()
        let waiting = Task { await idle.take() }
        try await Task.sleep(for: .milliseconds(50))
        idle.close()
        #expect(await waiting.value == nil)
    }

    @Test("a merging hand-over joins batches put while one waits, in order, up to what the merge accepts; then a put waits its turn")
    func merging() async throws {
        let handover = Handover<[Int]>(merging: { waiting, later in
            guard waiting.count + later.count <= 4 else { return false }
            waiting += later
            return true
        })
        #expect(await handover.put([1]))
        #expect(await handover.put([2, 3]), "joined to the waiting batch: the put does not wait")
        #expect(await handover.put([4]))
        let fifth = Task { await handover.put([5, 6]) }
        // Four records wait: the fifth and sixth would make six, so their put waits.
        try await Task.sleep(for: .milliseconds(50))
        #expect(await handover.take() == [1, 2, 3, 4])
        #expect(await fifth.value)
        #expect(await handover.put([7]), "joined to the batch that took the slot")
        #expect(await handover.take() == [5, 6, 7])
        // A batch handed straight to a waiting taker is not held back to be joined.
        let taking = Task { await handover.take() }
        try await Task.sleep(for: .milliseconds(50))
        #expect(await handover.put([8]))
        #expect(await taking.value == [8])
        handover.close()
        #expect(await handover.take() == nil)
    }

    @Test("a partition's batches join in offset order, records with their parse results, up to the limit")
    func parsedBatches() {
        func batch(_ offsets: Range<Int64>) -> ParsedBatch {
            ParsedBatch(messages: offsets.map { KafkaConsumerMessage(topic: "in", partition: 0, offset: $0, key: nil, value: [], headers: [], timestamp: nil, assignmentGeneration: 1) },
                        parsed: offsets.map { .failure(DeadLetterMessage(message: KafkaProducerMessage(topic: "dead", key: Array("\($0)".utf8), value: []))) })
        }
        var waiting = batch(0..<3)
        let joined = waiting.append(batch(3..<5), within: Self.records(5))
        #expect(joined)
        #expect(waiting.messages.map(\.offset) == [0, 1, 2, 3, 4])
        let keys = waiting.parsed.map { result -> String in
            guard case .failure(let dead) = result else { return "" }
            return String(decoding: dead.message.key ?? [], as: UTF8.self)
        }
        #expect(keys == ["0", "1", "2", "3", "4"], "each record keeps its own parse result")
        let passing = waiting.append(batch(5..<6), within: Self.records(5))
        #expect(!passing, "a sixth record would pass the limit")
        #expect(waiting.messages.count == 5, "a refused batch is not joined in part")
    }

    @Test("records read across partitions are split by partition, in offset order, into batches of at most the limit")
    func byPartition() {
        // Partition 0: offsets 0-4; partition 1: offsets 0-1; interleaved as a read returns them.
        let read: [(Int32, Int64)] = [(0, 0), (1, 0), (0, 1), (0, 2), (1, 1), (0, 3), (0, 4)]
        let messages = read.map { KafkaConsumerMessage(topic: "in", partition: $0.0, offset: $0.1, key: nil, value: [], headers: [], timestamp: nil,
                                                       assignmentGeneration: 1) }
        let parsed: [Result<CloudEvent, DeadLetterMessage>] = read.map {
            .failure(DeadLetterMessage(message: KafkaProducerMessage(topic: "dead", key: Array("\($0.0)/\($0.1)".utf8), value: [])))
        }
        let batches = ParsedBatch.byPartition(messages, parsed: parsed, within: Self.records(2))
        #expect(Set(batches.keys) == [0, 1])
        #expect(batches[0]?.map { $0.messages.map(\.offset) } == [[0, 1], [2, 3], [4]])
        #expect(batches[1]?.map { $0.messages.map(\.offset) } == [[0, 1]])
        for (partition, list) in batches {
            for batch in list {
                let keys = batch.parsed.map { result -> String in
                    guard case .failure(let dead) = result else { return "" }
                    return String(decoding: dead.message.key ?? [], as: UTF8.self)
                }
                #expect(keys == batch.messages.map { "\(partition)/\($0.offset)" }, "each record keeps its own parse result")
            }
        }
        #expect(ParsedBatch.byPartition([], parsed: [], within: Self.records(2)).isEmpty)
        let whole = ParsedBatch.byPartition(messages, parsed: parsed, within: Self.records(500))
        #expect(whole[0]?.map(\.messages.count) == [5] && whole[1]?.map(\.messages.count) == [2], "under the limit a partition's records are one batch")
    }

    @Test("prepared batches join in order up to the limit of records read: outputs after outputs, the later chain and input position, a snapshot if either is one, counts added")
    func preparedBatches() throws {
        func message(_ topic: String, _ key: String) -> KafkaProducerMessage { KafkaProducerMessage(topic: topic, key: Array(key.utf8), value: []) }
        func keys(_ messages: [KafkaProducerMessage]) -> [String] { messages.map { String(decoding: $0.key ?? [], as: UTF8.self) } }
        var chain = AuditChain()
        var first = PreparedBatch(decisionRecords: [message("audit", "d1")], outputs: [message("out", "o1"), message("dead", "x1")],
                                  stateRecords: [message("case", "c1")], snapshot: false, chain: chain,
                                  offset: KafkaTopicPartitionOffset(topic: "in", partition: 2, offset: 10), records: 3)
        first.counts.routedByType = ["a": 2]
        first.counts.decisions = [DecisionCount(recipient: "om", outcome: "permit"): 1]
        var record = try AuditChainTests.record(AuditChainTests.deny)
        _ = chain.append(&record)
        var second = PreparedBatch(decisionRecords: [message("audit", "d2"), message("audit", "d3")], outputs: [message("out", "o2")],
                                   stateRecords: [message("case", "c1"), message("case", "c2")], snapshot: true, chain: chain,
                                   offset: KafkaTopicPartitionOffset(topic: "in", partition: 2, offset: 12), records: 2)
        second.counts.routedByType = ["a": 1, "b": 1]
        second.counts.decisions = [DecisionCount(recipient: "om", outcome: "permit"): 2, DecisionCount(recipient: "vt", outcome: "deny"): 1]
        var joined = first
        let passing = joined.append(second, within: Self.records(4))
        #expect(!passing, "five records read would pass the limit")
        #expect(joined.records == 3 && keys(joined.decisionRecords) == ["d1"] && joined.offset?.offset == 10, "a refused batch is not joined in part")
        let joinedSecond = joined.append(second, within: Self.records(5))
        #expect(joinedSecond)
        #expect(keys(joined.decisionRecords) == ["d1", "d2", "d3"])
        #expect(keys(joined.outputs) == ["o1", "x1", "o2"])
        #expect(keys(joined.stateRecords) == ["c1", "c1", "c2"], "a case's later state follows its earlier")
        #expect(joined.snapshot && joined.chain.sequence == 1 && joined.chain.head == chain.head)
        #expect(joined.offset?.offset == 12 && joined.records == 5)
        #expect(joined.counts.routedByType == ["a": 3, "b": 1])
        #expect(joined.counts.decisions == [DecisionCount(recipient: "om", outcome: "permit"): 3, DecisionCount(recipient: "vt", outcome: "deny"): 1])
        // A batch that read nothing (a drained router's last) keeps the position before it; a
        // snapshot first stays one.
        var snapshotFirst = second
        let joinedEmpty = snapshotFirst.append(PreparedBatch(chain: chain), within: Self.records(5))
        #expect(joinedEmpty)
        #expect(snapshotFirst.snapshot && snapshotFirst.offset?.offset == 12)
    }

    /// A limit of `events` events, whatever their bytes.
    static func records(_ events: Int) -> BatchLimit { BatchLimit(events: events, bytes: .max) }

    static func message(partition: Int32 = 0, offset: Int64, bytes: Int) -> KafkaConsumerMessage {
        KafkaConsumerMessage(topic: "in", partition: partition, offset: offset, key: Array("k".utf8), value: [UInt8](repeating: 0x20, count: bytes - 1),
                             headers: [], timestamp: nil, assignmentGeneration: 1)
    }

    static func deadLetter(_ offset: Int64) -> Result<CloudEvent, DeadLetterMessage> {
        .failure(DeadLetterMessage(message: KafkaProducerMessage(topic: "dead", key: Array("\(offset)".utf8), value: [])))
    }

    @Test("a partition's records are split into batches by bytes as well as by events: a batch closes before its keys and values pass the limit, and a record larger than the limit goes alone")
    func byPartitionByBytes() {
        // Partition 0: records of 400, 400, 300, 900 (over the limit), 100 and 100 bytes (key and value).
        let sizes = [400, 400, 300, 900, 100, 100]
        let messages = sizes.enumerated().map { Self.message(offset: Int64($0.offset), bytes: $0.element) }
        #expect(messages.map(\.batchBytes) == sizes)
        let batches = ParsedBatch.byPartition(messages, parsed: messages.map { Self.deadLetter($0.offset) }, within: BatchLimit(events: 500, bytes: 800))
        #expect(batches[0]?.map { $0.messages.map(\.offset) } == [[0, 1], [2], [3], [4, 5]])
        #expect(batches[0]?.map(\.bytes) == [800, 300, 900, 200])
        // By events first when the records are small.
        let byEvents = ParsedBatch.byPartition(messages, parsed: messages.map { Self.deadLetter($0.offset) }, within: BatchLimit(events: 2, bytes: 10_000))
        #expect(byEvents[0]?.map { $0.messages.map(\.offset) } == [[0, 1], [2, 3], [4, 5]])
    }

    @Test("batches waiting for a partition's router, and for its transaction, join only while their bytes stay within the limit")
    func joiningByBytes() {
        func batch(_ offsets: Range<Int64>, bytes: Int) -> ParsedBatch {
            let messages = offsets.map { Self.message(offset: $0, bytes: bytes) }
            return ParsedBatch(messages: messages, parsed: messages.map { Self.deadLetter($0.offset) }, bytes: messages.map(\.batchBytes).reduce(0, +))
        }
        let limit = BatchLimit(events: 500, bytes: 1_000)
        var waiting = batch(0..<2, bytes: 300)
        let atLimit = waiting.append(batch(2..<3, bytes: 400), within: limit)
        #expect(atLimit, "1,000 bytes: at the limit")
        #expect(waiting.bytes == 1_000 && waiting.messages.map(\.offset) == [0, 1, 2])
        let passing = waiting.append(batch(3..<4, bytes: 1), within: limit)
        #expect(!passing, "one byte more would pass it")
        #expect(waiting.messages.count == 3 && waiting.bytes == 1_000, "a refused batch is not joined in part")
        var empty = ParsedBatch()
        let alone = empty.append(batch(0..<1, bytes: 5_000), within: limit)
        #expect(alone, "a record over the limit still makes a batch of its own")

        var prepared = PreparedBatch(records: 2, inputBytes: 600)
        let over = prepared.append(PreparedBatch(records: 1, inputBytes: 401), within: limit)
        #expect(!over)
        #expect(prepared.records == 2 && prepared.inputBytes == 600)
        let within = prepared.append(PreparedBatch(records: 1, inputBytes: 400), within: limit)
        #expect(within)
        #expect(prepared.records == 3 && prepared.inputBytes == 1_000)
    }
}

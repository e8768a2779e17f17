import EmbeddedKafka
import Kafka
import KetenhubTestSupport
import Testing

@Suite("Produce and consume on the embedded cluster")
struct ProduceConsumeTests {
    @Test("every client turns Nagle's algorithm off (librdkafka 2.0.2 leaves it on), unless a node's properties say otherwise")
    func noDelay() {
        #expect(KafkaProducerConfiguration(bootstrapServers: "b").properties["socket.nagle.disable"] == "true")
        #expect(KafkaConsumerConfiguration(bootstrapServers: "b", groupID: "g").properties["socket.nagle.disable"] == "true")
        var consumer = KafkaConsumerConfiguration(bootstrapServers: "b", groupID: "g")
        consumer.client.overrides = ["socket.nagle.disable": "false"]
        #expect(consumer.properties["socket.nagle.disable"] == "false", "a client's own override wins")
    }

    @Test("records keep their keys, values, headers and per-key order")
    func roundTrip() async throws {
        let topic = KafkaTopicSpecification(name: "canonical-events", partitions: 3)
        try await withCluster(topics: [topic]) { cluster in
            let producer = try KafkaProducer(configuration: producerConfiguration(cluster), logger: testLogger)
            let sent = (0..<30).map { index in
                KafkaProducerMessage(
                    topic: topic.name, key: "case-\(index % 4)", value: "event-\(index)",
                    headers: [KafkaHeader(key: "ce_type", string: "nl.ketenhub.test.v1"),
                              KafkaHeader(key: "ce_id", string: "id-\(index)"),
                              KafkaHeader(key: "empty", value: nil)])
            }
            let reports = try await producer.sendAll(sent)
            #expect(reports.count == 30)
            #expect(Set(reports.map(\.topic)) == [topic.name])
            await producer.shutdown()

            let consumer = try KafkaConsumer(configuration: consumerConfiguration(cluster), logger: testLogger)
            try consumer.subscribe(topics: [topic.name])
            let received = try await collect(consumer, count: 30)
            await consumer.close()

            #expect(received.map(\.valueString).sorted() == sent.map { String(decoding: $0.value, as: UTF8.self) }.sorted())
            for message in received {
                let index = Int(message.valueString.dropFirst("event-".count))!
                #expect(message.keyString == "case-\(index % 4)")
                #expect(message.header("ce_type")?.stringValue == "nl.ketenhub.test.v1")
                #expect(message.header("ce_id")?.stringValue == "id-\(index)")
                #expect(message.headers.count == 3)
                #expect(message.header("empty")?.value == nil)
                // The delivery report named the partition and offset the consumer sees.
                #expect(reports[index].partition == message.partition)
                #expect(reports[index].offset == message.offset)
            }
            // One key, one partition, produced order.
            for key in 0..<4 {
                let ofKey = received.filter { $0.keyString == "case-\(key)" }
                #expect(Set(ofKey.map(\.partition)).count == 1)
                #expect(ofKey.map(\.valueString) == (0..<30).filter { $0 % 4 == key }.map { "event-\($0)" })
            }
        }
    }

    @Test("a record the broker refuses surfaces as a typed delivery error")
    func deliveryFailure() async throws {
        let topic = KafkaTopicSpecification(name: "refused", partitions: 1)
        let other = KafkaTopicSpecification(name: "accepted", partitions: 1)
        try await withCluster(topics: [topic, other]) { cluster in
            var configuration = producerConfiguration(cluster)
            configuration.messageTimeoutMilliseconds = 3_000
            let producer = try KafkaProducer(configuration: configuration, logger: testLogger)
            try await producer.send(KafkaProducerMessage(topic: topic.name, key: "k", value: "accepted"))

            cluster.pushRequestErrors(.produce, [.topicAuthorizationFailed])
            let error = await #expect(throws: KafkaError.self) {
                try await producer.send(KafkaProducerMessage(topic: topic.name, key: "k", value: "refused"))
            }
            #expect(error?.kind == .delivery)
            #expect(error?.code == .topicAuthorizationFailed)
            // One refused record does not stop the producer (librdkafka keeps the topic's error until
            // its metadata is refreshed, so the proof goes to another topic).
            let next = try await producer.send(KafkaProducerMessage(topic: other.name, key: "k", value: "after"))
            #expect(next.topic == other.name)
            #expect(next.offset == 0)
            await producer.shutdown()
        }
    }

    @Test("records alternating over topics, one created after the producer's first send, each land in their own topic; after shutdown every record fails")
    func topicHandles() async throws {
        let first = KafkaTopicSpecification(name: uniqueName("first"), partitions: 2)
        let later = KafkaTopicSpecification(name: uniqueName("later"), partitions: 1)
        try await withCluster(topics: [first]) { cluster in
            let producer = try KafkaProducer(configuration: producerConfiguration(cluster), logger: testLogger)
            try await producer.send(KafkaProducerMessage(topic: first.name, key: "k", value: "before"))
            try await cluster.createTopics([later])
            let sent = (0..<30).map { index in
                KafkaProducerMessage(topic: [first.name, later.name][index % 2], key: "k\(index % 3)", value: "r-\(index)")
            }
            let reports = try await producer.sendAll(sent)
            #expect(reports.map(\.topic) == sent.map(\.topic))
            // Each topic's records got consecutive offsets of its own, in the order sent.
            #expect(reports.filter { $0.topic == later.name }.map(\.offset) == Array(0..<15))
            await producer.shutdown()
            let error = await #expect(throws: KafkaError.self) {
                try await producer.sendAll([KafkaProducerMessage(topic: later.name, key: "k", value: "after")])
            }
            #expect(error?.kind == .state)

            let consumer = try KafkaConsumer(configuration: consumerConfiguration(cluster), logger: testLogger)
            try consumer.subscribe(topics: [first.name, later.name])
            let received = try await collect(consumer, count: 31)
            await consumer.close()
            #expect(received.filter { $0.topic == later.name }.map(\.valueString).sorted() == (0..<30).filter { $0 % 2 == 1 }.map { "r-\($0)" }.sorted())
            #expect(received.filter { $0.topic == first.name }.count == 16)
        }
    }

    @Test("a header made from text arrives as the same bytes as one made from bytes; an empty value arrives empty, not absent")
    func textHeaders() async throws {
        #expect(KafkaHeader(key: "k", string: "vé") == KafkaHeader(key: "k", value: Array("vé".utf8)))
        #expect(Set([KafkaHeader(key: "k", string: "v"), KafkaHeader(key: "k", value: Array("v".utf8))]).count == 1)
        #expect(KafkaHeader(key: "k", string: "") != KafkaHeader(key: "k", value: nil))
        let topic = KafkaTopicSpecification(name: uniqueName("headers"), partitions: 1)
        try await withCluster(topics: [topic]) { cluster in
            let producer = try KafkaProducer(configuration: producerConfiguration(cluster), logger: testLogger)
            let long = String(repeating: "urn:ketenhub:politie-amsterdam:", count: 40)
            let headers = [KafkaHeader(key: "text", string: "ketencase é 😀"), KafkaHeader(key: "bytes", value: Array("ketencase é 😀".utf8)),
                           KafkaHeader(key: "blank-text", string: ""), KafkaHeader(key: "blank-bytes", value: []),
                           KafkaHeader(key: "absent", value: nil), KafkaHeader(key: "short", string: "v1"), KafkaHeader(key: "long", string: long)]
            try await producer.send(KafkaProducerMessage(topic: topic.name, key: "k", value: "v", headers: headers))
            await producer.shutdown()
            let consumer = try KafkaConsumer(configuration: consumerConfiguration(cluster), logger: testLogger)
            try consumer.subscribe(topics: [topic.name])
            let received = try #require(try await collect(consumer, count: 1).first)
            await consumer.close()
            #expect(received.headers == headers)
            #expect(received.header("text")?.value == Array("ketencase é 😀".utf8))
            #expect(received.header("blank-text")?.value == [] && received.header("blank-bytes")?.value == [])
            #expect(received.header("absent")?.value == nil)
            #expect(received.header("long")?.stringValue == long)
        }
    }

    @Test("batches sent at once by many tasks through a local queue far smaller than them wait for room: every record delivered once, in order per key, as reported")
    func batchesWaitForRoom() async throws {
        let topic = KafkaTopicSpecification(name: uniqueName("narrow"), partitions: 4)
        try await withCluster(topics: [topic]) { cluster in
            var configuration = producerConfiguration(cluster)
            configuration.client.overrides["queue.buffering.max.messages"] = "50"
            let producer = try KafkaProducer(configuration: configuration, logger: testLogger)
            let reports = try await withThrowingTaskGroup(of: (Int, [KafkaDeliveryReport]).self) { group in
                for sender in 0..<8 {
                    group.addTask {
                        let batch = (0..<250).map { KafkaProducerMessage(topic: topic.name, key: "sender-\(sender)", value: "\(sender)-\($0)") }
                        return (sender, try await producer.sendAll(batch))
                    }
                }
                return try await group.reduce(into: [Int: [KafkaDeliveryReport]]()) { $0[$1.0] = $1.1 }
            }
            await producer.shutdown()
            #expect(reports.values.map(\.count) == Array(repeating: 250, count: 8))

            let consumer = try KafkaConsumer(configuration: consumerConfiguration(cluster), logger: testLogger)
            try consumer.subscribe(topics: [topic.name])
            let received = try await collect(consumer, count: 2_000) + drain(consumer, seconds: 1)
            await consumer.close()
            #expect(received.count == 2_000)
            for sender in 0..<8 {
                let ofSender = received.filter { $0.keyString == "sender-\(sender)" }.sorted { $0.offset < $1.offset }
                #expect(ofSender.map(\.valueString) == (0..<250).map { "\(sender)-\($0)" }, "one key keeps its order")
                #expect(ofSender.map(\.offset) == reports[sender]?.map(\.offset), "each report names its record's offset")
                #expect(Set(ofSender.map(\.partition)) == Set(reports[sender]?.map(\.partition) ?? []))
            }
        }
    }

    @Test("records sent while the producer shuts down are each delivered or refused with a state error; none is reported twice or lost")
    func sendsDuringShutdown() async throws {
        let known = KafkaTopicSpecification(name: uniqueName("known"), partitions: 2)
        let fresh = KafkaTopicSpecification(name: uniqueName("fresh"), partitions: 1)
        try await withCluster(topics: [known, fresh]) { cluster in
            let producer = try KafkaProducer(configuration: producerConfiguration(cluster), logger: testLogger)
            try await producer.send(KafkaProducerMessage(topic: known.name, key: "k", value: "warm"))
            // Eight senders, each record alone (so that some are between the closed check and
            // librdkafka when the producer closes), some to a topic not written to before.
            let outcomes = try await withThrowingTaskGroup(of: (delivered: Int, refused: Int).self) { group in
                for sender in 0..<8 {
                    group.addTask {
                        var (delivered, refused) = (0, 0)
                        for index in 0..<400 {
                            let topic = index % 5 == 4 ? fresh.name : known.name
                            do {
                                let report = try await producer.send(KafkaProducerMessage(topic: topic, key: "s\(sender)", value: "\(sender)-\(index)"))
                                #expect(report.topic == topic)
                                delivered += 1
                            } catch let error as KafkaError {
                                #expect(error.kind == .state, "refused before librdkafka had it: \(error)")
                                refused += 1
                            }
                        }
                        return (delivered, refused)
                    }
                }
                try await Task.sleep(for: .milliseconds(30))
                await producer.shutdown()
                return try await group.reduce(into: (delivered: 0, refused: 0)) { $0.delivered += $1.delivered; $0.refused += $1.refused }
            }
            #expect(outcomes.delivered + outcomes.refused == 3_200)
            #expect(outcomes.refused > 0, "the producer closed while records were still being sent")

            // What was reported delivered is on the topics, once.
            let consumer = try KafkaConsumer(configuration: consumerConfiguration(cluster), logger: testLogger)
            try consumer.subscribe(topics: [known.name, fresh.name])
            let received = try await collect(consumer, count: outcomes.delivered + 1) + drain(consumer, seconds: 1)
            await consumer.close()
            #expect(received.count == outcomes.delivered + 1, "every record reported delivered, and no refused one")
            #expect(Set(received.map(\.valueString)).count == received.count)
        }
    }
}

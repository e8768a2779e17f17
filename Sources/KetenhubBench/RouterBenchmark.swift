import CanonicalEvents
import EmbeddedKafka
import Foundation
import HubTopology
import Kafka
import Logging
import Router
import SharingPolicy

/// The routing service against a raw transactional copy of the same events, and its end-to-end
/// latency at a steady offered load, on the embedded cluster.
public struct RouterBenchmark: Sendable {
    public struct Result: Sendable, Codable {
        public var raw_copy_events_per_s: Double
        public var router_events_per_s: Double
        public var ratio: Double
        /// Records the router writes per event (decision records, deliveries, state), and a raw copy
        /// that writes as many records per event, over as many topics: the same Kafka work without the
        /// policy work, for comparison (`ratio` compares with a copy writing one record per event).
        public var router_records_per_event: Double
        public var raw_copy_same_records_events_per_s: Double
        public var ratio_same_records: Double
        public var p50_ms: Double
        public var p99_ms: Double
        /// Where the milliseconds of `p50_ms` go, as medians over the measured events, from the
        /// records' own timestamps (whole milliseconds): `to_decision_records` from publication to
        /// the router handing the event's decision records to its producer (the publisher's send,
        /// the router's fetch and batching, parsing, deciding, encoding); `decision_records_acknowledged`
        /// from there to handing its deliveries over (the broker has the decisions); `to_receiver`
        /// from there to the back-office reading the delivery (deliveries acknowledged, input position
        /// added, commit, the back-office's fetch).
        public var p50_stages_ms: [String: Double]
        /// The same load through the router's transactions written on librdkafka's C API, with no
        /// policy work (`LibrdkafkaBaseline.TransactionalRelay`, writing what the router's throughput
        /// run wrote where it wrote it, as for `librdkafka_relay_events_per_s`): the latency this
        /// cluster and machine allow a router that keeps its rule (decisions stored before their
        /// deliveries are sent), and the router's p99 over it.
        public var librdkafka_copy_p50_ms: Double
        public var librdkafka_copy_p99_ms: Double
        public var p99_ratio_to_librdkafka_copy: Double
        public var events: Int
        public var batch_size: Int
        public var offered_load_events_per_s: Int
        /// The throughput figures are medians over this many rounds of raw copy and router.
        public var rounds: Int
        /// Each round's router / raw, to show the spread.
        public var ratio_by_round: [Double]
        /// The same copy as plain librdkafka C calls (consume a batch, write each event to as many
        /// topics as the router writes records per event, send offsets, commit: one transaction per
        /// batch), and the router's events per second over it (medians over the rounds).
        public var librdkafka_copy_events_per_s: Double
        public var ratio_to_librdkafka_copy: Double
        /// The router's own transactions as plain librdkafka C calls (`LibrdkafkaBaseline.TransactionalRelay`:
        /// a transactional producer per input partition, the decision records and state acknowledged
        /// before the deliveries are written), writing what the router's run wrote, where it wrote it:
        /// as many decision records per event to the input partition's partition of the audit topic,
        /// state records to the state topics, and deliveries spread over the organisations' topics the
        /// router delivered to (`librdkafka_relay_records_per_event`, `librdkafka_relay_delivery_topics`),
        /// the input waiting; and the router over it (medians over the rounds). Where the copy above
        /// measures the Kafka work of a consume-transform-produce loop, this measures the Kafka work
        /// of the router's design: what is left of the gap to it is the router's own work.
        public var librdkafka_relay_events_per_s: Double
        public var ratio_to_librdkafka_relay: Double
        public var librdkafka_relay_records_per_event: Double
        public var librdkafka_relay_delivery_topics: Int
        /// The router nodes (1, 2, 3, as services in this process, in one group) and their events per
        /// second together, and over the C copy; "1" is the median above.
        public var router_events_per_s_by_routers: [String: Double]
        public var ratio_to_librdkafka_copy_by_routers: [String: Double]
        /// Taking over a partition whose history holds ten times the decisions of another's
        /// (`long_history`, `short_history`): milliseconds from assignment to routing (median of 3),
        /// the records read back, and the decisions in the partition's audit history.
        public var startup_ms: [String: Double]
        public var startup_records_read: [String: Int]
        public var startup_history_decisions: [String: Int]
        /// A router process's resident memory (MB) once it has routed this many events (as text).
        public var resident_mb: [String: Double]
    }

    public var events = 20_000
    public var batchSize = 500
    public var offeredLoad = 2_000
    public var latencySeconds = 10.0
    public var matrix: SharingMatrix

    public init(matrix: SharingMatrix) { self.matrix = matrix }

    /// Rounds of throughput runs; each figure is the median over the rounds. A round runs the raw
    /// copy and the router back to back, so that a machine that slows down for a while (shared
    /// cores do) slows both sides of a round alike, and one slow round does not decide the figure.
    public var rounds = 3
    /// The router nodes whose combined throughput is measured beside the single router's.
    public var routerCounts = [2, 3]
    /// How many times the long history's cases go through their facts (the short history's once).
    public var historyRounds = 10
    /// The events after which a router process's resident memory is read.
    public var memoryMarks = [20_000, 200_000]

    public func run(logger: Logger) async throws -> Result {
        var raws: [Double] = [], routers: [Double] = [], sames: [Double] = [], ratios: [Double] = [], copies: [Double] = []
        var relays: [Double] = []
        var relayed: LibrdkafkaBaseline.TransactionalRelay.Plan?
        var recordsPerEvent = 1.0
        for _ in 0..<max(1, rounds) {
            let raw = try await throughput(logger: logger, router: false).eventsPerSecond
            let routed: Double
            var written: [String: Int64] = [:]
            (routed, recordsPerEvent, written) = try await throughput(logger: logger, router: true)
            let fanOut = max(1, Int(recordsPerEvent.rounded()))
            sames.append(try await throughput(logger: logger, router: false, fanOut: fanOut).eventsPerSecond)
            copies.append(try await librdkafkaCopy(logger: logger, fanOut: fanOut))
            let relay = try await librdkafkaRelayThroughput(logger: logger, routerWrote: written)
            relays.append(relay.eventsPerSecond)
            relayed = relay.plan
            raws.append(raw)
            routers.append(routed)
            ratios.append(routed / raw)
        }
        let (raw, routed, rawSame, copy) = (median(raws), median(routers), median(sames), median(copies))
        let relayedPerSecond = median(relays)
        let (p50, p99, stages) = try await latency(logger: logger)
        guard let relayed else { throw KafkaError(kind: .client, reason: "no throughput round ran") }
        let limit = try await librdkafkaLatency(logger: logger, plan: relayed)
        var byRouters = ["1": routed.rounded()]
        for count in routerCounts where count > 1 {
            byRouters[String(count)] = try await throughput(logger: logger, router: true, routers: count).eventsPerSecond.rounded()
        }
        let scaling = RouterScalingBenchmark(matrix: matrix, logger: logger)
        let long = try await scaling.takeOver(rounds: historyRounds)
        let short = try await scaling.takeOver(rounds: 1)
        let resident = try await scaling.residentMemory(marks: memoryMarks)
        return Result(raw_copy_events_per_s: raw.rounded(), router_events_per_s: routed.rounded(), ratio: Self.hundredths(routed / raw),
                      router_records_per_event: Self.tenths(recordsPerEvent), raw_copy_same_records_events_per_s: rawSame.rounded(),
                      ratio_same_records: Self.hundredths(routed / rawSame),
                      p50_ms: Self.tenths(p50), p99_ms: Self.tenths(p99), p50_stages_ms: stages,
                      librdkafka_copy_p50_ms: Self.tenths(limit.p50), librdkafka_copy_p99_ms: Self.tenths(limit.p99),
                      // The ratio of the two figures as reported, so that a reader dividing them gets it back.
                      p99_ratio_to_librdkafka_copy: Self.tenths(limit.p99) > 0 ? Self.hundredths(Self.tenths(p99) / Self.tenths(limit.p99)) : 0,
                      events: events, batch_size: batchSize,
                      offered_load_events_per_s: offeredLoad, rounds: raws.count, ratio_by_round: ratios.map(Self.hundredths),
                      librdkafka_copy_events_per_s: copy.rounded(), ratio_to_librdkafka_copy: Self.hundredths(routed / copy),
                      librdkafka_relay_events_per_s: relayedPerSecond.rounded(), ratio_to_librdkafka_relay: Self.hundredths(routed / relayedPerSecond),
                      librdkafka_relay_records_per_event: Self.tenths(relayed.recordsPerEvent),
                      librdkafka_relay_delivery_topics: relayed.deliveryTopics.count,
                      router_events_per_s_by_routers: byRouters, ratio_to_librdkafka_copy_by_routers: byRouters.mapValues { Self.hundredths($0 / copy) },
                      startup_ms: ["long_history": Self.tenths(long.milliseconds), "short_history": Self.tenths(short.milliseconds)],
                      startup_records_read: ["long_history": long.recordsRead, "short_history": short.recordsRead],
                      startup_history_decisions: ["long_history": long.decisions, "short_history": short.decisions],
                      resident_mb: Dictionary(uniqueKeysWithValues: resident.map { (String($0.key), $0.value) }))
    }

    private static func hundredths(_ value: Double) -> Double { (value * 100).rounded() / 100 }
    private static func tenths(_ value: Double) -> Double { (value * 10).rounded() / 10 }

    /// A cluster with the hub's topics, and the topics a copy writing `fanOut` records per event
    /// writes to (none for the router and the C relay, which write to the hub's).
    private func cluster(logger: Logger, copies fanOut: Int = 0) async throws -> (EmbeddedCluster, HubTopics) {
        let cluster = try EmbeddedCluster(brokers: 3, logger: logger)
        let topics = HubTopics()
        try await cluster.createTopics(hubTopics(topics) + Self.copyTargets(fanOut).enumerated().map { index, name in
            KafkaTopicSpecification(name: name, partitions: index == 0 ? topics.partitions : 3)
        })
        return (cluster, topics)
    }

    /// The topics a copy writing `fanOut` records per event writes to, one record to each.
    private static func copyTargets(_ fanOut: Int) -> [String] {
        fanOut < 1 ? [] : ["bench.copy"] + (1..<fanOut).map { "bench.copy.\($0)" }
    }

    /// The hub's topics, a delivery topic for each of the matrix's organisations among them.
    private func hubTopics(_ topics: HubTopics) -> [KafkaTopicSpecification] {
        topics.specifications(organisations: matrix.organisations.organisations.map(\.code))
    }

    /// Each partition of `topics` on `cluster`, read through a group that never commits: its lag is
    /// what the cluster keeps (low to high watermark), its high watermark the offsets ever written.
    private func partitions(of topics: [String], on cluster: EmbeddedCluster, logger: Logger) async throws -> [KafkaPartitionLag] {
        let admin = try KafkaAdmin(settings: KafkaClientSettings(bootstrapServers: cluster.bootstrapServers), logger: logger)
        defer { admin.shutdown() }
        return try await admin.consumerGroupLag(groupID: "bench-watermarks", topics: topics)
    }

    private func publish(_ count: Int, to cluster: EmbeddedCluster, topic: String, logger: Logger) async throws {
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers), logger: logger)
        let cases = SyntheticCases()
        var messages: [KafkaProducerMessage] = []
        var number = 0
        while messages.count < count {
            number += 1
            messages += cases.events(case: number).map { KafkaProducerMessage(topic: topic, cloudEvent: $0.kafkaRecord()) }
        }
        for chunk in stride(from: 0, to: count, by: 5_000) {
            try await producer.sendAll(Array(messages[chunk..<min(chunk + 5_000, count)]))
        }
        await producer.shutdown()
        // The embedded cluster keeps only the newest ~5 MB of a partition: what it dropped would never
        // be read, and a run waiting for every event to be routed would wait for ever.
        let kept = try await partitions(of: [topic], on: cluster, logger: logger).map(\.lag).reduce(0, +)
        guard kept == count else { throw BenchmarkError.notKept(topic: topic, kept: kept, published: count) }
    }

    /// Events per second through the router (and the records it wrote per event), or through a
    /// transactional copy that does no policy work and writes `fanOut` records per event.
    /// A router run also counts the offsets it wrote per topic (its records and the transactions'
    /// markers), which the C relay then writes as the router did (`routerPlan`).
    private func throughput(logger: Logger, router: Bool, fanOut: Int = 1, routers count: Int = 1) async throws
            -> (eventsPerSecond: Double, recordsPerEvent: Double, written: [String: Int64]) {
        let (cluster, topics) = try await cluster(logger: logger, copies: router ? 0 : fanOut)
        defer { cluster.shutdown() }
        // One node finds its input waiting, as the copies do. Several nodes get theirs once they all
        // route: a node that got the group's first assignment alone (the others joined after its
        // election, as on a loaded machine) would otherwise route it all before they had a partition.
        let publishFirst = !router || count == 1
        if publishFirst { try await publish(events, to: cluster, topic: topics.canonical, logger: logger) }
        var configuration = RouterConfiguration(bootstrapServers: cluster.bootstrapServers)
        configuration.batchSize = batchSize
        configuration.fetchMaxWaitMilliseconds = EmbeddedCluster.fetchMaxWaitMilliseconds
        // Each side is timed to its last commit, the router from when it is set up (clients made,
        // transactions initialised, state read back, input assigned and being fetched), a copy from
        // its first batch (see `TransactionalCopy.run`): the work compared is reading, routing and
        // committing, not starting clients or waiting for a first fetch.
        var start: ContinuousClock.Instant, end: ContinuousClock.Instant
        var recordsPerEvent = Double(fanOut)
        var alreadyRouted = 0
        var written: [String: Int64] = [:]
        if router {
            let services = (0..<count).map { _ in RoutingService(configuration: configuration, matrix: matrix, logger: logger) }
            let running = services.map { service in Task { try await service.run() } }
            // Set up: every node routing, the partitions spread over all of them.
            while !services.allSatisfy({ $0.currentPhase == .running && !$0.routedPartitions.isEmpty })
                    || services.map(\.routedPartitions.count).reduce(0, +) != Int(configuration.topics.partitions) {
                try await Task.sleep(for: .milliseconds(1))
            }
            start = ContinuousClock.now
            // Input routed before the timed part is not counted: a single node's first batches before
            // its assignment was complete, or what several routed while it was being published.
            alreadyRouted = services.map(\.committedRecords).reduce(0, +)
            if !publishFirst {
                try await publish(events, to: cluster, topic: topics.canonical, logger: logger)
                // Timed from the end of publishing (the publisher no longer shares the cores), over the
                // input routed after it; from its start if nothing was left (a very small run).
                let routed = services.map(\.committedRecords).reduce(0, +)
                if routed < events { (start, alreadyRouted) = (ContinuousClock.now, routed) }
            }
            // Done when the routers have committed all input.
            while services.map(\.committedRecords).reduce(0, +) < events {
                try await Task.sleep(for: .milliseconds(1))
            }
            end = ContinuousClock.now
            recordsPerEvent = Double(services.map(\.producedRecords).reduce(0, +)) / Double(events)
            for task in running { task.cancel() }
            for task in running { try await task.value }
            // The offsets ever written (the cluster drops the oldest records of a full partition).
            written = try await partitions(of: hubTopics(topics).map(\.name), on: cluster, logger: logger)
                .reduce(into: [:]) { $0[$1.topicPartition.topic, default: 0] += $1.highWatermark }
        } else {
            (start, end) = try await TransactionalCopy(configuration: configuration, targets: Self.copyTargets(fanOut), logger: logger).run(until: events)
        }
        return (Double(events - alreadyRouted) / (end - start).seconds, recordsPerEvent, written)
    }

    /// The transactional copy on librdkafka's C API (`LibrdkafkaBaseline.transactionalCopy`), on a
    /// cluster of its own with the same events, the router's batch size and the client's configuration.
    private func librdkafkaCopy(logger: Logger, fanOut: Int) async throws -> Double {
        let (cluster, topics) = try await cluster(logger: logger, copies: fanOut)
        defer { cluster.shutdown() }
        try await publish(events, to: cluster, topic: topics.canonical, logger: logger)
        var consumer = KafkaConsumerConfiguration(bootstrapServers: cluster.bootstrapServers, groupID: "bench-librdkafka-copy")
        consumer.fetchMaxWaitMilliseconds = EmbeddedCluster.fetchMaxWaitMilliseconds
        var producer = KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers)
        producer.transactionalID = "bench-librdkafka-copy"
        producer.lingerMilliseconds = 1
        let (consumerProperties, producerProperties) = (consumer.properties, producer.properties)
        let targets = Self.copyTargets(fanOut)
        let (input, partitions, batchSize, total) = (topics.canonical, topics.partitions, batchSize, events)
        return try await LibrdkafkaBaseline.onThread {
            try LibrdkafkaBaseline.transactionalCopy(consumerProperties: consumerProperties, producerProperties: producerProperties, input: input,
                                                     partitions: partitions, targets: targets, batchSize: batchSize, total: total)
        }
    }

    /// The router at the offered load: from publication to the delivery arriving at the police unit
    /// of the case's municipality, and where the median's milliseconds go.
    private func latency(logger: Logger) async throws -> (p50: Double, p99: Double, stages: [String: Double]) {
        let (cluster, topics) = try await cluster(logger: logger)
        defer { cluster.shutdown() }
        var configuration = RouterConfiguration(bootstrapServers: cluster.bootstrapServers)
        configuration.batchSize = batchSize
        configuration.fetchMaxWaitMilliseconds = EmbeddedCluster.fetchMaxWaitMilliseconds
        let service = RoutingService(configuration: configuration, matrix: matrix, logger: logger)
        let running = Task { try await service.run() }
        defer { running.cancel() }
        let units = Set(SyntheticCases.municipalities.compactMap { matrix.organisations.municipalities.organisation(ofType: "politie", servingMunicipality: $0) })
        var deliveryTopics: [String] = []
        for unit in units.sorted() { deliveryTopics.append(topics.deliveries(unit)) }
        while service.currentPhase != .running { try await Task.sleep(for: .milliseconds(20)) }
        let (latencies, received) = try await offerLoad(cluster: cluster, topics: topics, backOffice: deliveryTopics, committed: { service.committedRecords },
                                                        logger: logger)
        running.cancel()
        _ = try? await running.value
        guard !latencies.isEmpty else { return (0, 0, [:]) }
        // The decision records' timestamps, read once the load is over (reading them meanwhile would
        // take the router's cores): the earliest per event, all of an event's go in one hand-over.
        var recorded: [String: Date] = [:]
        let decoder = JSONDecoder()
        for message in try await TopicReader(bootstrapServers: cluster.bootstrapServers, logger: logger).readAll(topics.audit).values.joined() {
            guard let timestamp = message.timestamp, let record = try? decoder.decode(DecisionRecord.self, from: Data(message.value)),
                  received[record.eventId] != nil else { continue }
            recorded[record.eventId] = min(recorded[record.eventId] ?? timestamp, timestamp)
        }
        var stages: [String: [Double]] = [:]
        for (id, times) in received {
            guard let decided = recorded[id] else { continue }
            stages["to_decision_records", default: []].append(decided.timeIntervalSince(times.published) * 1000)
            stages["decision_records_acknowledged", default: []].append(times.delivered.timeIntervalSince(decided) * 1000)
            stages["to_receiver", default: []].append(times.read.timeIntervalSince(times.delivered) * 1000)
        }
        return (Self.percentile(latencies, 0.5), Self.percentile(latencies, 0.99), stages.mapValues { Self.tenths(median($0)) })
    }

    /// The same load through the router's transactions on librdkafka's C API
    /// (`LibrdkafkaBaseline.TransactionalRelay`), with no policy work: `plan`, what the router's
    /// throughput run wrote where it wrote it (`routerPlan`), its latency read on every topic it
    /// delivers to (each event goes to one of them at least).
    private func librdkafkaLatency(logger: Logger, plan: LibrdkafkaBaseline.TransactionalRelay.Plan) async throws -> (p50: Double, p99: Double) {
        let (cluster, topics) = try await cluster(logger: logger)
        defer { cluster.shutdown() }
        let relay = relay(on: cluster, plan: plan)
        let measured: [Double]
        do {
            measured = try await offerLoad(cluster: cluster, topics: topics, backOffice: plan.deliveryTopics, committed: { relay.committedRecords },
                                           logger: logger).latencies
        } catch {
            try? await LibrdkafkaBaseline.onThread { try relay.stop() }
            throw error
        }
        try await LibrdkafkaBaseline.onThread { try relay.stop() }
        guard !measured.isEmpty else { return (0, 0) }
        return (Self.percentile(measured, 0.5), Self.percentile(measured, 0.99))
    }

    /// Events per second through the router's transactions on librdkafka's C API, the input waiting
    /// as it does for the router's throughput run: timed from the first batch read to the last
    /// commit. What the router's Kafka work allows it on this cluster and machine if its own work
    /// (parsing, deciding, encoding) took no time.
    private func librdkafkaRelayThroughput(logger: Logger, routerWrote written: [String: Int64]) async throws
            -> (eventsPerSecond: Double, plan: LibrdkafkaBaseline.TransactionalRelay.Plan) {
        let (cluster, topics) = try await cluster(logger: logger)
        defer { cluster.shutdown() }
        try await publish(events, to: cluster, topic: topics.canonical, logger: logger)
        let plan = routerPlan(topics: topics, written: written)
        let relay = relay(on: cluster, plan: plan)
        let deadline = ContinuousClock.now + .seconds(300)
        while relay.committedRecords < events, !relay.failed, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(1))
        }
        let end = ContinuousClock.now
        try await LibrdkafkaBaseline.onThread { try relay.stop() }
        guard relay.committedRecords >= events, let start = relay.firstBatchRead else {
            throw KafkaError(kind: .client, reason: "the C relay committed \(relay.committedRecords) of \(events) events in 300 s")
        }
        return (Double(events) / (end - start).seconds, plan)
    }

    /// The router's transactions as C calls: a consumer and a transactional producer per input
    /// partition, the producers' linger the router's (1 ms). Reads its input from the beginning.
    private func relay(on cluster: EmbeddedCluster, plan: LibrdkafkaBaseline.TransactionalRelay.Plan) -> LibrdkafkaBaseline.TransactionalRelay {
        var consumer = KafkaConsumerConfiguration(bootstrapServers: cluster.bootstrapServers, groupID: "bench-relay")
        consumer.fetchMaxWaitMilliseconds = EmbeddedCluster.fetchMaxWaitMilliseconds
        var producer = KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers)
        producer.transactionalID = "bench-relay"  // each partition's thread names its own
        producer.lingerMilliseconds = 1
        return LibrdkafkaBaseline.TransactionalRelay(consumerProperties: consumer.properties, producerProperties: producer.properties, plan: plan)
    }

    /// For the throughput run: the router's writes, from the offsets its run wrote per topic (its
    /// records and the transactions' markers): per event as many decision records to the input
    /// partition's partition of the audit topic, a state record every so many events to each state
    /// topic, and as many deliveries, over the organisations' topics the router delivered to, as
    /// the router wrote on average; a checkpoint per transaction; the router's batching linger.
    /// The same topics and partitions as the router's, so that librdkafka serves as many partitions
    /// per producer and sends as many produce requests per transaction as it does for the router.
    private func routerPlan(topics: HubTopics, written: [String: Int64]) -> LibrdkafkaBaseline.TransactionalRelay.Plan {
        let perEvent = { (count: Int64) in Int((Double(count) / Double(events)).rounded()) }
        let recipients = written.filter { $0.key.hasPrefix(topics.deliveryPrefix) && $0.value > 0 }
        let states = [topics.caseState, topics.consentState]
        let stateRecords = states.map { written[$0] ?? 0 }.reduce(0, +) / Int64(states.count)
        return LibrdkafkaBaseline.TransactionalRelay.Plan(
            input: topics.canonical, partitions: topics.partitions, recordTopic: topics.audit, firstRound: max(1, perEvent(written[topics.audit] ?? 0)),
            stateTopics: stateRecords > 0 ? states : [], stateEvery: stateRecords > 0 ? max(1, Int(Int64(events) / stateRecords)) : 1,
            deliveryTopics: recipients.keys.sorted(), deliveries: recipients.isEmpty ? 0 : max(1, perEvent(recipients.values.reduce(0, +))),
            secondRound: 0, checkpointTopic: topics.routerCheckpoints, lingerMilliseconds: Self.routerLinger)
    }

    private static let routerLinger = Int(RouterConfiguration.defaults.lingerMilliseconds)

    /// Warms the system up, then publishes at the offered load and measures, for each event a police
    /// unit receives (its arrest-free events), from publication to the back-office reading it on one
    /// of `backOffice`'s topics; `committed` counts the input the system has committed.
    private func offerLoad(cluster: EmbeddedCluster, topics: HubTopics, backOffice: [String], committed: @escaping @Sendable () -> Int,
                           logger: Logger) async throws -> (latencies: [Double], received: [String: (published: Date, delivered: Date, read: Date)]) {
        var consumerConfiguration = KafkaConsumerConfiguration(bootstrapServers: cluster.bootstrapServers, groupID: "bench-politie")
        consumerConfiguration.autoOffsetReset = .earliest
        consumerConfiguration.fetchMaxWaitMilliseconds = EmbeddedCluster.fetchMaxWaitMilliseconds
        let politie = try KafkaConsumer(configuration: consumerConfiguration, logger: logger)
        var assignment: [KafkaTopicPartitionOffset] = []
        for topic in backOffice {
            let partitions = try await politie.partitionCount(topic: topic)
            assignment += (0..<Int32(partitions)).map { KafkaTopicPartitionOffset(topic: topic, partition: $0, offset: KafkaOffset.beginning) }
        }
        try politie.assign(assignment)
        // Warm up, through the producer that then offers the load: its first records wait for the
        // topic's metadata, the first transactions for their partitions' registration. Latency is
        // measured in the steady state after that.
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers), logger: logger)
        try await producer.sendAll((1...200).flatMap { SyntheticCases(seed: 3).events(case: $0) }.map { KafkaProducerMessage(topic: topics.canonical, cloudEvent: $0.kafkaRecord()) })
        let warm = ContinuousClock.now + .seconds(120)
        while committed() < 1_000 {
            guard ContinuousClock.now < warm else { throw KafkaError(kind: .client, reason: "the warm-up's events were not committed in 120 s") }
            try await Task.sleep(for: .milliseconds(20))
        }
        _ = try await politie.poll(maxMessages: 100_000, timeoutMilliseconds: 500)

        let sentAt = SentTimes()
        let cases = SyntheticCases(seed: 2)
        let load = offeredLoad
        let duration = latencySeconds
        // Every event is made before the clock starts: the load generator must not compete with the system measured.
        let ticks = Int(duration * Double(load) / 100)
        var number = 0
        let plan: [[(String, KafkaProducerMessage)]] = (0..<ticks).map { _ in
            (0..<20).flatMap { _ -> [(String, KafkaProducerMessage)] in
                number += 1
                return cases.events(case: number).map { ($0.id, KafkaProducerMessage(topic: topics.canonical, cloudEvent: $0.kafkaRecord())) }
            }
        }
        let sending = Task {
            // 100 events per tick, as 20 cases of 5 events.
            let interval = Duration.seconds(1) / (load / 100)
            var next = ContinuousClock.now
            for tick in plan {
                for (id, _) in tick { await sentAt.record(id) }
                let messages = tick.map(\.1)
                Task { try await producer.sendAll(messages) }
                next += interval
                try await Task.sleep(until: next)
            }
            await sentAt.finish()
        }
        var latencies: [Double] = []
        // Per measured event: when it was published, when its delivery was handed to a producer (the
        // record's timestamp) and when the back-office read it (wall clock, for the router's stages).
        var received: [String: (published: Date, delivered: Date, read: Date)] = [:]
        let deadline = ContinuousClock.now + .seconds(duration + 10)
        while ContinuousClock.now < deadline {
            for message in try await politie.poll(maxMessages: 1_000, timeoutMilliseconds: 100) {
                guard let id = message.header("ce_id")?.stringValue, SentTimes.reachesPolitie(id), let sent = await sentAt.take(id) else { continue }
                latencies.append((ContinuousClock.now - sent.instant).seconds * 1000)
                if let delivered = message.timestamp { received[id] = (sent.date, delivered, Date()) }
            }
            if await sentAt.isFinished, await sentAt.pendingPolitie == 0 { break }
        }
        sending.cancel()
        await producer.shutdown()
        await politie.close()
        return (latencies.sorted(), received)
    }

    /// Of sorted values.
    private static func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
        sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]
    }
}

private actor SentTimes {
    /// When each event was published, by the monotonic clock (the latency) and the wall clock (the
    /// records' timestamps are wall-clock times).
    private var times: [String: (instant: ContinuousClock.Instant, date: Date)] = [:]
    private(set) var isFinished = false
    func finish() { isFinished = true }
    func record(_ id: String) { times[id] = (.now, Date()) }
    func take(_ id: String) -> (instant: ContinuousClock.Instant, date: Date)? { times.removeValue(forKey: id) }
    /// Politie receives the arrest-free events of each case; what is left in flight for it.
    var pendingPolitie: Int { times.keys.filter(Self.reachesPolitie).count }
    static func reachesPolitie(_ id: String) -> Bool { id.hasSuffix("-ga") || id.hasSuffix("-ivs") }
}

/// The baseline: consume, produce a copy to each target, send the offsets, commit, per batch, with no policy work.
struct TransactionalCopy {
    var configuration: RouterConfiguration
    var targets: [String]
    var logger: Logger

    /// Copies `total` records; returns when it read its first batch, and when it committed the last.
    ///
    /// Timed from the first batch, not from the assignment: a consumer assigned its partitions
    /// fetches its first records about half a second later on the embedded cluster (measured: 0.50 s
    /// for the C copy), and the router's consumer has been assigned and fetching since before its
    /// clock starts (the bench waits until every partition is routed). Timed from the assignment,
    /// a copy's figure held that wait and the router's did not, which flattered the router's ratios.
    func run(until total: Int) async throws -> (start: ContinuousClock.Instant, end: ContinuousClock.Instant) {
        var consumerConfiguration = KafkaConsumerConfiguration(bootstrapServers: configuration.bootstrapServers, groupID: "bench-copy")
        consumerConfiguration.pollBatchSize = configuration.batchSize
        consumerConfiguration.fetchMaxWaitMilliseconds = configuration.fetchMaxWaitMilliseconds
        let consumer = try KafkaConsumer(configuration: consumerConfiguration, logger: logger)
        var producerConfiguration = KafkaProducerConfiguration(bootstrapServers: configuration.bootstrapServers)
        producerConfiguration.transactionalID = "bench-copy"
        producerConfiguration.lingerMilliseconds = 1
        let producer = try KafkaTransactionalProducer(configuration: producerConfiguration, logger: logger)
        try await producer.initTransactions()
        let topic = configuration.topics.canonical
        let partitions = try await consumer.partitionCount(topic: topic)
        try consumer.assign((0..<Int32(partitions)).map { KafkaTopicPartitionOffset(topic: topic, partition: $0, offset: KafkaOffset.beginning) })
        var start: ContinuousClock.Instant?
        var copied = 0
        while copied < total {
            let batch = try await consumer.poll(maxMessages: configuration.batchSize, timeoutMilliseconds: 100)
            guard !batch.isEmpty else { continue }
            if start == nil { start = .now }
            var positions: [Int32: Int64] = [:]
            for message in batch { positions[message.partition] = message.offset + 1 }
            let offsets = positions.map { KafkaTopicPartitionOffset(topic: topic, partition: $0.key, offset: $0.value) }
            try await producer.withTransaction { txn in
                try await txn.deliverAll(targets.flatMap { target in  // as the router sends its records
                    batch.map { KafkaProducerMessage(topic: target, key: $0.key, value: $0.value, headers: $0.headers) }
                })
                try await txn.sendOffsetsToTransaction(offsets, consumer: consumer)
            }
            try consumer.commitWithoutWaiting(offsets)  // as the router does
            copied += batch.count
        }
        let end = ContinuousClock.now
        await producer.shutdown()
        await consumer.close()
        return (start!, end)
    }
}

import CanonicalEvents
import Foundation
import HubTopology
import Kafka
import Logging

/// Fills the ledger from the hub's topics: the canonical events, the decision audit trail, the
/// delivery-status topic, the acknowledgements and the dead letters. Records are read as their
/// contracts (`Contracts/records/`) describe them, not through the types of the services that write them.
public struct LedgerProjector: Sendable {
    /// A linking rule the ledger applies at once (`automatic` in the matrix's `chain-cases.yaml`):
    /// two cases naming the same person in `role` are linked by the hub.
    public struct AutomaticLink: Sendable {
        public var rule: String
        public var role: String
        public var says: String

        public init(rule: String, role: String, says: String) {
            self.rule = rule
            self.role = role
            self.says = says
        }
    }

    /// Where the projector writes the links its automatic rules make (the case-links topic); it
    /// reads them back like any step, so that a rebuilt ledger holds them too.
    public struct Linker: Sendable {
        public var rules: [AutomaticLink]
        public var producer: KafkaProducer

        public init(rules: [AutomaticLink], producer: KafkaProducer) {
            self.rules = rules
            self.producer = producer
        }
    }

    let bootstrapServers: String
    let topics: HubTopics
    let store: any LedgerStore
    /// The data fields to keep per event type (`nl.ketenhub.<event>.v1`), by JSON Pointer into the data.
    let keptFields: [String: [String]]
    let logger: Logger

    public init(bootstrapServers: String, topics: HubTopics = HubTopics(), store: any LedgerStore, keptFields: [String: [String]] = [:], logger: Logger) {
        self.bootstrapServers = bootstrapServers
        self.topics = topics
        self.store = store
        self.keptFields = keptFields
        self.logger = logger
    }

    var sources: [String] {
        [topics.canonical, topics.audit, topics.deliveryStatus, topics.acknowledgements, topics.deadLetter, topics.replays, topics.alerts,
         topics.references, topics.caseLinks]
    }

    /// Reads every source topic from its beginning to its end into the store.
    public func rebuild() async throws {
        let reader = TopicReader(bootstrapServers: bootstrapServers, logger: logger)
        for topic in sources {
            let partitions = try await reader.readAll(topic)
            for partition in partitions.keys.sorted() {
                try await store.apply(partitions[partition]!.compactMap { entry(from: $0) })
            }
        }
    }

    /// Follows the source topics until the task is cancelled, committing what the store has applied.
    public func run(groupID: String = "ketenhub-ledger", fetchMaxWaitMilliseconds: Int = 500, linker: Linker? = nil) async throws {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: bootstrapServers, groupID: groupID, clientID: "ketenhub-ledger")
        configuration.fetchMaxWaitMilliseconds = fetchMaxWaitMilliseconds
        let consumer = try KafkaConsumer(configuration: configuration, logger: logger)
        do {
            var partitions: [KafkaTopicPartition] = []
            for topic in sources {
                partitions += (0..<Int32(try await consumer.partitionCount(topic: topic))).map { KafkaTopicPartition(topic: topic, partition: $0) }
            }
            let committed = try await consumer.committedOffsets(partitions)
            try consumer.assign(partitions.map { KafkaTopicPartitionOffset(topic: $0.topic, partition: $0.partition, offset: (committed[$0] ?? nil) ?? KafkaOffset.beginning) })
            while !Task.isCancelled {
                let batch = try await consumer.poll(maxMessages: 500, timeoutMilliseconds: 100)
                guard !batch.isEmpty else { continue }
                let entries = batch.compactMap { entry(from: $0) }
                try await store.apply(entries)
                if let linker { try await link(after: entries, with: linker) }
                var positions: [KafkaTopicPartition: Int64] = [:]
                for message in batch { positions[message.topicPartition] = message.offset + 1 }
                try await consumer.commit(positions.map { KafkaTopicPartitionOffset(topic: $0.key.topic, partition: $0.key.partition, offset: $0.value) })
            }
        } catch {
            await consumer.close()
            throw error
        }
        await consumer.close()
    }

    /// Links, under the automatic rules, the cases these entries named persons in with every other
    /// case naming the same person in the rule's role, unless a step of that link exists already
    /// (an operator may have unlinked it). A link's time is when both cases first named the person,
    /// so that two projectors writing it give one step.
    func link(after entries: [LedgerEntry], with linker: Linker) async throws {
        var touched: [String: Set<String>] = [:]
        for case .accepted(let event) in entries {
            for role in event.roles.keys { touched[role, default: []].insert(event.ketencaseid) }
        }
        var steps: [CaseLinkRecord] = []
        for rule in linker.rules {
            guard let cases = touched[rule.role] else { continue }
            for candidate in try await store.linkCandidates(role: rule.role, cases: cases) {
                let linkId = CaseLinkRecord.linkId(cases: candidate.cases, rule: rule.rule)
                guard try await store.caseLink(linkId) == nil, !steps.contains(where: { $0.linkId == linkId }) else { continue }
                steps.append(CaseLinkRecord(linkId: linkId, cases: candidate.cases, rule: rule.rule, action: .linked, by: "hub",
                                            at: candidate.since, reason: rule.says))
            }
        }
        guard !steps.isEmpty else { return }
        try await linker.producer.sendAll(try steps.map { try KafkaProducerMessage(topic: topics.caseLinks, key: $0.linkId, json: $0) })
        logger.info("cases linked by rule", metadata: ["links": "\(steps.count)"])
    }

    /// The fact a record tells, or nil for a record that tells none (logged: the contracts say what is on each topic).
    func entry(from message: KafkaConsumerMessage) -> LedgerEntry? {
        let decoder = JSONDecoder()
        switch message.topic {
        case topics.canonical:
            guard let event = try? CloudEvent(kafkaRecord: CloudEventRecord(message)) else { return nil }  // dead-lettered by the router
            var fields: [String: String] = [:]
            for pointer in keptFields[event.type] ?? [] {
                if let value = JSONPointer(pointer).resolve(in: event.data), value != .null { fields[pointer] = value.rendered }
            }
            return .accepted(.init(eventId: event.id, source: event.source, type: event.type, ketencaseid: event.ketencaseid,
                                   producer: event.producer ?? "", eventTime: event.time, acceptedAt: Self.timestamp(message), fields: fields,
                                   persons: Self.persons(in: event.data), roles: Self.linkableRoles(in: event.data)))
        case topics.audit:
            guard let record = try? decoder.decode(AuditRecord.self, from: Data(message.value)) else { return unreadable(message) }
            return .decided(.init(decisionId: record.decisionId, eventId: record.eventId, eventSource: record.eventSource,
                                  ketencaseid: record.ketencaseid, recipient: record.recipient, permitted: record.outcome == "permit",
                                  ruleId: record.ruleId, legalBasis: record.legalBasis, purpose: record.purpose,
                                  matrixVersion: record.matrixVersion, decidedAt: record.decidedAt, explanation: record.explanation,
                                  outcome: record.outcome, releases: record.releases, grounds: record.grounds))
        case topics.deliveryStatus:
            guard let status = try? decoder.decode(StatusRecord.self, from: Data(message.value)) else { return unreadable(message) }
            return .delivered(.init(deliveryId: status.deliveryId, organisation: status.organisation, delivered: status.outcome == "delivered",
                                    attempts: status.attempts, at: status.at, detail: status.detail))
        case topics.acknowledgements:
            guard let event = try? CloudEvent(kafkaRecord: CloudEventRecord(message)),
                  let ack = try? event.decodeData(as: Acknowledgement.self) else { return unreadable(message) }
            // Only a delivery's recipient acknowledges it, and only in its own name: anything else on
            // the topic (a partner writing to Kafka directly) is not a fact about the delivery.
            guard ack.isByRecipient, event.producer == ack.organisation else {
                logger.warning("an acknowledgement not by the delivery's recipient is ignored",
                               metadata: ["partition": "\(message.partition)", "offset": "\(message.offset)", "organisation": "\(ack.organisation)"])
                return nil
            }
            // Kept as the hub writes times (UTC, milliseconds): a recipient's own offset would sort
            // wrongly beside them (the ledger keeps the earliest by its text), and text that is no
            // time, or none since 1970, is no time the store can count latencies with.
            guard let acknowledged = HubTime.date(ack.acknowledgedAt), acknowledged.timeIntervalSince1970 >= 0 else { return unreadable(message) }
            return .acknowledged(.init(deliveryId: ack.deliveryId, organisation: ack.organisation, status: ack.status.rawValue,
                                       at: HubTime.text(acknowledged, fractionalSeconds: true), reason: ack.reason))
        case topics.deadLetter:
            guard let letter = try? decoder.decode(DeadLetter.self, from: Data(message.value)) else { return unreadable(message) }
            return .deadLettered(.init(deadLetterId: letter.deadLetterId, stage: letter.stage, partner: letter.partner, receivedAt: letter.receivedAt,
                                       reasons: letter.reasons.map { [$0.location, $0.reason].compactMap { $0 }.joined(separator: ": ") },
                                       sizeBytes: letter.original.sizeBytes))
        case topics.replays:
            guard let replay = try? decoder.decode(ReplayRecord.self, from: Data(message.value)) else { return unreadable(message) }
            return .replayed(replay)
        case topics.alerts:
            guard let alert = try? decoder.decode(SLAAlert.self, from: Data(message.value)) else { return unreadable(message) }
            return .alerted(alert)
        case topics.references:
            guard let registration = try? decoder.decode(ReferenceRegistration.self, from: Data(message.value)) else { return unreadable(message) }
            return .referenced(registration)
        case topics.caseLinks:
            guard let step = try? decoder.decode(CaseLinkRecord.self, from: Data(message.value)) else { return unreadable(message) }
            return .linkStep(step)
        default:
            return nil
        }
    }

    /// Every pseudonymous person id anywhere in an event's data (`common.schema.json#/$defs/pseudonymousId`).
    static func persons(in value: JSONValue) -> [String] {
        var found = Set<String>()
        func visit(_ value: JSONValue) {
            switch value {
            case .string(let text) where text.count == 36 && text.hasPrefix("psn:") && text.dropFirst(4).allSatisfy(\.isHexDigit):
                found.insert(text)
            case .array(let items): items.forEach(visit)
            case .object(let members): members.values.forEach(visit)
            default: break
            }
        }
        visit(value)
        return found.sorted()
    }

    /// The victims and suspects an event names, by role: the persons two cases can share.
    static func linkableRoles(in data: JSONValue) -> [String: [String]] {
        var roles: [String: [String]] = [:]
        for role in [PersonRole.slachtoffer, .verdachte] {
            let persons = EventPersons.persons(in: data, role: role)
            if !persons.isEmpty { roles[role.rawValue] = persons.sorted() }
        }
        return roles
    }

    private func unreadable(_ message: KafkaConsumerMessage) -> LedgerEntry? {
        logger.error("a record does not match its topic's contract; not in the ledger",
                     metadata: ["topic": "\(message.topic)", "partition": "\(message.partition)", "offset": "\(message.offset)"])
        return nil
    }

    /// When the broker took the record: the same on every read, so a rebuild gives the same times.
    static func timestamp(_ message: KafkaConsumerMessage) -> String {
        HubTime.text(message.timestamp ?? Date(timeIntervalSince1970: 0), fractionalSeconds: true)
    }

    /// `Contracts/records/decision-record.schema.json`, the fields the ledger keeps.
    struct AuditRecord: Decodable {
        struct Considered: Decodable { var ruleId: String; var applied: Bool; var reason: String? }
        var decisionId, eventId, eventSource, ketencaseid, recipient, outcome, matrixVersion, decidedAt: String
        var ruleId, legalBasis, purpose, reason, releases, region: String?
        var considered: [Considered]?
        var consent: JSONValue?
        var caseFacts: JSONValue?
        var legalBasisConfirmed: Bool?
        var disclosedPersons: [String]?

        /// A deny or a hold in one line: why, then each rule considered and why it did not apply.
        var explanation: String? {
            guard outcome != "permit" else { return nil }
            let rules = (considered ?? []).filter { !$0.applied }.map { "\($0.ruleId): \($0.reason ?? "did not apply")" }
            return ([reason ?? "no rule applies"] + rules).joined(separator: "; ")
        }

        /// The grounds of the decision as sorted JSON, or nil when it records none.
        var grounds: String? {
            var members: [String: JSONValue] = [:]
            if let consent { members["consent"] = consent }
            if let caseFacts { members["caseFacts"] = caseFacts }
            if let region { members["region"] = .string(region) }
            if let legalBasisConfirmed { members["legalBasisConfirmed"] = .bool(legalBasisConfirmed) }
            if let disclosedPersons { members["disclosedPersons"] = .array(disclosedPersons.map(JSONValue.string)) }
            return members.isEmpty ? nil : String(decoding: JSONValue.object(members).encodedBytes(), as: UTF8.self)
        }
    }

    /// `Contracts/records/delivery-status.schema.json`.
    struct StatusRecord: Decodable {
        var deliveryId, organisation, outcome, at: String
        var attempts: Int
        var detail: String?
    }
}

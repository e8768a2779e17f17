import CanonicalEvents
import Foundation
import HubTopology
import Kafka
import Logging

/// An operator's second chance for what went wrong, recorded on the replay topic:
/// - a dead letter of a partner's message is submitted again, as that partner, through the gateway
///   (after its format or the organisation registry was fixed, it now becomes events; if not, it is
///   refused again with the same dead-letter id);
/// - a delivery is written again to its partner's delivery topic, marked with the replay's id, so its
///   delivery worker sends it once more with the same Idempotency-Key.
public struct Replayer: Sendable {
    public enum Refusal: Error, CustomStringConvertible {
        case notFound(String)
        case notReplayable(String)
        public var description: String {
            switch self { case .notFound(let what), .notReplayable(let what): what }
        }
    }

    let gateway: InboundGateway
    let producer: KafkaProducer
    let topics: HubTopics
    let reader: TopicReader

    public init(gateway: InboundGateway, producer: KafkaProducer, topics: HubTopics, bootstrapServers: String, logger: Logger) {
        self.gateway = gateway
        self.producer = producer
        self.topics = topics
        self.reader = TopicReader(bootstrapServers: bootstrapServers, logger: logger)
    }

    public func replayDeadLetter(_ id: String, requestedBy principal: String) async throws -> ReplayRecord {
        let letters = try await reader.readAll(topics.deadLetter).values.flatMap { $0 }
            .compactMap { try? JSONDecoder().decode(DeadLetter.self, from: Data($0.value)) }
        guard let letter = letters.first(where: { $0.deadLetterId == id }) else { throw Refusal.notFound("no dead letter \(id)") }
        guard letter.stage == "inbound", let partner = letter.partner, let bytes = Data(base64Encoded: letter.original.base64), !bytes.isEmpty else {
            throw Refusal.notReplayable("dead letter \(id) (stage \(letter.stage)) has no partner message to submit again; "
                                        + "only messages refused on the way in, with their bytes, can be replayed")
        }
        let receipt = await gateway.receive(Array(bytes), from: partner, via: .replay, contentType: letter.original.contentType)
        let record = ReplayRecord(replayId: Self.newId(), kind: .deadLetter, target: id, requestedBy: principal, at: HubTime.text(Date()),
                                  outcome: receipt.status == .accepted ? .accepted : .rejected,
                                  detail: receipt.status == .accepted
                                      ? "\(receipt.events.count) event(s) accepted: " + receipt.events.map(\.id).joined(separator: ", ")
                                      : receipt.problems.map(\.reason).joined(separator: "; "))
        try await producer.send(try KafkaProducerMessage(topic: topics.replays, key: id, json: record))
        return record
    }

    public func replayDelivery(_ id: String, organisation: String, requestedBy principal: String) async throws -> ReplayRecord {
        let records = try await reader.readAll(topics.deliveries(organisation)).values.flatMap { $0 }
        guard let original = records.first(where: { $0.header("ce_decisionid")?.stringValue == id }) else {
            throw Refusal.notFound("no delivery \(id) on \(topics.deliveries(organisation))")
        }
        let record = ReplayRecord(replayId: Self.newId(), kind: .delivery, target: id, requestedBy: principal, at: HubTime.text(Date()),
                                  outcome: .queued, detail: "sent again to \(organisation)")
        var copy = KafkaProducerMessage(topic: original.topic, key: original.key, value: original.value, headers: original.headers)
        copy.headers.append(KafkaHeader(key: DeliveryWorker.replayHeader, value: Array(record.replayId.utf8)))
        try await producer.send(copy)
        try await producer.send(try KafkaProducerMessage(topic: topics.replays, key: id, json: record))
        return record
    }

    static func newId() -> String { "replay-" + UUID().uuidString.lowercased() }
}

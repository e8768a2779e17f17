import CanonicalEvents
import Crypto
import Foundation
import HubMetrics
import HubTopology
import Kafka
import Logging
import NIOPosix
import PartnerAdapters
import SharingPolicy

/// Takes in partners' native messages, whatever the transport: translates each with the sender's
/// format, publishes its canonical events (idempotent producer; the Kafka key is the chain case, the
/// event id the partner's own record id, so a message sent twice is routed once), and answers with a
/// receipt. A refused message goes to the dead-letter topic with its original bytes, its partner and
/// every reason; the next message is taken in as if nothing happened. Thread: any task; the
/// translation itself runs on NIO's pool for blocking work (`offThePool`).
public final class InboundGateway: Sendable {
    public enum Transport: String, Sendable { case http, directory, replay }

    /// How the gateway finds the chain case of a record that carries the sender's reference instead
    /// of a chain case id: the registry, the matrix's opening rules and each organisation's type.
    public struct ChainCases: Sendable {
        public var registry: ReferenceRegistry
        public var rules: ChainCaseRules
        public var organisationTypes: [String: String]

        public init(registry: ReferenceRegistry, rules: ChainCaseRules, organisationTypes: [String: String]) {
            self.registry = registry
            self.rules = rules
            self.organisationTypes = organisationTypes
        }
    }

    private let formats: PartnerFormats
    private let chainCases: ChainCases?
    private let producer: KafkaProducer
    private let topics: HubTopics
    private let metrics: MetricsRegistry?
    private let logger: Logger

    /// Without `chainCases` every record must carry its chain case id.
    public init(formats: PartnerFormats, chainCases: ChainCases? = nil, producer: KafkaProducer, topics: HubTopics = HubTopics(),
                metrics: MetricsRegistry? = nil, logger: Logger) {
        self.formats = formats
        self.chainCases = chainCases
        self.producer = producer
        self.topics = topics
        self.metrics = metrics
        self.logger = logger
    }

    /// The most a partner's message may be, judged before it is read.
    public func sizeLimit(for organisation: String) -> Int? { formats.format(for: organisation)?.maxBytes }

    public func receive(_ bytes: [UInt8], from organisation: String, via transport: Transport, contentType: String) async -> Receipt {
        let receivedAt = HubTime.text(Date())
        guard let format = formats.format(for: organisation) else {
            return await refuse(bytes, from: organisation, via: transport, contentType: contentType, at: receivedAt,
                                [AdapterProblem(location: "", reason: "\(organisation) has no partner format")])
        }
        let translator = PartnerTranslator(format: format)
        // First the chain case of every record that names it by the sender's own reference.
        var resolution = ReferenceRegistry.Resolution()
        if let chainCases {
            let claims: [CaseClaim]
            switch await Self.offThePool({ () throws(AdapterRefusal) in try translator.caseClaims(bytes, from: organisation) }) {
            case .success(let found): claims = found
            case .failure(let refusal): return await refuse(bytes, from: organisation, via: transport, contentType: contentType, at: receivedAt, refusal.problems)
            case nil: return notTranslatedNow(organisation, at: receivedAt)
            }
            do {
                resolution = try await chainCases.registry.resolve(claims, organisation: organisation, organisationType: chainCases.organisationTypes[organisation],
                                                                   rules: chainCases.rules, at: receivedAt)
            } catch {
                logger.error("reference registry not readable", metadata: ["partner": "\(organisation)", "error": "\(error)"])
                return Receipt(status: .failed, partner: organisation, receivedAt: receivedAt,
                               problems: [AdapterProblem(location: "", reason: "the hub could not look up the message's references now; send it again")])
            }
            if !resolution.problems.isEmpty {
                return await refuse(bytes, from: organisation, via: transport, contentType: contentType, at: receivedAt, resolution.problems)
            }
        }
        let events: [CloudEvent]
        let cases = resolution.cases
        switch await Self.offThePool({ () throws(AdapterRefusal) in try translator.translate(bytes, from: organisation, cases: cases) }) {
        case .success(let translated):
            events = translated
        case .failure(let refusal):
            await chainCases?.registry.release(resolution)
            return await refuse(bytes, from: organisation, via: transport, contentType: contentType, at: receivedAt, refusal.problems)
        case nil:
            await chainCases?.registry.release(resolution)
            return notTranslatedNow(organisation, at: receivedAt)
        }
        do {
            // The registrations before the events: a router or a ledger that sees an event can find its reference.
            try await chainCases?.registry.commit(resolution)
            try await producer.sendAll(events.map { KafkaProducerMessage(topic: topics.canonical, cloudEvent: $0.kafkaRecord()) })
            for event in events {
                metrics?.increment("ketenhub_events_accepted_total", help: "Canonical events the adapters accepted and published.",
                                   labels: ["organisation": organisation, "type": event.type])
            }
            logger.info("message accepted", metadata: ["partner": "\(organisation)", "events": "\(events.count)", "transport": "\(transport)"])
            return Receipt(status: .accepted, partner: organisation, receivedAt: receivedAt, events: events, resolution: resolution)
        } catch {
            logger.error("accepted message not published", metadata: ["partner": "\(organisation)", "error": "\(error)"])
            return Receipt(status: .failed, partner: organisation, receivedAt: receivedAt,
                           problems: [AdapterProblem(location: "", reason: "the hub could not publish the message now; send it again")])
        }
    }

    /// Runs a translation on NIO's pool for blocking work, not on Swift's cooperative pool (a thread
    /// per core). Its work grows with the message (a quarter second for a 1 MB message, release
    /// build): sixteen at once held every task of the hub (routing, deliveries, `/healthz`) for one
    /// to two seconds. There a partner's messages wait for each other, and the rest of the hub runs on.
    /// Nil when the work was not done (the task was cancelled, the process is stopping).
    private static func offThePool<T: Sendable>(_ work: @escaping @Sendable () throws(AdapterRefusal) -> T) async -> Result<T, AdapterRefusal>? {
        try? await NIOThreadPool.singleton.runIfActive { Result(catching: work) }
    }

    private func notTranslatedNow(_ organisation: String, at receivedAt: String) -> Receipt {
        Receipt(status: .failed, partner: organisation, receivedAt: receivedAt,
                problems: [AdapterProblem(location: "", reason: "the hub could not translate the message now; send it again")])
    }

    /// A message refused unread because its size (announced, or of the file) is over the partner's limit.
    public func refuseTooLarge(size: Int, from organisation: String, via transport: Transport, contentType: String) async -> Receipt {
        await refuseUnread(size: size, from: organisation, via: transport, contentType: contentType,
                           reason: "the message is \(size) bytes; messages from \(organisation) may be at most \(sizeLimit(for: organisation) ?? 0) bytes")
    }

    /// A message refused before it was read (too large): its dead letter keeps its size, not its bytes.
    public func refuseUnread(size: Int, from organisation: String, via transport: Transport, contentType: String, reason: String) async -> Receipt {
        await refuse([], declaredSize: size, from: organisation, via: transport, contentType: contentType,
                     at: HubTime.text(Date()), [AdapterProblem(location: "", reason: reason)])
    }

    /// A partner's acknowledgement refused (malformed, too large, not its own delivery, unknown, of
    /// another chain case): its dead letter keeps the bytes and the reason, so that operators see an
    /// organisation acknowledging what it should not, as they see its refused messages. The dead
    /// letter's id, or nil if it could not be written.
    public func refuseAcknowledgement(_ bytes: [UInt8], declaredSize: Int? = nil, from organisation: String, contentType: String,
                                      reason: String) async -> String? {
        await deadLetter(bytes, declaredSize: declaredSize, from: organisation, via: .http, contentType: contentType, stage: .acknowledgement,
                         at: HubTime.text(Date()), [AdapterProblem(location: "", reason: reason)])
    }

    private func refuse(_ bytes: [UInt8], declaredSize: Int? = nil, from organisation: String, via transport: Transport, contentType: String,
                        at receivedAt: String, _ problems: [AdapterProblem]) async -> Receipt {
        guard let deadLetterId = await deadLetter(bytes, declaredSize: declaredSize, from: organisation, via: transport, contentType: contentType,
                                                  stage: .inbound, at: receivedAt, problems) else {
            return Receipt(status: .failed, partner: organisation, receivedAt: receivedAt,
                           problems: [AdapterProblem(location: "", reason: "the hub could not record the refusal now; send it again")] + problems)
        }
        return Receipt(status: .rejected, partner: organisation, receivedAt: receivedAt, problems: problems, deadLetterId: deadLetterId)
    }

    /// What the gateway dead-letters: a message, or an acknowledgement; each with its id prefix and counter.
    private enum Refused: String {
        case inbound, acknowledgement

        var idPrefix: String { self == .inbound ? "dlq-adapter" : "dlq-ack" }
        var counter: (name: String, help: String) {
            self == .inbound ? ("ketenhub_messages_rejected_total", "Partner messages refused whole and dead-lettered.")
                             : ("ketenhub_acknowledgements_refused_total", "Partners' acknowledgements refused and dead-lettered.")
        }
    }

    /// A refused message's dead letter id: the digest of its bytes, so that a partner sending the same
    /// broken message again makes one dead letter; a message refused unread has no bytes to digest,
    /// and each such refusal is a dead letter of its own. Nil when the dead letter could not be written.
    private func deadLetter(_ bytes: [UInt8], declaredSize: Int?, from organisation: String, via transport: Transport, contentType: String,
                            stage: Refused, at receivedAt: String, _ problems: [AdapterProblem]) async -> String? {
        let identity = declaredSize == nil ? SHA256.hash(data: Data(bytes)).prefix(8).hexString
                                           : "unread-" + UUID().uuidString.lowercased().prefix(18)
        var original = DeadLetter.Original(contentType: contentType, bytes: bytes)
        if let declaredSize { original.sizeBytes = declaredSize }
        var reasons = problems.prefix(Receipt.maximumProblems).map { DeadLetter.Reason(location: $0.location.isEmpty ? nil : $0.location, reason: $0.reason) }
        if problems.count > Receipt.maximumProblems {
            reasons.append(DeadLetter.Reason(location: nil, reason: "and \(problems.count - Receipt.maximumProblems) more problems (\(problems.count) in all)"))
        }
        let letter = DeadLetter(deadLetterId: "\(stage.idPrefix)-\(organisation)-\(identity)", receivedAt: receivedAt, stage: stage.rawValue,
                                partner: organisation, reasons: reasons, original: original)
        metrics?.increment(stage.counter.name, help: stage.counter.help, labels: ["organisation": organisation])
        logger.warning("\(stage == .inbound ? "message" : "acknowledgement") refused",
                       metadata: ["partner": "\(organisation)", "problems": "\(problems.count)", "deadLetter": "\(letter.deadLetterId)"])
        do {
            try await producer.send(try KafkaProducerMessage(topic: topics.deadLetter, key: letter.deadLetterId, json: letter,
                                                             headers: [KafkaHeader(key: DeadLetter.originTransportHeader, string: transport.rawValue)]))
            return letter.deadLetterId
        } catch {
            logger.error("dead letter not written", metadata: ["partner": "\(organisation)", "error": "\(error)"])
            return nil
        }
    }
}

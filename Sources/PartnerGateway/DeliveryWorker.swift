import AsyncHTTPClient
import CanonicalEvents
import Foundation
import HubMetrics
import HubTopology
import Kafka
import Logging
import NIOCore
import NIOSSL
import PartnerAdapters
import Synchronization

/// Where a partner takes its deliveries.
public enum DeliveryTransport: Sendable, CustomStringConvertible {
    /// POSTed to the partner's endpoint, one delivery per request, routing attributes as CloudEvents
    /// `ce-` headers, the delivery id also as `Idempotency-Key` (a partner seeing it twice keeps one);
    /// with the `Authorization` header given (the hub's credential at the partner), if any, and over
    /// the TLS given (the partner's roots, the hub's client certificate), if any.
    case http(URL, authorization: String? = nil, tls: DeliveryTLS? = nil)
    /// Written to the partner's outbox directory: the body under a temporary name, renamed when
    /// complete; the routing attributes in `<name>.ce.json` beside it, written first. An outbox
    /// replaced by a link is not written through (`FolderFiles`): the delivery waits until it is a directory again.
    case directory(URL)

    public var description: String {
        switch self {
        case .http(let url, _, nil): "http \(url.absoluteString)"
        case .http(let url, _, let tls?): "http \(url.absoluteString) (TLS \(tls))"
        case .directory(let url): "directory \(url.path)"
        }
    }
}

/// Delivers one organisation's delivery topic to the organisation, in order: a record is delivered
/// (or has failed for good) before the next is tried, so a partner that is down holds up its own
/// deliveries, in order per case, and nobody else's. Every outcome is written to the delivery-status
/// topic; a restarted worker skips what that topic says was delivered (the router may also have left
/// a record twice: its deliveries are deduplicated by delivery id here).
public final class DeliveryWorker: Sendable {
    public let organisation: String
    private let transport: DeliveryTransport
    private let translator: PartnerTranslator
    private let bootstrapServers: String
    private let topics: HubTopics
    private let retry: RetryPolicy
    private let fetchMaxWaitMilliseconds: Int
    private let metrics: MetricsRegistry?
    private let logger: Logger
    private let assigned = Mutex(false)

    /// Whether the worker has its delivery topic's partitions and delivers (for `/readyz`).
    public var isAssigned: Bool { assigned.withLock { $0 } }

    public init(organisation: String, transport: DeliveryTransport, translator: PartnerTranslator, bootstrapServers: String,
                topics: HubTopics = HubTopics(), retry: RetryPolicy = RetryPolicy(), fetchMaxWaitMilliseconds: Int = 500,
                metrics: MetricsRegistry? = nil, logger: Logger) {
        self.metrics = metrics
        self.organisation = organisation
        self.transport = transport
        self.translator = translator
        self.bootstrapServers = bootstrapServers
        self.topics = topics
        self.retry = retry
        self.fetchMaxWaitMilliseconds = fetchMaxWaitMilliseconds
        self.logger = logger
    }

    /// The consumer group of the workers delivering to `organisation` (whose lag the API nodes report).
    public static func consumerGroup(delivering organisation: String) -> String { "ketenhub-outbound-\(organisation)" }

    /// Delivers until the task is cancelled.
    public func run() async throws {
        let topic = topics.deliveries(organisation)
        var delivered = try await deliveredBefore()
        let group = Self.consumerGroup(delivering: organisation)
        var configuration = KafkaConsumerConfiguration(bootstrapServers: bootstrapServers, groupID: group, clientID: group)
        configuration.fetchMaxWaitMilliseconds = fetchMaxWaitMilliseconds
        configuration.pollBatchSize = 100
        let consumer = try KafkaConsumer(configuration: configuration, logger: logger)
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: bootstrapServers,
                                                                                   clientID: group), logger: logger)
        // A partner with TLS settings of its own gets a client of its own, shut down when the worker ends.
        let ownClient: HTTPClient? = if case .http(_, _, let tls?) = transport { Self.makeClient(tls: tls.configuration) } else { nil }
        do {
            try await deliverAll(from: consumer, topic: topic, recording: producer, client: ownClient ?? Self.client, skipping: &delivered)
        } catch {
            await stop(producer, consumer, ownClient)
            throw error
        }
        await stop(producer, consumer, ownClient)
    }

    private func stop(_ producer: KafkaProducer, _ consumer: KafkaConsumer, _ client: HTTPClient?) async {
        await producer.shutdown()
        await consumer.close()
        try? await client?.shutdown()
    }

    /// The worker's loop: each record in order, delivered (or failed for good), recorded, committed.
    private func deliverAll(from consumer: KafkaConsumer, topic: String, recording producer: KafkaProducer, client: HTTPClient,
                            skipping delivered: inout Set<String>) async throws {
        let partitions = (0..<Int32(try await consumer.partitionCount(topic: topic))).map { KafkaTopicPartition(topic: topic, partition: $0) }
        let committed = try await consumer.committedOffsets(partitions)
        try consumer.assign(partitions.map { KafkaTopicPartitionOffset(topic: topic, partition: $0.partition, offset: (committed[$0] ?? nil) ?? KafkaOffset.beginning) })
        assigned.withLock { $0 = true }
        defer { assigned.withLock { $0 = false } }
        while !Task.isCancelled {
            let batch = try await consumer.poll(maxMessages: 100, timeoutMilliseconds: 100)
            var positions: [Int32: Int64] = [:]
            for message in batch {
                guard !Task.isCancelled else { break }
                let event = try? CloudEvent(kafkaRecord: CloudEventRecord(message))
                let replayId = message.header(Self.replayHeader)?.stringValue
                if let event, !delivered.contains(Self.doneKey(Self.deliveryId(of: event), replayId)) {
                    var status = await deliver(event, position: message, client: client)
                    status.replayId = replayId
                    try await producer.send(try KafkaProducerMessage(topic: topics.deliveryStatus, key: event.ketencaseid, json: status))
                    delivered.insert(Self.doneKey(status.deliveryId, replayId))
                    metrics?.increment("ketenhub_deliveries_total", help: "Deliveries to partners, by outcome.",
                                       labels: ["organisation": organisation, "type": event.type, "outcome": status.outcome.rawValue])
                } else if event == nil {
                    logger.error("a delivery record is not a canonical event; skipped", metadata: ["offset": "\(message.offset)"])
                }
                positions[message.partition] = message.offset + 1
            }
            if !positions.isEmpty {
                try await consumer.commit(positions.map { KafkaTopicPartitionOffset(topic: topic, partition: $0.key, offset: $0.value) })
            }
        }
    }

    static func deliveryId(of event: CloudEvent) -> String { event.decisionid ?? event.id }

    /// On a delivery record written again for an operator's replay: the replay's id. The worker
    /// delivers such a record even though it delivered the delivery before, once per replay.
    public static let replayHeader = "ketenhub_replay"

    static func doneKey(_ deliveryId: String, _ replayId: String?) -> String { replayId.map { "\(deliveryId) replay \($0)" } ?? deliveryId }

    /// The deliveries the status topic says are done for this organisation.
    private func deliveredBefore() async throws -> Set<String> {
        let records = try await TopicReader(bootstrapServers: bootstrapServers, logger: logger).readAll(topics.deliveryStatus)
        return Set(records.values.flatMap { $0 }.compactMap { try? JSONDecoder().decode(DeliveryStatus.self, from: Data($0.value)) }
            .filter { $0.organisation == organisation && $0.outcome == .delivered }.map { Self.doneKey($0.deliveryId, $0.replayId) })
    }

    /// Tries until the partner has the delivery, or has refused it for good.
    private func deliver(_ event: CloudEvent, position: KafkaConsumerMessage, client: HTTPClient) async -> DeliveryStatus {
        var status = DeliveryStatus(deliveryId: Self.deliveryId(of: event), organisation: organisation, eventId: event.id, eventType: event.type,
                                    ketencaseid: event.ketencaseid, outcome: .failed, attempts: 0, at: "", transport: transport.description)
        let rendered: RenderedDelivery
        do {
            rendered = try translator.renderDelivery(event)
        } catch {
            status.detail = "not renderable in the \(translator.format.partner) format: \(error)"
            status.at = HubTime.text(Date())
            logger.error("delivery not renderable", metadata: ["delivery": "\(status.deliveryId)", "error": "\(error)"])
            return status
        }
        while !Task.isCancelled {
            status.attempts += 1
            switch await attempt(event, rendered, name: String(format: "%02d-%012lld-%@", position.partition, position.offset, status.deliveryId),
                                 client: client) {
            case .delivered:
                status.outcome = .delivered
                status.detail = nil
                status.at = HubTime.text(Date())
                return status
            case .refused(let detail):
                status.detail = detail
                status.at = HubTime.text(Date())
                logger.error("partner refused a delivery", metadata: ["organisation": "\(organisation)", "delivery": "\(status.deliveryId)", "detail": "\(detail)"])
                return status
            case .retry(let detail):
                let delay = retry.delay(afterAttempt: status.attempts)
                logger.warning("delivery not taken; trying again", metadata: ["organisation": "\(organisation)", "attempt": "\(status.attempts)",
                                                                                 "detail": "\(detail)", "delay": "\(delay)"])
                try? await Task.sleep(for: delay)
            }
        }
        status.detail = "stopped before delivery"
        return status
    }

    private enum Attempt { case delivered, refused(String), retry(String) }

    private func attempt(_ event: CloudEvent, _ rendered: RenderedDelivery, name: String, client: HTTPClient) async -> Attempt {
        let attributes = Self.attributes(of: event)
        switch transport {
        case .http(let url, let authorization, _):
            var request = HTTPClientRequest(url: url.absoluteString)
            request.method = .POST
            if let authorization { request.headers.add(name: "Authorization", value: authorization) }
            request.headers.add(name: "Content-Type", value: rendered.contentType)
            request.headers.add(name: "Idempotency-Key", value: Self.deliveryId(of: event))
            for (name, value) in attributes.sorted(by: { $0.key < $1.key }) { request.headers.add(name: "ce-\(name)", value: Self.headerValue(value)) }
            request.body = .bytes(ByteBuffer(string: rendered.body))
            let code: Int
            do {
                let response = try await client.execute(request, timeout: Self.answerTimeout)
                code = Int(response.status.code)
                await Self.drop(response.body)
            } catch {
                return .retry("\(error)")
            }
            switch code {
            case 200..<300: return .delivered
            case 408, 425, 429, 500...: return .retry("HTTP \(code)")
            // These say the endpoint or the hub's credential there is wrong, not this delivery (a partner
            // refuses a delivery with a 400 or 422, or acknowledges it as rejected): the deliveries wait,
            // in order, until it is put right, rather than each failing for an operator to replay.
            case 401, 403, 407: return .retry("HTTP \(code): the endpoint refuses the hub's credential")
            case 404: return .retry("HTTP 404: the endpoint is not there")
            case 300..<400: return .refused("HTTP \(code): the endpoint redirects, and a delivery is sent to no other address than its recipient's endpoint")
            default: return .refused("HTTP \(code)")
            }
        case .directory(let outbox):
            do {
                let folder = try FolderFiles.openDirectory(outbox)
                defer { close(folder) }
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                try FolderFiles.write(try encoder.encode(attributes), named: "\(name).ce.json", in: folder)
                try FolderFiles.write(Data(rendered.body.utf8), named: "\(name).\(rendered.fileExtension)", in: folder)
                return .delivered
            } catch {
                return .retry("\(error)")
            }
        }
    }

    /// The client every delivery worker of the process posts with. It never follows a redirect: a
    /// delivery, and the hub's credential at the partner with it, go to the recipient's configured
    /// endpoint and nowhere else (Foundation's client followed one to any host, with every header,
    /// and reported the other host's answer as the partner's). One for the process, never shut
    /// down, as AsyncHTTPClient's own shared client; a partner with TLS settings gets its own.
    static let client = makeClient(tls: nil)

    private static func makeClient(tls: TLSConfiguration?) -> HTTPClient {
        HTTPClient(eventLoopGroupProvider: .singleton, configuration: HTTPClient.Configuration(
            tlsConfiguration: tls, redirectConfiguration: .disallow,
            timeout: HTTPClient.Configuration.Timeout(connect: .seconds(10), read: answerTimeout)))
    }

    /// How long an endpoint may take to answer, and to go on sending its answer.
    static let answerTimeout = TimeAmount.seconds(30)
    /// Of an answer, only the status counts: at most this much of its body is read, and none of it kept.
    static let answerLimit = 64 * 1024

    /// Reads an answer's body up to `answerLimit` bytes or `answerTimeout`, and drops it: an endpoint
    /// that answers without end neither holds its deliveries up nor fills the worker's memory.
    private static func drop(_ body: HTTPClientResponse.Body) async {
        let deadline = ContinuousClock.now + .seconds(answerTimeout.nanoseconds / 1_000_000_000)
        var read = 0
        do {
            for try await chunk in body {
                read += chunk.readableBytes
                if read > answerLimit || ContinuousClock.now > deadline { return }  // the request is cancelled, its connection closed
            }
        } catch {
            // The status is in; how the rest of the answer ended does not change it.
        }
    }

    /// An attribute's value in a `ce-` header, percent-encoded as the CloudEvents HTTP binding asks
    /// (1.0.2, 3.1.3.2): space, `"`, `%` and every byte outside printable ASCII. A value with a line
    /// break (a subject may have one) then neither splits the header nor is refused by the client on
    /// every attempt, which would hold the organisation's deliveries up for good.
    static func headerValue(_ value: String) -> String {
        // nil only for text that is not valid Unicode, which a Swift string cannot hold.
        value.addingPercentEncoding(withAllowedCharacters: headerCharacters) ?? value
    }

    /// Printable ASCII (0x21-0x7E) less `"` and `%`.
    private static let headerCharacters = CharacterSet(charactersIn: Unicode.Scalar(0x21)...Unicode.Scalar(0x7E)).subtracting(CharacterSet(charactersIn: "\"%"))

    /// The event's CloudEvents attributes (without its data), as `ce-` headers carry them.
    static func attributes(of event: CloudEvent) -> [String: String] {
        var attributes = ["specversion": event.specversion, "id": event.id, "source": event.source, "type": event.type,
                          "time": event.time, "ketencaseid": event.ketencaseid]
        let optional: [(String, String?)] = [("subject", event.subject), ("partnerref", event.partnerref), ("decisionid", event.decisionid),
                                             ("ruleid", event.ruleid), ("legalbasis", event.legalbasis), ("purpose", event.purpose),
                                             ("disclosure", event.disclosure), ("matrixversion", event.matrixversion)]
        for case let (name, value?) in optional { attributes[name] = value }
        return attributes
    }
}

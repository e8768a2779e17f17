import CRdKafka
import Foundation
import Logging

/// Owns one `rd_kafka_t` handle and the context its C callbacks reach through `rd_kafka_opaque`.
/// librdkafka handles are thread-safe, hence `@unchecked Sendable`.
final class RDKafkaClient: @unchecked Sendable {
    enum Kind {
        case producer, consumer

        var rdKafka: rd_kafka_type_t { self == .producer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER }
    }

    let handle: OpaquePointer
    let callbacks: ClientCallbacks
    private var destroyed = false

    /// Creates the handle. Callbacks are wired only for the features `callbacks` carries.
    init(kind: Kind, properties: [String: String], callbacks: ClientCallbacks) throws {
        let conf = rd_kafka_conf_new()!
        var errorText = [CChar](repeating: 0, count: 512)
        for (key, value) in properties.sorted(by: { $0.key < $1.key }) {
            if rd_kafka_conf_set(conf, key, value, &errorText, errorText.count) != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                throw KafkaError(kind: .configuration, reason: "\(key)=\(value): \(String(errorBuffer: errorText))")
            }
        }
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(callbacks).toOpaque())
        rd_kafka_conf_set_log_cb(conf) { rk, level, facility, message in
            guard let rk, let context = ClientCallbacks.from(rk) else { return }
            context.log(level: level, facility: facility.map { String(cString: $0) } ?? "",
                        message: message.map { String(cString: $0) } ?? "")
        }
        if properties["statistics.interval.ms"] != nil {
            rd_kafka_conf_set_stats_cb(conf) { rk, json, length, _ in
                guard let rk, let json, let context = ClientCallbacks.from(rk) else { return 0 }
                context.statistics?.record(json: Data(bytes: json, count: length))
                return 0  // librdkafka frees the JSON
            }
        }
        if callbacks.deliveryReportsAsEvents {
            // Delivery reports and errors as events on the main queue, which the producer serves
            // (`ProducerEvents`): without the error events librdkafka only logs its errors.
            rd_kafka_conf_set_events(conf, Int32(RD_KAFKA_EVENT_DR | RD_KAFKA_EVENT_ERROR))
        }
        if callbacks.rebalance != nil {
            rd_kafka_conf_set_rebalance_cb(conf) { rk, err, partitions, _ in
                guard let rk, let context = ClientCallbacks.from(rk) else { return }
                context.rebalance?(rk, err, partitions)
            }
        }
        guard let handle = rd_kafka_new(kind.rdKafka, conf, &errorText, errorText.count) else {
            // On failure the configuration is still ours.
            rd_kafka_conf_destroy(conf)
            throw KafkaError(kind: .configuration, reason: String(errorBuffer: errorText))
        }
        self.handle = handle
        self.callbacks = callbacks
    }

    /// Destroys the handle; blocking, so call it from a client thread or at process end.
    func destroy() {
        guard !destroyed else { return }
        destroyed = true
        rd_kafka_destroy(handle)
    }

    deinit { destroy() }
}

/// What the C callbacks of one handle need. Held strongly by `RDKafkaClient` for as long as the handle lives.
final class ClientCallbacks: @unchecked Sendable {
    let logger: Logger
    let statistics: StatisticsRecorder?
    /// A producer's: its delivery reports come as events, served by `ProducerEvents`.
    let deliveryReportsAsEvents: Bool
    /// Set once, before the handle is created; called on the consumer's poll thread.
    let rebalance: (@Sendable (OpaquePointer, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?) -> Void)?

    init(logger: Logger, statistics: StatisticsRecorder? = nil, deliveryReportsAsEvents: Bool = false,
         rebalance: (@Sendable (OpaquePointer, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?) -> Void)? = nil) {
        self.logger = logger
        self.statistics = statistics
        self.deliveryReportsAsEvents = deliveryReportsAsEvents
        self.rebalance = rebalance
    }

    static func from(_ rk: OpaquePointer) -> ClientCallbacks? {
        guard let opaque = rd_kafka_opaque(rk) else { return nil }
        return Unmanaged<ClientCallbacks>.fromOpaque(opaque).takeUnretainedValue()
    }

    /// librdkafka uses syslog levels (0 emergency ... 7 debug).
    func log(level: Int32, facility: String, message: String) {
        let swiftLevel: Logger.Level = switch level {
        case ...3: .error
        case 4: .warning
        case 5, 6: .info
        default: .debug
        }
        logger.log(level: swiftLevel, "\(message)", metadata: ["rdkafka.facility": .string(facility)])
    }
}

extension String {
    /// The text librdkafka wrote into an `errstr` buffer.
    package init(errorBuffer: [CChar]) {
        let bytes = errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        self = String(decoding: bytes, as: UTF8.self)
    }
}

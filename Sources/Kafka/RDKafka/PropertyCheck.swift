import CRdKafka
import Synchronization

extension KafkaClientSettings {
    /// Why librdkafka refuses `property = value`, or nil if it takes it: a configuration file's
    /// property is checked at start, not when the first client happens to be made.
    public static func check(property: String, value: String) -> String? {
        let conf = rd_kafka_conf_new()!
        defer { rd_kafka_conf_destroy(conf) }
        var errorText = [CChar](repeating: 0, count: 512)
        guard rd_kafka_conf_set(conf, property, value, &errorText, errorText.count) == RD_KAFKA_CONF_OK else {
            return "librdkafka refuses the property \(property): \(String(errorBuffer: errorText))"
        }
        return nil
    }

    /// Properties whose values are secrets: a configuration file references them, never holds them.
    public static func isSecret(property: String) -> Bool {
        ["password", "secret", "key.pem", "sasl.oauthbearer.config"].contains { property.contains($0) }
    }

    /// Properties every client of this process gets (a node's TLS and SASL settings, say), beneath
    /// each client's own settings. Set once, before the first client, by the command that starts a
    /// node: a process is one node of one hub, on one cluster.
    public static var processProperties: [String: String] {
        get { sharedProperties.withLock { $0 } }
        set { sharedProperties.withLock { $0 = newValue } }
    }
}

private let sharedProperties = Mutex<[String: String]>([:])

import Kafka
import Synchronization

/// The consumer lag of the router's group and of every delivery worker's group, measured in the
/// background. A measurement is a committed-offset and watermark query per group, each through a
/// client of its own: with a delivery group per organisation (56 in the registry) that is seconds
/// of work, which a Prometheus scrape (10 s timeout by default) must not wait for. `/metrics` shows
/// the newest measurement. Its admin client is its own, so that `/readyz` never queues behind it.
final class ConsumerLagProbe: Sendable {
    private let admin: KafkaAdmin
    private let groups: [(group: String, topic: String)]
    private let latest = Mutex<[(labels: [String: String], value: Double)]>([])

    init(admin: KafkaAdmin, groups: [(group: String, topic: String)]) {
        self.admin = admin
        self.groups = groups
    }

    /// The newest measurement, one sample per group that answered.
    var samples: [(labels: [String: String], value: Double)] { latest.withLock { $0 } }

    /// Measures now and then every `interval`, until cancelled.
    func run(every interval: Duration) async throws {
        while !Task.isCancelled {
            var samples: [(labels: [String: String], value: Double)] = []
            for (group, topic) in groups {
                if let lag = try? await admin.consumerGroupLag(groupID: group, topics: [topic]) {
                    samples.append((["group": group], Double(lag.map(\.lag).reduce(0, +))))
                }
            }
            latest.withLock { $0 = samples }
            try await Task.sleep(for: interval)
        }
    }
}

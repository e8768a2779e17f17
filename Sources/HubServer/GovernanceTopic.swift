import Foundation
import HubTopology
import Kafka
import Logging
import MatrixGovernance
import SharingPolicy

/// Matrix governance for the whole hub: the node the privacy officers use publishes every activated
/// version to the governance topic (compacted, keyed by version number); every router node follows
/// that topic, so it routes each batch under the version in force, whichever node approved it.
public enum GovernanceTopic {
    /// The record key of a version.
    static func key(_ version: MatrixVersion) -> String { "matrix-version-\(version.number)" }

    /// Publishes the store's activated versions the topic does not carry yet, every `interval`,
    /// until cancelled. Republishing one is harmless (same key, same content).
    static func publish(governance: MatrixGovernance, producer: KafkaProducer, reader: TopicReader, topics: HubTopics,
                        interval: Duration = .seconds(1), logger: Logger) async throws {
        var published = Set(try await versions(reader: reader, topics: topics).map(\.number))
        while !Task.isCancelled {
            // Numbers and states only, each second; the files of a version newly activated only.
            var activated: [MatrixVersion] = []
            for (number, state) in try await governance.states() where state == .activated && !published.contains(number) {
                activated.append(try await governance.version(number))
            }
            if !activated.isEmpty {
                _ = try await producer.sendAll(try activated.map { version in
                    KafkaProducerMessage(topic: topics.governance, key: Array(key(version).utf8), value: Array(try JSONEncoder().encode(version)))
                })
                published.formUnion(activated.map(\.number))
                logger.info("matrix versions published", metadata: ["versions": "\(activated.map(\.number))"])
            }
            try await Task.sleep(for: interval)
        }
    }

    /// The activated versions on the topic, in version order.
    static func versions(reader: TopicReader, topics: HubTopics) async throws -> [MatrixVersion] {
        let records = try await reader.readAll(topics.governance).values.flatMap { $0 }
        return records.compactMap { try? JSONDecoder().decode(MatrixVersion.self, from: Data($0.value)) }
            .filter { $0.state == .activated }.sorted { $0.number < $1.number }
    }

    /// Schedules in `schedule` every activated version on the topic not scheduled yet; returns the
    /// numbers seen so far. A version that does not load, lacks a second officer's approval or whose
    /// files are not the version it names is left out and logged: the router keeps the version before it.
    @discardableResult
    static func follow(into schedule: MatrixSchedule, reader: TopicReader, topics: HubTopics, known: Set<Int>,
                       logger: Logger) async throws -> Set<Int> {
        var known = known
        for version in try await versions(reader: reader, topics: topics) where !known.contains(version.number) {
            known.insert(version.number)
            guard let since = version.activeSince else { continue }
            // The topic's writers are limited by ACL; a router still routes only under a version that
            // shows a second officer's approval and whose files are the version it names.
            guard version.number == 1 || (version.approvedBy != nil && version.approvedBy != version.proposedBy) else {
                logger.error("matrix version on the governance topic lacks a second officer's approval; not routed under",
                             metadata: ["version": "\(version.number)"])
                continue
            }
            do {
                let matrix = try MatrixLoader.load(version.bundle).matrix
                guard matrix.version == version.matrixVersion else {
                    logger.error("matrix version on the governance topic names other files than it carries; not routed under",
                                 metadata: ["version": "\(version.number)"])
                    continue
                }
                schedule.activate(matrix, from: since)
                logger.info("matrix version scheduled", metadata: ["version": "\(version.number)", "from": "\(version.activeFrom ?? "")"])
            } catch {
                logger.error("matrix version on the governance topic does not load", metadata: ["version": "\(version.number)", "error": "\(error)"])
            }
        }
        return known
    }
}

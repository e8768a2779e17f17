import CanonicalEvents
import Foundation
import HubTopology
import SharingPolicy

/// The decisions the router recorded, with the events they were made on, read from the topics: what
/// a proposed matrix is replayed against (`ketenhub matrix replay --bootstrap`, the API's replay).
public struct RecordedDecisions: Sendable {
    /// The events the router decided on, in routing order per partition.
    public var events: [CloudEvent]
    /// By event (`CaseState.routingKey`), then by recipient.
    public var outcomes: [String: [String: DecisionReplay.Outcome]]

    public init(events: [CloudEvent], outcomes: [String: [String: DecisionReplay.Outcome]]) {
        self.events = events
        self.outcomes = outcomes
    }

    public static func read(bootstrapServers: String, topics: HubTopics = HubTopics()) async throws -> RecordedDecisions {
        let reader = TopicReader(bootstrapServers: bootstrapServers)
        // Events the router dead-lettered were never decided on.
        let events = try await reader.readAll(topics.canonical).sorted { $0.key < $1.key }.flatMap(\.value)
            .compactMap { try? CloudEvent(kafkaRecord: CloudEventRecord($0)) }
            .filter { ContractCatalogue.embedded.validate(event: $0.structured).isEmpty }
        var outcomes: [String: [String: DecisionReplay.Outcome]] = [:]
        for message in try await reader.readAll(topics.audit).values.flatMap({ $0 }) {
            guard let record = try? JSONDecoder().decode(DecisionRecord.self, from: Data(message.value)) else { continue }
            outcomes["\(record.eventSource)\n\(record.eventId)", default: [:]][record.recipient] =
                DecisionReplay.Outcome(outcome: record.outcome, ruleID: record.ruleId, disclosure: record.disclosure, fields: record.fields)
        }
        return RecordedDecisions(events: events, outcomes: outcomes)
    }

    /// What a proposed matrix would decide differently.
    public func replay(with proposed: PolicyEvaluator) -> [DecisionReplay.Change] {
        DecisionReplay.replay(events, recorded: outcomes, with: proposed)
    }
}

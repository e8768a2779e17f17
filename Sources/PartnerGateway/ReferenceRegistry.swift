import CanonicalEvents
import Foundation
import HubTopology
import Kafka
import PartnerAdapters
import SharingPolicy

/// The hub's reference registry: for each organisation's own reference (BVH number, parketnummer,
/// VT dossier), the chain case it belongs to. It lives on the compacted references topic, so that
/// every gateway node, and one that restarts, knows every registration; each node keeps it in
/// memory and catches up with the topic before it concludes that a reference is unknown, so that
/// a reference another node registered a moment ago is found, not opened twice.
///
/// An actor: a message's references are resolved in one step after the catch-up, with the new
/// registrations reserved at once, so that two messages taken in at the same time cannot give one
/// reference two cases, nor one new case id to two references.
public actor ReferenceRegistry {
    /// What a message's references come to: the case of each reference that had no chain case id
    /// beside it, the registrations to write if the message is taken, or why it is refused.
    public struct Resolution: Sendable {
        public var cases: [String: String] = [:]
        public var registrations: [ReferenceRegistration] = []
        public var problems: [AdapterProblem] = []
    }

    private let reader: TopicReader
    private var follower: TopicFollower?
    private let producer: KafkaProducer
    private let topic: String
    private var caseOf: [String: String] = [:]
    /// Every chain case id some reference belongs to: an opened case never takes one of them.
    private var taken: Set<String> = []
    /// The newest catch-up: the next one waits for it.
    private var catchingUp: Task<Void, any Error>?

    public init(reader: TopicReader, producer: KafkaProducer, topic: String) {
        self.reader = reader
        self.producer = producer
        self.topic = topic
    }

    /// Reads the registrations other nodes wrote since the last catch-up. One catch-up at a time:
    /// the actor lets another message in while one waits for the topic, and a second reader of the
    /// same follower would take records the first has not remembered yet when it concludes.
    public func catchUp() async throws {
        // Each catch-up reads after the one before it has remembered what it read.
        let previous = catchingUp
        let reading = Task {
            _ = try? await previous?.value
            try await self.readNewRegistrations()
        }
        catchingUp = reading
        try await reading.value
    }

    private func readNewRegistrations() async throws {
        if follower == nil { follower = try await reader.follow(topic) }
        for message in try await follower!.catchUp() {
            guard let registration = try? JSONDecoder().decode(ReferenceRegistration.self, from: Data(message.value)) else { continue }
            remember(registration)
        }
    }

    /// The chain case of `reference` of `organisation`, as far as this node knows now.
    public func caseId(of reference: String, organisation: String) -> String? {
        caseOf[ReferenceRegistration.key(organisation: organisation, reference: reference)]
    }

    /// Resolves the claims of one message from `organisation` (of `organisationType`) under `rules`.
    /// The registrations it returns are reserved until `commit` or `release`.
    public func resolve(_ claims: [CaseClaim], organisation: String, organisationType: String?, rules: ChainCaseRules,
                        at now: String) async throws -> Resolution {
        if claims.contains(where: { $0.reference.map { caseId(of: $0, organisation: organisation) == nil } ?? false }) {
            try await catchUp()
        }
        // From here on nothing suspends: the whole message is resolved against one state.
        var resolution = Resolution()
        for claim in claims {
            guard let reference = claim.reference else { continue }
            let named = "\(claim.referenceName) \(reference)"
            let known = caseId(of: reference, organisation: organisation)
            if let stated = claim.ketencaseid {
                if let known, known != stated {
                    resolution.problems.append(AdapterProblem(location: claim.location,
                        reason: "\(named) of \(organisation) belongs to chain case \(known), not to \(stated)"))
                } else if known == nil {
                    reserve(ReferenceRegistration(organisation: organisation, reference: reference, ketencaseid: stated, how: .joined,
                                          eventId: claim.recordId ?? "", eventType: claim.event, registeredAt: now), in: &resolution)
                }
            } else if let known {
                resolution.cases[reference] = known
            } else if let type = organisationType, let rule = rules.openingRule(organisationType: type, event: claim.event) {
                let year = claim.year ?? Calendar(identifier: .gregorian).component(.year, from: Date())
                var attempt = 0
                var opened = ChainCaseId.opened(by: organisation, reference: reference, year: year)
                while taken.contains(opened) {
                    attempt += 1
                    opened = ChainCaseId.opened(by: organisation, reference: reference, year: year, attempt: attempt)
                }
                reserve(ReferenceRegistration(organisation: organisation, reference: reference, ketencaseid: opened, how: .opened, rule: rule.id,
                                      eventId: claim.recordId ?? "", eventType: claim.event, registeredAt: now), in: &resolution)
                resolution.cases[reference] = opened
            } else {
                resolution.problems.append(AdapterProblem(location: claim.location,
                    reason: "\(named) matches no chain case of \(organisation), and no rule lets a \(claim.event) message of \(organisation) open one; " +
                            "send the chain case id with it once to join a case"))
            }
        }
        if !resolution.problems.isEmpty { release(resolution) }
        return resolution
    }

    /// Writes the registrations of a message that was taken (before its events are published).
    public func commit(_ resolution: Resolution) async throws {
        do {
            try await producer.sendAll(try resolution.registrations.map {
                try KafkaProducerMessage(topic: topic, key: $0.key, json: $0)
            })
        } catch {
            release(resolution)
            throw error
        }
    }

    /// Stops following the topic.
    public func close() async {
        await follower?.close()
        follower = nil
    }

    /// Gives back what a refused or unpublished message reserved.
    public func release(_ resolution: Resolution) {
        for registration in resolution.registrations where caseOf[registration.key] == registration.ketencaseid {
            caseOf[registration.key] = nil
            if registration.how == .opened { taken.remove(registration.ketencaseid) }
        }
    }

    private func reserve(_ registration: ReferenceRegistration, in resolution: inout Resolution) {
        remember(registration)
        resolution.registrations.append(registration)
    }

    private func remember(_ registration: ReferenceRegistration) {
        caseOf[registration.key] = registration.ketencaseid
        taken.insert(registration.ketencaseid)
    }
}

import CanonicalEvents
import PartnerAdapters

/// What the hub answers a partner for each message: the events it accepted, or why it refused the
/// message (every problem, at its place in the message) and the dead letter that keeps it.
public struct Receipt: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable {
        /// Translated and published; the events will be routed.
        case accepted
        /// Refused: nothing of it is used; it is on the dead-letter topic.
        case rejected
        /// Not published (the hub's Kafka could not take it): send it again; it will count once.
        case failed
    }

    public struct AcceptedEvent: Codable, Sendable, Equatable {
        public var id: String
        public var type: String
        public var ketencaseid: String
    }

    public var status: Status
    public var partner: String
    public var receivedAt: String
    public var events: [AcceptedEvent]
    /// The first `maximumProblems` problems, in the order of the message.
    public var problems: [AdapterProblem]
    /// How many problems there are in all.
    public var problemCount: Int
    public var deadLetterId: String?

    /// The most problems a receipt or a dead letter lists: a broken export of a megabyte can have
    /// tens of thousands, and an answer that size helps nobody and could not be recorded.
    public static let maximumProblems = 100

    init(status: Status, partner: String, receivedAt: String, events: [CloudEvent] = [], problems: [AdapterProblem] = [], deadLetterId: String? = nil) {
        self.status = status
        self.partner = partner
        self.receivedAt = receivedAt
        self.events = events.map { AcceptedEvent(id: $0.id, type: $0.type, ketencaseid: $0.ketencaseid) }
        self.problems = Array(problems.prefix(Self.maximumProblems))
        self.problemCount = problems.count
        self.deadLetterId = deadLetterId
    }
}

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
        /// How the hub knows the event's chain case.
        public enum ChainCase: String, Codable, Sendable {
            /// The record carried it.
            case stated
            /// The sender's reference is registered to it.
            case found
            /// The reference matched no case and an opening rule let the record open this one.
            case opened
        }

        public var id: String
        public var type: String
        public var ketencaseid: String
        /// The sender's own reference, as the record carried it.
        public var partnerref: String?
        public var chainCase: ChainCase
        /// The opening rule a case was opened under.
        public var openingRule: String?
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

    init(status: Status, partner: String, receivedAt: String, events: [CloudEvent] = [], resolution: ReferenceRegistry.Resolution = .init(),
         problems: [AdapterProblem] = [], deadLetterId: String? = nil) {
        self.status = status
        self.partner = partner
        self.receivedAt = receivedAt
        let opened = Dictionary(resolution.registrations.filter { $0.how == .opened }.map { ($0.eventId, $0.rule) }) { first, _ in first }
        self.events = events.map { event in
            let found = event.partnerref.map { resolution.cases[$0] != nil } ?? false
            let rule = opened[event.id] ?? nil
            return AcceptedEvent(id: event.id, type: event.type, ketencaseid: event.ketencaseid, partnerref: event.partnerref,
                                 chainCase: rule != nil ? .opened : found ? .found : .stated, openingRule: rule)
        }
        self.problems = Array(problems.prefix(Self.maximumProblems))
        self.problemCount = problems.count
        self.deadLetterId = deadLetterId
    }
}

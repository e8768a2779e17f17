import CanonicalEvents
import HubTopology

/// One fact about an event's life cycle, as one of the hub's topics tells it. Entries are applied in
/// any order and any number of times with the same result, so that a ledger filled while the hub
/// runs and one rebuilt from the topics hold the same rows.
public enum LedgerEntry: Sendable, Equatable {
    /// An adapter published the event on the canonical topic.
    case accepted(Accepted)
    /// The router decided for one candidate recipient (audit topic).
    case decided(Decided)
    /// A delivery worker delivered, or failed for good (delivery-status topic).
    case delivered(Delivered)
    /// A partner acknowledged a delivery (acknowledgement topic).
    case acknowledged(Acknowledged)
    /// A message or record went to the dead-letter topic.
    case deadLettered(DeadLettered)
    /// An operator replayed a dead letter or a delivery.
    case replayed(ReplayRecord)
    /// An SLA clock raised an alert.
    case alerted(SLAAlert)
    /// The gateway registered an organisation's reference to a chain case.
    case referenced(ReferenceRegistration)
    /// A step of a link between two chain cases (linked by a rule, proposed, confirmed, unlinked).
    case linkStep(CaseLinkRecord)

    public struct Accepted: Sendable, Equatable {
        public var eventId: String
        public var source: String
        public var type: String
        public var ketencaseid: String
        public var producer: String
        public var eventTime: String
        public var acceptedAt: String
        /// The few data fields the ledger keeps (those its SLA clocks need), by JSON Pointer; never the content.
        public var fields: [String: String] = [:]
        /// The pseudonymous ids (`psn:...`) of the persons the event concerns: for the data-subject report.
        public var persons: [String] = []
        /// The victims and suspects among them, by role (`EventPersons`): which chain cases share a person.
        public var roles: [String: [String]] = [:]

        public init(eventId: String, source: String, type: String, ketencaseid: String, producer: String, eventTime: String, acceptedAt: String,
                    fields: [String: String] = [:], persons: [String] = [], roles: [String: [String]] = [:]) {
            self.fields = fields
            self.persons = persons
            self.roles = roles
            self.eventId = eventId
            self.source = source
            self.type = type
            self.ketencaseid = ketencaseid
            self.producer = producer
            self.eventTime = eventTime
            self.acceptedAt = acceptedAt
        }
    }

    public struct Decided: Sendable, Equatable {
        public var decisionId: String
        public var eventId: String
        public var eventSource: String
        public var ketencaseid: String
        public var recipient: String
        public var permitted: Bool
        public var ruleId: String?
        public var legalBasis: String?
        public var purpose: String?
        public var matrixVersion: String
        public var decidedAt: String
        /// For a deny or a hold: why, and why each rule considered did not apply (for privacy officers).
        public var explanation: String?
        /// permit, deny or hold (a hold waits for a fact of the case; see `releases`).
        public var outcome: String?
        /// For the decision that ends a hold: the hold's decision id.
        public var releases: String?
        /// What the decision rested on, as sorted JSON: consent evidence, case facts, the region's
        /// source, whether the basis is confirmed, the persons disclosed (the art. 15 answer).
        public var grounds: String?

        public init(decisionId: String, eventId: String, eventSource: String, ketencaseid: String, recipient: String, permitted: Bool, ruleId: String? = nil, legalBasis: String? = nil, purpose: String? = nil, matrixVersion: String, decidedAt: String, explanation: String? = nil,
                    outcome: String? = nil, releases: String? = nil, grounds: String? = nil) {
            self.explanation = explanation
            self.outcome = outcome
            self.releases = releases
            self.grounds = grounds
            self.decisionId = decisionId
            self.eventId = eventId
            self.eventSource = eventSource
            self.ketencaseid = ketencaseid
            self.recipient = recipient
            self.permitted = permitted
            self.ruleId = ruleId
            self.legalBasis = legalBasis
            self.purpose = purpose
            self.matrixVersion = matrixVersion
            self.decidedAt = decidedAt
        }
    }

    public struct Delivered: Sendable, Equatable {
        public var deliveryId: String
        public var organisation: String
        public var delivered: Bool
        public var attempts: Int
        public var at: String
        public var detail: String?

        public init(deliveryId: String, organisation: String, delivered: Bool, attempts: Int, at: String, detail: String? = nil) {
            self.deliveryId = deliveryId
            self.organisation = organisation
            self.delivered = delivered
            self.attempts = attempts
            self.at = at
            self.detail = detail
        }
    }

    public struct Acknowledged: Sendable, Equatable {
        public var deliveryId: String
        public var organisation: String
        public var status: String
        public var at: String
        public var reason: String?

        public init(deliveryId: String, organisation: String, status: String, at: String, reason: String? = nil) {
            self.deliveryId = deliveryId
            self.organisation = organisation
            self.status = status
            self.at = at
            self.reason = reason
        }
    }

    public struct DeadLettered: Sendable, Equatable {
        public var deadLetterId: String
        public var stage: String
        public var partner: String?
        public var receivedAt: String
        public var reasons: [String]
        public var sizeBytes: Int

        public init(deadLetterId: String, stage: String, partner: String? = nil, receivedAt: String, reasons: [String], sizeBytes: Int) {
            self.deadLetterId = deadLetterId
            self.stage = stage
            self.partner = partner
            self.receivedAt = receivedAt
            self.reasons = reasons
            self.sizeBytes = sizeBytes
        }
    }
}

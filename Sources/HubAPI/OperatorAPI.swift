import CanonicalEvents
import DeliveryLedger
import Foundation
import HubAccess
import HubTopology
import Hummingbird

/// What the API asks of the running hub beyond the ledger; the hub that mounts the API supplies it,
/// so that this module does not depend on the gateway or on Kafka.
public struct HubActions: Sendable {
    /// Submits a dead letter's original message again, as its partner: (dead-letter id, principal).
    public var replayDeadLetter: @Sendable (String, String) async throws -> ReplayRecord
    /// Sends a delivery again to its partner: (delivery id, organisation, principal).
    public var replayDelivery: @Sendable (String, String, String) async throws -> ReplayRecord
    /// The content of a delivery as its partner received it: (organisation, delivery id).
    public var deliveryContent: @Sendable (String, String) async throws -> JSONValue?

    public init(replayDeadLetter: @escaping @Sendable (String, String) async throws -> ReplayRecord,
                replayDelivery: @escaping @Sendable (String, String, String) async throws -> ReplayRecord,
                deliveryContent: @escaping @Sendable (String, String) async throws -> JSONValue?) {
        self.replayDeadLetter = replayDeadLetter
        self.replayDelivery = replayDelivery
        self.deliveryContent = deliveryContent
    }
}

/// The operators' part of the hub's HTTP API (`Contracts/openapi.yaml`), answered from the ledger:
/// events by case, the trace of one event, deliveries by organisation and state, dead letters, SLA
/// alerts, and replays. What each role may see:
/// - operators and admins: all of this, which is metadata (the ledger keeps no content), never a
///   delivery's content;
/// - a partner: only its own organisation's deliveries, and their content;
/// - privacy officers: the trace of an event, with why each recipient was denied (their part is the
///   sharing matrix; the denies are where it shows).
public struct OperatorAPI: Sendable {
    let ledger: any LedgerStore
    let gate: APIGate
    let actions: HubActions

    public init(ledger: any LedgerStore, credentials: any CredentialLookup, actions: HubActions) {
        self.ledger = ledger
        self.gate = APIGate(credentials: credentials, ledger: ledger)
        self.actions = actions
    }

    public func addRoutes(to router: Router<BasicRequestContext>) {
        // Who the token stands for: the console shows each role its own pages.
        router.get("api/me") { request, _ in
            try await gate.answer(request, allowed: Allowed.anyone) { principal in
                ["name": principal.name, "role": "\(principal.role)"]
            }
        }
        router.get("api/cases/:case/events") { request, context in
            try await gate.answer(request, allowed: Allowed.metadata) { _ in
                try await ledger.events(inCase: try APIGate.chainCase(try context.parameters.require("case")))
            }
        }
        router.get("api/trace") { request, _ in
            try await gate.answer(request, allowed: Allowed.trace) { principal in
                guard let source = request.uri.queryParameters["source"].map(String.init), let id = request.uri.queryParameters["id"].map(String.init) else {
                    throw APIRefusal(.badRequest, "give ?source=...&id=... of the event")
                }
                guard var trace = try await ledger.trace(eventSource: source, eventId: id) else {
                    throw APIRefusal(.notFound, "no event \(id) from \(source) in the ledger")
                }
                // Why a recipient was denied or held, and whose consent a permit rested on, can speak
                // of a victim's wish: privacy officers' to read.
                trace.references = try await ledger.references(inCase: trace.event.ketencaseid)
                trace.links = try await ledger.caseLinks(inCase: trace.event.ketencaseid)
                if principal.role != .privacyOfficer {
                    for index in trace.decisions.indices {
                        trace.decisions[index].explanation = nil
                        trace.decisions[index].grounds = nil
                    }
                }
                return trace
            }
        }
        router.get("api/deliveries") { request, _ in
            try await gate.answer(request, allowed: Allowed.anyone) { principal in
                let asked = request.uri.queryParameters["organisation"].map(String.init)
                let state = try request.uri.queryParameters["state"].map { raw in
                    guard let state = DeliveryState(rawValue: String(raw)) else {
                        throw APIRefusal(.badRequest, "state is one of \(DeliveryState.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                    return state
                }
                switch principal.role {
                case .partner(let own):
                    if let asked, asked != own { throw APIRefusal(.forbidden, "a partner sees only its own deliveries") }
                    return try await ledger.deliveries(organisation: own, state: state)
                case .privacyOfficer:
                    throw APIRefusal(.forbidden, "privacy officers work on the sharing matrix, not on deliveries")
                case .operator_, .admin:
                    return try await ledger.deliveries(organisation: asked, state: state)
                }
            }
        }
        router.get("api/deliveries/:delivery/content") { request, context in
            try await gate.answer(request, allowed: Allowed.anyone) { principal in
                let id = try context.parameters.require("delivery")
                guard let own = principal.role.organisation else {
                    throw APIRefusal(.forbidden, "\(principal.role) sees metadata, never the content of a delivery; only its recipient does")
                }
                guard let delivery = try await ledger.delivery(id), delivery.organisation == own else {
                    throw APIRefusal(.notFound, "\(own) has no delivery \(id)")
                }
                guard let content = try await actions.deliveryContent(delivery.organisation, id) else {
                    throw APIRefusal(.notFound, "delivery \(id) is no longer on \(own)'s delivery topic")
                }
                return content
            }
        }
        router.post("api/deliveries/:delivery/replay") { request, context in
            try await gate.answer(request, success: .accepted, allowed: Allowed.metadata) { principal in
                let id = try context.parameters.require("delivery")
                guard let delivery = try await ledger.delivery(id) else {
                    throw APIRefusal(.notFound, "no delivery \(id) in the ledger")
                }
                return try await actions.replayDelivery(id, delivery.organisation, principal.name)
            }
        }
        router.get("api/dead-letters") { request, _ in
            try await gate.answer(request, allowed: Allowed.metadata) { _ in try await ledger.deadLetters() }
        }
        router.post("api/dead-letters/:deadLetter/replay") { request, context in
            try await gate.answer(request, success: .accepted, allowed: Allowed.metadata) { principal in
                try await actions.replayDeadLetter(try context.parameters.require("deadLetter"), principal.name)
            }
        }
        router.get("api/alerts") { request, _ in
            try await gate.answer(request, allowed: Allowed.metadata) { _ in
                let severity = try request.uri.queryParameters["severity"].map { raw in
                    guard let severity = SLAAlert.Severity(rawValue: String(raw)) else {
                        throw APIRefusal(.badRequest, "severity is one of \(SLAAlert.Severity.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                    return severity
                }
                return try await ledger.alerts(severity: severity)
            }
        }
    }
}

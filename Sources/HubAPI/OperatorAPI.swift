import DeliveryLedger
import Foundation
import Hummingbird

/// The operators' part of the hub's HTTP API, answered from the ledger: events by case, the trace of
/// one event, deliveries by organisation and state, dead letters. Every call needs a bearer token;
/// every call, refused or not, is recorded in the ledger. What each role may see:
/// - operators and admins: everything here (it is metadata: the ledger keeps no content);
/// - a partner: only its own organisation's deliveries;
/// - privacy officers: none of this (their part is the sharing matrix).
public struct OperatorAPI: Sendable {
    let ledger: any LedgerStore
    let credentials: APICredentials

    public init(ledger: any LedgerStore, credentials: APICredentials) {
        self.ledger = ledger
        self.credentials = credentials
    }

    public func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("api/cases/:case/events") { request, context in
            try await self.answer(request, allowed: Self.operators) { _ in
                try self.ledger.events(inCase: context.parameters.require("case"))
            }
        }
        router.get("api/trace") { request, _ in
            try await self.answer(request, allowed: Self.operators) { _ in
                guard let source = request.uri.queryParameters["source"].map(String.init), let id = request.uri.queryParameters["id"].map(String.init) else {
                    throw Refusal(status: .badRequest, reason: "give ?source=...&id=... of the event")
                }
                guard let trace = try self.ledger.trace(eventSource: source, eventId: id) else {
                    throw Refusal(status: .notFound, reason: "no event \(id) from \(source) in the ledger")
                }
                return trace
            }
        }
        router.get("api/deliveries") { request, _ in
            try await self.answer(request, allowed: { _ in true }) { principal in
                let asked = request.uri.queryParameters["organisation"].map(String.init)
                let state = try request.uri.queryParameters["state"].map { raw in
                    guard let state = DeliveryState(rawValue: String(raw)) else {
                        throw Refusal(status: .badRequest, reason: "state is one of \(DeliveryState.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                    return state
                }
                switch principal.role {
                case .partner(let own):
                    if let asked, asked != own { throw Refusal(status: .forbidden, reason: "a partner sees only its own deliveries") }
                    return try self.ledger.deliveries(organisation: own, state: state)
                case .privacyOfficer:
                    throw Refusal(status: .forbidden, reason: "privacy officers work on the sharing matrix, not on deliveries")
                case .operator_, .admin:
                    return try self.ledger.deliveries(organisation: asked, state: state)
                }
            }
        }
        router.get("api/dead-letters") { request, _ in
            try await self.answer(request, allowed: Self.operators) { _ in try self.ledger.deadLetters() }
        }
    }

    static let operators: @Sendable (Principal) -> Bool = { principal in
        switch principal.role {
        case .operator_, .admin: true
        default: false
        }
    }

    struct Refusal: Error { var status: HTTPResponse.Status; var reason: String }

    /// Authenticates, authorises, answers and records the call, whatever its outcome.
    private func answer(_ request: Request, allowed: @Sendable (Principal) -> Bool,
                        _ body: @Sendable (Principal) throws -> some Encodable & Sendable) async throws -> Response {
        let principal = credentials.principal(forAuthorization: request.headers[.authorization])
        let response: Response
        if let principal {
            if !allowed(principal) {
                response = Self.json(.forbidden, ["error": "\(principal.role) may not call \(request.uri.path)"])
            } else {
                do {
                    response = Self.json(.ok, try body(principal))
                } catch let refusal as Refusal {
                    response = Self.json(refusal.status, ["error": refusal.reason])
                }
            }
        } else {
            response = Self.json(.unauthorized, ["error": "a valid bearer token is needed"])
        }
        try ledger.record(APICall(at: ISO8601DateFormatter().string(from: Date()), principal: principal?.name ?? "anonymous",
                                  role: principal.map { "\($0.role)" } ?? "none", method: request.method.rawValue,
                                  path: request.uri.description, status: Int(response.status.code)))
        return response
    }

    static func json(_ status: HTTPResponse.Status, _ value: some Encodable) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

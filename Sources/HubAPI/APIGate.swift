import CanonicalEvents
import DeliveryLedger
import Foundation
import HubAccess
import Hummingbird

/// A refusal with its HTTP status, and for a rejected matrix proposal the lint findings.
public struct APIRefusal: Error, Sendable {
    public var status: HTTPResponse.Status
    public var reason: String
    public var findings: [FindingBody]?

    public init(_ status: HTTPResponse.Status, _ reason: String, findings: [FindingBody]? = nil) {
        self.status = status
        self.reason = reason
        self.findings = findings
    }

    public struct FindingBody: Codable, Sendable {
        public var file: String
        public var line: Int
        public var rule: String?
        public var message: String
    }

    struct Body: Encodable {
        var error: String
        var findings: [FindingBody]?
    }
}

/// Every API call goes through the gate: it authenticates the bearer token, checks the role, runs
/// the endpoint, and records the call in the ledger, whatever the outcome (who, as what, what, answer).
struct APIGate: Sendable {
    let credentials: any CredentialLookup
    let ledger: any LedgerStore

    func answer(_ request: Request, success: HTTPResponse.Status = .ok, allowed: @Sendable (Role) -> Bool,
                _ body: @Sendable (Principal) async throws -> some Encodable & Sendable) async throws -> Response {
        let principal = credentials.principal(forAuthorization: request.headers[.authorization])
        let response: Response
        if let principal {
            if !allowed(principal.role) {
                response = .json(.forbidden, ["error": "\(principal.role) may not \(request.method.rawValue) \(request.uri.path)"])
            } else {
                do {
                    response = .json(success, try await body(principal))
                } catch let refusal as APIRefusal {
                    response = .json(refusal.status, APIRefusal.Body(error: refusal.reason, findings: refusal.findings))
                } catch let error as HTTPError {
                    // A path parameter or body the framework could not read.
                    response = .json(error.status, ["error": error.body ?? "the request cannot be read"])
                } catch {
                    // A store or hub failure: the call is answered and recorded like any other, and
                    // the error's text (which may hold a query or data) stays in the hub's log.
                    response = .json(.internalServerError, ["error": "the hub could not answer this call now; try it again later"])
                }
            }
        } else {
            response = .json(.unauthorized, ["error": "a valid bearer token is needed"])
        }
        do {
            try await ledger.record(APICall(at: HubTime.text(Date()), principal: principal?.name ?? "anonymous",
                                      role: principal.map { "\($0.role)" } ?? "none", method: request.method.rawValue,
                                      path: request.uri.description, status: Int(response.status.code)))
        } catch {
            // No answer leaves without its record: the log of who asked what is evidence.
            return .json(.serviceUnavailable, ["error": "the hub could not record this call, so it does not answer it; try it again later"])
        }
        return response
    }

    /// A chain case id in its form (`chainCaseId` in `Contracts/events/common.schema.json`), or a 400.
    static func chainCase(_ text: String) throws -> String {
        guard text.wholeMatch(of: /KZ-[0-9]{4}-[0-9A-Z]{6}/) != nil else { throw APIRefusal(.badRequest, "a chain case id has the form KZ-YYYY-XXXXXX") }
        return text
    }

    /// The request's JSON body, or a 400 naming what is wrong.
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, limit: Int = 4 << 20) async throws -> T {
        guard case .complete(let buffer) = try await BoundedBody.read(request, upTo: limit) else {
            throw APIRefusal(.contentTooLarge, "the body may be at most \(limit) bytes")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer: buffer))
        } catch {
            throw APIRefusal(.badRequest, "the body is not the JSON this endpoint takes: \(error)")
        }
    }
}

/// Who may do what, by role.
enum Allowed {
    /// Operators and admins: the ledger's metadata.
    static let metadata: @Sendable (Role) -> Bool = { $0 == .operator_ || $0 == .admin }
    /// Privacy officers change the matrix; admins may read it.
    static let matrixChange: @Sendable (Role) -> Bool = { $0 == .privacyOfficer }
    static let matrixRead: @Sendable (Role) -> Bool = { $0 == .privacyOfficer || $0 == .admin }
    static let anyone: @Sendable (Role) -> Bool = { _ in true }
    /// An event's trace: its metadata for operators and admins, and for privacy officers with why each denied recipient was.
    static let trace: @Sendable (Role) -> Bool = { $0 == .operator_ || $0 == .admin || $0 == .privacyOfficer }
}

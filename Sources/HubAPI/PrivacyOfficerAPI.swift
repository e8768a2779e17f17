import CanonicalEvents
import DeliveryLedger
import Foundation
import HubAccess
import Hummingbird
import MatrixGovernance
import SharingPolicy

/// The privacy officers' part of the API (`Contracts/openapi.yaml`): the matrix in force and its
/// versions; propose a version (linted on upload), approve it (a second privacy officer, never the
/// proposer), activate it from a date; simulate, diff and replay against recorded decisions; and the
/// data-subject report. Admins may read the matrix and the report; only privacy officers change it.
public struct PrivacyOfficerAPI: Sendable {
    let governance: MatrixGovernance
    let ledger: any LedgerStore
    let gate: APIGate
    /// Re-evaluates the decisions recorded on the topics under a proposed matrix.
    let replay: @Sendable (PolicyEvaluator) async throws -> [DecisionReplay.Change]

    public init(governance: MatrixGovernance, ledger: any LedgerStore, credentials: any CredentialLookup,
                replay: @escaping @Sendable (PolicyEvaluator) async throws -> [DecisionReplay.Change]) {
        self.governance = governance
        self.ledger = ledger
        self.gate = APIGate(credentials: credentials, ledger: ledger)
        self.replay = replay
    }

    /// A version without its files, and whether it is the one in force.
    struct VersionSummary: Encodable, Sendable {
        var number: Int
        var matrixVersion: String
        var state: String
        var inForce: Bool
        var proposedBy: String
        var proposedAt: String
        var approvedBy: String?
        var approvedAt: String?
        var activatedBy: String?
        var activeFrom: String?
    }

    /// One version with its files: its summary (`inForce` included) and the bundle.
    struct VersionWithFiles: Encodable, Sendable {
        var summary: VersionSummary
        var bundle: MatrixBundle

        func encode(to encoder: any Encoder) throws {
            try summary.encode(to: encoder)
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(bundle, forKey: .bundle)
        }

        private enum Key: String, CodingKey { case bundle }
    }

    struct MatrixInForce: Encodable, Sendable {
        var version: VersionSummary
        /// Why the version may rest on unconfirmed legal bases, when a privacy officer marked it a trial.
        var trial: String?
        var rows: [MatrixTableRow]
    }

    struct Proposal: Decodable, Sendable {
        /// Files that replace (or add to) those of the version in force, by path in the matrix directory.
        var files: [String: String]
    }

    struct Activation: Decodable, Sendable {
        /// From when (ISO 8601 date-time); now when absent.
        var from: String?
    }

    struct SimulationRequest: Decodable, Sendable {
        var event: JSONValue
        var consents: [JSONValue]?
        /// The version to simulate under; the one in force when absent.
        var version: Int?
    }

    struct Comparison<Change: Encodable & Sendable>: Encodable, Sendable {
        var from: Int
        var to: Int
        var changes: [Change]
    }

    public func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("api/matrix") { request, _ in
            try await gate.answer(request, allowed: Allowed.matrixRead) { _ in
                let current = try await governance.inForce()
                let matrix = try await governance.matrix(current.number)
                return MatrixInForce(version: summary(current, inForce: current.number), trial: matrix.trial, rows: MatrixTableRow.rows(of: matrix))
            }
        }
        router.get("api/matrix/versions") { request, _ in
            try await gate.answer(request, allowed: Allowed.matrixRead) { _ in
                let inForce = try await governance.inForce().number
                return try await governance.versions().map { summary($0, inForce: inForce) }
            }
        }
        router.get("api/matrix/versions/:version") { request, context in
            try await gate.answer(request, allowed: Allowed.matrixRead) { _ in
                let version = try await governed { try await governance.version(try number(context)) }
                return VersionWithFiles(summary: try await summary(version), bundle: version.bundle)
            }
        }
        router.post("api/matrix/versions") { request, _ in
            try await gate.answer(request, success: .created, allowed: Allowed.matrixChange) { principal in
                let proposal = try await APIGate.decode(Proposal.self, from: request)
                var bundle = try await governance.inForce().bundle
                bundle.files.merge(proposal.files) { _, proposed in proposed }
                return try await summary(try await governed { try await governance.propose(bundle, by: principal.name) })
            }
        }
        router.post("api/matrix/versions/:version/approve") { request, context in
            try await gate.answer(request, allowed: Allowed.matrixChange) { principal in
                try await summary(try await governed { try await governance.approve(try number(context), by: principal.name) })
            }
        }
        router.post("api/matrix/versions/:version/activate") { request, context in
            try await gate.answer(request, allowed: Allowed.matrixChange) { principal in
                let activation = try await APIGate.decode(Activation.self, from: request)
                let from = try activation.from.map { text in
                    guard let date = HubTime.date(text) else { throw APIRefusal(.badRequest, "from must be an RFC 3339 date-time with its offset, e.g. 2026-12-01T00:00:00Z") }
                    return date
                } ?? Date()
                return try await summary(try await governed { try await governance.activate(try number(context), from: from, by: principal.name) })
            }
        }
        router.get("api/matrix/versions/:version/diff") { request, context in
            try await gate.answer(request, allowed: Allowed.matrixRead) { _ in
                let to = try number(context)
                let from = try request.uri.queryParameters["against"].map { raw in
                    guard let number = Int(raw) else { throw APIRefusal(.badRequest, "against must be a version number") }
                    return number
                }
                let against = try await from.asyncOr { try await governance.inForce().number }
                let changes = try await governed { MatrixDiff.compare(try await governance.matrix(against), try await governance.matrix(to)) }
                return Comparison(from: against, to: to, changes: changes)
            }
        }
        router.post("api/matrix/versions/:version/replay") { request, context in
            try await gate.answer(request, allowed: Allowed.matrixChange) { _ in
                let to = try number(context)
                let proposed = try await governed { PolicyEvaluator(matrix: try await governance.matrix(to)) }
                return Comparison(from: try await governance.inForce().number, to: to, changes: try await replay(proposed))
            }
        }
        router.post("api/matrix/simulate") { request, _ in
            try await gate.answer(request, allowed: Allowed.matrixRead) { _ in
                let asked = try await APIGate.decode(SimulationRequest.self, from: request)
                let event = try Self.canonicalEvent(asked.event, named: "event")
                let consents = try (asked.consents ?? []).enumerated().map { index, value in
                    guard let record = ConsentRecord(try Self.canonicalEvent(value, named: "consents[\(index)]")) else {
                        throw APIRefusal(.unprocessableContent, "consents[\(index)] is not an informatiewens or toestemming event")
                    }
                    return record
                }
                let matrix = try await governed { try await governance.matrix(try await asked.version.asyncOr { try await governance.inForce().number }) }
                return SimulationReport(simulating: event, consents: consents, with: PolicyEvaluator(matrix: matrix))
            }
        }
        router.get("api/data-subjects/:person/disclosures") { request, context in
            try await gate.answer(request, allowed: Allowed.matrixRead) { _ in
                // A path parameter arrives as sent: `psn%3A...` when the client encoded the colon.
                let raw = try context.parameters.require("person")
                let person = raw.removingPercentEncoding ?? raw
                guard person.wholeMatch(of: /psn:[0-9a-f]{32}/) != nil else {
                    throw APIRefusal(.badRequest, "give the person's pseudonymous id (psn: and 32 hex digits)")
                }
                return DataSubjectReport(person: person, completeFrom: RetentionRun.completeFrom(try await ledger.retentionRuns()),
                                         disclosures: try await ledger.disclosures(concerning: person))
            }
        }
    }

    private func number(_ context: BasicRequestContext) throws -> Int {
        guard let number = Int(try context.parameters.require("version")) else { throw APIRefusal(.badRequest, "a version is a number") }
        return number
    }

    private func summary(_ version: MatrixVersion) async throws -> VersionSummary {
        summary(version, inForce: try await governance.inForce().number)
    }

    /// `inForce`: the number of the version in force, read once for a whole list.
    private func summary(_ version: MatrixVersion, inForce: Int) -> VersionSummary {
        VersionSummary(number: version.number, matrixVersion: version.matrixVersion, state: version.state.rawValue,
                       inForce: inForce == version.number, proposedBy: version.proposedBy,
                       proposedAt: version.proposedAt, approvedBy: version.approvedBy, approvedAt: version.approvedAt,
                       activatedBy: version.activatedBy, activeFrom: version.activeFrom)
    }

    /// Runs a governance step, answering its refusals with the status that says why.
    private func governed<T>(_ step: () async throws -> T) async throws -> T {
        do {
            return try await step()
        } catch let refusal as GovernanceRefusal {
            switch refusal {
            case .unknownVersion: throw APIRefusal(.notFound, refusal.description)
            case .proposerCannotApprove: throw APIRefusal(.forbidden, refusal.description)
            case .wrongState: throw APIRefusal(.conflict, refusal.description)
            case .unreadable, .activationInPast: throw APIRefusal(.unprocessableContent, refusal.description)
            case .lint(let findings):
                throw APIRefusal(.unprocessableContent, refusal.description, findings: findings.map {
                    APIRefusal.FindingBody(file: $0.location.file, line: $0.location.line, rule: $0.ruleID, message: $0.message)
                })
            }
        }
    }

    /// A structured CloudEvent that meets its contract, or a 422 naming every problem.
    static func canonicalEvent(_ value: JSONValue, named name: String) throws -> CloudEvent {
        let problems = ContractCatalogue.embedded.validate(event: value)
        guard problems.isEmpty else {
            throw APIRefusal(.unprocessableContent, "\(name) is not a valid canonical event: " + problems.map { "\($0)" }.joined(separator: "; "))
        }
        return try CloudEvent(structured: value)
    }
}

extension Optional {
    /// `??` with an async default, read only when needed.
    func asyncOr(_ fallback: () async throws -> Wrapped) async rethrows -> Wrapped {
        if let self { return self }
        return try await fallback()
    }
}

/// The data-subject report (art. 15 AVG): every permitted disclosure of an event concerning the
/// person that the ledger still holds, and from when it holds them all: before `completeFrom` the
/// retention job has removed event life cycles (nil: nothing was ever removed).
struct DataSubjectReport: Encodable {
    var person: String
    var completeFrom: String?
    var disclosures: [DeliveryLedger.Disclosure]

    private enum CodingKeys: String, CodingKey { case person, completeFrom, disclosures }

    /// `completeFrom` is written as null rather than left out: a report says plainly that it is complete.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(person, forKey: .person)
        try container.encode(completeFrom, forKey: .completeFrom)
        try container.encode(disclosures, forKey: .disclosures)
    }
}

import CanonicalEvents
import DeliveryLedger
import Foundation
import HubAccess
import HubTopology
import Hummingbird

/// The operators' part of chain cases (`Contracts/openapi.yaml`): a case with the partners' own
/// references and its links, and links that need two operators. Under a `four-eyes` linking rule
/// of the matrix one operator proposes a link between two cases that share a person in the rule's
/// role, and a second operator confirms it; the proposer cannot. Any operator may unlink, with a
/// reason. Each step is written to the case-links topic (the ledger shows it once it projected it);
/// the person the cases share is never named, only the cases and the rule.
public struct CaseLinkAPI: Sendable {
    /// A linking rule as the API applies it.
    public struct Rule: Sendable {
        public var id: String
        public var role: String
        public var fourEyes: Bool
        public var says: String

        public init(id: String, role: String, fourEyes: Bool, says: String) {
            self.id = id
            self.role = role
            self.fourEyes = fourEyes
            self.says = says
        }
    }

    struct Proposal: Decodable {
        var cases: [String]
        var rule: String
        var reason: String?
    }

    struct Unlink: Decodable {
        var reason: String
    }

    /// A case as operators see it: the partners' references to it and its links.
    struct CaseView: Encodable {
        var ketencaseid: String
        var references: [ReferenceRegistration]
        var links: [CaseLink]
    }

    /// What `GET /api/case-links` lists: links with their state, and for a four-eyes rule the pairs
    /// of cases that meet it and have no link step yet (`candidate`).
    struct Listed: Encodable {
        var links: [CaseLink]
        var candidates: [Candidate]
    }

    struct Candidate: Encodable {
        var linkId: String
        var cases: [String]
        var rule: String
        var says: String
        var since: String
    }

    let ledger: any LedgerStore
    let gate: APIGate
    let rules: [Rule]
    /// Writes a step to the case-links topic.
    let publish: @Sendable (CaseLinkRecord) async throws -> Void

    public init(ledger: any LedgerStore, credentials: any CredentialLookup, rules: [Rule],
                publish: @escaping @Sendable (CaseLinkRecord) async throws -> Void) {
        self.ledger = ledger
        self.gate = APIGate(credentials: credentials, ledger: ledger)
        self.rules = rules
        self.publish = publish
    }

    /// Operators link and unlink; admins and privacy officers may read.
    static let operators: @Sendable (Role) -> Bool = { $0 == .operator_ }

    public func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("api/cases/:case") { request, context in
            try await gate.answer(request, allowed: Allowed.trace) { _ in
                let chainCase = try APIGate.chainCase(try context.parameters.require("case"))
                return CaseView(ketencaseid: chainCase, references: try await ledger.references(inCase: chainCase),
                                links: try await ledger.caseLinks(inCase: chainCase))
            }
        }
        router.get("api/case-links") { request, _ in
            try await gate.answer(request, allowed: Allowed.trace) { _ in
                let links = try await ledger.caseLinks(inCase: nil)
                let known = Set(links.map(\.linkId))
                var candidates: [Candidate] = []
                for rule in rules where rule.fourEyes {
                    for pair in try await ledger.linkCandidates(role: rule.role, cases: nil) {
                        let linkId = CaseLinkRecord.linkId(cases: pair.cases, rule: rule.id)
                        if !known.contains(linkId) {
                            candidates.append(Candidate(linkId: linkId, cases: pair.cases, rule: rule.id, says: rule.says, since: pair.since))
                        }
                    }
                }
                return Listed(links: links, candidates: candidates)
            }
        }
        router.post("api/case-links") { request, _ in
            try await gate.answer(request, success: .accepted, allowed: Self.operators) { principal in
                let proposal = try await APIGate.decode(Proposal.self, from: request, limit: 4_096)
                guard let rule = rules.first(where: { $0.id == proposal.rule }) else {
                    throw APIRefusal(.unprocessableContent, "no linking rule \(proposal.rule) in the matrix in force")
                }
                guard rule.fourEyes else {
                    throw APIRefusal(.unprocessableContent, "rule \(rule.id) links cases at once; no operator proposes under it")
                }
                let cases = try proposal.cases.map(APIGate.chainCase).sorted()
                guard cases.count == 2, cases[0] != cases[1] else { throw APIRefusal(.badRequest, "a link joins two different chain cases") }
                guard try await ledger.linkCandidates(role: rule.role, cases: Set(cases)).contains(where: { $0.cases == cases }) else {
                    throw APIRefusal(.unprocessableContent, "the two cases do not meet rule \(rule.id) (\(rule.says)): they cannot be linked under it")
                }
                let linkId = CaseLinkRecord.linkId(cases: cases, rule: rule.id)
                if let link = try await ledger.caseLink(linkId), link.state != .unlinked {
                    throw APIRefusal(.conflict, "link \(linkId) is \(link.state.rawValue) already")
                }
                return try await step(linkId: linkId, cases: cases, rule: rule.id, action: .proposed, by: principal.name, reason: proposal.reason)
            }
        }
        router.post("api/case-links/:link/confirm") { request, context in
            try await gate.answer(request, success: .accepted, allowed: Self.operators) { principal in
                let link = try await existing(try context.parameters.require("link"))
                guard link.state == .proposed, let proposal = link.steps.last else {
                    throw APIRefusal(.conflict, "link \(link.linkId) is \(link.state.rawValue), not proposed")
                }
                guard proposal.by != principal.name else {
                    throw APIRefusal(.forbidden, "\(principal.name) proposed link \(link.linkId); a second operator confirms it")
                }
                return try await step(linkId: link.linkId, cases: link.cases, rule: link.rule, action: .linked, by: principal.name, reason: nil)
            }
        }
        router.post("api/case-links/:link/unlink") { request, context in
            try await gate.answer(request, success: .accepted, allowed: Self.operators) { principal in
                let link = try await existing(try context.parameters.require("link"))
                let unlink = try await APIGate.decode(Unlink.self, from: request, limit: 4_096)
                let reason = unlink.reason.trimmingCharacters(in: .whitespacesAndNewlines)
                guard !reason.isEmpty, reason.count <= 500 else { throw APIRefusal(.badRequest, "an unlink says why, in at most 500 characters") }
                guard link.state == .linked else { throw APIRefusal(.conflict, "link \(link.linkId) is \(link.state.rawValue), not linked") }
                return try await step(linkId: link.linkId, cases: link.cases, rule: link.rule, action: .unlinked, by: principal.name, reason: reason)
            }
        }
    }

    private func existing(_ linkId: String) async throws -> CaseLink {
        guard let link = try await ledger.caseLink(linkId) else { throw APIRefusal(.notFound, "no link \(linkId) in the ledger") }
        return link
    }

    private func step(linkId: String, cases: [String], rule: String, action: CaseLinkRecord.Action, by: String, reason: String?) async throws -> CaseLinkRecord {
        let record = CaseLinkRecord(linkId: linkId, cases: cases, rule: rule, action: action, by: by, at: HubTime.text(Date()), reason: reason)
        try await publish(record)
        return record
    }
}

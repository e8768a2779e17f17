import CanonicalEvents
import Foundation
import SharingPolicy

/// One version of the sharing matrix on its way from a privacy officer's proposal to the router.
/// Its life cycle is a small state machine: proposed → approved (by a second privacy officer, never
/// the proposer) → activated from a date. Which activated version is in force follows from the dates.
public struct MatrixVersion: Sendable, Codable, Equatable {
    public enum State: String, Sendable, Codable, Equatable {
        case proposed, approved, activated
    }

    /// 1, 2, 3, ... in order of proposal.
    public var number: Int
    /// The matrix's own version (declared version + digest of its files), as decision records carry it.
    public var matrixVersion: String
    public var state: State
    public var proposedBy: String
    public var proposedAt: String
    public var approvedBy: String?
    public var approvedAt: String?
    public var activatedBy: String?
    public var activeFrom: String?
    public var bundle: MatrixBundle

    public init(number: Int, matrixVersion: String, proposedBy: String, proposedAt: String, bundle: MatrixBundle) {
        self.number = number
        self.matrixVersion = matrixVersion
        self.state = .proposed
        self.proposedBy = proposedBy
        self.proposedAt = proposedAt
        self.bundle = bundle
    }

    /// When an activated version comes (or came) into force.
    public var activeSince: Date? { state == .activated ? activeFrom.flatMap(HubTime.date) : nil }

    /// The transitions; each names what is wrong when it is not allowed.
    mutating func approve(by officer: String, at time: String) throws(GovernanceRefusal) {
        guard state == .proposed else { throw .wrongState(number: number, state: state, needed: .proposed) }
        guard officer != proposedBy else { throw .proposerCannotApprove(number: number, officer: officer) }
        state = .approved
        approvedBy = officer
        approvedAt = time
    }

    mutating func activate(by officer: String, from date: String) throws(GovernanceRefusal) {
        guard state == .approved else { throw .wrongState(number: number, state: state, needed: .approved) }
        state = .activated
        activatedBy = officer
        activeFrom = date
    }
}

/// Why a step of the matrix's life cycle was refused.
public enum GovernanceRefusal: Error, Sendable, CustomStringConvertible {
    case unknownVersion(Int)
    case lint([LintFinding])
    case proposerCannotApprove(number: Int, officer: String)
    case wrongState(number: Int, state: MatrixVersion.State, needed: MatrixVersion.State)
    case unreadable(String)
    /// An activation may not start before the moment it is made: the history would say a version was
    /// in force when the router routed under another.
    case activationInPast(number: Int, from: String, now: String)

    public var description: String {
        switch self {
        case .unknownVersion(let number): "there is no matrix version \(number)"
        case .lint(let findings): "the proposed matrix has \(findings.count) lint finding(s); nothing was stored"
        case .proposerCannotApprove(let number, let officer): "\(officer) proposed version \(number) and may not approve it: a second privacy officer must"
        case .wrongState(let number, let state, let needed): "version \(number) is \(state.rawValue); this needs a version that is \(needed.rawValue)"
        case .unreadable(let reason): "the proposed matrix cannot be read: \(reason)"
        case .activationInPast(let number, let from, let now):
            "version \(number) cannot be activated from \(from): that is before now (\(now)); give a later date, or none to activate it now"
        }
    }
}

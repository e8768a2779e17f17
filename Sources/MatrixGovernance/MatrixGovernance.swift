import CanonicalEvents
import Foundation
import SharingPolicy

/// The privacy officers' control of the matrix: proposals (linted on upload), approval by a second
/// officer, activation from a date. Versions are kept in the store; activations go to the schedule the
/// router follows. The repository's matrix is version 1, in force from the start.
///
/// Several API nodes may govern one store: every change is decided by the store (a number taken
/// once, a transition from the state it was read in), never by this node's memory, so the four-eyes
/// rule and the life cycle hold across nodes.
public final class MatrixGovernance: Sendable {
    private let store: any MatrixVersionStore
    private let schedule: MatrixSchedule
    private let catalogue: ContractCatalogue
    private let now: @Sendable () -> Date

    public static let repository = "repository"

    public init(store: any MatrixVersionStore, schedule: MatrixSchedule, baseline: MatrixBundle, catalogue: ContractCatalogue = .embedded,
                now: @escaping @Sendable () -> Date = Date.init) async throws {
        self.store = store
        self.schedule = schedule
        self.catalogue = catalogue
        self.now = now
        if try await store.states().isEmpty {
            let matrix = try MatrixLoader.loadValid(baseline, catalogue: catalogue)
            var first = MatrixVersion(number: 1, matrixVersion: matrix.version, proposedBy: Self.repository,
                                      proposedAt: HubTime.text(now()), bundle: baseline)
            first.state = .activated
            first.approvedBy = Self.repository
            first.activatedBy = Self.repository
            first.activeFrom = HubTime.text(Date(timeIntervalSince1970: 0))
            // Two nodes starting on an empty store: one inserts, the other finds it taken.
            _ = try await store.insert(first)
        }
        // After a restart the schedule learns again what was activated. Those versions were linted
        // when proposed and activated; they are read as stored, not linted again under checks added
        // since, so that the rules behind past decisions stay readable and replayable.
        for version in try await store.versions() where version.state == .activated {
            schedule.activate(try MatrixLoader.load(version.bundle).matrix, from: version.activeSince!)
        }
    }

    public func versions() async throws -> [MatrixVersion] { try await store.versions() }

    /// Every version's number and state, without reading their files.
    public func states() async throws -> [(number: Int, state: MatrixVersion.State)] { try await store.states() }

    public func version(_ number: Int) async throws -> MatrixVersion {
        guard let version = try await store.version(number) else { throw GovernanceRefusal.unknownVersion(number) }
        return version
    }

    /// The version in force at `date`: the activated one with the latest start not after it.
    public func inForce(at date: Date? = nil) async throws -> MatrixVersion {
        let moment = date ?? now()
        let candidates = try await store.versions().compactMap { version in version.activeSince.map { (since: $0, version: version) } }
            .filter { $0.since <= moment }
        return candidates.max { ($0.since, $0.version.number) < ($1.since, $1.version.number) }!.version
    }

    /// A stored version's matrix, read as stored: every version was linted when proposed, and one
    /// archived under older checks stays readable (for the art. 15 answers its decisions need).
    public func matrix(_ number: Int) async throws -> SharingMatrix {
        try MatrixLoader.load(try await version(number).bundle).matrix
    }

    /// Stores a proposal only when it lints clean; otherwise every finding, with file, line and rule.
    public func propose(_ bundle: MatrixBundle, by officer: String) async throws -> MatrixVersion {
        let findings: [LintFinding]
        do {
            findings = try MatrixLoader.lint(bundle, catalogue: catalogue)
        } catch {
            throw GovernanceRefusal.unreadable("\(error)")
        }
        guard findings.isEmpty else { throw GovernanceRefusal.lint(findings) }
        let matrix = try MatrixLoader.load(bundle).matrix
        // The next number, unless another proposal (on this node or another) took it first.
        while true {
            let number = (try await store.states().map(\.number).max() ?? 0) + 1
            let version = MatrixVersion(number: number, matrixVersion: matrix.version, proposedBy: officer,
                                        proposedAt: HubTime.text(now()), bundle: bundle)
            if try await store.insert(version) { return version }
        }
    }

    public func approve(_ number: Int, by officer: String) async throws -> MatrixVersion {
        try await transition(number) { version in try version.approve(by: officer, at: HubTime.text(now())) }
    }

    /// A step of a version's life cycle, checked against the version as stored and stored only if it
    /// is still in that state; if another node moved it meanwhile, the step is checked again against
    /// what it became (and so refused with the reason that now applies).
    private func transition(_ number: Int, _ step: (inout MatrixVersion) throws -> Void) async throws -> MatrixVersion {
        while true {
            var version = try await version(number)
            let before = version.state
            try step(&version)
            if try await store.update(version, from: before) { return version }
        }
    }

    /// How far before now an activation date may lie and still mean "now": the clocks of an
    /// officer's machine and of the hub differ by a little.
    public static let activationClockTolerance: TimeInterval = 60

    /// From `date` on the router routes under this version. A date before now (beyond the clock
    /// tolerance, within which it counts as now) is refused: which rules were in force when is
    /// history, and an activation cannot rewrite it.
    public func activate(_ number: Int, from requested: Date, by officer: String) async throws -> MatrixVersion {
        let moment = now()
        if requested < moment.addingTimeInterval(-Self.activationClockTolerance) {
            throw GovernanceRefusal.activationInPast(number: number, from: HubTime.text(requested), now: HubTime.text(moment))
        }
        let date = max(requested, moment)
        let matrix = try MatrixLoader.loadValid(try await version(number).bundle, catalogue: catalogue)
        let version = try await transition(number) { version in try version.activate(by: officer, from: HubTime.text(date)) }
        schedule.activate(matrix, from: date)
        return version
    }
}

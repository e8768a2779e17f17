import CanonicalEvents
import Foundation
import SharingPolicy
import Synchronization

/// The privacy officers' control of the matrix: proposals (linted on upload), approval by a second
/// officer, activation from a date. Versions are kept in the store; activations go to the schedule the
/// router follows. The repository's matrix is version 1, in force from the start.
public final class MatrixGovernance: Sendable {
    private let store: any MatrixVersionStore
    private let schedule: MatrixSchedule
    private let catalogue: ContractCatalogue
    private let now: @Sendable () -> Date
    /// One change at a time, so that version numbers and transitions never race.
    private let changes = Mutex(())

    public static let repository = "repository"

    public init(store: any MatrixVersionStore, schedule: MatrixSchedule, baseline: MatrixBundle, catalogue: ContractCatalogue = .embedded,
                now: @escaping @Sendable () -> Date = Date.init) throws {
        self.store = store
        self.schedule = schedule
        self.catalogue = catalogue
        self.now = now
        if try store.versions().isEmpty {
            let matrix = try MatrixLoader.loadValid(baseline, catalogue: catalogue)
            var first = MatrixVersion(number: 1, matrixVersion: matrix.version, proposedBy: Self.repository,
                                      proposedAt: HubTime.text(now()), bundle: baseline)
            first.state = .activated
            first.approvedBy = Self.repository
            first.activatedBy = Self.repository
            first.activeFrom = HubTime.text(Date(timeIntervalSince1970: 0))
            try store.save(first)
        }
        // After a restart the schedule learns again what was activated. Those versions were linted
        // when proposed and activated; they are read as stored, not linted again under checks added
        // since, so that the rules behind past decisions stay readable and replayable.
        for version in try store.versions() where version.state == .activated {
            schedule.activate(try MatrixLoader.load(version.bundle).matrix, from: version.activeSince!)
        }
    }

    public func versions() throws -> [MatrixVersion] { try store.versions() }

    public func version(_ number: Int) throws -> MatrixVersion {
        guard let version = try store.versions().first(where: { $0.number == number }) else { throw GovernanceRefusal.unknownVersion(number) }
        return version
    }

    /// The version in force at `date`: the activated one with the latest start not after it.
    public func inForce(at date: Date? = nil) throws -> MatrixVersion {
        let moment = date ?? now()
        let candidates = try store.versions().compactMap { version in version.activeSince.map { (since: $0, version: version) } }
            .filter { $0.since <= moment }
        return candidates.max { ($0.since, $0.version.number) < ($1.since, $1.version.number) }!.version
    }

    /// A stored version's matrix, read as stored: every version was linted when proposed, and one
    /// archived under older checks stays readable (for the art. 15 answers its decisions need).
    public func matrix(_ number: Int) throws -> SharingMatrix {
        try MatrixLoader.load(try version(number).bundle).matrix
    }

    /// Stores a proposal only when it lints clean; otherwise every finding, with file, line and rule.
    public func propose(_ bundle: MatrixBundle, by officer: String) throws -> MatrixVersion {
        let findings: [LintFinding]
        do {
            findings = try MatrixLoader.lint(bundle, catalogue: catalogue)
        } catch {
            throw GovernanceRefusal.unreadable("\(error)")
        }
        guard findings.isEmpty else { throw GovernanceRefusal.lint(findings) }
        let matrix = try MatrixLoader.load(bundle).matrix
        return try changes.withLock { _ in
            let number = (try store.versions().map(\.number).max() ?? 0) + 1
            let version = MatrixVersion(number: number, matrixVersion: matrix.version, proposedBy: officer,
                                        proposedAt: HubTime.text(now()), bundle: bundle)
            try store.save(version)
            return version
        }
    }

    public func approve(_ number: Int, by officer: String) throws -> MatrixVersion {
        try changes.withLock { _ in
            var version = try version(number)
            try version.approve(by: officer, at: HubTime.text(now()))
            try store.save(version)
            return version
        }
    }

    /// How far before now an activation date may lie and still mean "now": the clocks of an
    /// officer's machine and of the hub differ by a little.
    public static let activationClockTolerance: TimeInterval = 60

    /// From `date` on the router routes under this version. A date before now (beyond the clock
    /// tolerance, within which it counts as now) is refused: which rules were in force when is
    /// history, and an activation cannot rewrite it.
    public func activate(_ number: Int, from requested: Date, by officer: String) throws -> MatrixVersion {
        try changes.withLock { _ in
            let moment = now()
            if requested < moment.addingTimeInterval(-Self.activationClockTolerance) {
                throw GovernanceRefusal.activationInPast(number: number, from: HubTime.text(requested), now: HubTime.text(moment))
            }
            let date = max(requested, moment)
            var version = try version(number)
            let matrix = try MatrixLoader.loadValid(version.bundle, catalogue: catalogue)
            try version.activate(by: officer, from: HubTime.text(date))
            try store.save(version)
            schedule.activate(matrix, from: date)
            return version
        }
    }
}

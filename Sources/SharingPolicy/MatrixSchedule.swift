import Foundation
import Synchronization

/// Which matrix applies when: the version in force and the versions activated from a later date. The
/// router asks it once per batch, so an activation takes effect at the first batch after its date,
/// without a restart. Thread-safe: the API activates while the router routes.
public final class MatrixSchedule: Sendable {
    private struct Entry: Sendable {
        var from: Date
        var evaluator: PolicyEvaluator
    }

    private let entries: Mutex<[Entry]>

    /// `matrix` is in force from the beginning of time, until a later activation.
    public init(_ matrix: SharingMatrix) {
        entries = Mutex([Entry(from: .distantPast, evaluator: PolicyEvaluator(matrix: matrix))])
    }

    /// `matrix` applies from `date` on (and until a later activation).
    public func activate(_ matrix: SharingMatrix, from date: Date) {
        let evaluator = PolicyEvaluator(matrix: matrix)
        entries.withLock { entries in
            entries.removeAll { $0.from == date }
            entries.append(Entry(from: date, evaluator: evaluator))
            entries.sort { $0.from < $1.from }
        }
    }

    /// The evaluator of the matrix in force at `date`.
    public func evaluator(at date: Date = Date()) -> PolicyEvaluator {
        entries.withLock { entries in entries.last { $0.from <= date }!.evaluator }
    }

    /// Versions scheduled and their start dates, in order.
    public var versions: [(version: String, from: Date)] {
        entries.withLock { $0.map { ($0.evaluator.matrix.version, $0.from) } }
    }
}

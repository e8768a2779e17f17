import Foundation

/// A one-place hand-over from the routing loop to its committer. The loop puts a batch, waiting
/// while the one before has not been taken, so that it decides at most one batch ahead of the
/// committer. The committer takes the next batch, waiting for it.
///
/// A hand-over made `merging` joins a batch put while another still waits to that one, as long as
/// the merge accepts it (a partition router's input, and its batches waiting for their
/// transaction: a router behind routes what waited as one batch, in one transaction, instead of a
/// transaction for each small batch).
///
/// Closing it (the loop when it stops, the committer when it fails) lets a waiting taker go on
/// with what is left and tells a waiting putter that nobody will take its batch; discarding it
/// drops what is left as well.
final class Handover<Element: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var slot: Element?
    private var closed = false
    private var taker: CheckedContinuation<Element?, Never>?
    private var putter: (element: Element, continuation: CheckedContinuation<Bool, Never>)?
    /// Joins a batch put to the one waiting, in order, and says so; false: it waits its turn.
    private let merge: (@Sendable (inout Element, Element) -> Bool)?

    init(merging merge: (@Sendable (inout Element, Element) -> Bool)? = nil) { self.merge = merge }

    /// Hands `element` over; false if the hand-over was closed before it was taken.
    func put(_ element: Element) async -> Bool {
        await withCheckedContinuation { continuation in
            let resume: () -> Void = lock.withLock {
                if closed { return { continuation.resume(returning: false) } }
                if let taker {
                    self.taker = nil
                    return { taker.resume(returning: element); continuation.resume(returning: true) }
                }
                if slot == nil {
                    slot = element
                    return { continuation.resume(returning: true) }
                }
                if putter == nil, let merge, var waiting = slot {
                    slot = nil  // the waiting batch alone holds its arrays: appending copies nothing
                    let merged = merge(&waiting, element)
                    slot = waiting
                    if merged { return { continuation.resume(returning: true) } }
                }
                precondition(putter == nil, "one routing loop puts at a time")
                putter = (element, continuation)
                return {}
            }
            resume()
        }
    }

    /// The next element, waiting for it; nil once closed and empty.
    func take() async -> Element? {
        await withCheckedContinuation { continuation in
            let resume: () -> Void = lock.withLock {
                if let (element, next) = takeLocked() { return { next(); continuation.resume(returning: element) } }
                if closed { return { continuation.resume(returning: nil) } }
                precondition(taker == nil, "one committer takes at a time")
                taker = continuation
                return {}
            }
            resume()
        }
    }

    /// Closes it and drops what it holds: a waiting putter is told nobody took its batch, a taker
    /// finds nothing more.
    func discard() { close(dropping: true) }

    func close() { close(dropping: false) }

    private func close(dropping: Bool) {
        let resume: () -> Void = lock.withLock {
            closed = true
            if dropping { slot = nil }
            let (taker, putter) = (self.taker, self.putter)
            self.taker = nil
            self.putter = nil
            return { taker?.resume(returning: nil); putter?.continuation.resume(returning: false) }
        }
        resume()
    }

    /// Takes the slot's element and moves a waiting putter's into it; what to resume once unlocked.
    private func takeLocked() -> (Element, () -> Void)? {
        guard let element = slot else { return nil }
        slot = nil
        guard let (waiting, continuation) = putter else { return (element, {}) }
        putter = nil
        slot = waiting
        return (element, { continuation.resume(returning: true) })
    }
}

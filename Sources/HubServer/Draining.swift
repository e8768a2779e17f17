import Hummingbird
import NIOCore
import Synchronization

/// A node's partner endpoints while it stops: once draining, a new partner request is answered 503
/// with `Retry-After` (the partner sends it again, to this node when it is back or to another), and
/// the requests already in flight finish, so that no message answered 202 is lost. Thread-safe.
public final class DrainState: Sendable {
    private struct State {
        var draining = false
        var inFlight = 0
    }

    private let state = Mutex(State())
    /// Seconds a refused partner is told to wait.
    public let retryAfterSeconds: Int

    public init(retryAfterSeconds: Int = 5) { self.retryAfterSeconds = retryAfterSeconds }

    public var isDraining: Bool { state.withLock { $0.draining } }

    /// Counts a request in, unless the node is draining.
    func enter() -> Bool {
        state.withLock { state in
            guard !state.draining else { return false }
            state.inFlight += 1
            return true
        }
    }

    func leave() { state.withLock { $0.inFlight -= 1 } }

    /// Refuses new partner requests from now on, and waits (at most `limit`) for those in flight.
    func drain(waitingAtMost limit: Duration) async {
        state.withLock { $0.draining = true }
        let deadline = ContinuousClock.now + limit
        while state.withLock({ $0.inFlight }) > 0 && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// Lets partner requests (`/partners/...`) through only while the node is not draining. Added to
/// the router before any route, so that it wraps every one of them.
struct DrainMiddleware<Context: RequestContext>: RouterMiddleware {
    let drain: DrainState

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.uri.path.hasPrefix("/partners/") else { return try await next(request, context) }
        guard drain.enter() else {
            return Response(status: .serviceUnavailable,
                            headers: [.contentType: "application/json", .retryAfter: String(drain.retryAfterSeconds)],
                            body: .init(byteBuffer: ByteBuffer(string: #"{"error":"this hub node is stopping; send the message again later"}"#)))
        }
        defer { drain.leave() }
        return try await next(request, context)
    }
}

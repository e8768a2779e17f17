import Hummingbird

/// Reads to its end, and drops, whatever part of a request's body its handler left unread, when
/// the client asked to close the connection; before the answer is written.
///
/// Hummingbird reads the rest of such a body itself before the connection's next request, except
/// when the request says `Connection: close` (as Python's urllib always does): then it reads no
/// more, and a client that writes its whole body before it reads the answer blocks on a full
/// socket and never sees the answer, only the connection closed at `http.idleSeconds`. A handler
/// that refuses a body (413, 401, 403, the router's own 404 and 405) leaves it unread; so this
/// middleware, added first, drops it for every route and every refusal, up to `dropLimit` bytes.
/// Past that the client is not worth the hub's bandwidth, and the idle timeout ends the connection.
///
/// The rule that keeps it correct: a request body can be iterated once, so the handler is given a
/// `BodyCursor` over the one iterator, and what it did not read is read from that same iterator
/// after it returned. (An answer whose body writer streams the request body back would find it
/// read; the hub has none.)
struct UnreadBodyMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The most bytes left unread by a handler that are read and dropped so that its client reads the answer.
    static var dropLimit: Int { 64 << 20 }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard Self.closesConnection(request) else { return try await next(request, context) }  // Hummingbird reads the rest
        let cursor = BodyCursor(request.body)
        var request = request
        request.body = RequestBody(asyncSequence: cursor)
        let response: Response
        do {
            response = try await next(request, context)
        } catch {
            await cursor.drop(upTo: Self.dropLimit)
            throw error
        }
        await cursor.drop(upTo: Self.dropLimit)
        return response
    }

    static func closesConnection(_ request: Request) -> Bool {
        request.headers[.connection].map { $0.lowercased().contains("close") } ?? false
    }
}

/// One iterator over a request body, shared by the request's handler and, after it returned, the
/// middleware that drops what the handler did not read.
///
/// Used by one task at a time: the request's handler task, through the middleware's call of the
/// handler and then its own reading; never by two at once, hence `@unchecked Sendable`.
final class BodyCursor: AsyncSequence, @unchecked Sendable {
    typealias Element = ByteBuffer

    private var parts: RequestBody.AsyncIterator
    /// The body ended or failed; an iterator is not asked again after either.
    private var over = false

    init(_ body: RequestBody) {
        parts = body.makeAsyncIterator()
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        let cursor: BodyCursor
        func next() async throws -> ByteBuffer? { try await cursor.next() }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(cursor: self) }

    func next() async throws -> ByteBuffer? {
        guard !over else { return nil }
        do {
            if let part = try await parts.next() { return part }
            over = true
            return nil
        } catch {
            over = true
            throw error
        }
    }

    /// Reads and drops parts until the body ends, reading fails, or more than `limit` bytes came.
    func drop(upTo limit: Int) async {
        var left = limit
        while left >= 0, let part = try? await next() {
            left -= part.readableBytes
        }
    }
}

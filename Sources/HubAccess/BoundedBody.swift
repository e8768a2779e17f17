import Hummingbird

/// A request body read within a bound, and the rule for a body the hub refuses.
///
/// Hummingbird reads the rest of a body its handler left unread before the connection's next
/// request, except when the client asked to close the connection (`Connection: close`, as Python's
/// urllib always does): then it reads no more, and a client that writes its whole body before it
/// reads the answer blocks on a full socket and never sees the answer (it sees the connection
/// closed when the server's idle time is up). So a refused body of such a request is read to its
/// end and dropped before the answer, up to `discardLimit` bytes; past that the client is not
/// worth the hub's bandwidth, and the idle timeout ends the connection.
///
/// Used by a request's handler task; holds nothing between requests.
public enum BoundedBody {
    /// The most bytes of a refused body read and dropped, so that its client reads the answer.
    public static let discardLimit = 64 << 20

    public enum Outcome: Sendable {
        case complete(ByteBuffer)
        /// More than the bound arrived (what arrived is dropped).
        case tooLarge
    }

    /// The body, if it is at most `limit` bytes; else `.tooLarge`, its rest read and dropped if the
    /// client asked to close the connection.
    public static func read(_ request: Request, upTo limit: Int) async throws -> Outcome {
        var buffer = ByteBuffer()
        var parts = request.body.makeAsyncIterator()
        while let part = try await parts.next() {
            guard buffer.readableBytes + part.readableBytes <= limit else {
                if closesConnection(request) { await drop(&parts, upTo: discardLimit - buffer.readableBytes - part.readableBytes) }
                return .tooLarge
            }
            buffer.writeImmutableBuffer(part)
        }
        return .complete(buffer)
    }

    /// For an answer given without reading the body (refused on its announced length, or its
    /// sender not allowed): reads the body and drops it if the client asked to close the
    /// connection (see above). Call it only for a body nothing read.
    public static func discardUnread(_ request: Request) async {
        guard closesConnection(request) else { return }  // Hummingbird reads it after the answer
        var parts = request.body.makeAsyncIterator()
        await drop(&parts, upTo: discardLimit)
    }

    static func closesConnection(_ request: Request) -> Bool {
        request.headers[.connection].map { $0.lowercased().contains("close") } ?? false
    }

    /// Reads and drops parts until the body ends, reading fails, or more than `limit` bytes came.
    private static func drop(_ parts: inout RequestBody.AsyncIterator, upTo limit: Int) async {
        var left = limit
        while left >= 0, let part = try? await parts.next() {
            left -= part.readableBytes
        }
    }
}

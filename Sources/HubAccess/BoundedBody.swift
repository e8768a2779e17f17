import Hummingbird

/// A request body read within a bound.
///
/// What a handler leaves unread (a body refused on its announced length, or from a sender not
/// allowed, or the rest past the bound) is the server's to drop: see `UnreadBodyMiddleware` in
/// HubServer. Used by a request's handler task; holds nothing between requests.
public enum BoundedBody {
    public enum Outcome: Sendable {
        case complete(ByteBuffer)
        /// More than the bound arrived (what arrived is dropped, the rest left unread).
        case tooLarge
    }

    /// The body, if it is at most `limit` bytes; else `.tooLarge`.
    public static func read(_ request: Request, upTo limit: Int) async throws -> Outcome {
        var buffer = ByteBuffer()
        for try await part in request.body {
            guard buffer.readableBytes + part.readableBytes <= limit else { return .tooLarge }
            buffer.writeImmutableBuffer(part)
        }
        return .complete(buffer)
    }
}

import Hummingbird

/// Headers on every answer of the node that keep a browser from misusing it: the console may not be
/// framed (clickjacking) nor load anything but the hub's own files, nothing is sniffed into another
/// type, no address leaks in a referrer; and an answer to the API or a partner endpoint, which can
/// carry personal data, is never stored by a browser or a proxy. Added first, so that it wraps every
/// route and every refusal.
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    static var everyAnswer: HTTPFields {
        [.contentSecurityPolicy: "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'",
         .xContentTypeOptions: "nosniff", HTTPFields.Element.Name("X-Frame-Options")!: "DENY", HTTPFields.Element.Name("Referrer-Policy")!: "no-referrer"]
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        }
        for field in Self.everyAnswer where response.headers[field.name] == nil { response.headers.append(field) }
        let path = request.uri.path
        if path.hasPrefix("/api/") || path.hasPrefix("/partners/") || request.headers[.authorization] != nil {
            response.headers[.cacheControl] = "no-store"
        }
        return response
    }
}

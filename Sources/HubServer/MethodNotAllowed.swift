import Hummingbird
import NIOCore

/// A request for a path the node serves, with a method it does not serve there, is answered 405
/// with `Allow` (HTTP's rule; the router alone would say 404, as if the path did not exist). Added
/// after every route, so that it sees only the requests no route took.
struct MethodNotAllowedMiddleware<Context: RequestContext>: RouterMiddleware {
    let routes: [(path: RouterPath, method: HTTPRequest.Method)]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let segments = request.uri.path.split(separator: "/")
        let allowed = routes.filter { route in
            route.path.components.count == segments.count && zip(route.path.components, segments).allSatisfy { $0 ~= $1 }
        }.map(\.method.rawValue)
        guard !allowed.isEmpty, !allowed.contains(request.method.rawValue) else { return try await next(request, context) }
        return Response(status: .methodNotAllowed,
                        headers: [.allow: Set(allowed).sorted().joined(separator: ", "), .contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(string: #"{"error":"this path does not take that method; see the Allow header"}"#)))
    }
}

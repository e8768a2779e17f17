import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import ServiceLifecycle

/// A Hummingbird server on a free port for a test, stopped by graceful shutdown. Not by cancelling
/// its task: a connection accepted but not yet served when the serving task is cancelled makes NIO
/// trap ("Deinited NIOAsyncWriter without calling finish()", apple/swift-nio#3481); a graceful
/// shutdown serves or closes every accepted connection first.
public final class TestServer: Sendable {
    public let url: URL
    private let group: ServiceGroup
    private let running: Task<Void, any Error>

    /// Serves `router` over plain HTTP, or over TLS with `tls` (`.tls(tlsConfiguration:)` of HummingbirdTLS).
    public init(_ router: sending Router<BasicRequestContext>, tls: HTTPServerBuilder? = nil, logger: Logger = testLogger) async throws {
        let port = PortHolder()
        let application = Application(router: router, server: tls ?? .http1(), configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                                      onServerRunning: { port.set($0.localAddress?.port ?? 0) }, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [application], logger: logger))
        self.group = group
        running = Task {
            do { try await group.run() } catch { port.fail(error); throw error }
        }
        url = URL(string: "\(tls == nil ? "http" : "https")://127.0.0.1:\(try await port.value())")!
    }

    /// Stops the server: it finishes what it accepted, then ends.
    public func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await running.value
    }
}

/// Serves `router` for the duration of `body`, then stops it gracefully.
public func serve(_ router: sending Router<BasicRequestContext>, _ body: @Sendable (URL) async throws -> Void) async throws {
    let server = try await TestServer(router)
    do {
        try await body(server.url)
    } catch {
        await server.stop()
        throw error
    }
    await server.stop()
}

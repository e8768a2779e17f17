import Foundation
import Hummingbird
import KetenhubTestSupport

/// Serves a router on a free port for the duration of `body`.
func serve(_ router: sending Router<BasicRequestContext>, _ body: @Sendable (URL) async throws -> Void) async throws {
    let port = PortHolder()
    let server = Task {
        try await Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { port.set($0.localAddress?.port ?? 0) }, logger: testLogger).run()
    }
    defer { server.cancel() }
    try await body(URL(string: "http://127.0.0.1:\(try await port.value())")!)
}

import AsyncHTTPClient
import Foundation
import NIOCore

/// How the simulated partners call the hub's partner endpoints: through AsyncHTTPClient's shared
/// client, as the hub's delivery workers call partners, not through Foundation's URLSession. A demo
/// stopped with SIGTERM while its partners were mid-request crashed (a Swift runtime trap whose
/// backtrace ran through FoundationNetworking); AsyncHTTPClient cancels a request with its task.
enum HubCall {
    /// The most of an answer that is read: a receipt is a few kilobytes.
    static let answerLimit = 1 << 20

    /// POSTs `body` with the partner's token; the answer's status and body, or nil if the hub could
    /// not be reached or did not answer in time.
    static func post(_ url: URL, token: String, contentType: String, body: Data) async -> (status: Int, body: Data)? {
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Content-Type", value: contentType)
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            let answer = try await response.body.collect(upTo: answerLimit)
            return (Int(response.status.code), Data(answer.readableBytesView))
        } catch {
            return nil
        }
    }
}

import CanonicalEvents
import Crypto
import Foundation

/// Which bearer token belongs to which organisation. Only the SHA-256 of each token is kept, so a
/// leaked credentials file does not leak the tokens; on Apache Kafka the same organisations map to
/// per-partner ACLs on their delivery topics.
public struct PartnerCredentials: Sendable {
    private let organisationsByDigest: [String: String]

    public init(digests: [String: String]) { organisationsByDigest = digests }

    /// The organisation a request comes from, by its `Authorization: Bearer <token>` header.
    public func organisation(forAuthorization header: String?) -> String? {
        guard let header, header.hasPrefix("Bearer ") else { return nil }
        return organisationsByDigest[Self.digest(String(header.dropFirst("Bearer ".count)))]
    }

    public static func digest(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).withUnsafeBytes { $0.hexString }
    }

    /// Fresh random tokens for these organisations (the demo prints them), and their credentials.
    public static func generate(for organisations: [String]) -> (credentials: PartnerCredentials, tokens: [String: String]) {
        var tokens: [String: String] = [:]
        for organisation in organisations {
            let random = (0..<24).map { _ in UInt8.random(in: 0...255) }
            tokens[organisation] = "kh_" + Data(random).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        }
        let digests = Dictionary(uniqueKeysWithValues: tokens.map { (digest($0.value), $0.key) })
        return (PartnerCredentials(digests: digests), tokens)
    }
}

import Crypto
import Foundation

/// Who calls the hub, and as what. Operators see metadata and never content; privacy officers
/// manage the sharing rules; a partner sends and acknowledges for one organisation and sees only its
/// own deliveries; admins see all metadata. On Apache Kafka the partner role maps to per-partner ACLs.
public enum Role: Sendable, Hashable, CustomStringConvertible {
    case operator_
    case privacyOfficer
    case partner(String)
    case admin

    public var description: String {
        switch self {
        case .operator_: "operator"
        case .privacyOfficer: "privacy-officer"
        case .partner(let organisation): "partner:\(organisation)"
        case .admin: "admin"
        }
    }

    /// The inverse of `description`, for credentials files.
    public init?(_ text: String) {
        switch text {
        case "operator": self = .operator_
        case "privacy-officer": self = .privacyOfficer
        case "admin": self = .admin
        case _ where text.hasPrefix("partner:") && text.count > "partner:".count: self = .partner(String(text.dropFirst("partner:".count)))
        default: return nil
        }
    }

    /// The organisation a partner credential stands for.
    public var organisation: String? {
        if case .partner(let organisation) = self { organisation } else { nil }
    }
}

public struct Principal: Sendable, Hashable {
    public var name: String
    public var role: Role

    public init(name: String, role: Role) {
        self.name = name
        self.role = role
    }
}

/// The one credential store of the hub: bearer tokens and the principals they stand for, for the
/// partner endpoints and the API alike. Only each token's SHA-256 is kept, so a leaked store does
/// not leak the tokens.
public struct Credentials: Sendable {
    private let principals: [String: Principal]

    /// From digests (`digest(_:)` of each token), as a deployment keeps them.
    public init(digests: [String: Principal]) { principals = digests }

    public init(tokens: [String: Principal]) {
        self.init(digests: Dictionary(uniqueKeysWithValues: tokens.map { (Self.digest($0.key), $0.value) }))
    }

    /// The principal of an `Authorization: Bearer <token>` header, if the token is known.
    public func principal(forAuthorization header: String?) -> Principal? {
        guard let header, header.hasPrefix("Bearer ") else { return nil }
        return principals[Self.digest(String(header.dropFirst("Bearer ".count)))]
    }

    public static func digest(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// A fresh random token for each principal, and the store that knows them (the demo prints the tokens).
    public static func generate(for principals: [Principal]) -> (credentials: Credentials, tokens: [Principal: String]) {
        var tokens: [Principal: String] = [:]
        for principal in principals { tokens[principal] = newToken() }
        return (Credentials(tokens: Dictionary(uniqueKeysWithValues: tokens.map { ($0.value, $0.key) })), tokens)
    }

    /// 24 random bytes from the system's generator, URL-safe base64, after `kh_`.
    public static func newToken() -> String {
        var generator = SystemRandomNumberGenerator()
        let random = (0..<24).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return "kh_" + Data(random).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}

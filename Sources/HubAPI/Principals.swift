import Crypto
import Foundation

/// Who calls the hub's API, and as what. Operators see metadata and never content; privacy officers
/// manage the sharing rules; a partner sees only its own organisation's deliveries; admins all.
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
}

public struct Principal: Sendable, Hashable {
    public var name: String
    public var role: Role

    public init(name: String, role: Role) {
        self.name = name
        self.role = role
    }
}

/// Bearer tokens and the principals they stand for; only each token's SHA-256 is kept.
public struct APICredentials: Sendable {
    private let principals: [String: Principal]

    public init(tokens: [String: Principal]) {
        principals = Dictionary(uniqueKeysWithValues: tokens.map { (Self.digest($0.key), $0.value) })
    }

    public func principal(forAuthorization header: String?) -> Principal? {
        guard let header, header.hasPrefix("Bearer ") else { return nil }
        return principals[Self.digest(String(header.dropFirst("Bearer ".count)))]
    }

    static func digest(_ token: String) -> String { SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined() }
}

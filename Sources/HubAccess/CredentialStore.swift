import Foundation

/// What every endpoint asks of the hub's credentials: who a bearer token stands for, now.
public protocol CredentialLookup: Sendable {
    func principal(forAuthorization header: String?) -> Principal?
}

extension Credentials: CredentialLookup {}

/// The credentials file a deployment keeps (`ketenhub credentials add|list|revoke`): for each token
/// only its SHA-256, with the principal, role, organisation, when it was made and when it expires
/// or was revoked. The tokens themselves are printed once, when added, and are nowhere else.
/// Described by `Contracts/records/credentials.schema.json`.
public struct CredentialStore: Codable, Sendable, Equatable {
    public struct Entry: Codable, Sendable, Equatable {
        /// The first 12 hex digits of the digest: how `list` and `revoke` name one credential.
        public var id: String
        public var principal: String
        /// operator, privacy-officer, admin or partner.
        public var role: String
        /// For a partner: the organisation it sends and acknowledges for.
        public var organisation: String?
        /// SHA-256 (hex) of the token.
        public var digest: String
        public var createdAt: String
        public var expiresAt: String?
        public var revokedAt: String?

        /// What the entry lets a token do at `date`: nothing once revoked or expired.
        public func isActive(at date: Date) -> Bool { isActive(at: date, expiry: expiry) }

        /// When it expires: nil for never, `distantPast` for an expiry that cannot be read (inactive).
        var expiry: Date? { expiresAt.map { HubTimeText.date($0) ?? .distantPast } }

        func isActive(at date: Date, expiry: Date?) -> Bool {
            revokedAt == nil && expiry.map { date < $0 } ?? true
        }

        public var grants: Role? {
            role == "partner" ? organisation.flatMap { Role("partner:\($0)") } : Role(role)
        }
    }

    public var credentials: [Entry] = []

    public init(credentials: [Entry] = []) { self.credentials = credentials }

    /// An expiry as the file and `--expires` write it: an RFC 3339 moment, or a date (its start, UTC).
    public static func moment(_ text: String) -> Date? { HubTimeText.date(text) }

    /// The store in `path`; an absent file is an empty store (the first `add` makes it).
    public static func load(_ path: String) throws -> CredentialStore {
        guard FileManager.default.fileExists(atPath: path) else { return CredentialStore() }
        do {
            return try JSONDecoder().decode(CredentialStore.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw CredentialStoreError.unreadable(path: path, reason: "\(error)")
        }
    }

    /// Writes the store where it was read, whole or not at all (a temporary file renamed over it),
    /// readable by its owner only.
    public func save(_ path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let temporary = path + ".tmp-\(ProcessInfo.processInfo.processIdentifier)"
        try encoder.encode(self).write(to: URL(fileURLWithPath: temporary))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: temporary)
        guard rename(temporary, path) == 0 else {
            try? FileManager.default.removeItem(atPath: temporary)
            throw CredentialStoreError.unwritable(path: path, reason: String(cString: strerror(errno)))
        }
    }

    /// Adds a credential for a new random token and returns the token (shown once, kept nowhere).
    public mutating func add(principal: String, role: String, organisation: String?, expires: Date?, now: Date = Date()) throws -> String {
        guard !principal.isEmpty, principal.utf8.count <= 200, principal.allSatisfy({ !$0.isNewline }) else {
            throw CredentialStoreError.invalid("the principal needs a name of at most 200 characters on one line")
        }
        switch role {
        case "operator", "privacy-officer", "admin":
            guard organisation == nil else { throw CredentialStoreError.invalid("only a partner credential names an organisation") }
        case "partner":
            guard let organisation, Role("partner:\(organisation)") != nil,
                  organisation.range(of: #"^((politie|om|3ro|rvdk|shn)(-[a-z0-9]+)*|vt(-[a-z0-9]+)+)$"#, options: .regularExpression) != nil else {
                throw CredentialStoreError.invalid("a partner credential names its organisation (politie, om, 3ro, rvdk, shn or vt-<region>)")
            }
        default:
            throw CredentialStoreError.invalid("role must be one of operator, privacy-officer, admin, partner")
        }
        if let expires, expires <= now { throw CredentialStoreError.invalid("the expiry lies in the past") }
        let token = Credentials.newToken()
        let digest = Credentials.digest(token)
        credentials.append(Entry(id: String(digest.prefix(12)), principal: principal, role: role, organisation: organisation, digest: digest,
                                 createdAt: HubTimeText.text(now), expiresAt: expires.map(HubTimeText.text), revokedAt: nil))
        return token
    }

    /// Revokes every active credential of the principal (or only the one with this id); returns how many.
    public mutating func revoke(principal: String?, id: String?, now: Date = Date()) -> Int {
        var revoked = 0
        for index in credentials.indices where credentials[index].revokedAt == nil
            && (principal.map { credentials[index].principal == $0 } ?? true) && (id.map { credentials[index].id == $0 } ?? true) {
            credentials[index].revokedAt = HubTimeText.text(now)
            revoked += 1
        }
        return revoked
    }

    /// The credentials in force at `date`: active entries only.
    public func credentials(at date: Date) -> Credentials {
        var principals: [String: Principal] = [:]
        for entry in credentials where entry.isActive(at: date) {
            if let role = entry.grants { principals[entry.digest] = Principal(name: entry.principal, role: role) }
        }
        return Credentials(digests: principals)
    }
}

public enum CredentialStoreError: Error, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case unwritable(path: String, reason: String)
    case invalid(String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): "\(path): not a credentials file: \(reason)"
        case .unwritable(let path, let reason): "\(path): cannot be written: \(reason)"
        case .invalid(let reason): reason
        }
    }
}

/// The credentials file as a serving hub reads it: looked at again at most once a second when a
/// request comes, and read again when it changed, so that a credential added, revoked or expired
/// applies within seconds, without a restart. A file that cannot be read keeps the last good
/// credentials (an operator's half-written edit must not lock everyone out), and says so once.
/// `fixed` credentials (the demo's own) apply besides the file's. Thread: any; a lock guards the state.
public final class ReloadingCredentials: CredentialLookup, @unchecked Sendable {
    private let path: String
    private let fixed: Credentials?
    private let lock = NSLock()
    /// Each entry with its expiry, read from the file's text once per reading of the file, not per request.
    private var byDigest: [String: IndexedEntry] = [:]
    private var signature: [Int] = []
    private var lastCheck = Date.distantPast
    private let now: @Sendable () -> Date
    /// Why the last reading failed, if it did (for a log line or a readiness check).
    public var problem: String? { lock.withLock { failure } }
    private var failure: String?

    public init(path: String, fixed: Credentials? = nil, now: @escaping @Sendable () -> Date = Date.init) throws {
        self.path = path
        self.fixed = fixed
        self.now = now
        byDigest = Self.index(try CredentialStore.load(path))
        signature = Self.signature(of: path)
        lastCheck = now()
    }

    public func principal(forAuthorization header: String?) -> Principal? {
        if let principal = fixed?.principal(forAuthorization: header) { return principal }
        guard let header, header.hasPrefix("Bearer ") else { return nil }
        let digest = Credentials.digest(String(header.dropFirst("Bearer ".count)))
        let moment = now()
        let indexed: IndexedEntry? = lock.withLock {
            if moment.timeIntervalSince(lastCheck) >= 1 {
                lastCheck = moment
                let current = Self.signature(of: path)
                if current != signature {
                    do {
                        byDigest = Self.index(try CredentialStore.load(path))
                        signature = current
                        failure = nil
                    } catch {
                        failure = "\(error)"
                    }
                }
            }
            return byDigest[digest]
        }
        // Expiry is judged now, not when the file was read.
        guard let indexed, indexed.entry.isActive(at: moment, expiry: indexed.expiry), let role = indexed.entry.grants else { return nil }
        return Principal(name: indexed.entry.principal, role: role)
    }

    /// An entry of the file with its expiry as read (nil for never).
    private struct IndexedEntry {
        var entry: CredentialStore.Entry
        var expiry: Date?
    }

    private static func index(_ store: CredentialStore) -> [String: IndexedEntry] {
        Dictionary(store.credentials.map { ($0.digest, IndexedEntry(entry: $0, expiry: $0.expiry)) }) { first, _ in first }
    }

    /// Inode, size and modification time: a rename over the file or an edit changes one of them.
    private static func signature(of path: String) -> [Int] {
        var status = stat()
        guard stat(path, &status) == 0 else { return [] }
        return [Int(status.st_ino), Int(status.st_size), Int(status.st_mtim.tv_sec), Int(status.st_mtim.tv_nsec)]
    }
}

/// RFC 3339 times for the credentials file, whole seconds, UTC.
enum HubTimeText {
    static func text(_ date: Date) -> String { ISO8601DateFormatter().string(from: date) }
    static func date(_ text: String) -> Date? {
        // The file holds whole seconds with an offset at most (25 bytes); Foundation's ISO 8601 parser
        // ends the process on a fraction of some 35 digits, and an edited file is no reason to stop.
        guard text.utf8.count <= 25 else { return nil }
        if let date = ISO8601DateFormatter().date(from: text) { return date }
        let dayOnly = ISO8601DateFormatter()
        dayOnly.formatOptions = [.withFullDate]
        return dayOnly.date(from: text)
    }
}

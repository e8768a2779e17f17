import DeliveryLedger
import Foundation
import HubStore
import Kafka
import Logging
import PartnerGateway
import Router

/// What one node of the hub runs and against what: read from one YAML file (documented by
/// `Contracts/config/hub.schema.json`, with a commented example in `deploy/`). Every refusal names
/// the key, the file and the line; secrets are referenced, never written in the file.
public struct HubConfiguration: Sendable {
    /// The parts of the hub a node can run. Several nodes with different roles form one hub.
    public enum Role: String, CaseIterable, Sendable, Comparable {
        /// Partners' HTTP endpoints and drop directories.
        case gateway
        /// The routing service (one per hub until routers scale by partition).
        case router
        /// Delivery workers for the organisations this node's `delivery` names.
        case delivery
        /// The ledger projector: the hub's topics into the store.
        case ledger
        /// The SLA monitor over the ledger.
        case sla
        /// The operators' and privacy officers' API and the console.
        case api

        public static func < (lhs: Role, rhs: Role) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    public struct KafkaSettings: Sendable {
        public var bootstrapServers: String
        /// librdkafka properties every client of the node gets (TLS, SASL, timeouts); checked by
        /// librdkafka at start.
        public var properties: [String: String] = [:]
        /// `fetch.wait.max.ms` of the node's consumers; see `KafkaConsumerConfiguration`.
        public var fetchMaxWaitMilliseconds = 500
        /// The delivery workers' own wait, where it differs: a node delivering to every organisation
        /// of the registry runs one consumer per organisation, most of them idle, and on the embedded
        /// cluster (whose fetch wait is a few milliseconds) their empty fetches alone would keep the
        /// machine busy. A delivery may start this much later; routing keeps its short wait.
        public var deliveryFetchMaxWaitMilliseconds: Int?
        public init(bootstrapServers: String) { self.bootstrapServers = bootstrapServers }
    }

    /// Where the ledger and the matrix versions are kept: `sqlite:PATH`, `sqlite::memory:` or
    /// `postgres://user@host:port/database[?schema=NAME&sslmode=...]` (the password is a secret:
    /// `storePassword`, never in the URL).
    static func store(_ text: String, at value: ConfigurationValue) throws -> StoreLocation {
        if text == "sqlite::memory:" { return .sqlite(path: nil) }
        if text.hasPrefix("sqlite:") {
            let path = String(text.dropFirst("sqlite:".count))
            guard !path.isEmpty else { throw value.error("sqlite: needs a file path (or sqlite::memory:)") }
            let base = URL(fileURLWithPath: value.file).deletingLastPathComponent()
            return .sqlite(path: path.hasPrefix("/") ? path : base.appendingPathComponent(path).standardizedFileURL.path)
        }
        if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            do {
                let location = try PostgresLocation(url: text)
                if location.password != nil { throw StoreError("the password is a secret: give it as storePassword ({env: NAME} or {file: PATH}), not in the URL") }
                return .postgres(location)
            } catch let error as StoreError {
                throw value.error(error.description)
            }
        }
        throw value.error("expected sqlite:PATH, sqlite::memory: or postgres://user@host:port/database")
    }

    public struct HTTPSettings: Sendable {
        public var host = "127.0.0.1"
        public var port = 8080
        /// On SIGTERM, how long partner endpoints answer 503 (with `Retry-After`) while requests in
        /// flight finish, before the server stops.
        public var drainSeconds = 5
        /// A connection that sends nothing for this long, while a request's head or body is being
        /// read or between requests, is closed: a partner that stops sending (or a client that waits
        /// to finish sending a body the hub refused unread) holds no connection for longer.
        public var idleSeconds = 60
        public init() {}
    }

    public var node: String
    public var roles: Set<Role>
    public var kafka: KafkaSettings
    public var store: StoreLocation = .sqlite(path: nil)
    /// The PostgreSQL store's password, from the environment or a file.
    public var storePassword: String?
    /// How long the ledger keeps each kind of row (the ledger role applies it hourly); unset: for good.
    public var retention = RetentionPolicy()
    /// The credentials file (`ketenhub credentials add`), read again within seconds when it changes.
    public var credentials: String?
    public var matrix = URL(fileURLWithPath: "Contracts/matrix")
    public var formats = URL(fileURLWithPath: "Contracts/partners")
    public var clocks = URL(fileURLWithPath: "Contracts/sla/clocks.yaml")
    public var console = URL(fileURLWithPath: "Console")
    public var http = HTTPSettings()
    /// The root of the partners' drop directories (`<root>/<organisation>/`), for the gateway.
    public var dropDirectory: URL?
    /// The organisations this node delivers to, with their transports.
    public var transports: [String: DeliveryTransport] = [:]
    public var retry = RetryPolicy()
    /// The prefix of the routers' transactional ids, the same on every router node (see `RouterConfiguration`).
    public var transactionalID = RouterConfiguration.defaults.transactionalID
    /// A router transaction's events and the bytes of their keys and values at most (see `RouterConfiguration`).
    public var routerBatchSize = RouterConfiguration.defaults.batchSize
    public var routerBatchBytes = RouterConfiguration.defaults.batchBytes
    public var logLevel: Logger.Level = .info

    public init(node: String, roles: Set<Role>, kafka: KafkaSettings) {
        self.node = node
        self.roles = roles
        self.kafka = kafka
    }

    /// Reads and checks a configuration file.
    public static func load(file: String) throws -> HubConfiguration {
        let root = try ConfigurationDocument.root(file: file)
        try root.allowOnly(["node", "roles", "kafka", "store", "storePassword", "retention", "credentials", "matrix", "formats", "clocks", "console",
                            "dropDirectory", "transactionalId", "router", "http", "delivery", "logLevel"])
        let node = try root.required("node").string()
        let rolesValue = try root.required("roles")
        var roles: Set<Role> = []
        for (index, name) in try rolesValue.strings().enumerated() {
            guard let role = Role(rawValue: name) else {
                throw ConfigurationValue(node: rolesValue.node.sequence![index], key: "roles[\(index)]", file: file)
                    .error("unknown role (roles: \(Role.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            roles.insert(role)
        }
        guard !roles.isEmpty else { throw rolesValue.error("a node runs at least one role") }

        let kafkaMapping = try root.required("kafka").mapping()
        try kafkaMapping.allowOnly(["bootstrapServers", "properties", "fetchMaxWaitMs"])
        var kafka = KafkaSettings(bootstrapServers: try kafkaMapping.required("bootstrapServers").string())
        if let properties = kafkaMapping.optional("properties") {
            for (name, value) in try properties.mapping().all() {
                let text = KafkaClientSettings.isSecret(property: name) ? try value.secret() : try Self.propertyText(value)
                if let refusal = KafkaClientSettings.check(property: name, value: text) { throw value.error(refusal) }
                kafka.properties[name] = text
            }
        }
        if let wait = kafkaMapping.optional("fetchMaxWaitMs") { kafka.fetchMaxWaitMilliseconds = try wait.int(in: 1...60_000) }
        try kafkaMapping.finish()

        var configuration = HubConfiguration(node: node, roles: roles, kafka: kafka)
        let needsStore = !roles.isDisjoint(with: [.gateway, .ledger, .sla, .api])
        if let store = needsStore ? try root.required("store", because: "for the roles gateway, ledger, sla and api") : root.optional("store") {
            configuration.store = try Self.store(try store.string(), at: store)
        }
        if let password = root.optional("storePassword") {
            guard case .postgres = configuration.store else { throw password.error("only a postgres:// store takes a password") }
            configuration.storePassword = try password.secret()
        }
        if let retention = root.optional("retention") {
            let mapping = try retention.mapping()
            try mapping.allowOnly(RetentionPolicy.Kind.allCases.map(\.rawValue))
            for (name, value) in mapping.all() {
                guard let period = RetentionPolicy.Period(try value.string()) else {
                    throw value.error("expected a period in days or years: 90d, 7y")
                }
                configuration.retention.periods[RetentionPolicy.Kind(rawValue: name)!] = period
            }
            try mapping.finish()
        }
        let needsCredentials = !roles.isDisjoint(with: [.gateway, .api])
        if let credentials = needsCredentials ? try root.required("credentials", because: "for the roles gateway and api") : root.optional("credentials") {
            configuration.credentials = try credentials.path().path
        }
        if let matrix = root.optional("matrix") { configuration.matrix = try matrix.path() }
        if let formats = root.optional("formats") { configuration.formats = try formats.path() }
        if let clocks = root.optional("clocks") { configuration.clocks = try clocks.path() }
        if let console = root.optional("console") { configuration.console = try console.path() }
        if let drop = root.optional("dropDirectory") { configuration.dropDirectory = try drop.path() }
        if let id = root.optional("transactionalId") { configuration.transactionalID = try id.string() }
        if let router = root.optional("router") {
            let mapping = try router.mapping()
            try mapping.allowOnly(["batchSize", "batchBytes"])
            if let size = mapping.optional("batchSize") { configuration.routerBatchSize = try size.int(in: RouterConfiguration.batchSizeRange) }
            if let bytes = mapping.optional("batchBytes") { configuration.routerBatchBytes = try bytes.int(in: RouterConfiguration.batchBytesRange) }
            try mapping.finish()
        }

        let http = try root.required("http").mapping()
        try http.allowOnly(["listen", "drainSeconds", "idleSeconds"])
        let listen = try http.required("listen")
        (configuration.http.host, configuration.http.port) = try Self.address(try listen.string(), at: listen)
        if let drain = http.optional("drainSeconds") { configuration.http.drainSeconds = try drain.int(in: 0...300) }
        if let idle = http.optional("idleSeconds") { configuration.http.idleSeconds = try idle.int(in: 1...3600) }
        try http.finish()

        if let delivery = roles.contains(.delivery) ? try root.required("delivery", because: "for the role delivery") : root.optional("delivery") {
            let mapping = try delivery.mapping()
            try mapping.allowOnly(["transports", "retry"])
            for (organisation, value) in try mapping.required("transports").mapping().all() {
                configuration.transports[organisation] = try Self.transport(value)
            }
            if let retry = mapping.optional("retry") {
                let retryMapping = try retry.mapping()
                let initial = try retryMapping.optional("initialMs")?.int(in: 1...3_600_000) ?? 1_000
                let maximum = try retryMapping.optional("maximumMs")?.int(in: 1...86_400_000) ?? 300_000
                try retryMapping.finish()
                configuration.retry = RetryPolicy(initial: .milliseconds(initial), maximum: .milliseconds(max(initial, maximum)))
            }
            try mapping.finish()
        }
        if let level = root.optional("logLevel") {
            guard let parsed = Logger.Level(rawValue: try level.string()) else {
                throw level.error("expected one of: \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            configuration.logLevel = parsed
        }
        try root.finish()
        return configuration
    }

    /// librdkafka takes every property as text; numbers and truth values are written as YAML has them.
    private static func propertyText(_ value: ConfigurationValue) throws -> String {
        guard let scalar = value.node.scalar, value.node.resolvedTag != .null else { throw value.error("expected a value, found \(value.kind)") }
        return scalar.string
    }

    /// `host:port`, `[v6]:port` or `:port` (all interfaces).
    static func address(_ text: String, at value: ConfigurationValue) throws -> (String, Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65_535).contains(port) else {
            throw value.error("expected host:port")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "0.0.0.0" : host, port)
    }

    /// `{url: ..., bearer: {env: ...}, tls: {...}}` or `{outbox: PATH}`.
    private static func transport(_ value: ConfigurationValue) throws -> DeliveryTransport {
        let mapping = try value.mapping()
        let url = mapping.optional("url")
        let bearer = mapping.optional("bearer")
        let tls = mapping.optional("tls")
        let outbox = mapping.optional("outbox")
        try mapping.finish()
        switch (url, outbox) {
        case (let url?, nil):
            guard let parsed = URL(string: try url.string()), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil else {
                throw url.error("expected an http or https URL")
            }
            if let tls, parsed.scheme != "https" { throw tls.error("TLS settings need an https URL") }
            return .http(parsed, authorization: try bearer.map { "Bearer \(try $0.secret())" }, tls: try tls.map(deliveryTLS))
        case (nil, let outbox?):
            if let bearer { throw bearer.error("an outbox directory takes no bearer token") }
            if let tls { throw tls.error("an outbox directory takes no TLS settings") }
            return .directory(try outbox.path())
        default:
            throw value.error("a transport is exactly one of url (with an optional bearer and tls) or outbox")
        }
    }

    /// `{trustRoots: PATH, certificate: PATH, privateKey: PATH}`: the partner's roots, the hub's client
    /// certificate and its key (PEM files, read at start).
    private static func deliveryTLS(_ value: ConfigurationValue) throws -> DeliveryTLS {
        let mapping = try value.mapping()
        let settings: [DeliveryTLS.Setting: ConfigurationValue] = Dictionary(uniqueKeysWithValues: [DeliveryTLS.Setting.trustRoots, .certificate, .privateKey]
            .compactMap { setting in mapping.optional(setting.rawValue).map { (setting, $0) } })
        try mapping.finish()
        do {
            return try DeliveryTLS(trustRoots: try settings[.trustRoots]?.path(), certificate: try settings[.certificate]?.path(),
                                   privateKey: try settings[.privateKey]?.path())
        } catch let refusal as DeliveryTLS.Refusal {
            throw (refusal.setting.flatMap { settings[$0] } ?? value).error(refusal.description)
        }
    }
}

import CanonicalEvents
import Foundation
import Logging
import PartnerAdapters

/// Plays the partners' back-offices sending: each fact is rendered in its organisation's native
/// format and sent over that partner's transport: an HTTP POST with its bearer token, or a file in
/// its drop directory (written under a temporary name, then renamed). Each message waits for its
/// receipt before the next, as a back-office would, so a case's facts arrive in order. Some
/// messages are broken on purpose (seeded), to show that they are refused and the rest flows.
public struct PartnerSimulator: Sendable {
    public enum Transport: Sendable { case http, directory(URL) }

    public struct Outcome: Sendable {
        public var messages = 0
        public var accepted = 0
        public var rejected = 0
        public var acceptedEvents = 0
        /// Accepted messages whose receipt names another chain case than the timeline's.
        public var unexpectedCases = 0
    }

    let formats: PartnerFormats
    let hub: URL
    let tokens: [String: String]
    let transports: [String: Transport]
    let logger: Logger

    public init(formats: PartnerFormats, hub: URL, tokens: [String: String], transports: [String: Transport], logger: Logger) {
        self.formats = formats
        self.hub = hub
        self.tokens = tokens
        self.transports = transports
        self.logger = logger
    }

    /// Which chain case ids the simulated back-offices know: none at first. The police register a
    /// case with their own BVH number only, and the hub opens the case; every other organisation
    /// learns the chain case id from its deliveries and sends it once, beside its own reference, to
    /// join the case; afterwards it sends its reference alone.
    public struct KnownCases: Sendable {
        private var joined: Set<String> = []

        public init() {}

        /// The fact as its back-office sends it: with or without the chain case id.
        public mutating func asSent(_ fact: SimulatedFact) -> CloudEvent {
            var event = fact.event
            let key = "\(fact.organisation)\n\(event.ketencaseid)"
            if fact.organisation.hasPrefix("politie") || joined.contains(key) { event.ketencaseid = "" }
            joined.insert(key)
            return event
        }
    }

    /// The native message of each fact, in order, as its back-office sends it.
    public static func messages(_ facts: [SimulatedFact], formats: PartnerFormats) throws -> [(fact: SimulatedFact, message: String)] {
        var known = KnownCases()
        return try facts.compactMap { fact in
            guard let format = formats.format(for: fact.organisation) else { return nil }
            return (fact, try PartnerTranslator(format: format).render([known.asSent(fact)], sender: fact.organisation))
        }
    }

    public func send(_ facts: [SimulatedFact], brokenEvery: Int = 0) async throws -> Outcome {
        var outcome = Outcome()
        for (index, (fact, message)) in try Self.messages(facts, formats: formats).enumerated() {
            guard let format = formats.format(for: fact.organisation) else { continue }
            if brokenEvery > 0, index % brokenEvery == brokenEvery - 1 {
                // A message cut off half-way, as a failed upload leaves it; then the whole one.
                let broken = String(message.prefix(message.count / 2))
                let receipt = try await deliver(Array(broken.utf8), from: fact.organisation, name: "\(fact.event.id)-afgebroken", format: format)
                outcome.messages += 1
                if receipt?.status == "rejected" { outcome.rejected += 1 }
            }
            let receipt = try await deliver(Array(message.utf8), from: fact.organisation, name: fact.event.id, format: format)
            outcome.messages += 1
            switch receipt?.status {
            case "accepted":
                outcome.accepted += 1
                outcome.acceptedEvents += receipt?.events ?? 0
                if receipt?.caseIds != [fact.event.ketencaseid] {
                    // The hub gave the case another id than the simulated partners expect (an id
                    // collision it stepped past): the partners' later messages would join another case.
                    outcome.unexpectedCases += 1
                    logger.error("simulated message filed under another chain case", metadata: ["event": "\(fact.event.id)"])
                }
            case "rejected":
                outcome.rejected += 1
                logger.warning("simulated message refused", metadata: ["event": "\(fact.event.id)", "problems": "\(receipt?.problems ?? [])"])
            default:
                logger.error("simulated message not taken in", metadata: ["event": "\(fact.event.id)"])
            }
        }
        return outcome
    }

    struct ReceiptSummary: Sendable { var status: String; var events: Int; var caseIds: [String]; var problems: [String] }

    private func deliver(_ bytes: [UInt8], from organisation: String, name: String, format: PartnerFormat) async throws -> ReceiptSummary? {
        switch transports[organisation] ?? .http {
        case .http:
            let contentType = format.syntax == .json ? "application/json" : format.syntax == .xml ? "application/xml" : "text/csv"
            for attempt in 1...20 {
                if let answer = await HubCall.post(hub.appendingPathComponent("partners/\(organisation)/messages"), token: tokens[organisation] ?? "",
                                                   contentType: contentType, body: Data(bytes)), answer.status != 503 {
                    return Self.summary(answer.body)
                }
                try await Task.sleep(for: .milliseconds(100 * attempt))
            }
            return nil
        case .directory(let inbox):
            let folder = inbox.appendingPathComponent(organisation)
            let file = "\(name).\(format.syntax.rawValue)"
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try Data(bytes).write(to: folder.appendingPathComponent(file + ".part"))
            try FileManager.default.moveItem(at: folder.appendingPathComponent(file + ".part"), to: folder.appendingPathComponent(file))
            for _ in 0..<600 {
                for outcome in ["done", "rejected"] {
                    let receipt = folder.appendingPathComponent(outcome).appendingPathComponent(file + ".receipt.json")
                    if let data = try? Data(contentsOf: receipt) { return Self.summary(data) }
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            return nil
        }
    }

    static func summary(_ data: Data) -> ReceiptSummary? {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let status = object["status"] as? String else { return nil }
        let problems = (object["problems"] as? [[String: Any]] ?? []).map { "\($0["location"] ?? ""): \($0["reason"] ?? "")" }
        let events = object["events"] as? [[String: Any]] ?? []
        return ReceiptSummary(status: status, events: events.count, caseIds: events.compactMap { $0["ketencaseid"] as? String }, problems: problems)
    }
}

import Foundation
import Hummingbird
import Logging

/// The partners' back-offices, simulated: they take deliveries over HTTP (the hub POSTs to
/// `/backoffice/{organisation}/deliveries`) or from an outbox directory, keep each delivery once (by
/// its `Idempotency-Key`), and acknowledge it to the hub as processed. A back-office can be made
/// unavailable for a while (it answers 503), as partners' systems are.
public actor SimulatedBackOffices {
    public struct Received: Sendable, Equatable {
        public var organisation: String
        public var deliveryId: String
        public var eventId: String
        public var eventType: String
        public var ketencaseid: String
        public var body: String
    }

    private var received: [String: [Received]] = [:]
    private var seen: Set<String> = []
    /// The deliveries offered again after they were taken, as (organisation, delivery id), in the order offered.
    private var offeredAgain: [(organisation: String, deliveryId: String)] = []
    private var turnedAway: [String: Int] = [:]
    private var unavailableUntil: [String: ContinuousClock.Instant] = [:]
    /// Outages not begun yet: each begins with the first delivery offered.
    private var outages: [String: Duration] = [:]
    private var acknowledged: [String: Int] = [:]
    private var hub: URL
    private let tokens: [String: String]
    private let logger: Logger

    /// `hub` is the hub's HTTP address; `tokens` the organisations' bearer tokens for acknowledging.
    public init(hub: URL, tokens: [String: String], logger: Logger) {
        self.hub = hub
        self.tokens = tokens
        self.logger = logger
    }

    /// Where acknowledgements go, once the hub's address is known (a hub started after its
    /// back-offices, on a port of its own choosing).
    public func setHub(_ address: URL) { hub = address }

    public func deliveries(of organisation: String) -> [Received] { received[organisation] ?? [] }
    public var all: [String: [Received]] { received }
    /// Which deliveries were offered again after they were taken, for a test to say which.
    public var duplicates: [(organisation: String, deliveryId: String)] { offeredAgain }
    public var acknowledgements: [String: Int] { acknowledged }
    /// Deliveries answered with 503 while a back-office was unavailable, by organisation.
    public var unavailableAnswers: [String: Int] { turnedAway }

    /// The back-office of `organisation` answers 503 for `duration` from the first delivery it is
    /// offered (however long the hub takes to start routing).
    public func makeUnavailable(_ organisation: String, for duration: Duration) {
        outages[organisation] = duration
    }

    func isUnavailable(_ organisation: String) -> Bool {
        if let duration = outages.removeValue(forKey: organisation) { unavailableUntil[organisation] = .now + duration }
        guard let until = unavailableUntil[organisation], ContinuousClock.now < until else { return false }
        turnedAway[organisation, default: 0] += 1
        return true
    }

    /// Keeps a delivery once; returns whether it was new.
    func take(_ delivery: Received) -> Bool {
        guard seen.insert(delivery.organisation + "\u{0}" + delivery.deliveryId).inserted else {
            offeredAgain.append((delivery.organisation, delivery.deliveryId))
            return false
        }
        received[delivery.organisation, default: []].append(delivery)
        return true
    }

    func countAcknowledged(_ organisation: String) { acknowledged[organisation, default: 0] += 1 }

    /// Acknowledges a delivery to the hub as processed, trying again until the hub has it.
    nonisolated func acknowledge(_ delivery: Received) async {
        guard let token = tokens[delivery.organisation] else { return }
        let url = await hub.appendingPathComponent("partners/\(delivery.organisation)/acknowledgements")
        let body = (try? JSONSerialization.data(withJSONObject: ["deliveryId": delivery.deliveryId, "ketencaseid": delivery.ketencaseid,
                                                                  "status": "processed"])) ?? Data()
        for attempt in 1...20 {
            if await HubCall.post(url, token: token, contentType: "application/json", body: body)?.status == 202 {
                await countAcknowledged(delivery.organisation)
                return
            }
            try? await Task.sleep(for: .milliseconds(100 * attempt))
        }
        logger.error("acknowledgement not taken by the hub", metadata: ["delivery": "\(delivery.deliveryId)"])
    }

    /// The HTTP side: deliveries POSTed by the hub.
    public nonisolated func addRoutes(to router: Router<BasicRequestContext>) {
        router.post("backoffice/:organisation/deliveries") { request, context -> Response in
            let organisation = try context.parameters.require("organisation")
            if await self.isUnavailable(organisation) { return Response(status: .serviceUnavailable) }
            let body = try await request.body.collect(upTo: 4 * 1024 * 1024)
            let headers = request.headers
            func header(_ name: String) -> String { headers.first { $0.name.canonicalName == name.lowercased() }?.value ?? "" }
            let delivery = Received(organisation: organisation, deliveryId: header("Idempotency-Key"), eventId: header("ce-id"),
                                    eventType: header("ce-type"), ketencaseid: header("ce-ketencaseid"), body: String(buffer: body))
            if await self.take(delivery) { Task { await self.acknowledge(delivery) } }
            return Response(status: .ok)
        }
    }

    /// The directory side: takes every complete delivery in an outbox (its `.ce.json` attributes and
    /// its body), then removes both.
    public func collect(outbox: URL, organisation: String) async {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: outbox.path)) ?? []).sorted()
        for name in names where name.hasSuffix(".ce.json") {
            let attributesFile = outbox.appendingPathComponent(name)
            let stem = String(name.dropLast(".ce.json".count))
            guard let bodyName = names.first(where: { $0.hasPrefix(stem + ".") && $0 != name }),
                  let data = try? Data(contentsOf: attributesFile),
                  let attributes = try? JSONDecoder().decode([String: String].self, from: data),
                  let body = try? String(contentsOf: outbox.appendingPathComponent(bodyName), encoding: .utf8) else { continue }
            let delivery = Received(organisation: organisation, deliveryId: attributes["decisionid"] ?? attributes["id"] ?? "",
                                    eventId: attributes["id"] ?? "", eventType: attributes["type"] ?? "", ketencaseid: attributes["ketencaseid"] ?? "", body: body)
            try? FileManager.default.removeItem(at: outbox.appendingPathComponent(bodyName))
            try? FileManager.default.removeItem(at: attributesFile)
            if take(delivery) { Task { await self.acknowledge(delivery) } }
        }
    }
}

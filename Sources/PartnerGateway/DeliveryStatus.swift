/// What became of one delivery to a partner, on the delivery-status topic: the outbound side's
/// memory of what it delivered (it skips those after a restart) and, next, the ledger's input.
public struct DeliveryStatus: Codable, Sendable, Equatable {
    public enum Outcome: String, Codable, Sendable { case delivered, failed }

    /// The routing decision that permitted the delivery: the delivery's id, also towards the partner.
    public var deliveryId: String
    public var organisation: String
    public var eventId: String
    public var eventType: String
    public var ketencaseid: String
    public var outcome: Outcome
    public var attempts: Int
    public var at: String
    public var transport: String
    /// For a failure: the partner's answer.
    public var detail: String?
    /// Set on a delivery sent again on an operator's request.
    public var replayId: String?
}

/// How long to wait between attempts to deliver: doubling from `initial` up to `maximum`, with up
/// to a quarter of jitter, for as long as it takes (a partner that is down for days gets its
/// deliveries when it is back, in order).
public struct RetryPolicy: Sendable {
    public var initial: Duration
    public var maximum: Duration

    public init(initial: Duration = .seconds(1), maximum: Duration = .seconds(300)) {
        self.initial = initial
        self.maximum = maximum
    }

    public func delay(afterAttempt attempt: Int) -> Duration {
        let doubled = initial * Int(pow(2.0, Double(min(attempt - 1, 30))))
        let capped = min(doubled, maximum)
        return capped + capped * Double.random(in: 0...0.25)
    }
}

import Foundation

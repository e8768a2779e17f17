import DeliveryLedger
import HubTopology
import CanonicalEvents
import Foundation

/// Runs the SLA clocks over the ledger at a given moment: the alerts that are due then. The moment
/// is a parameter, so the clocks are tested under a clock the test controls; an alert's id depends
/// only on the clock, the fact and the severity, so evaluating again raises nothing new.
public struct SLAEvaluator: Sendable {
    public let clocks: [SLAClock]
    /// The type of each organisation (`vt-utrecht` is a `vt`, `politie-amsterdam` a `politie`), from
    /// the matrix's registry: a clock names recipient types. An organisation not listed is its own type.
    public let organisationTypes: [String: String]

    public init(clocks: [SLAClock], organisationTypes: [String: String] = [:]) {
        self.clocks = clocks
        self.organisationTypes = organisationTypes
    }

    /// The data fields the ledger must keep, per event type, for these clocks.
    public var keptFields: [String: [String]] {
        Dictionary(clocks.compactMap { clock in clock.event.map { (Self.type($0), clock.fields) } }, uniquingKeysWith: +)
    }

    /// The alerts due at `now`. The ledger is read table by table, each at most once (the events of
    /// each watched type, every delivery, the held deliveries), not once per event: a monitor that
    /// traced each past-due event every tick asked the database five statements per event of its
    /// types ever accepted, every ten seconds.
    public func alerts(at now: Date, in ledger: any LedgerStore) async throws -> [SLAAlert] {
        let reading = LedgerReading(ledger)
        var alerts: [SLAAlert] = []
        for clock in clocks { alerts += try await self.alerts(of: clock, at: now, in: reading) }
        return alerts
    }

    private func alerts(of clock: SLAClock, at now: Date, in ledger: LedgerReading) async throws -> [SLAAlert] {
        let raisedAt = HubTime.text(now)
        func alert(_ severity: SLAAlert.Severity, _ subject: String, _ caseId: String, event: String?, organisation: String?, due: Date, _ message: String) -> SLAAlert {
            SLAAlert(alertId: "\(clock.id):\(subject):\(severity.rawValue)", clock: clock.id, severity: severity, ketencaseid: caseId,
                     eventId: event, organisation: organisation, raisedAt: raisedAt, dueAt: HubTime.text(due), message: message)
        }
        switch clock.kind {
        case .acknowledgedWithin, .deliveredWithin:
            guard let event = clock.event, let minutes = clock.minutes else { return [] }
            var raised: [SLAAlert] = []
            for row in try await ledger.events(ofType: Self.type(event)) {
                guard let accepted = row.acceptedAt.flatMap(HubTime.date) else { continue }
                let due = accepted.addingTimeInterval(Double(minutes) * 60)
                guard now >= due else { continue }
                for delivery in try await ledger.deliveries(of: row) where clock.recipients?.contains(organisationType(delivery.organisation)) ?? true {
                    let done = clock.kind == .deliveredWithin ? delivery.deliveredAt : delivery.acknowledgedAt
                    if let done = done.flatMap(HubTime.date), done <= due { continue }
                    let what = clock.kind == .deliveredWithin ? "delivered to" : "acknowledged by"
                    raised.append(alert(.breach, delivery.deliveryId, row.ketencaseid, event: row.eventId, organisation: delivery.organisation, due: due,
                                        "\(event) \(row.eventId) not \(what) \(delivery.organisation) within \(minutes) minutes"))
                }
            }
            return raised
        case .followedBy:
            guard let event = clock.event, let next = clock.followedBy else { return [] }
            var raised: [SLAAlert] = []
            let nextByCase = Dictionary(grouping: try await ledger.events(ofType: Self.type(next)), by: \.ketencaseid)
            for row in try await ledger.events(ofType: Self.type(event)) {
                guard let start = HubTime.date(row.eventTime) else { continue }
                let followers = (nextByCase[row.ketencaseid] ?? []).compactMap { HubTime.date($0.eventTime) }.filter { $0 >= start }
                for (severity, minutes) in [(SLAAlert.Severity.warning, clock.warnMinutes), (.breach, clock.breachMinutes)] {
                    guard let minutes else { continue }
                    let due = start.addingTimeInterval(Double(minutes) * 60)
                    if now >= due, !followers.contains(where: { $0 <= due }) {
                        raised.append(alert(severity, row.eventId, row.ketencaseid, event: row.eventId, organisation: nil, due: due,
                                            "\(event) \(row.eventId): no \(next) within \(minutes / 60) hours"))
                    }
                }
            }
            return raised
        case .dateApproaching:
            guard let event = clock.event, let field = clock.dateField, let days = clock.daysBefore else { return [] }
            // Only the latest version of each order counts: an extension moves its date.
            let rows = try await ledger.events(ofType: Self.type(event))
            let latest = Dictionary(grouping: rows) { $0.fields[clock.keyField ?? ""] ?? $0.eventId }
                .compactMap { $0.value.max { $0.eventTime < $1.eventTime } }
            return latest.compactMap { row in
                guard let end = row.fields[field].flatMap(HubTime.day), !(clock.endedValues ?? []).contains(row.fields[clock.endedField ?? ""] ?? "") else { return nil }
                let due = end.addingTimeInterval(-Double(days) * 86_400)
                guard now >= due, now < end.addingTimeInterval(86_400) else { return nil }
                return alert(.warning, row.fields[clock.keyField ?? ""] ?? row.eventId, row.ketencaseid, event: row.eventId, organisation: clock.notify,
                             due: due, "\(event) \(row.fields[clock.keyField ?? ""] ?? row.eventId) ends on \(row.fields[field]!)")
            }
        case .deliveredBefore:
            guard let event = clock.event, let field = clock.dateField else { return [] }
            var raised: [SLAAlert] = []
            for row in try await ledger.events(ofType: Self.type(event)) {
                guard let due = row.fields[field].flatMap(HubTime.date) else { continue }
                for delivery in try await ledger.deliveries(of: row) where clock.recipients?.contains(organisationType(delivery.organisation)) ?? true {
                    let delivered = delivery.deliveredAt.flatMap(HubTime.date)
                    guard delivered.map({ $0 > due }) ?? (now > due) else { continue }
                    let late = delivered == nil ? "not delivered to \(delivery.organisation) by then" : "delivered to \(delivery.organisation) only after it"
                    raised.append(alert(.breach, delivery.deliveryId, row.ketencaseid, event: row.eventId, organisation: delivery.organisation, due: due,
                                        "\(event) \(row.eventId) takes effect at \(HubTime.text(due)) and was \(late)"))
                }
            }
            return raised
        case .held:
            var raised: [SLAAlert] = []
            for held in try await ledger.unreleasedHolds() {
                guard let since = HubTime.date(held.decidedAt) else { continue }
                let waits = held.waitsFor.isEmpty ? "" : " (\(held.waitsFor.joined(separator: ", ")))"
                for (severity, minutes) in [(SLAAlert.Severity.warning, clock.warnMinutes ?? 0), (.breach, clock.breachMinutes)] {
                    guard let minutes else { continue }
                    let due = since.addingTimeInterval(Double(minutes) * 60)
                    guard now >= due else { continue }
                    raised.append(alert(severity, held.decisionId, held.ketencaseid, event: held.eventId,
                                        organisation: held.waitsFor.contains("region") ? nil : held.recipient, due: due,
                                        "\(held.eventType.split(separator: ".").dropFirst(2).first ?? "event") \(held.eventId) is held for \(held.recipient) until a partner states what its case does not know\(waits)"))
                }
            }
            return raised
        case .unacknowledged:
            guard let minutes = clock.minutes else { return [] }
            return try await ledger.deliveries().filter { $0.state == .delivered }.compactMap { delivery in
                guard let delivered = delivery.deliveredAt.flatMap(HubTime.date) else { return nil }
                let due = delivered.addingTimeInterval(Double(minutes) * 60)
                guard now >= due else { return nil }
                return alert(.escalation, delivery.deliveryId, delivery.ketencaseid ?? "", event: delivery.eventId, organisation: delivery.organisation,
                             due: due, "delivery \(delivery.deliveryId) to \(delivery.organisation) not acknowledged within \(minutes / 60) hours")
            }
        }
    }

    static func type(_ event: String) -> String { "nl.ketenhub.\(event).v1" }

    func organisationType(_ organisation: String) -> String { organisationTypes[organisation] ?? organisation }
}

/// The ledger as one evaluation reads it: each table at most once, kept for the evaluation's other
/// clocks. Used by one task at a time (an evaluation), so its memo needs no lock.
private final class LedgerReading {
    private let ledger: any LedgerStore
    private var eventsByType: [String: [EventRow]] = [:]
    private var allDeliveries: [DeliveryRow]?
    private var deliveriesByEvent: [EventKey: [DeliveryRow]]?

    private struct EventKey: Hashable {
        var source: String
        var eventId: String
    }

    init(_ ledger: any LedgerStore) { self.ledger = ledger }

    /// The events of `type`, in the order they were accepted.
    func events(ofType type: String) async throws -> [EventRow] {
        if let events = eventsByType[type] { return events }
        let events = try await ledger.events(ofType: type)
        eventsByType[type] = events
        return events
    }

    /// Every delivery, by organisation and delivery id.
    func deliveries() async throws -> [DeliveryRow] {
        if let allDeliveries { return allDeliveries }
        let deliveries = try await ledger.deliveries(organisation: nil, state: nil)
        allDeliveries = deliveries
        return deliveries
    }

    /// The deliveries of one event, by organisation and delivery id (as its trace lists them).
    func deliveries(of event: EventRow) async throws -> [DeliveryRow] {
        if deliveriesByEvent == nil {
            // A delivery whose event is not known yet is filed under no event's key (an event's source is never empty).
            deliveriesByEvent = Dictionary(grouping: try await deliveries()) { EventKey(source: $0.eventSource ?? "", eventId: $0.eventId ?? "") }
        }
        return deliveriesByEvent?[EventKey(source: event.source, eventId: event.eventId)] ?? []
    }

    func unreleasedHolds() async throws -> [HeldDelivery] { try await ledger.unreleasedHolds() }
}

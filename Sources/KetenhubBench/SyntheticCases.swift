import CanonicalEvents
import Foundation

/// Canonical events of made-up chain cases, built from the Swift model: for benchmarks and the demo's
/// load, without files. Each case has its own persons, so cases never influence each other.
public struct SyntheticCases: Sendable {
    /// Tells sets of cases apart: cases and persons of different seeds never share an id.
    public var seed: UInt64

    public init(seed: UInt64 = 1) { self.seed = seed }

    /// Where the cases are: Amsterdam, Rotterdam and Utrecht, in turn.
    public static let municipalities = ["GM0363", "GM0599", "GM0344"]

    /// The events of case `number`, in publication order: melding, arrest, the victim's wish, a
    /// gedragsaanwijzing, and a release, on 2026-11-20. `round` > 0 gives the case's facts again as new
    /// facts (ids of their own), on 2025-01-01 plus `daysApart` days per round: a case's history
    /// growing, in the past (a router's deduplication horizon counts back from the newest day it
    /// routed, and does not count days after tomorrow).
    public func events(case number: Int, round: Int = 0, daysApart: Int = 10) -> [CloudEvent] {
        let letter = Character(Unicode.Scalar(UInt8(65 + seed % 26)))
        let caseId = "KZ-2026-\(letter)" + String(format: "%05d", number % 100_000)
        let victim = "psn:" + String(format: "%08x%024x", seed, number * 2 + 1)
        let suspect = "psn:" + String(format: "%08x%024x", seed, number * 2 + 2)
        let time = round == 0 ? "2026-11-20T10:00:00Z"
            : HubTime.text(Date(timeIntervalSince1970: 1_735_725_600 + Double(round * daysApart) * 86_400))  // 2025-01-01T10:00Z onwards
        let round = round == 0 ? "" : "-r\(round)"
        let municipality = Self.municipalities[number % Self.municipalities.count]
        let contact = ContactPerson(organisation: "om", name: "mr. S. Bakker", function: "zaaksofficier")
        let conditions = [Condition(type: .contactverbod, description: "Geen contact met het slachtoffer.", protectedPersons: [victim]),
                          Condition(type: .gebiedsverbod, description: "Niet in de wijk van het slachtoffer.", protectedPersons: [victim],
                                    area: Area(description: "Wijk van het slachtoffer", municipalityCodes: [municipality]))]
        func event<Data: CanonicalEventData>(_ source: String, _ suffix: String, _ data: Data) -> CloudEvent {
            try! CloudEvent(id: "\(caseId)-\(suffix)\(round)", source: "urn:ketenhub:\(source)", time: time, ketencaseid: caseId, data: data)
        }
        return [
            event("politie", "vtm", VTMelding(meldingId: "VTM-\(number)", registeredAt: time, municipalityCode: municipality,
                                              concerns: [.huiselijkGeweld, .stalking],
                                              persons: [Person(id: victim, role: .slachtoffer), Person(id: suspect, role: .verdachte, minor: false)])),
            event("politie", "aanh", Aanhouding(arrestId: "AANH-\(number)", arrestedAt: time, suspect: suspect, suspectMinor: number % 10 == 0,
                                                childrenInvolved: number % 4 == 0, municipalityCode: municipality, offence: .belaging)),
            event("shn", "iw", Informatiewens(wishId: "IW-\(number)", victim: victim, status: .gegeven, recordedAt: time,
                                              topics: ["gedragsaanwijzing", "invrijheidstelling"], consentToShare: number % 2 == 0)),
            event("om", "ga", Gedragsaanwijzing(orderId: "GA-\(number)", action: .opgelegd, version: 1, suspect: suspect, protectedPersons: [victim],
                                                conditions: conditions, startDate: "2026-11-20", endDate: "2027-02-17", contactPerson: contact)),
            event("om", "ivs", Invrijheidstelling(releaseId: "IVS-\(number)", releaseAt: time, suspect: suspect, kind: .schorsing,
                                                  facility: "PI Amsterdam", conditions: conditions, contactPerson: contact)),
        ]
    }
}

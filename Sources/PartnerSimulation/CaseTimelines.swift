import CanonicalEvents
import Foundation
import SharingPolicy

/// One fact a partner's back-office records, in canonical form, with the organisation that records it.
public struct SimulatedFact: Sendable {
    public var organisation: String
    public var event: CloudEvent
}

/// Made-up but realistic case timelines (`../shared/domain.md` §3, §5): a melding and the VT-melding,
/// SASH screening, arrest, the veiligheidsbeoordeling within the ZSM window, the ZSM decision, the
/// victim's wish (consent given, sometimes withdrawn later), a gedragsaanwijzing, a breach, a
/// schorsing, advice and supervision by the reclassering (the RvdK instead for a minor suspect),
/// the verdict and the release. Cases are spread over six municipalities in six police units; the
/// regional partners of a case (police unit, parket, Veilig Thuis, RvdK region) are the ones the
/// registry's municipality table names for it. Every organisation has its own reference for a case;
/// the chain case id is the one the hub opens from the police's BVH number. Ids come from the seed.
public struct CaseTimelines: Sendable {
    public let seed: UInt64
    /// Per municipality, its organisation of each regional type.
    let regions: [(municipality: String, organisations: [String: String])]

    /// Amsterdam, Rotterdam, Utrecht, Groningen, Tilburg, Maastricht.
    public static let municipalities = ["GM0363", "GM0599", "GM0344", "GM0014", "GM0855", "GM0935"]

    public init(seed: UInt64, registry: OrganisationRegistry) {
        self.seed = seed
        regions = Self.municipalities.map { municipality in
            (municipality, Dictionary(uniqueKeysWithValues: registry.types.filter(\.regional).compactMap { type in
                registry.municipalities.organisation(ofType: type.type, servingMunicipality: municipality).map { (type.type, $0) }
            }))
        }
    }

    /// Every organisation the simulated cases can involve: the regional organisations of their six
    /// municipalities, and every organisation of a type without regions or a national point (a
    /// code that is its own type: `3ro`, `shn`, `politie`, `om`, `rvdk`).
    public func organisations(registry: OrganisationRegistry) -> Set<String> {
        Set(regions.flatMap(\.organisations.values)).union(registry.organisations.map(\.code).filter { registry.type(of: $0) == $0 })
    }

    /// The facts of cases 1...count, case after case, each case's facts in time order; none for 0.
    public func facts(cases count: Int) -> [SimulatedFact] {
        count > 0 ? (1...count).flatMap { facts(case: $0) } : []
    }

    /// Every `suspectSharedEvery`-th case has the suspect of the case before it (the hub links the two
    /// at once), every `victimSharedEvery`-th the victim of the case before it (a link for two operators).
    public static let suspectSharedEvery = 4, victimSharedEvery = 5

    /// A case's own persons, from its seed: its victim, suspect and child.
    func persons(case number: Int) -> (victim: String, suspect: String, child: String) {
        var random = generator(case: number)
        return Self.persons(&random)
    }

    private func generator(case number: Int) -> SeededGenerator { SeededGenerator(seed: seed &* 1_000_003 &+ UInt64(number)) }

    private static func persons(_ random: inout SeededGenerator) -> (victim: String, suspect: String, child: String) {
        func person() -> String { "psn:" + (0..<4).map { _ in String(format: "%08x", UInt32.random(in: 0...UInt32.max, using: &random)) }.joined() }
        return (person(), person(), person())
    }

    /// Each organisation's own reference for a case, in its own scheme (none of them knows the chain case id).
    static func reference(of organisation: String, tag: String) -> String {
        let scheme = ["politie": "BVH-2026-", "om": "13-", "vt": "VTD-2026-", "3ro": "3RO-", "rvdk": "RVDK-2026-", "shn": "SHN-"]
        let type = organisation.split(separator: "-").first.map(String.init) ?? organisation
        return (scheme[type] ?? "REF-") + tag
    }

    public func facts(case number: Int) -> [SimulatedFact] {
        var random = generator(case: number)
        let tag = String(format: "%02X%04X", Int(seed % 256), number % 65_536)
        var (victim, suspect, child) = Self.persons(&random)
        if number > 1, number % Self.suspectSharedEvery == 0 { suspect = persons(case: number - 1).suspect }
        if number > 1, number % Self.victimSharedEvery == 0 { victim = persons(case: number - 1).victim }
        let (municipality, regional) = regions[Int.random(in: 0..<regions.count, using: &random)]
        // The case's own organisations: its region's, or the national one of a type the table leaves out.
        let politie = regional["politie"] ?? "politie", om = regional["om"] ?? "om", rvdk = regional["rvdk"] ?? "rvdk"
        let vt = regional["vt"] ?? "vt"
        // The police register the case with their BVH number, and the hub opens it under the id it
        // derives from that reference (`ChainCaseId.opened`): the id the other partners learn from their deliveries.
        let minor = random.chance(0.15)
        let children = random.chance(0.5)
        let consent = random.chance(0.7)
        let withdraws = consent && random.chance(0.25)
        var clock = Date(timeIntervalSince1970: 1_795_000_000 + Double(number) * 86_400)  // from November 2026, a case a day
        // The police register the case with their BVH number, and the hub opens it under the id it
        // derives from that reference and the year (`ChainCaseId.opened`): the id the other partners
        // learn from their deliveries.
        let bvh = Self.reference(of: politie, tag: tag)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let caseId = ChainCaseId.opened(by: politie, reference: bvh, year: calendar.component(.year, from: clock))
        func at(_ hours: Double) -> String {
            clock.addTimeInterval(hours * 3600)
            return ISO8601DateFormatter().string(from: clock)
        }
        func day(_ offsetDays: Double) -> String {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withFullDate]
            return formatter.string(from: clock.addingTimeInterval(offsetDays * 86_400))
        }
        var facts: [SimulatedFact] = []
        var sequence = 0
        func add<Data: CanonicalEventData>(_ organisation: String, _ time: String, _ data: Data) {
            sequence += 1
            let event = try! CloudEvent(id: "SIM-\(tag)-\(String(format: "%02d", sequence))", source: "urn:ketenhub:\(organisation)", time: time,
                                        ketencaseid: caseId, data: data, partnerref: Self.reference(of: organisation, tag: tag))
            facts.append(SimulatedFact(organisation: organisation, event: event))
        }
        let persons = [Person(id: victim, role: .slachtoffer, municipalityCode: municipality), Person(id: suspect, role: .verdachte, minor: minor)]
            + (children ? [Person(id: child, role: .kind, minor: true)] : [])
        let suspectConsents = random.chance(0.5)
        let politieContact = ContactPerson(organisation: "politie", name: "R. de Vries", function: "casusregisseur")
        let omContact = ContactPerson(organisation: "om", name: "mr. S. Bakker", function: "zaaksofficier")
        var ban = Condition(type: .contactverbod, description: "Geen contact met het slachtoffer.", protectedPersons: [victim])
        ban.binds = "verdachte"
        let area = Condition(type: .gebiedsverbod, description: "Niet in de wijk van het slachtoffer.", protectedPersons: [victim],
                             area: Area(description: "Wijk van het slachtoffer", municipalityCodes: [municipality]))

        add(politie, at(0), Melding(registrationId: "REG-\(tag)", kind: .aangifte, offence: .belaging, offenceCode: "285b",
                                      reportedAt: at(0), complaintFiled: true, victimReferral: random.chance(0.6), persons: persons,
                                      contactPerson: politieContact))
        add(politie, at(0.5), VTMelding(meldingId: "VTM-\(tag)", registeredAt: at(0), municipalityCode: municipality,
                                          concerns: [.huiselijkGeweld, .stalking], persons: persons, childrenPresent: children,
                                          contactPerson: politieContact))
        add(politie, at(1), SASHScreening(screeningId: "SASH-\(tag)", revision: 1, riskLevel: random.chance(0.5) ? .hoog : .midden,
                                            screenedAt: at(0), persons: persons, contactPerson: politieContact))
        add(politie, at(2), Aanhouding(arrestId: "AH-\(tag)", arrestedAt: at(0), suspect: suspect, suspectMinor: minor,
                                         childrenInvolved: children, municipalityCode: municipality, offence: .belaging,
                                         contactPerson: politieContact))
        // Within the ZSM window: VT's assessment, then the OM's decision.
        add(vt, at(Double.random(in: 2...5, using: &random)), Veiligheidsbeoordeling(
            assessmentId: "VB-\(tag)", version: 1, assessedAt: at(0), outcome: .onveilig, veiligheidsvoorwaarden: [ban],
            contactPerson: ContactPerson(organisation: vt, name: "M. El Amrani", function: "casusregisseur")))
        add(vt, at(1), Terugkoppeling(feedbackId: "TK-\(tag)", meldingId: "VTM-\(tag)", kind: .triage, recordedAt: at(0),
                                      outcome: "veiligheidsbeoordeling", contactPerson: ContactPerson(organisation: vt, name: "M. El Amrani", function: "casusregisseur")))
        add("shn", at(0.5), Informatiewens(wishId: "IW-\(tag)", victim: victim, status: .gegeven, recordedAt: at(0),
                                           topics: ["gedragsaanwijzing", "invrijheidstelling", "vonnis"], consentToShare: consent,
                                           contactPerson: ContactPerson(organisation: "shn", name: "J. Visser", function: "casemanager")))
        add(om, at(1), ZSMBeslissing(decisionId: "ZSM-\(tag)", decidedAt: at(0), custody: .heenzenden, outcome: .dagvaarding,
                                       plannedHearingDate: day(60), conditions: [ban], contactPerson: omContact))
        add(om, at(0.5), Gedragsaanwijzing(orderId: "GA-\(tag)", action: .opgelegd, version: 1, suspect: suspect, protectedPersons: [victim],
                                             conditions: [ban, area], startDate: day(0), endDate: day(90), contactPerson: omContact))
        if minor {
            add(rvdk, at(24), Raadsonderzoek(investigationId: "RO-\(tag)", startedOn: day(0), kind: .strafonderzoek, children: [suspect],
                                               contactPerson: ContactPerson(organisation: "rvdk", name: "T. Mulder", function: "raadsonderzoeker")))
        } else {
            let reclassering = ContactPerson(organisation: "3ro", name: "R. Bos", function: "reclasseringswerker")
            if suspectConsents {
                // The suspect's written consent to share the advice with Veilig Thuis, recorded before it (004:4461-4469).
                add("3ro", at(12), Toestemming(consentId: "TST-\(tag)", person: suspect, role: .verdachte, status: .gegeven,
                                                scope: [.init(event: "reclasseringsadvies", recipient: "vt")], recordedAt: at(0),
                                                form: .schriftelijk, contactPerson: reclassering))
            }
            add("3ro", at(12), Reclasseringsadvies(adviceId: "ADV-\(tag)", deliveredAt: at(0), suspect: suspect, adviceKind: .vroeghulp,
                                                   riskAssessment: .init(instrument: "B-SAFER", level: .hoog), recommendation: "Contactverbod en toezicht.",
                                                   suspectConsentToShare: suspectConsents,
                                                   contactPerson: reclassering))
            if suspectConsents && random.chance(0.3) {
                add("3ro", at(48), Toestemming(consentId: "TST-\(tag)-2", person: suspect, role: .verdachte, status: .ingetrokken,
                                                recordedAt: at(0), form: .mondeling, contactPerson: reclassering))
            }
        }
        if random.chance(0.4) {
            add(politie, at(72), OvertredingVoorwaarde(breachId: "OVT-\(tag)", observedAt: at(0), suspect: suspect,
                                                         breachedCondition: .init(conditionType: .contactverbod, imposedBy: "gedragsaanwijzing", orderReference: "GA-\(tag)"),
                                                         description: "Verdachte belde het slachtoffer.", municipalityCode: municipality, arrested: true,
                                                         contactPerson: politieContact))
        }
        if withdraws {
            add("shn", at(24), Informatiewens(wishId: "IW-\(tag)", victim: victim, status: .ingetrokken, recordedAt: at(0), consentToShare: false,
                                              contactPerson: ContactPerson(organisation: "shn", name: "J. Visser", function: "casemanager")))
        }
        add(om, at(24 * 50), Vonnis(verdictId: "VON-\(tag)", pronouncedOn: day(0), court: "Rechtbank", suspect: suspect, outcome: .veroordeling,
                                      sentence: .init(kind: "gevangenisstraf", unconditionalDays: 60), bijzondereVoorwaarden: [ban],
                                      contactPerson: omContact))
        add(om, at(24 * 60), Invrijheidstelling(releaseId: "IVS-\(tag)", releaseAt: at(0), suspect: suspect, kind: .eindeDetentie,
                                                   facility: "PI", conditions: [ban], contactPerson: omContact))
        return facts
    }
}

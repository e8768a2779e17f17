import CanonicalEvents
import SharingPolicy
import Testing

/// Every regional type is resolved by one code path from the case's municipality
/// (`Contracts/matrix/municipalities.yaml`): Veilig Thuis, the police unit, the parket and the
/// RvdK's region; a case without a known region goes to the type's fallback, or waits.
@Suite("Regional routing")
struct RegionalRoutingTests {
    typealias F = Fixtures
    static let registry = F.matrix.organisations
    static let table = registry.municipalities

    /// One municipality per Veilig Thuis organisation, drawn from the table: the first by CBS code.
    static let municipalityPerVT: [(vt: String, municipality: String)] = registry.organisations.filter { $0.type == "vt" }.map { vt in
        (vt.code, table.municipalities.keys.sorted().first { table.organisation(ofType: "vt", servingMunicipality: $0) == vt.code }!)
    }

    /// An adult's arrest with children in the family (to the OM, VT, the reclassering and the RvdK),
    /// then a gedragsaanwijzing (to the police), in a case at `municipality`.
    static func route(in municipality: String) throws -> (arrest: RoutingStep, order: RoutingStep) {
        let timeline = Timeline()
        let caseId = "KZ-2026-RG" + municipality.dropFirst(2)
        let arrest = try #require(timeline.route(F.event("aanhouding/valid/na-overtreding", case: caseId) { $0["municipalityCode"] = .string(municipality) }))
        let order = try #require(timeline.route(F.event("gedragsaanwijzing/valid/opgelegd", case: caseId)))
        return (arrest, order)
    }

    @Test("the table maps all 342 municipalities of the 2023 layout to 25 regions, every one to an organisation of each regional type")
    func table() {
        #expect(Self.table.municipalities.count == 342)
        #expect(Self.table.regions.count == 25)
        #expect(Self.table.confirmed == false, "configuration a privacy officer or operator confirms")
        for type in Self.registry.types where type.regional {
            let served = Set(Self.table.municipalities.keys.compactMap { Self.table.organisation(ofType: type.type, servingMunicipality: $0) })
            let registered = Set(Self.registry.organisations.filter { $0.type == type.type }.map(\.code))
            // Every regional organisation serves somewhere; the national one is the fallback only.
            #expect(served == registered.subtracting([type.type]), "\(type.type)")
        }
        #expect(Self.municipalityPerVT.count == 25)
    }

    @Test("a case in each Veilig Thuis region reaches that region's VT, police unit, parket and RvdK region", arguments: municipalityPerVT.indices)
    func eachRegion(_ index: Int) throws {
        let (vt, municipality) = Self.municipalityPerVT[index]
        let (arrest, order) = try Self.route(in: municipality)
        let expected = { (type: String) in Self.table.organisation(ofType: type, servingMunicipality: municipality)! }
        #expect(arrest.recipients == [expected("om"), vt, "3ro", expected("rvdk")], "\(municipality)")
        #expect(arrest.decision(for: vt)?.region?.hasPrefix("\(municipality), from the household's address the arrest concerns") == true)
        #expect(order.recipients.contains(expected("politie")))
        #expect(order.decision(for: expected("politie"))?.ruleId == "GA-POL")
    }

    @Test("across the 25 regions every police unit, parket and RvdK region is reached, as the table has them")
    func everyUnitAndParket() throws {
        var reached: [String: Set<String>] = [:]
        for (_, municipality) in Self.municipalityPerVT {
            let (arrest, order) = try Self.route(in: municipality)
            for recipient in arrest.recipients.union(order.recipients) {
                reached[Self.registry.type(of: recipient)!, default: []].insert(recipient)
            }
        }
        for type in ["politie", "om", "rvdk", "vt"] {
            let regional = Set(Self.registry.organisations.filter { $0.type == type && $0.code != type }.map(\.code))
            #expect(reached[type] == regional, "\(type)")
        }
        #expect(reached["politie"]?.count == 10 && reached["om"]?.count == 10 && reached["vt"]?.count == 25)
        // Facts anyone can check: Amsterdam, Groningen, Maastricht, 's-Gravenhage.
        let known: [(String, [String])] = [
            ("GM0363", ["politie-amsterdam", "om-amsterdam", "vt-amsterdam-amstelland"]),
            ("GM0014", ["politie-noord-nederland", "om-noord-nederland", "vt-groningen"]),
            ("GM0935", ["politie-limburg", "om-limburg", "vt-zuid-limburg"]),
            ("GM0518", ["politie-den-haag", "om-den-haag", "vt-haaglanden"]),
        ]
        for (municipality, organisations) in known {
            #expect(["politie", "om", "vt"].map { Self.table.organisation(ofType: $0, servingMunicipality: municipality) } == organisations)
        }
    }

    @Test("without a known municipality the police, OM and RvdK take the case at their national point; Veilig Thuis waits")
    func withoutRegion() throws {
        let timeline = Timeline()
        let arrest = try #require(timeline.route(F.event("aanhouding/valid/na-overtreding", case: "KZ-2026-RG0000") { $0["municipalityCode"] = .string("GM9999") }))
        #expect(arrest.recipients == ["om", "3ro", "rvdk"])
        #expect(arrest.held == ["vt"])
        #expect(arrest.decision(for: "om")?.region == "no partner stated the case's municipality: om takes cases without a region")
        let order = try #require(timeline.route(F.event("gedragsaanwijzing/valid/opgelegd", case: "KZ-2026-RG0000")))
        #expect(order.recipients.contains("politie"))
        // An event of the OM never goes to one of its parketten: one organisation, one system.
        #expect(order.decisions.allSatisfy { Self.registry.type(of: $0.recipient) != "om" })
    }

    @Test("a rule whose recipient type has no organisation for the case's municipality is denied with that reason")
    func noOrganisationForMunicipality() throws {
        var matrix = F.matrix
        var table = matrix.organisations.municipalities
        table.regions["amsterdam-amstelland"]?.organisations["rvdk"] = nil
        matrix.organisations = OrganisationRegistry(types: matrix.organisations.types, organisations: matrix.organisations.organisations,
                                                    municipalities: table)
        let timeline = Timeline(evaluator: PolicyEvaluator(matrix: matrix))
        let arrest = try #require(timeline.route(F.event("aanhouding/valid/na-overtreding", case: "KZ-2026-RG0363")))
        let rvdk = try #require(arrest.decision(for: "rvdk"))
        #expect(rvdk.outcome == .deny)
        #expect(rvdk.reason == "no Raad voor de Kinderbescherming organisation serves municipality GM0363")
        #expect(arrest.recipients == ["om-amsterdam", "vt-amsterdam-amstelland", "3ro"])
    }
}

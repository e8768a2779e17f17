import Foundation
import KetenhubTestSupport
import SharingPolicy
import Testing

/// Each invariant a privacy officer states (`Contracts/matrix/invariants.yaml`) holds on the shipped
/// matrix and fails on a copy broken on purpose in the way it forbids.
@Suite("Matrix invariants")
struct InvariantTests {
    /// How a file of the copy is broken.
    enum Edit: Sendable {
        case appending(String)
        case replacing(String, with: String)

        func apply(to text: String) -> String {
            switch self {
            case .appending(let rule): return text + rule
            case .replacing(let old, let new):
                precondition(text.components(separatedBy: old).count == 2, "'\(old)' is not in the file exactly once")
                return text.replacingOccurrences(of: old, with: new)
            }
        }
    }

    /// A copy of the shipped matrix with one file edited.
    static func broken(_ file: String, _ edit: Edit) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("matrix"))
        try FileManager.default.copyItem(at: Fixtures.matrixDirectory, to: directory)
        let url = directory.appendingPathComponent(file)
        try edit.apply(to: try String(contentsOf: url, encoding: .utf8)).write(to: url, atomically: true, encoding: .utf8)
        return directory
    }

    static let breakages: [(invariant: String, file: String, edit: Edit)] = [
        ("MINDERJARIG-NIET-3RO", MatrixLoader.matrixFile, .appending("""
          - {id: X-3RO, events: [vonnis], producers: [om], recipient: 3ro, purpose: toezicht-reclassering, legalBasis: wjsg-reclassering,
             disclosure: dat, fields: [/data/verdictId]}

        """)),
        ("SHN-ALLEEN-MET-WENS-VAN-HET-SLACHTOFFER", MatrixLoader.matrixFile, .appending("""
          - {id: X-SHN, events: [gedragsaanwijzing], producers: [om], recipient: shn, purpose: informeren-slachtoffer,
             legalBasis: sv-51ab-slachtoffer, disclosure: dat, fields: [/data/orderId]}

        """)),
        ("POLITIE-BESCHERMEND", MatrixLoader.matrixFile, .replacing("""
          - id: IVS-POL
            events: [invrijheidstelling]
        """, with: """
          - id: IVS-POL
            events: [vonnis]
        """)),
        ("POLITIE-BESCHERMEND", MatrixLoader.matrixFile, .replacing("""
            legalBasis: wjsg-politie
            disclosure: voorwaarden
            fields: *schorsing
        """, with: """
            legalBasis: wjsg-politie
            disclosure: voorwaarden
            fields: *schorsing
            when: {consent: victim-informed}
        """)),
        ("VT-BESCHERMEND", "regions/amsterdam-amstelland.yaml", .appending("""
          - id: AA-GA-VT
            events: [gedragsaanwijzing]
            producers: [om]
            recipient: vt
            purpose: bescherming-slachtoffer
            legalBasis: wjsg-veilig-thuis
            disclosure: dat
            fields: [/data/orderId, /data/startDate, /data/endDate, /data/contactPerson]
            justification: "A region that would rather not know the conditions."

        """)),
        ("ADVIES-INHOUD-VT-MET-TOESTEMMING", MatrixLoader.matrixFile, .replacing(
            "    when: {consent: suspect-share}", with: "    when: {event: {/data/suspectConsentToShare: true}}")),
        ("GEEN-BEHANDELING-NAAR-SHN", MatrixLoader.matrixFile, .replacing("""
        gedragsaanwijzingVictim: &ga-victim [/data/orderId, /data/action, /data/protectedPersons, "/data/conditions[type=contactverbod|locatieverbod|gebiedsverbod|enkelband]",
        """, with: """
        gedragsaanwijzingVictim: &ga-victim [/data/orderId, /data/action, /data/protectedPersons, "/data/conditions[type=contactverbod|behandelverplichting]",
        """)),
        ("DISCLOSURE-LABELS", MatrixLoader.matrixFile, .replacing(
            "    fields: [/data/registrationId, /data/kind, /data/reportedAt, /data/contactPerson]",
            with: "    fields: [/data/registrationId, /data/kind, /data/offence, /data/reportedAt, /data/contactPerson]")),
        ("OVERTREDING-NAAR-OM", MatrixLoader.matrixFile, .replacing(
            "    legalBasis: {politie: wpg-om, 3ro: reclassering-om}", with: "    legalBasis: {politie: wpg-om, 3ro: reclassering-om}\n    validUntil: 2027-12-31")),
        ("OVERTREDING-NAAR-TOEZICHT", MatrixLoader.matrixFile, .replacing(
            "    fields: *breach\n    when: {case: {suspectMinor: false}}", with: "    fields: *breach\n    when: {case: {suspectMinor: false}, consent: victim-informed}")),
        ("OVERTREDING-NAAR-RAAD", MatrixLoader.matrixFile, .replacing(
            "    fields: *breach\n    when: {case: {suspectMinor: true}}", with: "    fields: *breach\n    when: {case: {suspectMinor: true}, consent: victim-informed}")),
    ]

    @Test("every invariant holds on the shipped matrix, and every invariant of the review is shipped")
    func shipped() throws {
        let matrix = Fixtures.matrix
        #expect(matrix.checkInvariantsAndScenarios() == [])
        #expect(Set(matrix.invariants.map(\.id)) == Set(Self.breakages.map(\.invariant)))
    }

    @Test("each invariant fails on a copy broken the way it forbids, naming itself", arguments: 0..<breakages.count)
    func broken(_ index: Int) throws {
        let (invariant, file, edit) = Self.breakages[index]
        let directory = try Self.broken(file, edit)
        let findings = try MatrixLoader.lint(MatrixBundle(directory: directory))
        let breaches = findings.filter { $0.message.contains("invariant \(invariant) ") || $0.message.hasPrefix("invariant \(invariant):") }
        #expect(!breaches.isEmpty, "\(invariant): \(findings)")
        // The version cannot be used.
        #expect(throws: MatrixError.self) { try MatrixLoader.loadValid(directory: directory) }
    }
}

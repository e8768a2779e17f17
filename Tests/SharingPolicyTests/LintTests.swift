import CanonicalEvents
import Foundation
import KetenhubTestSupport
import SharingPolicy
import Testing

/// Each kind of broken rule is rejected, naming its file, line and rule.
@Suite("Matrix lint")
struct LintTests {
    /// A copy of the shipped matrix with `rule` appended to the baseline (or to a regional file);
    /// returns the directory and the line the appended rule starts on.
    static func matrix(appending rule: String, to file: String = MatrixLoader.matrixFile) throws -> (URL, Int) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("matrix"))
        try FileManager.default.copyItem(at: Fixtures.matrixDirectory, to: directory)
        let url = directory.appendingPathComponent(file)
        var text = try String(contentsOf: url, encoding: .utf8)
        if !text.hasSuffix("\n") { text += "\n" }
        let line = text.split(separator: "\n", omittingEmptySubsequences: false).count
        try (text + rule).write(to: url, atomically: true, encoding: .utf8)
        return (directory, line)
    }

    static func findings(_ directory: URL) throws -> [LintFinding] {
        let loaded = try MatrixLoader.load(directory: directory)
        return (loaded.findings + MatrixLinter().lint(loaded.matrix)).sorted()
    }

    static func rule(id: String, events: String = "[gedragsaanwijzing]", recipient: String = "politie", purpose: String = "handhaving",
                     legalBasis: String = "wjsg-politie", disclosure: String = "voorwaarden", fields: String = "[/data/orderId]", extra: String = "") -> String {
        """
          - id: \(id)
            events: \(events)
            producers: [om]
            recipient: \(recipient)
            purpose: \(purpose)
            legalBasis: \(legalBasis)
            disclosure: \(disclosure)
            fields: \(fields)
        \(extra)
        """
    }

    @Test("the shipped matrix is clean")
    func shippedMatrixIsClean() throws {
        #expect(try Self.findings(Fixtures.matrixDirectory) == [])
    }

    @Test("each kind of broken rule is reported with file, line, rule and reason",
          arguments: [
            ("X-EVENT", rule(id: "X-EVENT", events: "[gedragsaanwijzingen]"), "unknown event type 'gedragsaanwijzingen'"),
            ("X-ORG", rule(id: "X-ORG", recipient: "gemeente"), "unknown organisation 'gemeente' as recipient"),
            ("X-BASIS", rule(id: "X-BASIS", legalBasis: "wet-op-alles"), "unknown legal basis 'wet-op-alles'"),
            ("X-FIELD", rule(id: "X-FIELD", fields: "[/data/orderId, /data/bsn]"), "field '/data/bsn' does not exist in the schema of 'gedragsaanwijzing'"),
            ("X-NESTED", rule(id: "X-NESTED", fields: "[/data/conditions/*/severity]"), "field '/data/conditions/*/severity' does not exist in the schema of 'gedragsaanwijzing'"),
            ("X-PURPOSE", rule(id: "X-PURPOSE", purpose: "''"), "the rule has no purpose"),
            ("X-SERVES", rule(id: "X-SERVES", purpose: "kinderbescherming"), "legal basis 'wjsg-politie' does not serve purpose 'kinderbescherming' (it serves: handhaving, bescherming-slachtoffer)"),
            ("X-PURPOSE-UNDEFINED", rule(id: "X-PURPOSE-UNDEFINED", purpose: "veiligheid"), "purpose 'veiligheid' is not defined in purposes.yaml"),
            ("X-NOT-THE-DISCLOSERS", rule(id: "X-NOT-THE-DISCLOSERS", purpose: "strafrechtelijke-beslissing", legalBasis: "wpg-om"),
             "legal basis 'wpg-om' is not a basis of om, which discloses here (it is one of: politie)"),
            ("X-SELECT", rule(id: "X-SELECT", fields: "['/data/conditions[kleur=rood]']"),
             "field '/data/conditions[kleur=rood]' selects by 'kleur', which the elements of /data/conditions in 'gedragsaanwijzing' do not have"),
            ("X-LABEL", rule(id: "X-LABEL", disclosure: "dat", fields: "[/data/orderId, /data/suspect]"),
             "breaks invariant DISCLOSURE-LABELS (invariants.yaml:"),
            ("X-CONFLICT", rule(id: "X-CONFLICT", disclosure: "inhoud"), "grants politie 'inhoud' for 'gedragsaanwijzing' while rule GA-POL (sharing-matrix.yaml:"),
            ("X-DISCLOSURE", rule(id: "X-DISCLOSURE", disclosure: "alles"), "disclosure must be one of dat, voorwaarden, inhoud (found 'alles')"),
            ("X-CASE", rule(id: "X-CASE", extra: "    when: {case: {victimMinor: true}}"), "unknown case attribute 'victimMinor' (known: childrenInvolved, suspectMinor)"),
            ("GA-POL", rule(id: "GA-POL"), "rule id already used at sharing-matrix.yaml:"),
            ("X-DATES", rule(id: "X-DATES", extra: "    validFrom: 2027-01-01\n    validUntil: 2026-01-01"), "validFrom 2027-01-01 is after validUntil 2026-01-01"),
          ])
    func brokenRule(id: String, rule: String, message: String) throws {
        let (directory, line) = try Self.matrix(appending: rule)
        let findings = try Self.findings(directory)
        let matching = findings.filter { $0.ruleID == id && $0.message.hasPrefix(message) }
        #expect(matching.count == 1, "\(findings)")
        #expect(matching.first?.location == SourceLocation(file: MatrixLoader.matrixFile, line: line))
    }

    @Test("a file no part of the matrix reads is a finding, named; the files it reads are not")
    func unreadFiles() throws {
        var bundle = try MatrixBundle(directory: Fixtures.matrixDirectory)
        let read = bundle.files.keys.sorted()
        for name in ["sharing_matrix.yaml", "regions/utrecht.yml", "regions/nested/utrecht.yaml", "regions/.yaml", "../legal-bases.yaml", "scenarios/"] {
            bundle.files[name] = "x: 1"
        }
        let unread = try MatrixLoader.load(bundle).findings.filter { $0.message.hasPrefix("no matrix file has this name") }
        #expect(unread.map(\.location.file) == ["../legal-bases.yaml", "regions/.yaml", "regions/nested/utrecht.yaml", "regions/utrecht.yml",
                                                 "scenarios/", "sharing_matrix.yaml"])
        #expect(read.allSatisfy(MatrixLoader.readsFile(named:)) && read.contains("scenarios/baseline.yaml") && read.contains("invariants.yaml"))
        // In a directory too (`ketenhub matrix lint`, a hub's start): a misnamed file is not passed over.
        let (directory, _) = try Self.matrix(appending: "")
        try "region: utrecht\n".write(to: directory.appendingPathComponent("regions/utrecht.yml"), atomically: true, encoding: .utf8)
        #expect(try Self.findings(directory).map(\.location.file) == ["regions/utrecht.yml"])
    }

    @Test("a regional deviation without a justification is rejected")
    func regionalWithoutJustification() throws {
        let all = "[/data/orderId, /data/action, /data/version, /data/suspect, /data/protectedPersons, /data/conditions, /data/startDate, /data/endDate, /data/endedOn, /data/endReason, /data/contactPerson]"
        let (directory, line) = try Self.matrix(appending: Self.rule(id: "AA-X", recipient: "politie", purpose: "bescherming-slachtoffer", fields: all),
                                                to: "regions/amsterdam-amstelland.yaml")
        let findings = try Self.findings(directory)
        #expect(findings == [LintFinding(location: SourceLocation(file: "regions/amsterdam-amstelland.yaml", line: line), ruleID: "AA-X",
                                         message: "a regional deviation from the baseline needs a justification")])
    }

    @Test("a version resting on unconfirmed legal bases is refused unless a privacy officer marked it as a trial")
    func unconfirmedBasesNeedATrial() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("matrix"))
        try FileManager.default.copyItem(at: Fixtures.matrixDirectory, to: directory)
        let url = directory.appendingPathComponent(MatrixLoader.matrixFile)
        let text = try String(contentsOf: url, encoding: .utf8)
        let withoutTrial = try #require(text.range(of: "trial: >-")).lowerBound
        let next = try #require(text.range(of: "\n\n", range: withoutTrial..<text.endIndex)).lowerBound
        try (String(text[..<withoutTrial]) + String(text[next...])).write(to: url, atomically: true, encoding: .utf8)
        let findings = try Self.findings(directory)
        #expect(!findings.isEmpty && findings.allSatisfy { $0.message.contains("is not confirmed") }, "\(findings.prefix(3))")
        #expect(findings.contains { $0.ruleID == "GA-POL" && $0.message.hasPrefix("legal basis 'wjsg-politie' is not confirmed") })
    }

    @Test("an event type no rule covers, and not marked notShared, is reported")
    func uncoveredEvent() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("matrix"))
        try FileManager.default.copyItem(at: Fixtures.matrixDirectory, to: directory)
        let url = directory.appendingPathComponent(MatrixLoader.matrixFile)
        let text = try String(contentsOf: url, encoding: .utf8).replacingOccurrences(of: "  acknowledgement: ", with: "  x-acknowledgement: ")
        try text.write(to: url, atomically: true, encoding: .utf8)
        #expect(try Self.findings(directory).map(\.message) == ["no baseline rule covers event type 'acknowledgement'; add rules or list it under notShared"])
    }
}

import Foundation
import KetenhubTestSupport
import Testing

/// The privacy officer's commands on the shipped matrix.
@Suite("ketenhub matrix")
struct MatrixCommandTests {
    static let matrix = packageRoot.appendingPathComponent("Contracts/matrix").path
    static let examples = packageRoot.appendingPathComponent("Contracts/examples").path

    @Test("lint accepts the shipped matrix and rejects a broken one with file, line and rule")
    func lint() async throws {
        let (status, output, _) = try await runKetenhub(["matrix", "lint", Self.matrix])
        #expect(status == 0)
        #expect(output.contains("is valid"))

        let broken = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("matrix"))
        try FileManager.default.copyItem(atPath: Self.matrix, toPath: broken.path)
        let file = broken.appendingPathComponent("sharing-matrix.yaml")
        let text = try String(contentsOf: file, encoding: .utf8)
        let line = text.split(separator: "\n", omittingEmptySubsequences: false).count
        try (text + "  - {id: BROKEN, events: [vonnis], recipient: gemeente, purpose: bescherming-slachtoffer, legalBasis: wjsg-veilig-thuis, disclosure: dat, fields: [/data/verdictId]}\n")
            .write(to: file, atomically: true, encoding: .utf8)
        let (brokenStatus, brokenOutput, errors) = try await runKetenhub(["matrix", "lint", broken.path])
        #expect(brokenStatus != 0)
        #expect(brokenOutput == "\(broken.path)/sharing-matrix.yaml:\(line): BROKEN: unknown organisation 'gemeente' as recipient\n")
        #expect(errors.contains("1 problem"))
    }

    /// A copy of the shipped matrix with one file edited.
    static func editedCopy(_ file: String, _ edit: (String) -> String) throws -> URL {
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("matrix"))
        try FileManager.default.copyItem(atPath: Self.matrix, toPath: copy.path)
        let url = copy.appendingPathComponent(file)
        let text = try String(contentsOf: url, encoding: .utf8)
        let edited = edit(text)
        #expect(edited != text, "the edit applies")
        try edited.write(to: url, atomically: true, encoding: .utf8)
        return copy
    }

    @Test("matrix test: the shipped invariants hold and its scenarios come out as written")
    func invariantsAndScenarios() async throws {
        let (status, output, _) = try await runKetenhub(["matrix", "test", Self.matrix])
        #expect(status == 0)
        #expect(output.contains("invariant MINDERJARIG-NIET-3RO: holds\n"))
        #expect(output.contains("invariant SHN-ALLEEN-MET-WENS-VAN-HET-SLACHTOFFER: holds\n"))
        #expect(output.contains("scenario MINDERJARIGE-VERDACHTE-TRAJECT: as expected\n"))
        #expect(output.contains("scenario LEEFTIJD-BEKEND-VRIJGEGEVEN: as expected\n"))
        #expect(output.hasSuffix("10 invariants hold, 37 scenarios as expected\n"))
    }

    @Test("matrix test and lint name the invariant and the rule that breaks it: TRJ-3RO without its adult condition (#13 item 10)")
    func brokenInvariant() async throws {
        let rule = "    when: {case: {suspectMinor: false}, event: {/data/trajectoryType: [toezicht, veiligheidsplan]}}\n"
        let broken = try Self.editedCopy("sharing-matrix.yaml") {
            $0.replacingOccurrences(of: rule, with: "    when: {event: {/data/trajectoryType: [toezicht, veiligheidsplan]}}\n")
        }
        let text = try String(contentsOf: broken.appendingPathComponent("sharing-matrix.yaml"), encoding: .utf8)
        let line = text.components(separatedBy: "\n").firstIndex { $0.contains("id: TRJ-3RO") }! + 1
        let (status, output, errors) = try await runKetenhub(["matrix", "test", broken.path])
        #expect(status == 1)
        let expected = "\(broken.path)/sharing-matrix.yaml:\(line): TRJ-3RO: breaks invariant MINDERJARIG-NIET-3RO (invariants.yaml:19): it can send traject to 3ro without case suspectMinor: false"
        #expect(output.contains(expected + "\n"), "\(output)")
        // The scenario of a minor's trajectory fails with it, naming the rule.
        #expect(output.contains("scenario MINDERJARIGE-VERDACHTE-TRAJECT: 3ro receives it under rule TRJ-3RO, which the scenario does not expect"))
        #expect(errors.contains("2 problems"))
        let (lintStatus, lintOutput, _) = try await runKetenhub(["matrix", "lint", broken.path])
        #expect(lintStatus == 1 && lintOutput.contains(expected), "a version that breaks an invariant does not lint")
    }

    @Test("a scenario that does not come out as written is named, with what differs")
    func failingScenario() async throws {
        let broken = try Self.editedCopy("scenarios/baseline.yaml") {
            $0.replacingOccurrences(of: "      vt-amsterdam-amstelland: [/data/adviceId, /data/deliveredAt, /data/adviceKind, /data/contactPerson]",
                                    with: "      vt-amsterdam-amstelland: [/data/adviceId, /data/recommendation]")
        }
        let (status, output, _) = try await runKetenhub(["matrix", "test", broken.path])
        #expect(status == 1)
        #expect(output.contains("ADVIES-ZONDER-TOESTEMMING: vt-amsterdam-amstelland receives /data/adviceId, /data/deliveredAt, /data/adviceKind, /data/contactPerson under rule ADV-VT-DAT, expected /data/adviceId, /data/recommendation"), "\(output)")
        #expect(!output.contains("scenario ADVIES-ZONDER-TOESTEMMING: as expected"))
    }

    @Test("simulate prints per recipient the decision, rule, legal basis, purpose and fields; --json too")
    func simulate() async throws {
        let event = "\(Self.examples)/gedragsaanwijzing/valid/opgelegd.json"
        let consent = "\(Self.examples)/informatiewens/valid/gegeven.json"
        let (status, output, _) = try await runKetenhub(["matrix", "simulate", "--event", event, "--consent", consent, "--matrix", Self.matrix])
        #expect(status == 0)
        #expect(output.contains("  politie: permit by GA-POL (legal basis wjsg-politie, purpose handhaving, disclosure voorwaarden)"))
        #expect(output.contains("  shn: permit by GA-SHN (legal basis sv-51ab-slachtoffer, purpose informeren-slachtoffer, disclosure voorwaarden)"))
        #expect(output.contains("  3ro: hold: waits for the case attribute suspectMinor: no partner has stated it"))

        let (jsonStatus, json, _) = try await runKetenhub(["matrix", "simulate", "--event", event, "--matrix", Self.matrix, "--json"])
        #expect(jsonStatus == 0)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let decisions = try #require(report["decisions"] as? [[String: Any]])
        let shn = try #require(decisions.first { $0["recipient"] as? String == "shn" })
        #expect(shn["outcome"] as? String == "deny")
        let politie = try #require(decisions.first { $0["recipient"] as? String == "politie" })
        #expect((politie["fields"] as? [String])?.first == "/data/orderId")
    }

    @Test("diff and replay on the shipped matrix against itself report no change")
    func diffAndReplay() async throws {
        let (status, output, _) = try await runKetenhub(["matrix", "diff", Self.matrix, Self.matrix])
        #expect(status == 0)
        #expect(output.hasSuffix(": 0 changes\n"))
        let events = ["vt-melding/valid/melding-met-kind", "gedragsaanwijzing/valid/opgelegd"].map { "\(Self.examples)/\($0).json" }
        let (replayStatus, replay, _) = try await runKetenhub(["matrix", "replay", "--matrix", Self.matrix, "--current", Self.matrix, "--events"] + events)
        #expect(replayStatus == 0)
        #expect(replay == "10 recorded decisions on 2 events; 0 would change under \(replay.split(separator: " ").last!)")
    }
}

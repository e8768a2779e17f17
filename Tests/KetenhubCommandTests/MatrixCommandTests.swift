import Foundation
import KetenhubTestSupport
import Testing

/// The privacy officer's commands on the shipped matrix.
@Suite("ketenhub matrix")
struct MatrixCommandTests {
    static let matrix = packageRoot.appendingPathComponent("Contracts/matrix").path
    static let examples = packageRoot.appendingPathComponent("Contracts/examples").path

    @Test("lint accepts the shipped matrix and rejects a broken one with file, line and rule")
    func lint() throws {
        let (status, output, _) = try runKetenhub(["matrix", "lint", Self.matrix])
        #expect(status == 0)
        #expect(output.contains("is valid"))

        let broken = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("matrix"))
        try FileManager.default.copyItem(atPath: Self.matrix, toPath: broken.path)
        let file = broken.appendingPathComponent("sharing-matrix.yaml")
        let text = try String(contentsOf: file, encoding: .utf8)
        let line = text.split(separator: "\n", omittingEmptySubsequences: false).count
        try (text + "  - {id: BROKEN, events: [vonnis], recipient: gemeente, purpose: veiligheid, legalBasis: wjsg-verstrekking, disclosure: dat, fields: [/data/verdictId]}\n")
            .write(to: file, atomically: true, encoding: .utf8)
        let (brokenStatus, brokenOutput, errors) = try runKetenhub(["matrix", "lint", broken.path])
        #expect(brokenStatus != 0)
        #expect(brokenOutput == "\(broken.path)/sharing-matrix.yaml:\(line): BROKEN: unknown organisation 'gemeente' as recipient\n")
        #expect(errors.contains("1 problem"))
    }

    @Test("simulate prints per recipient the decision, rule, legal basis, purpose and fields; --json too")
    func simulate() throws {
        let event = "\(Self.examples)/gedragsaanwijzing/valid/opgelegd.json"
        let consent = "\(Self.examples)/informatiewens/valid/gegeven.json"
        let (status, output, _) = try runKetenhub(["matrix", "simulate", "--event", event, "--consent", consent, "--matrix", Self.matrix])
        #expect(status == 0)
        #expect(output.contains("  politie: permit by GA-POL (legal basis sv-509hh, purpose handhaving, disclosure voorwaarden)"))
        #expect(output.contains("  shn: permit by GA-SHN (legal basis aanwijzing-slachtofferrechten, purpose informeren-slachtoffer, disclosure voorwaarden)"))
        #expect(output.contains("  rvdk: deny: no rule applies"))

        let (jsonStatus, json, _) = try runKetenhub(["matrix", "simulate", "--event", event, "--matrix", Self.matrix, "--json"])
        #expect(jsonStatus == 0)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let decisions = try #require(report["decisions"] as? [[String: Any]])
        let shn = try #require(decisions.first { $0["recipient"] as? String == "shn" })
        #expect(shn["outcome"] as? String == "deny")
        let politie = try #require(decisions.first { $0["recipient"] as? String == "politie" })
        #expect((politie["fields"] as? [String])?.first == "/data/orderId")
    }

    @Test("diff and replay on the shipped matrix against itself report no change")
    func diffAndReplay() throws {
        let (status, output, _) = try runKetenhub(["matrix", "diff", Self.matrix, Self.matrix])
        #expect(status == 0)
        #expect(output.hasSuffix(": 0 changes\n"))
        let events = ["vt-melding/valid/melding-met-kind", "gedragsaanwijzing/valid/opgelegd"].map { "\(Self.examples)/\($0).json" }
        let (replayStatus, replay, _) = try runKetenhub(["matrix", "replay", "--matrix", Self.matrix, "--current", Self.matrix, "--events"] + events)
        #expect(replayStatus == 0)
        #expect(replay == "10 recorded decisions on 2 events; 0 would change under \(replay.split(separator: " ").last!)")
    }
}

import Foundation
import KetenhubTestSupport
import Testing

/// `ketenhub adapter translate|render`, as a partner's developer runs it.
@Suite("ketenhub adapter")
struct AdapterCommandTests {
    static let partners = packageRoot.appendingPathComponent("Contracts/partners")

    static func files(_ kind: String) throws -> [(partner: String, path: String)] {
        try FileManager.default.contentsOfDirectory(atPath: partners.path).sorted().flatMap { partner -> [(String, String)] in
            let folder = partners.appendingPathComponent(partner).appendingPathComponent(kind)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
            return names.sorted().filter { !$0.hasSuffix(".canonical.json") && !$0.hasSuffix(".error") }
                .map { (partner, folder.appendingPathComponent($0).path) }
        }
    }

    @Test("translate: every shipped example exits 0 and prints its golden events; render prints them back natively")
    func examples() async throws {
        let examples = try Self.files("examples")
        #expect(examples.count >= 8)
        for (partner, path) in examples {
            let (status, output, errors) = try await runKetenhub(["adapter", "translate", "--partner", partner, path])
            #expect(status == 0, "\(path): \(errors)")
            let golden = URL(fileURLWithPath: path).deletingPathExtension().appendingPathExtension("canonical.json")
            #expect(output == (try String(contentsOf: golden, encoding: .utf8)), "\(path)")
            let rendered = try await runKetenhub(["adapter", "render", "--partner", partner, golden.path])
            #expect(rendered.status == 0, "\(golden.path): \(rendered.errors)")
            #expect(!rendered.output.isEmpty)
        }
    }

    @Test("render: every fact a partner receives comes out in its own terms, never in the generic form (#16)")
    func rendersDeliveriesWithTables() async throws {
        let partners = packageRoot.appendingPathComponent("Contracts/partners")
        var rendered = 0
        for partner in ["politie", "om", "vt", "3ro", "rvdk", "shn"] {
            let deliveries = partners.appendingPathComponent("\(partner)/deliveries")
            for name in try FileManager.default.contentsOfDirectory(atPath: deliveries.path).sorted() {
                let event = String(name.split(separator: ".")[0])
                let folder = packageRoot.appendingPathComponent("Contracts/examples/\(event)/valid")
                let example = try #require(try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }.sorted().first)
                let (status, output, errors) = try await runKetenhub(["adapter", "render", "--partner", partner, folder.appendingPathComponent(example).path])
                #expect(status == 0, "\(partner) \(event): \(errors)")
                for generic in ["<Ketenbericht", "\"gegevens\"", "veld;waarde"] { #expect(!output.contains(generic), "\(partner) \(event)") }
                rendered += 1
            }
        }
        #expect(rendered >= 70)
    }

    @Test("translate: every hostile or broken file exits non-zero, naming each problem")
    func invalid() async throws {
        let invalid = try Self.files("invalid")
        #expect(invalid.count >= 9)
        for (partner, path) in invalid {
            let (status, output, errors) = try await runKetenhub(["adapter", "translate", "--partner", partner, path])
            #expect(status != 0, "\(path)")
            #expect(output.isEmpty)
            let expected = try String(contentsOfFile: URL(fileURLWithPath: path).deletingPathExtension().appendingPathExtension("error").path, encoding: .utf8)
            for line in expected.split(separator: "\n") { #expect(errors.contains(line), "\(path): \(line) in \(errors)") }
        }
    }

    @Test("an unknown partner is a usage error")
    func unknownPartner() async throws {
        let (status, _, errors) = try await runKetenhub(["adapter", "translate", "--partner", "cjib", "/dev/null"])
        #expect(status != 0)
        #expect(errors.contains("no partner format serves 'cjib'"))
    }
}

/// `ketenhub simulate --out`, read back with `ketenhub adapter translate`.
@Suite("ketenhub simulate")
struct SimulateCommandTests {
    @Test("simulate --out writes each partner's messages in its native format; each translates back; the same seed writes the same files")
    func out() async throws {
        let first = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("simulate"))
        let second = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("simulate"))
        for directory in [first, second] {
            let (status, output, errors) = try await runKetenhub(["simulate", "--cases", "3", "--seed", "5", "--out", directory.path])
            #expect(status == 0, "\(errors)")
            #expect(output.contains("messages of 3 cases written"))
        }
        let organisations = try FileManager.default.contentsOfDirectory(atPath: first.path).sorted()
        // The cases' regional partners write too: a police unit, a parket, a Veilig Thuis.
        for prefix in ["politie-", "om-", "vt-"] { #expect(organisations.contains { $0.hasPrefix(prefix) }, "\(organisations)") }
        #expect(organisations.contains("shn"))
        var files = 0, withChainCase = 0
        for organisation in organisations {
            for name in try FileManager.default.contentsOfDirectory(atPath: first.appendingPathComponent(organisation).path).sorted() {
                let path = first.appendingPathComponent(organisation).appendingPathComponent(name).path
                files += 1
                #expect(FileManager.default.contents(atPath: path) == FileManager.default.contents(atPath: second.appendingPathComponent(organisation).appendingPathComponent(name).path))
                let (status, output, errors) = try await runKetenhub(["adapter", "translate", "--partner", organisation, path])
                // A back-office sends the chain case id only once per case (the police never: the hub
                // opens the case from their BVH number); without a hub, only those messages translate.
                let text = try String(contentsOfFile: path, encoding: .utf8)
                if text.contains("KZ-") {
                    withChainCase += 1
                    #expect(status == 0, "\(path): \(errors)")
                    #expect(output.contains("\"ketencaseid\""))
                } else {
                    #expect(status != 0 && errors.contains("is resolved to one only when the hub takes the message in"), "\(path): \(errors)")
                }
            }
        }
        #expect(files >= 30)
        #expect(withChainCase > 0 && withChainCase < files)
    }

    @Test("simulate needs either --out or --hub")
    func usage() async throws {
        #expect(try await runKetenhub(["simulate"]).status != 0)
        #expect(try await runKetenhub(["simulate", "--hub", "http://127.0.0.1:1"]).errors.contains("--credentials"))
    }
}

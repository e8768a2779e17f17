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
    func examples() throws {
        let examples = try Self.files("examples")
        #expect(examples.count >= 8)
        for (partner, path) in examples {
            let (status, output, errors) = try runKetenhub(["adapter", "translate", "--partner", partner, path])
            #expect(status == 0, "\(path): \(errors)")
            let golden = URL(fileURLWithPath: path).deletingPathExtension().appendingPathExtension("canonical.json")
            #expect(output == (try String(contentsOf: golden, encoding: .utf8)), "\(path)")
            let rendered = try runKetenhub(["adapter", "render", "--partner", partner, golden.path])
            #expect(rendered.status == 0, "\(golden.path): \(rendered.errors)")
            #expect(!rendered.output.isEmpty)
        }
    }

    @Test("translate: every hostile or broken file exits non-zero, naming each problem")
    func invalid() throws {
        let invalid = try Self.files("invalid")
        #expect(invalid.count >= 9)
        for (partner, path) in invalid {
            let (status, output, errors) = try runKetenhub(["adapter", "translate", "--partner", partner, path])
            #expect(status != 0, "\(path)")
            #expect(output.isEmpty)
            let expected = try String(contentsOfFile: URL(fileURLWithPath: path).deletingPathExtension().appendingPathExtension("error").path, encoding: .utf8)
            for line in expected.split(separator: "\n") { #expect(errors.contains(line), "\(path): \(line) in \(errors)") }
        }
    }

    @Test("an unknown partner is a usage error")
    func unknownPartner() throws {
        let (status, _, errors) = try runKetenhub(["adapter", "translate", "--partner", "cjib", "/dev/null"])
        #expect(status != 0)
        #expect(errors.contains("no partner format serves 'cjib'"))
    }
}

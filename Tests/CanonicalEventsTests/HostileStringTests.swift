@testable import CanonicalEvents
import Foundation
import KetenhubTestSupport
import Testing

/// Strings of any length reach the validator from partners and from the API: checking one must never
/// cost stack in proportion to its length, nor repeat it in a problem (#13 items 1 and 8).
@Suite("Hostile strings in the validator")
struct HostileStringTests {
    static let dateTime = #"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"#

    @Test("patterns are matched over a million scalars without recursion, and agree with ICU on long inputs")
    func millionScalars() {
        let digits = String(repeating: "7", count: 1_000_000)
        let pattern = Pattern(Self.dateTime)!
        #expect(pattern.isSimple)
        #expect(pattern.matches("2026-11-20T22:50:00.\(digits)Z"), "a long fraction is still a date-time by the pattern")
        #expect(!pattern.matches("2026-11-20T22:50:00.\(digits)"), "without its offset it is not")
        let email = Pattern(#"^[^@\s]+@[^@\s]+\.[a-z]{2,}$"#)!
        let letters = String(repeating: "a", count: 1_000_000)
        #expect(email.matches("\(letters)@\(letters).nl"))
        #expect(!email.matches("\(letters)@\(letters)"))
        let organisation = Pattern("^(politie|om|3ro|rvdk|shn|vt-[a-z0-9]+(-[a-z0-9]+)*)$")!
        #expect(organisation.matches("vt-" + letters))
        #expect(!organisation.matches("vt-" + letters + "-"))
        // Nested repetitions that make a backtracking matcher take exponential time.
        let nested = Pattern("^(a+)+$")!
        #expect(!nested.matches(String(repeating: "a", count: 100_000) + "b"))
        for length in [10_000, 10_500, 15_000] {
            let text = "2026-11-20T22:50:00." + String(repeating: "1", count: length) + "+01:00"
            #expect(pattern.matches(text) == PatternTests.icu(Self.dateTime, text), "length \(length)")
        }
    }

    /// The example contactpersoon event with one data field replaced.
    static func contactEvent(_ path: [String], _ value: String) throws -> JSONValue {
        let url = packageRoot.appendingPathComponent("Contracts/examples/contactpersoon/valid/casusregisseur.json")
        var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        func set(_ dictionary: inout [String: Any], _ path: ArraySlice<String>) {
            guard let first = path.first else { return }
            if path.count == 1 { dictionary[first] = value; return }
            var inner = dictionary[first] as? [String: Any] ?? [:]
            set(&inner, path.dropFirst())
            dictionary[first] = inner
        }
        set(&object, path[...])
        return try JSONValue.parse(try JSONSerialization.data(withJSONObject: object))
    }

    @Test("a long date-time, e-mail address or organisation is refused by its length, and the problem does not repeat it")
    func longFields() throws {
        let catalogue = ContractCatalogue.embedded
        let long = String(repeating: "1", count: 15_000)
        let cases: [([String], String, String)] = [
            (["time"], "2026-11-21T09:00:00.\(long)+01:00", "/time"),
            (["data", "contactPerson", "email"], String(repeating: "x", count: 15_000) + "@politie.example", "/data/contactPerson/email"),
            (["data", "contactPerson", "organisation"], "vt-" + String(repeating: "q", count: 15_000), "/data/contactPerson/organisation"),
            (["data", "contactPerson", "name"], String(repeating: "Jansen ", count: 1_000), "/data/contactPerson/name"),
        ]
        for (path, value, pointer) in cases {
            let problems = catalogue.validate(event: try Self.contactEvent(path, value))
            #expect(problems.contains { $0.pointer.description == pointer && $0.reason.hasPrefix("must have at most") }, "\(pointer): \(problems)")
            #expect(problems.allSatisfy { $0.description.count < 300 }, "no problem repeats the value")
        }
        #expect(catalogue.validate(event: try Self.contactEvent(["data", "contactPerson", "name"], "R. de Vries")).isEmpty, "a valid event right after")
    }

    @Test("free text refuses control characters other than tab, line feed and carriage return; ids refuse them all")
    func controlCharacters() throws {
        let catalogue = ContractCatalogue.embedded
        for bad in ["R.\u{0001}de Vries", "R. de\u{0000}Vries", "\u{001B}[31mR. de Vries"] {
            let problems = catalogue.validate(event: try Self.contactEvent(["data", "contactPerson", "name"], bad))
            #expect(problems.map(\.pointer.description) == ["/data/contactPerson/name"], "\(bad.debugDescription): \(problems)")
            #expect(problems.allSatisfy { !$0.reason.contains("R.") }, "the value is not repeated")
        }
        #expect(catalogue.validate(event: try Self.contactEvent(["data", "contactPerson", "name"], "R. de Vries\tvan\r\nDam")).isEmpty)
        for bad in ["pol-cp\u{0000}-1", "pol-cp-1\r\nX-Injected: 1", "pol cp 1", ""] {
            let problems = catalogue.validate(event: try Self.contactEvent(["id"], bad))
            #expect(problems.map(\.pointer.description) == ["/id"], "\(bad.debugDescription): \(problems)")
        }
    }

    @Test("a problem names an unexpected member briefly and printably, whatever its name")
    func unexpectedMember() throws {
        var event = try Self.contactEvent(["data", "role"], "casusregisseur")
        guard case .object(var members) = event, case .object(var data)? = members["data"] else { Issue.record("not an object"); return }
        data[String(repeating: "n", count: 5_000) + "\u{0007}"] = .string("x")
        members["data"] = .object(data)
        event = .object(members)
        let problems = ContractCatalogue.embedded.validate(event: event)
        #expect(problems.count == 1 && problems[0].description.count < 200, "\(problems)")
        #expect(problems.first?.reason.hasSuffix("…' is not allowed") == true)
    }
}

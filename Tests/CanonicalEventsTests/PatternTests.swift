@testable import CanonicalEvents
import Foundation
import KetenhubTestSupport
import Testing

/// The contracts' `pattern`s are matched by the validator's own matcher; it must agree with
/// `NSRegularExpression` (ICU) on every string the examples hold and on thousands of variations.
@Suite("Schema patterns")
struct PatternTests {
    /// Every pattern in the contracts, and the ones behind the `date`, `date-time` and `uri` formats.
    static func contractPatterns() throws -> [String] {
        var patterns: Set<String> = [
            #"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"#,
            #"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"#, #"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$"#,
        ]
        func collect(_ value: JSONValue) {
            switch value {
            case .object(let members):
                if case .string(let pattern)? = members["pattern"] { patterns.insert(pattern) }
                members.values.forEach(collect)
            case .array(let items): items.forEach(collect)
            default: break
            }
        }
        for folder in ["Contracts/events", "Contracts/records"] {
            let url = packageRoot.appendingPathComponent(folder)
            for name in try FileManager.default.contentsOfDirectory(atPath: url.path) where name.hasSuffix(".json") {
                collect(try JSONValue.parse(Data(contentsOf: url.appendingPathComponent(name))))
            }
        }
        return patterns.sorted()
    }

    /// Every string in the example events, valid and invalid.
    static func exampleStrings() throws -> [String] {
        var strings: Set<String> = []
        func collect(_ value: JSONValue) {
            switch value {
            case .string(let text): strings.insert(text)
            case .object(let members): members.values.forEach(collect)
            case .array(let items): items.forEach(collect)
            default: break
            }
        }
        for example in contractExamples("valid") + contractExamples("invalid") {
            if let value = try? JSONValue.parse(Data(contentsOf: example.url)) { collect(value) }
        }
        return strings.sorted()
    }

    /// ICU's `$` also matches before a line terminator that ends the text; ECMA-262's (and ours)
    /// only at the very end, which is ICU's `\z`.
    static func icu(_ pattern: String, _ text: String) -> Bool {
        let ecma = pattern.hasSuffix("$") && !pattern.hasSuffix("\\$") ? String(pattern.dropLast()) + "\\z" : pattern
        let regex = try! NSRegularExpression(pattern: ecma)
        return regex.firstMatch(in: text, range: NSRange(location: 0, length: text.utf16.count)) != nil
    }

    @Test("every contract pattern is read by the validator's matcher, not left to ICU")
    func contractPatternsAreSimple() throws {
        let patterns = try Self.contractPatterns()
        #expect(patterns.count >= 10)
        for pattern in patterns { #expect(Pattern(pattern)?.isSimple == true, "\(pattern)") }
    }

    @Test("agrees with NSRegularExpression on every example string and on seeded variations of them")
    func agreesWithICU() throws {
        let patterns = try Self.contractPatterns()
        let compiledPatterns = patterns.map { Pattern($0)! }  // compiled once, as the validator does
        let strings = try Self.exampleStrings()
        var random = SeededGenerator(state: 20261123)
        let alphabet = Array("09azAZKZ-:.+T Z@_()psn".unicodeScalars) + ["é", "\u{00A0}", "\t", "\u{2028}"]
        var compared = 0
        var matched = 0
        for text in strings {
            // The string, and a few one-scalar edits of it: deletions, insertions, replacements.
            var variants = [text]
            let scalars = Array(text.unicodeScalars)
            for _ in 0..<6 where !scalars.isEmpty {
                var edited = scalars
                let at = Int(random.next() % UInt64(edited.count))
                let scalar = alphabet[Int(random.next() % UInt64(alphabet.count))]
                switch random.next() % 3 {
                case 0: edited.remove(at: at)
                case 1: edited.insert(scalar, at: at)
                default: edited[at] = scalar
                }
                variants.append(String(String.UnicodeScalarView(edited)))
            }
            for variant in variants {
                for (pattern, compiled) in zip(patterns, compiledPatterns) {
                    let ours = compiled.matches(variant)
                    #expect(ours == Self.icu(pattern, variant), "\(pattern) on \(variant.debugDescription)")
                    compared += 1
                    if ours { matched += 1 }
                }
            }
        }
        #expect(compared > 10_000 && matched > 300, "both matches and mismatches are compared: \(matched) of \(compared)")
    }

    @Test("syntax beyond the contracts' subset falls back to NSRegularExpression and still matches")
    func fallback() {
        for (pattern, text, expected) in [(#"^a(?=b)"#, "ab", true), (#"a+?b"#, "aab", true), (#"(a)\1"#, "aa", true), (#"\bword\b"#, "a word", true),
                                          (#"^[\S]+$"#, "abc", true), (#"^[\S]+$"#, "a c", false)] {
            let compiled = Pattern(pattern)
            #expect(compiled?.isSimple == false, "\(pattern)")
            #expect(compiled?.matches(text) == expected, "\(pattern) on \(text)")
        }
        #expect(Pattern("a(") == nil, "an unreadable pattern is refused, as before")
    }

    @Test("ECMA-262 semantics the contracts rely on: unanchored search, $ only at the very end, greedy groups with backtracking")
    func semantics() {
        #expect(Pattern("GM[0-9]{4}")!.matches("xxGM0344yy"))
        #expect(!Pattern("^KZ-[0-9]{4}-[0-9A-Z]{6}$")!.matches("KZ-2026-ABCDEF\n"))
        #expect(Pattern("^KZ-[0-9]{4}-[0-9A-Z]{6}$")!.matches("KZ-2026-ABCDEF"))
        let urn = Pattern("^urn:ketenhub:(politie|om|3ro|rvdk|shn|vt-[a-z0-9]+(-[a-z0-9]+)*|hub)(:[a-z0-9-]+)*$")!
        #expect(urn.matches("urn:ketenhub:vt-amsterdam-amstelland") && urn.matches("urn:ketenhub:politie:eenheid-oost"))
        #expect(!urn.matches("urn:ketenhub:vt-") && !urn.matches("urn:ketenhub:marechaussee"))
        #expect(Pattern("^(a|ab)(c|bcd)(d*)$")!.matches("abcd"), "backtracks into an earlier alternative")
        #expect(Pattern("^[^@\\s]+@[^@\\s]+\\.[a-z]{2,}$")!.matches("mw.dijk@vt-utrecht.nl"))
        #expect(!Pattern("^[^@\\s]+@[^@\\s]+\\.[a-z]{2,}$")!.matches("mw dijk@vt-utrecht.nl"))
        #expect(Pattern("^(a*)*$")!.matches("aaaa") && !Pattern("^(a*)*$")!.matches("aab"), "an empty iteration ends a repetition")
    }

    @Test("the deterministic automaton agrees with the Thompson automaton it is built from, and gives way to it when it would be too large")
    func automatonAgreesWithProgram() throws {
        let patterns = try Self.contractPatterns() + ["GM[0-9]{4}", "(^a|b)c", "^(a|ab)(c|bcd)(d*)$", "^(a*)*$", "a$b", "^$", "x*"]
        var random = SeededGenerator(state: 20261129)
        let alphabet = Array("09afAFKZGM-:.+Tt Zz@_()psnabcdx".unicodeScalars) + ["é", "\u{00A0}", "\t", "\n", "\u{2028}"]
        let texts = try Self.exampleStrings() + ["", "a", "ab", "abcd", "aab", "xxGM0344yy", "bc", "ac", "zac"]
            + (0..<2_000).map { _ in
                String(String.UnicodeScalarView((0..<Int(random.next() % 24)).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] }))
            }
        var automata = 0
        for source in patterns {
            let pattern = try #require(Pattern(source), "\(source)")
            guard let program = pattern.nondeterministic else { continue }  // a run of one class: no automaton either way
            #expect(pattern.isAutomaton, "\(source) is matched by a deterministic automaton")
            automata += 1
            for text in texts {
                #expect(pattern.matches(text) == program.matches(text), "\(source) on \(text.debugDescription)")
            }
        }
        #expect(automata >= 15)
        // (a|b)*a(a|b){12}: the position 13 from the end must be an a; a deterministic automaton
        // needs 2^13 states for that, more than it may have: the program matches instead.
        let large = try #require(Pattern("^(a|b)*a(a|b){12}$"))
        #expect(!large.isAutomaton && large.isSimple)
        #expect(large.matches("ba" + String(repeating: "b", count: 12)) && !large.matches(String(repeating: "b", count: 13)))
    }
}

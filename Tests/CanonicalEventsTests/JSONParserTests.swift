import CanonicalEvents
import Foundation
import Testing

/// The hub's own JSON parser: strict, and refusing rather than altering hostile input.
@Suite("JSON parsing")
struct JSONParserTests {
    @Test("well-formed JSON parses to the values it denotes")
    func parses() throws {
        let value = try JSONValue.parse(Data(#"{"a": [1, -2.5e3, true, false, null], "b": "x\"\\\/\n\u00e9\ud83d\ude00", "c": {}}"#.utf8))
        #expect(value == .object([
            "a": .array([.number(1), .number(-2500), .bool(true), .bool(false), .null]),
            "b": .string("x\"\\/\né😀"),
            "c": .object([:]),
        ]))
        // Writing and reading back gives the same value.
        #expect(try JSONValue.parse(value.encoded()) == value)
    }

    @Test("malformed, duplicated, hostile or non-UTF-8 input is refused with the reason", arguments: [
        (#"{"a": 1,}"#, "expected a member name"),
        (#"{"a": 1 "b": 2}"#, "expected ',' or '}'"),
        (#"{"a": 1, "a": 2}"#, "duplicate member 'a'"),
        (#"[01]"#, "leading zero in a number"),
        (#"{"a": "\ud800"}"#, "unpaired surrogate"),
        ("{\"a\": \"tab\there\"}", "control character in a string"),
        (#"{"a": tru}"#, "invalid literal"),
        (#"{"a": 1} x"#, "unexpected text after the JSON value"),
        ("{\"a\": \"abc", "unterminated string"),
        (String(repeating: "[", count: 200) + String(repeating: "]", count: 200), "nested more than 128 levels deep"),
    ])
    func refuses(_ text: String, _ reason: String) {
        #expect(throws: (any Error).self) { try JSONValue.parse(Data(text.utf8)) }
        do {
            _ = try JSONValue.parse(Data(text.utf8))
        } catch {
            #expect("\(error)".hasPrefix(reason), "\(error)")
        }
    }

    @Test("invalid UTF-8 inside a string is an error, not a replacement character")
    func invalidUTF8() {
        var bytes = Array(#"{"a": "x"#.utf8)
        bytes += [0xC3, 0x28]
        bytes += Array(#""}"#.utf8)
        #expect(throws: (any Error).self) { try JSONValue.parse(Data(bytes)) }
    }
}

extension JSONParserTests {
    @Test("a number beyond a double's range is refused: it could not be written back as JSON")
    func outOfRange() {
        #expect(throws: (any Error).self) { try JSONValue.parse(Data("{\"n\": -0.5e+3988}".utf8)) }
        #expect(throws: (any Error).self) { try JSONValue.parse(Data("[1e400]".utf8)) }
        #expect((try? JSONValue.parse(Data("[1e300, -0.5e-3988]".utf8))) != nil, "large and tiny finite numbers stay")
    }

    @Test("a string with an escape, a quote or a control character at any position, or none, is written escaped and read back as it was")
    func stringsAtEveryPosition() throws {
        let specials: [Character] = ["\"", "\\", "\n", "\u{01}", "\u{1F}", "\t"]
        let plain: [Character] = ["a", "Z", "0", " ", "~", "\u{7F}", "é", "😀", "\u{20}", "!", "#", "]", "\u{2028}"]
        var texts: [String] = [""]
        for length in 1...19 {
            let base = (0..<length).map { plain[($0 * 7 + length) % plain.count] }
            texts.append(String(base))  // nothing to escape
            for position in 0..<length {
                for special in specials {
                    var characters = base
                    characters[position] = special
                    texts.append(String(characters))
                }
            }
        }
        for text in texts {
            let document = JSONValue.object([text: .array([.string(text)])])
            let written = document.encodedBytes()
            // Every control character, quote and backslash in the text is escaped: none appears raw
            // between the string's quotes, which are the only raw quotes.
            #expect(!written.contains { $0 < 0x20 }, "\(text.debugDescription)")
            #expect(try JSONValue.parse(Data(written)) == document, "\(text.debugDescription)")
        }
        #expect(texts.count > 600)
    }

    @Test("values written in a row through one writer come out as each written alone, objects in key order")
    func sharedWriter() throws {
        let long = String(repeating: "long ", count: 300)
        let nested = JSONValue.object(["zeta": .number(1), "alpha": .object(["b": .null, "a": .array([.bool(true), .object(["y": .string("é"), "x": .string("\"")])])]),
                                       "mid": .string(long), "Alpha": .number(2.5), "": .string("")])
        let expected = #"{"":"","Alpha":2.5,"alpha":{"a":[true,{"x":"\"","y":"é"}],"b":null},"mid":""# + long + #"","zeta":1}"#
        #expect(String(decoding: nested.encodedBytes(), as: UTF8.self) == expected, "keys sorted at every level")
        let values: [JSONValue] = [nested, .object([:]), .string("short"), .object(["only": .array([])])]
        // Smaller than the first value, so that the buffer grows; then shorter values follow longer ones.
        var writer = JSONWriter(capacity: 8)
        for value in values + values.reversed() {
            let shared = value.encodedBytes(using: &writer)
            #expect(shared == value.encodedBytes(), "nothing left over from the value before")
            #expect(try JSONValue.parse(Data(shared)) == value)
        }
    }
}

extension JSONParserTests {
    @Test("members of nested objects stay with their own object; a duplicate is found at any depth, where its value starts")
    func nestedMembers() throws {
        let text = #"{"a": {"b": 1, "c": {"d": [{"e": 2}, {}]}}, "f": {"b": 3}, "g": []}"#
        #expect(try JSONValue.parse(Data(text.utf8)) == .object([
            "a": .object(["b": .number(1), "c": .object(["d": .array([.object(["e": .number(2)]), .object([:])])])]),
            "f": .object(["b": .number(3)]), "g": .array([]),
        ]))
        for (text, offset) in [(#"{"a": {"b": 1, "b": 2}}"#, 20), (#"{"b": {"b": 1}, "b": 2}"#, 21), (#"[{"x": 1}, {"x": 2, "x": [3]}]"#, 25)] {
            do {
                _ = try JSONValue.parse(Data(text.utf8))
                Issue.record("\(text) parsed")
            } catch {
                #expect("\(error)" == "duplicate member '\(text.contains("x") ? "x" : "b")' at byte \(offset)", "\(text)")
            }
        }
    }

    @Test("numbers are written as integers when they have no fraction, each digit in place")
    func numbers() {
        let values: [Double] = [0, -0.0, 1, -1, 9, 10, -10, 99, 100, 101, 1_234_567_890_123, 8_999_999_999_999_999, -8_999_999_999_999_999,
                                9.0e15, 0.5, -2.5e-7, 1e300]
        for value in values {
            let expected = value.rounded() == value && abs(value) < 9.0e15 ? String(Int64(value)) : "\(value)"
            #expect(String(decoding: JSONValue.number(value).encodedBytes(), as: UTF8.self) == expected)
        }
    }

    @Test("hexadecimal is two lower-case digits per byte, from any sequence of bytes")
    func hexadecimal() {
        let bytes: [UInt8] = [0x00, 0x0F, 0x10, 0x7F, 0x80, 0xAB, 0xFF]
        let expected = bytes.map { String(format: "%02x", $0) }.joined()
        #expect(bytes.hexString == expected)
        #expect(bytes.withUnsafeBytes { $0.hexString } == expected)
        #expect(bytes.lazy.map { $0 }.hexString == expected, "a sequence without contiguous storage")
        #expect(bytes.prefix(3).hexString == "000f10")
        #expect([UInt8]().hexString == "")
    }
}

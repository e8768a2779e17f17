@testable import CanonicalEvents
import Foundation
import Testing

@Suite("Hub time")
struct HubTimeTests {
    @Test("a moment is written as ISO8601DateFormatter writes it, across leap days, centuries, before 1970 and far out")
    func writesAsFoundation() {
        let formatter = ISO8601DateFormatter()
        var moments: [Int] = [0, -1, 59, 86_399, 86_400, 951_782_400, 951_868_799, 4_107_542_400, -2_208_988_800, 253_402_300_799,
                              Int(Date().timeIntervalSince1970)]
        var state: UInt64 = 20261129
        for _ in 0..<20_000 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            moments.append(Int(state >> 20) % 12_000_000_000 - 2_500_000_000)  // 1890 to 2350
        }
        for seconds in moments {
            let date = Date(timeIntervalSince1970: Double(seconds))
            #expect(HubTime.text(date) == formatter.string(from: date), "\(seconds)")
        }
        // A fraction of a second is cut off, as the formatter does.
        #expect(HubTime.text(Date(timeIntervalSince1970: 1_795_950_000.999)) == formatter.string(from: Date(timeIntervalSince1970: 1_795_950_000.999)))
        #expect(HubTime.text(Date(timeIntervalSince1970: -0.5)) == formatter.string(from: Date(timeIntervalSince1970: -0.5)))
        // Far outside years 1 to 9999 (or not a number of seconds at all): as the formatter has it, never a trap.
        for seconds in [1e20, -1e20, 253_402_300_800, -62_135_596_801, Double.infinity] {
            #expect(HubTime.text(Date(timeIntervalSince1970: seconds)) == formatter.string(from: Date(timeIntervalSince1970: seconds)))
        }
    }

    /// What `HubTime.date` did before it read RFC 3339 itself: the formatters, made per call.
    static func formatterDate(_ text: String) -> Date? {
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return fractional.date(from: text) ?? ISO8601DateFormatter().date(from: text)
    }

    @Test("a moment is read as ISO8601DateFormatter reads it, to the last bit: fractions, offsets, leap days, before 1970")
    func readsAsFoundation() {
        var texts = ["2026-01-01T00:00:00Z", "2024-02-29T23:59:59.999Z", "1969-12-31T23:59:59.9995Z", "1970-01-01T00:00:00.001Z",
                     "2026-01-01T00:00:00.1234Z", "2026-01-01T00:00:00.123456789Z", "2026-06-30T12:00:00.5-05:30", "1600-01-01T00:00:00Z",
                     "9999-12-31T23:59:59.999+18:00", "2000-02-29T00:00:00-00:00", "2026-03-29T02:30:00+01:00"]
        var state: UInt64 = 20261201
        func next(_ bound: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int(state >> 33) % bound
        }
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        for _ in 0..<5_000 {
            let year = [1600 + next(400), 1900 + next(200), 1965 + next(10), 2020 + next(10), 2100 + next(7900)][next(5)]
            let month = 1 + next(12)
            let day = 1 + next(month == 2 ? 28 : 30)
            let fraction = ["", "." + String(next(10)), "." + String(100 + next(900)), "." + String(10_000 + next(90_000)), ".0" + String(next(100))][next(5)]
            let sign = next(2) == 0 ? "+" : "-"
            let offset = ["Z", sign + two(next(19)) + ":" + two(next(60)), "+00:00", "-00:00"][next(4)]
            texts.append(String(year) + "-" + two(month) + "-" + two(day) + "T" + two(next(24)) + ":" + two(next(60)) + ":" + two(next(60)) + fraction + offset)
        }
        for text in texts {
            #expect(HubTime.date(text) != nil && HubTime.date(text) == Self.formatterDate(text), "\(text)")
        }
        // A calendar date likewise.
        let day = ISO8601DateFormatter()
        day.formatOptions = [.withFullDate]
        for text in texts.map({ String($0.prefix(10)) }) {
            #expect(HubTime.day(text) != nil && HubTime.day(text) == day.date(from: text), "\(text)")
        }
    }

    @Test("what RFC 3339 allows and the formatter misreads is read as RFC 3339 says; anything else is no moment")
    func readsRFC3339() throws {
        func milliseconds(_ text: String) -> Int64? { HubTime.date(text).map { Int64(($0.timeIntervalSince1970 * 1_000).rounded()) } }
        let base = try #require(milliseconds("2026-01-01T00:00:00Z"))
        #expect(base == 1_767_225_600_000)
        // Lower-case t and z (the contracts' pattern allows them; the formatter read nothing).
        #expect(milliseconds("2026-01-01t00:00:00z") == base)
        // Any number of fractional digits, cut to the millisecond: the formatter read `.9999999999` as 0.141 s,
        // and ended the process on a fraction of forty digits.
        #expect(milliseconds("2026-01-01T00:00:00.9999999999Z") == base + 999)
        #expect(milliseconds("2026-01-01T00:00:00." + String(repeating: "9", count: 40) + "Z") == base + 999)
        #expect(milliseconds("2026-01-01T00:00:00." + String(repeating: "1", count: 5_000) + "Z") == base + 111)
        // A leap second is the next minute's first; offsets to 23:59, as the contracts allow.
        #expect(milliseconds("2025-12-31T23:59:60Z") == base)
        #expect(milliseconds("2026-01-01T23:00:00+23:00") == base)
        #expect(milliseconds("2025-12-31T00:01:00-23:59") == base)
        // Before 1600, the proleptic Gregorian calendar (RFC 3339's; the formatter's is Julian before 1582).
        #expect(milliseconds("0001-01-01T00:00:00Z") == -62_135_596_800_000)
        #expect(milliseconds("1582-10-15T00:00:00Z") == -12_219_292_800_000)
        // Not RFC 3339 (some of which the formatter read leniently): no moment.
        for text in ["2026-02-30T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T00:60:00Z", "2026-01-01T00:00:61Z", "2026-13-01T00:00:00Z",
                     "2026-1-01T00:00:00Z", "2026-01-01T00:00:00+0100", "2026-01-01T00:00:00+24:00", "2026-01-01 00:00:00Z",
                     "2026-01-01T00:00:00.Z", "+2026-01-01T00:00:00Z", "2026-01-01T00:00:00", "2026-01-01", "", "x",
                     "2026-01-01T00:00:00Z ", "\u{FF12}\u{FF10}\u{FF12}\u{FF16}-01-01T00:00:00Z", "2026-01-01T00:00:00.5.5Z"] {
            #expect(HubTime.date(text) == nil, "\(text)")
        }
        for text in ["2026-02-30", "2026-1-01", "2026-01-01T", "26-01-01", "2026/01/01", ""] {
            #expect(HubTime.day(text) == nil, "\(text)")
        }
    }
}

import Foundation

/// The hub keeps moments as ISO 8601 text (with or without fractional seconds, as the topics
/// carry them); one place reads and writes them: the ledger, the SLA clocks, the matrix versions.
public enum HubTime {
    /// A moment as RFC 3339 writes it (`2026-11-29T11:45:00Z`, `2026-11-29T12:45:00.5+01:00`), the
    /// form of every date-time in the contracts and of every moment the hub writes; nil for anything
    /// else. Read directly, not by `ISO8601DateFormatter`: making one costs more than half a
    /// millisecond (consent records are compared by their times on the router's path), and its ICU
    /// parser misreads a fraction of ten digits or more (`.9999999999` as 0.141 s) and ends the
    /// process (SIGFPE) on a fraction of about 35 digits. For what it reads correctly (years from 1600, up to nine
    /// fractional digits, upper-case `T` and `Z`) the `Date` is the formatter's to the last bit;
    /// beyond that this reads what RFC 3339 says: `t` and `z` in lower case, any fraction (cut to
    /// the millisecond, as the formatter cuts it), second 60 (a leap second, as the next minute's
    /// first), the proleptic Gregorian calendar before 1600 (the formatter's is Julian before 1582).
    public static func date(_ text: String) -> Date? {
        guard let milliseconds = internetMilliseconds(text) else { return nil }
        // As the formatter computes it: from whole milliseconds since 1970, through the reference date.
        return Date(timeIntervalSinceReferenceDate: Double(milliseconds) / 1_000 - Date.timeIntervalBetween1970AndReferenceDate)
    }

    /// A calendar date (`2026-12-31`) at its start, UTC; nil for anything else.
    public static func day(_ text: String) -> Date? {
        var text = text
        let days = text.withUTF8 { bytes in bytes.count == 10 ? calendarDays(bytes) : nil }
        return days.map { Date(timeIntervalSince1970: Double($0) * 86_400) }
    }

    /// An RFC 3339 date-time as milliseconds since 1970 (see `date`), as the ledger also keeps its times.
    public static func internetMilliseconds(_ text: String) -> Int64? {
        var text = text
        return text.withUTF8 { bytes -> Int64? in
            guard bytes.count >= 20, let days = calendarDays(bytes), bytes[10] | 0x20 == UInt8(ascii: "t"),
                  let hour = digits(bytes, 11, 2), bytes[13] == UInt8(ascii: ":"), let minute = digits(bytes, 14, 2),
                  bytes[16] == UInt8(ascii: ":"), let second = digits(bytes, 17, 2), hour < 24, minute < 60, second <= 60 else { return nil }
            var index = 19
            var millisecond = 0
            if bytes[index] == UInt8(ascii: ".") {
                index += 1
                let first = index
                while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
                    if index - first < 3 { millisecond = millisecond * 10 + Int(bytes[index] - UInt8(ascii: "0")) }
                    index += 1
                }
                guard index > first else { return nil }
                for _ in min(3, index - first)..<3 { millisecond *= 10 }
            }
            var offsetMinutes = 0
            if index == bytes.count - 1, bytes[index] | 0x20 == UInt8(ascii: "z") {
            } else if index == bytes.count - 6, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-"),
                      let offsetHour = digits(bytes, index + 1, 2), bytes[index + 3] == UInt8(ascii: ":"),
                      let offsetMinute = digits(bytes, index + 4, 2), offsetHour < 24, offsetMinute < 60 {
                offsetMinutes = (offsetHour * 60 + offsetMinute) * (bytes[index] == UInt8(ascii: "-") ? -1 : 1)
            } else {
                return nil
            }
            let seconds = days * 86_400 + hour * 3_600 + (minute - offsetMinutes) * 60 + second
            return Int64(seconds) * 1_000 + Int64(millisecond)
        }
    }

    /// `YYYY-MM-DD` at the start of `bytes`, a day that exists, as days since 1970-01-01.
    private static func calendarDays(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        guard bytes.count >= 10, let year = digits(bytes, 0, 4), bytes[4] == UInt8(ascii: "-"), let month = digits(bytes, 5, 2),
              bytes[7] == UInt8(ascii: "-"), let day = digits(bytes, 8, 2), (1...12).contains(month) else { return nil }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        // 31 days in the odd months to July and the even ones from August; 30 in the others but February.
        let length = month == 2 ? (leap ? 29 : 28) : 30 + (month + month / 8) % 2
        guard (1...length).contains(day) else { return nil }
        // Howard Hinnant's `days_from_civil` (proleptic Gregorian; 1970-01-01 is day 0).
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        return era * 146_097 + yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear - 719_468
    }

    private static func digits(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ count: Int) -> Int? {
        var value = 0
        for index in start..<(start + count) {
            let byte = bytes[index]
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }

    public static func text(_ date: Date, fractionalSeconds: Bool = false) -> String {
        let seconds = date.timeIntervalSince1970.rounded(.down)
        // Years 1 to 9999 directly; anything else (a partner's date far out) as the formatter has it.
        if !fractionalSeconds, seconds >= -62_135_596_800, seconds < 253_402_300_800 { return text(secondsSince1970: Int(seconds)) }
        let formatter = ISO8601DateFormatter()
        if fractionalSeconds { formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds] }
        return formatter.string(from: date)
    }

    /// `2026-11-29T11:45:00Z`, as `ISO8601DateFormatter` writes it by default, written directly: making
    /// that formatter (its calendar and time zone) took most of a millisecond, and the router stamps
    /// every batch. The civil date from the day number is Howard Hinnant's `civil_from_days`.
    static func text(secondsSince1970 seconds: Int) -> String {
        let (days, second) = seconds.quotientAndRemainder(dividingBy: 86_400)
        let (day, secondOfDay) = second < 0 ? (days - 1, second + 86_400) : (days, second)
        let shifted = day + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let dayOfMonth = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let yearText = String(year)
        return String(repeating: "0", count: max(0, 4 - yearText.count)) + yearText + "-" + two(month) + "-" + two(dayOfMonth)
            + "T" + two(secondOfDay / 3_600) + ":" + two(secondOfDay / 60 % 60) + ":" + two(secondOfDay % 60) + "Z"
    }
}

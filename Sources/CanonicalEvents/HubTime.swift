import Foundation

/// The hub keeps moments as ISO 8601 text (with or without fractional seconds, as the topics
/// carry them); one place reads and writes them: the ledger, the SLA clocks, the matrix versions.
public enum HubTime {
    public static func date(_ text: String) -> Date? {
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return fractional.date(from: text) ?? ISO8601DateFormatter().date(from: text)
    }

    /// A calendar date (`2026-12-31`) at its start, UTC.
    public static func day(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        return formatter.date(from: text)
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

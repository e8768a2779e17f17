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
        let formatter = ISO8601DateFormatter()
        if fractionalSeconds { formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds] }
        return formatter.string(from: date)
    }
}

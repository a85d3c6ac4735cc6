/// Lengths of time as people type them for a window: a whole number and a unit, `30m`, `24h`, `3d`
/// (`ledger deadlines --due-within`, the service's `dueWithin`).
package enum DurationExpression {
    /// Microseconds, or nil when `text` is not a whole number of at most 6 ASCII digits then m, h or d (no sign, no
    /// space: the service's pattern `^[0-9]{1,6}[mhd]$`). Six digits of days stay far from overflowing.
    package static func microseconds(_ text: String) -> Int64? {
        guard let unit = text.last, let scale = scales[unit] else { return nil }
        let digits = text.dropLast()
        guard (1...6).contains(digits.utf8.count), digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            let count = Int64(digits)
        else { return nil }
        return count * scale
    }

    /// Why `text` was refused, for a one-line error after the option's name.
    package static func refusal(_ text: String) -> String {
        "\"\(text)\" is not a duration: a whole number (up to 6 digits) then m, h or d, such as 30m, 24h or 3d"
    }

    private static let scales: [Character: Int64] = ["m": 60_000_000, "h": 3_600_000_000, "d": 86_400_000_000]
}

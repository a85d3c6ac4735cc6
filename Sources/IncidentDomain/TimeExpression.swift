import EventStore

/// Times as people type them: RFC 3339 with an offset, or local Europe/Paris time (`2024-01-15 01:20`,
/// `2024-01-15T01:20`), a day (`2024-01-15`), a month (`2024-01`), or an interval of two of these
/// (`2021-06-01/2021-09-12`, whose end is the end of its right-hand side: the 12th included).
public enum TimeExpression {
    /// Parses an occurredAt, keeping the precision typed: a day is a `day`, an offset-less minute a `minute`.
    public static func occurredAt(_ text: String) -> OccurredAt? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let slash = trimmed.firstIndex(of: "/") {
            guard let from = occurredAt(String(trimmed[..<slash])),
                let to = occurredAt(String(trimmed[trimmed.index(after: slash)...]))
            else { return nil }
            let end = Timestamp(microseconds: to.latest, offsetSeconds: to.start.offsetSeconds)
            return OccurredAt(precision: .interval, start: from.start, end: end)
        }
        if let exact = Timestamp(rfc3339: trimmed) { return .instant(exact) }
        let digits = trimmed.split(whereSeparator: { "-: T".contains($0) }).map(String.init)
        guard !digits.isEmpty, digits.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) }) else { return nil }
        let n = digits.compactMap { Int($0) }
        switch n.count {
        case 2:
            guard digits[0].count == 4, let local = LocalDateTime(year: n[0], month: n[1], day: 1) else { return nil }
            return OccurredAt(precision: .month, start: Timestamp(local: local))
        case 3:
            guard digits[0].count == 4, let local = LocalDateTime(year: n[0], month: n[1], day: n[2]) else { return nil }
            return OccurredAt(precision: .day, start: Timestamp(local: local))
        case 4:
            guard let local = LocalDateTime(year: n[0], month: n[1], day: n[2], hour: n[3]) else { return nil }
            return OccurredAt(precision: .hour, start: Timestamp(local: local))
        case 5:
            guard let local = LocalDateTime(year: n[0], month: n[1], day: n[2], hour: n[3], minute: n[4]) else { return nil }
            return OccurredAt(precision: .minute, start: Timestamp(local: local))
        case 6:
            guard let local = LocalDateTime(year: n[0], month: n[1], day: n[2], hour: n[3], minute: n[4], second: n[5]) else {
                return nil
            }
            return .instant(Timestamp(local: local))
        default:
            return nil
        }
    }

    /// Parses a query time (`--as-of`, `--known-at`): the last instant the expression covers, so that
    /// "as of 2021-09-14" means by the end of that day. Returns microseconds since the epoch.
    public static func queryInstant(_ text: String) -> Int64? {
        guard let value = occurredAt(text) else { return nil }
        return value.precision == .instant ? value.latest : value.latest - 1
    }
}

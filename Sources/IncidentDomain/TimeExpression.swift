import EventStore

/// Times as people type them: RFC 3339 with an offset, or local Europe/Paris time (`2024-01-15 01:20`,
/// `2024-01-15T01:20`), a day (`2024-01-15`), a month (`2024-01`), or an interval of two of these
/// (`2021-06-01/2021-09-12`, whose end is the end of its right-hand side: the 12th included).
public enum TimeExpression {
    /// Parses an occurredAt, keeping the precision typed: a day is a `day`, an offset-less minute a `minute`.
    public static func occurredAt(_ text: String) -> OccurredAt? {
        guard let value = parse(text), Timestamp.supportedRange.contains(value.earliest),
            value.latest <= Timestamp.supportedRange.upperBound
        else { return nil }
        return value
    }

    private static func parse(_ text: String) -> OccurredAt? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let slash = trimmed.firstIndex(of: "/") {
            guard let from = parse(String(trimmed[..<slash])),
                let to = parse(String(trimmed[trimmed.index(after: slash)...]))
            else { return nil }
            let end = Timestamp(microseconds: to.latest, offsetSeconds: to.start.offsetSeconds)
            return OccurredAt(precision: .interval, start: from.start, end: end)
        }
        if let exact = Timestamp(rfc3339: trimmed) { return .instant(exact) }
        let digits = trimmed.split(whereSeparator: { "-: T".contains($0) }).map(String.init)
        // ASCII digits only: `isNumber` also takes Arabic-Indic or full-width digits, which `Int` then drops.
        guard !digits.isEmpty, digits.allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }) else {
            return nil
        }
        let n = digits.compactMap { Int($0) }
        guard n.count == digits.count else { return nil }  // a field too long for an Int is no time
        switch n.count {
        case 2:
            guard digits[0].count == 4, let local = LocalDateTime(year: n[0], month: n[1], day: 1) else { return nil }
            return OccurredAt(precision: .month, start: Timestamp(local: local))
        case 3:
            guard digits[0].count == 4, let local = LocalDateTime(year: n[0], month: n[1], day: n[2]) else { return nil }
            return OccurredAt(precision: .day, start: Timestamp(local: local))
        case 4:
            guard let local = LocalDateTime(year: n[0], month: n[1], day: n[2], hour: n[3]), !Timestamp.isAmbiguous(local)
            else { return nil }
            return OccurredAt(precision: .hour, start: Timestamp(local: local))
        case 5:
            guard let local = LocalDateTime(year: n[0], month: n[1], day: n[2], hour: n[3], minute: n[4]),
                !Timestamp.isAmbiguous(local)
            else { return nil }
            return OccurredAt(precision: .minute, start: Timestamp(local: local))
        case 6:
            guard let local = LocalDateTime(year: n[0], month: n[1], day: n[2], hour: n[3], minute: n[4], second: n[5]),
                !Timestamp.isAmbiguous(local)
            else { return nil }
            return .instant(Timestamp(local: local))
        default:
            return nil
        }
    }

    /// Why `text` is not a time, in words for a one-line error.
    public static func refusal(_ text: String) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let parts = trimmed.split(whereSeparator: { "-: T".contains($0) })
        if parts.count >= 4, parts.allSatisfy({ $0.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }) {
            let n = parts.compactMap { Int($0) }
            if n.count == parts.count, let local = LocalDateTime(
                year: n[0], month: n[1], day: n[2], hour: n[3], minute: n.count > 4 ? n[4] : 0, second: n.count > 5 ? n[5] : 0),
                Timestamp.isAmbiguous(local)
            {
                return "\"\(text)\" happens twice in Paris (the hour repeated when clocks go back): give the offset, e.g. "
                    + "\(trimmed.replacingOccurrences(of: " ", with: "T"))\(parts.count == 5 ? ":00" : "")+02:00 or +01:00"
            }
        }
        let halves = trimmed.split(separator: "/").map { Timestamp(rfc3339: String($0), unbounded: ()) }
        let outside = halves.contains { $0.map { !Timestamp.supportedRange.contains($0.microseconds) } ?? false }
        if outside || parse(trimmed).map({ !Timestamp.supportedRange.contains($0.earliest) || $0.latest > Timestamp.supportedRange.upperBound })
            ?? false
        {
            return "\"\(text)\" is \(Timestamp.outOfRangeReason)"
        }
        return "\"\(text)\" is not a time (try 2024-01-15T01:20:00+01:00, 2024-01-15 01:20, 2024-01-15, 2024-01 or 2021-06-01/2021-09-12)"
    }

    /// Parses a query time (`--as-of`, `--known-at`): the last instant the expression covers, so that
    /// "as of 2021-09-14" means by the end of that day. Returns microseconds since the epoch.
    public static func queryInstant(_ text: String) -> Int64? {
        guard let value = occurredAt(text) else { return nil }
        return value.precision == .instant ? value.latest : value.latest - 1
    }
}

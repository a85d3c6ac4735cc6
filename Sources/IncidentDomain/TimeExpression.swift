import EventStore

/// Times as people type them: RFC 3339 with an offset, or local Europe/Paris time (`2024-01-15 01:20`,
/// `2024-01-15T01:20`), a day (`2024-01-15`), a month (`2024-01`), an interval of two of these
/// (`2021-06-01/2021-09-12`, whose end is the end of its right-hand side when it is a day or a month: the 12th
/// included; a time of day ends the interval at that time), or a time relative to now (`now`, `-10m`, `-2h`,
/// `-3d`, `-1h30m`, `+2h`; see ``relativeOffset(_:)``).
package enum TimeExpression {
    /// The current time, microseconds since the epoch: the system clock unless a caller gives its own.
    package typealias Now = () -> Int64

    /// Parses an occurredAt, keeping the precision typed: a day is a `day`, an offset-less minute a `minute`. A
    /// relative time is the minute it falls in (a scribe typing `now` means this minute, not this microsecond).
    package static func occurredAt(_ text: String) -> OccurredAt? { occurredAt(text, now: systemNow) }

    /// The system clock's reading, for the forms read without a clock of their own.
    static func systemNow() -> Int64 { SystemClock().now() }

    /// ``occurredAt(_:)`` with the current time read from `now`.
    package static func occurredAt(_ text: String, now: Now) -> OccurredAt? {
        guard let value = parse(text, now: now), Timestamp.supportedRange.contains(value.earliest),
            value.latest <= Timestamp.supportedRange.upperBound, wholeMinuteOffset(value) == nil
        else { return nil }
        return value
    }

    /// `now`, or a sign then one or more amounts with their unit: `-10m`, `-2h`, `-3d`, `-1h30m`, `+2h`, also
    /// after `now` (`now-10m`). Units: `m` minutes, `h` hours, `d` days of 24 hours. Returns the offset from now in
    /// microseconds; nil when `text` is not of this form.
    package static func relativeOffset(_ text: String) -> Int64? {
        var rest = Substring(text.trimmingCharacters(in: .whitespaces).lowercased())
        if rest.hasPrefix("now") {
            rest = rest.dropFirst(3)
            if rest.isEmpty { return 0 }
        }
        guard let sign = rest.first, sign == "-" || sign == "+" else { return nil }
        rest = rest.dropFirst()
        var total: Int64 = 0
        var any = false
        while !rest.isEmpty {
            let digits = rest.prefix { $0 >= "0" && $0 <= "9" }
            // Six digits at most: a million days is past the supported range already, and no amount overflows.
            guard (1...6).contains(digits.count), let amount = Int64(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            let unit: Int64
            switch rest.first {
            case "m": unit = 60_000_000
            case "h": unit = 3_600_000_000
            case "d": unit = 86_400_000_000
            default: return nil
            }
            rest = rest.dropFirst()
            total += amount * unit
            any = true
        }
        guard any else { return nil }
        return sign == "-" ? -total : total
    }

    /// Whether `text` is a relative time that lies ahead (`+2h`): refused where only the past makes sense.
    package static func isFuture(_ text: String) -> Bool { (relativeOffset(text) ?? 0) > 0 }

    /// The instant a relative time names, with the current time `now`; nil when `text` is not relative.
    package static func relativeInstant(_ text: String, now: Now) -> Int64? {
        guard let offset = relativeOffset(text) else { return nil }
        return now() + offset
    }

    /// How a view's header shows a time typed for it: as typed, with the instant a relative time stood for.
    package static func display(_ text: String, now: Now) -> String {
        guard let instant = relativeInstant(text, now: now) else { return text }
        return "\(text.trimmingCharacters(in: .whitespaces)) = \(Timestamp(microseconds: instant).inZone().humanReadable)"
    }

    /// The offset of a Paris time that RFC 3339 cannot write, or nil. Before 11 March 1911 Paris kept its mean
    /// time, UTC+00:09:21: its text would say +00:09 and name another instant than the one checked (found by
    /// tools/fuzz, FuzzTimeExpression).
    static func wholeMinuteOffset(_ value: OccurredAt) -> Int32? {
        [value.start.offsetSeconds, value.end?.offsetSeconds ?? 0].first { $0 % 60 != 0 }
    }

    private static func parse(_ text: String, now: Now) -> OccurredAt? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let instant = relativeInstant(trimmed, now: now) {
            guard Timestamp.supportedRange.contains(instant) else { return nil }
            let minute = instant - ((instant % 60_000_000) + 60_000_000) % 60_000_000
            return OccurredAt(precision: .minute, start: Timestamp(microseconds: minute).inZone())
        }
        if let slash = trimmed.firstIndex(of: "/") {
            guard let from = parse(String(trimmed[..<slash]), now: now),
                let to = parse(String(trimmed[trimmed.index(after: slash)...]), now: now)
            else { return nil }
            let end = Timestamp(microseconds: intervalEnd(to), offsetSeconds: to.start.offsetSeconds)
            guard end.microseconds > from.earliest else { return nil }
            return OccurredAt(precision: .interval, start: from.start, end: end)
        }
        if let exact = Timestamp(rfc3339: trimmed) { return .instant(exact) }
        // To the minute with an offset (2024-01-15T01:20+01:00): a minute in that offset.
        if let minute = minuteWithOffset(trimmed) { return minute }
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
            guard let local = LocalDateTime(year: n[0], month: n[1], day: n[2], hour: n[3]), Self.isUnique(local)
            else { return nil }
            return OccurredAt(precision: .hour, start: Timestamp(local: local))
        case 5:
            guard let local = LocalDateTime(year: n[0], month: n[1], day: n[2], hour: n[3], minute: n[4]),
                Self.isUnique(local)
            else { return nil }
            return OccurredAt(precision: .minute, start: Timestamp(local: local))
        case 6:
            guard let local = LocalDateTime(year: n[0], month: n[1], day: n[2], hour: n[3], minute: n[4], second: n[5]),
                Self.isUnique(local)
            else { return nil }
            return .instant(Timestamp(local: local))
        default:
            return nil
        }
    }

    /// Where an interval typed up to `to` ends: a day or a month is included whole (`2021-06-01/2021-09-12` takes
    /// in the 12th); a time of day is the end itself (`01:00/02:00` ends at 02:00, as typed, not at 02:01).
    static func intervalEnd(_ to: OccurredAt) -> Int64 {
        switch to.precision {
        case .day, .month, .interval: to.latest
        case .instant, .minute, .hour: to.earliest
        }
    }

    /// `2024-01-15T01:20+01:00` or `…T01:20Z`: RFC 3339 but for the seconds, read as that minute.
    static func minuteWithOffset(_ text: String) -> OccurredAt? {
        let offsetLength = text.hasSuffix("Z") ? 1 : 6
        guard text.count == 16 + offsetLength else { return nil }
        let split = text.index(text.endIndex, offsetBy: -offsetLength)
        guard let start = Timestamp(rfc3339: text[..<split] + ":00" + text[split...]) else { return nil }
        return OccurredAt(precision: .minute, start: start)
    }

    /// A local time that happens exactly once in Paris: neither skipped nor repeated by a clock change.
    static func isUnique(_ local: LocalDateTime) -> Bool {
        !Timestamp.isAmbiguous(local) && !Timestamp.isNonexistent(local)
    }

    /// Why `text` is not a time, in words for a one-line error.
    package static func refusal(_ text: String) -> String { refusal(text, now: systemNow) }

    /// ``refusal(_:)`` with the current time read from `now`.
    package static func refusal(_ text: String, now: Now) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let first = trimmed.lowercased().first, first == "-" || first == "+" || trimmed.lowercased().hasPrefix("now"),
            !trimmed.contains("/")
        {
            if relativeOffset(trimmed) != nil { return "\"\(text)\" is \(Timestamp.outOfRangeReason)" }
            return "\"\(text)\" is not a relative time: now, or a sign then amounts with m, h or d (-10m, -2h, -3d, -1h30m, +2h)"
        }
        if let slash = trimmed.firstIndex(of: "/") {
            let left = String(trimmed[..<slash])
            let right = String(trimmed[trimmed.index(after: slash)...])
            for half in [left, right] where parse(half, now: now) == nil {
                return "interval \"\(text)\": " + refusal(half, now: now)
            }
            if let from = parse(left, now: now), let to = parse(right, now: now), intervalEnd(to) <= from.earliest {
                return "interval \"\(text)\" ends before it starts: give the earlier time first (\(right)/\(left))"
            }
        }
        let parts = trimmed.split(whereSeparator: { "-: T".contains($0) })
        if parts.count >= 4, parts.allSatisfy({ $0.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }) {
            let n = parts.compactMap { Int($0) }
            if n.count == parts.count,
                let local = LocalDateTime(
                    year: n[0], month: n[1], day: n[2], hour: n[3], minute: n.count > 4 ? n[4] : 0, second: n.count > 5 ? n[5] : 0
                ),
                Timestamp.isAmbiguous(local)
            {
                return "\"\(text)\" happens twice in Paris (the hour repeated when clocks go back): give the offset, e.g. "
                    + "\(trimmed.replacingOccurrences(of: " ", with: "T"))\(parts.count == 5 ? ":00" : "")+02:00 or +01:00"
            }
            if n.count == parts.count,
                let local = LocalDateTime(
                    year: n[0], month: n[1], day: n[2], hour: n[3], minute: n.count > 4 ? n[4] : 0, second: n.count > 5 ? n[5] : 0
                ),
                Timestamp.isNonexistent(local)
            {
                let typed =
                    trimmed.replacingOccurrences(of: " ", with: "T")
                    + (parts.count == 4 ? ":00:00" : parts.count == 5 ? ":00" : "")
                return "\"\(text)\" does not exist in Paris (the hour skipped when clocks go forward): give the offset, "
                    + "\(typed)+01:00 (winter time, which is \(Self.shifted(local, hours: 1)) summer time) or \(typed)+02:00 "
                    + "(summer time, which is \(Self.shifted(local, hours: -1)) winter time)"
            }
        }
        let halves = trimmed.split(separator: "/").map { Timestamp(rfc3339: String($0), unbounded: ()) }
        let outside = halves.contains { $0.map { !Timestamp.supportedRange.contains($0.microseconds) } ?? false }
        if outside
            || parse(trimmed, now: now).map({
                !Timestamp.supportedRange.contains($0.earliest) || $0.latest > Timestamp.supportedRange.upperBound
            })
                ?? false
        {
            return "\"\(text)\" is \(Timestamp.outOfRangeReason)"
        }
        if let offset = parse(trimmed, now: now).flatMap(wholeMinuteOffset) {
            let (h, m, s) = (abs(offset) / 3600, abs(offset) / 60 % 60, abs(offset) % 60)
            let spelled = (offset < 0 ? "-" : "+") + [h, m, s].map { $0 < 10 ? "0\($0)" : "\($0)" }.joined(separator: ":")
            return "\"\(text)\" is a Paris time at UTC\(spelled) (local mean time, before 1911), which RFC 3339 cannot "
                + "write: give the time with an offset, e.g. 1900-01-15T01:20:00Z"
        }
        return
            "\"\(text)\" is not a time (try 2024-01-15T01:20:00+01:00, 2024-01-15 01:20, 2024-01-15, 2024-01, 2021-06-01/2021-09-12, now or -2h)"
    }

    /// `local` moved by `hours`, as hh:mm.
    static func shifted(_ local: LocalDateTime, hours: Int) -> String {
        let moved = LocalDateTime(microsecondsSinceEpoch: local.microsecondsSinceEpoch + Int64(hours) * 3_600_000_000)
        return String(format: "%02d:%02d", moved.hour, moved.minute)
    }

    /// Parses a query time (`--as-of`, `--known-at`): the last instant the expression covers, so that
    /// "as of 2021-09-14" means by the end of that day; a relative time (`now`, `-2h`) is that very instant.
    /// Returns microseconds since the epoch.
    package static func queryInstant(_ text: String) -> Int64? { queryInstant(text, now: systemNow) }

    /// ``queryInstant(_:)`` with the current time read from `now`.
    package static func queryInstant(_ text: String, now: Now) -> Int64? {
        if let instant = relativeInstant(text, now: now) {
            return Timestamp.supportedRange.contains(instant) ? instant : nil
        }
        guard let value = occurredAt(text, now: now) else { return nil }
        return value.precision == .instant ? value.latest : value.latest - 1
    }
}

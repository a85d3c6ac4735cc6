import EventStore

/// Dates and times for people, in one language, from the `date.` keys of its table: month names and the order of
/// the parts are the table's, never Foundation's locale, so that a page prints the same on every machine.
///
/// The templates are filled from the parts of a Paris time (``dateParts(_:)``); a language uses the parts it needs
/// (English the ISO-like `2024-01-15 14:00`, French `15 janvier 2024 à 14 h 00`).
extension Messages {
    /// The placeholders a `date.` or `chart.tick.` template may use (the test of the tables checks them: both
    /// languages write the same instant, but not with the same parts).
    package static let dateParts: Set<String> = [
        "year", "year4", "month", "month2", "monthName", "monthShort", "day", "day2", "hour", "hour2", "minute2", "second2",
        "seconds", "time", "offset", "start", "end",
    ]

    /// The parts of `t` read in Paris (its own offset for the `offset` part).
    func parts(_ t: Timestamp) -> [String: String] {
        let zoned = t.inZone()
        let l = zoned.local
        func pad(_ v: Int, _ width: Int = 2) -> String {
            let s = String(v)
            return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
        }
        let seconds = l.second != 0 || l.microsecond != 0
        return [
            "year": String(l.year), "year4": pad(l.year, 4), "month": String(l.month), "month2": pad(l.month),
            "monthName": self("date.month.\(l.month)"), "monthShort": self("date.monthShort.\(l.month)"),
            "day": l.day == 1 ? self("date.firstDay") : String(l.day), "day2": pad(l.day),
            "hour": String(l.hour), "hour2": pad(l.hour), "minute2": pad(l.minute), "second2": pad(l.second),
            "seconds": seconds ? self("date.seconds", ["second2": pad(l.second)]) : "",
            "offset": Self.offset(zoned.offsetSeconds),
        ]
    }

    static func offset(_ seconds: Int32) -> String {
        let minutes = abs(Int(seconds)) / 60
        let (h, m) = (minutes / 60, minutes % 60)
        return (seconds < 0 ? "-" : "+") + (h < 10 ? "0" : "") + String(h) + ":" + (m < 10 ? "0" : "") + String(m)
    }

    /// A time to the minute (seconds when not zero), with its offset unless `offsets` is false (where the page
    /// already says the times are Paris times): "2024-01-15 14:00 +01:00", "15 janvier 2024 à 14 h 00 (UTC+01:00)".
    public func time(_ t: Timestamp, offsets: Bool = true) -> String {
        let p = parts(t)
        let text = self("date.minute", p)
        return offsets ? self("date.withOffset", ["time": text, "offset": p["offset"]!]) : text
    }

    /// A day: "2024-01-15", "15 janv. 2024".
    public func day(_ t: Timestamp) -> String { self("date.day", parts(t)) }

    /// A time read in Paris, with its template (`chart.tick.hour`…): for the labels of a chart's axis.
    package func filled(_ key: String, _ t: Timestamp) -> String { self(key, parts(t)) }

    /// An occurredAt with its precision: "2024-01-15 14h (hour)", "15 janvier 2024 vers 14 h (à l'heure près)",
    /// "between … and …" for an interval.
    public func occurred(_ occurred: OccurredAt, offsets: Bool = true) -> String {
        if let end = occurred.end {
            return self("date.between", ["start": time(occurred.start, offsets: offsets), "end": time(end, offsets: offsets)])
        }
        switch occurred.precision {
        case .instant, .minute, .interval: return time(occurred.start, offsets: offsets)
        case .hour: return self("date.precision.hour", parts(occurred.start))
        case .day: return self("date.precision.day", parts(occurred.start))
        case .month: return self("date.precision.month", parts(occurred.start))
        }
    }
}

import Foundation

extension Timestamp {
    /// The zone people read times in: the ledger shows Europe/Paris and stores UTC with the original offset.
    /// Without the system's time-zone data, fixed +01:00 (Paris winter time) rather than a crash.
    package static let displayZone = TimeZone(identifier: "Europe/Paris") ?? TimeZone(secondsFromGMT: 3600)!

    /// The same instant, written in `zone`'s offset at that instant (summer time included).
    package func inZone(_ zone: TimeZone = Timestamp.displayZone) -> Timestamp {
        let date = Date(timeIntervalSince1970: Double(microseconds) / 1_000_000)
        return inOffset(Int32(zone.secondsFromGMT(for: date)))
    }

    /// `2024-01-15 01:20 +01:00` (seconds shown only when not zero): for tables people read.
    package var humanReadable: String {
        let l = local
        var text = pad(l.year, 4) + "-" + pad(l.month, 2) + "-" + pad(l.day, 2) + " " + pad(l.hour, 2) + ":" + pad(l.minute, 2)
        if l.second != 0 || l.microsecond != 0 { text += ":" + pad(l.second, 2) }
        return text + " " + (offsetSeconds == 0 ? "+00:00" : Timestamp.offsetText(offsetSeconds))
    }

    /// Reads local wall-clock fields as a time in `zone` (Europe/Paris by default). A time that falls in
    /// the spring-forward gap takes the offset before the change; an ambiguous autumn time the first one
    /// (the earlier instant: a clock started from it is never late). Input refuses ambiguous times
    /// (``isAmbiguous(_:zone:)``); this rule reads what is already stored.
    package init(local: LocalDateTime, zone: TimeZone = Timestamp.displayZone) {
        let candidates = Self.candidates(local, zone: zone)
        let chosen = candidates.valid.min() ?? (local.microsecondsSinceEpoch - Int64(candidates.before) * 1_000_000)
        self.init(microseconds: chosen, offsetSeconds: Int32(zone.secondsFromGMT(for: Self.date(chosen))))
    }

    /// True when the local time never happens in `zone` (skipped when clocks go forward).
    package static func isNonexistent(_ local: LocalDateTime, zone: TimeZone = Timestamp.displayZone) -> Bool {
        candidates(local, zone: zone).valid.isEmpty
    }

    /// True when the local time happens twice in `zone` (the hour repeated when clocks go back).
    package static func isAmbiguous(_ local: LocalDateTime, zone: TimeZone = Timestamp.displayZone) -> Bool {
        candidates(local, zone: zone).valid.count > 1
    }

    /// The instants whose wall-clock time in `zone` is `local` (none in a gap, two in a repeated hour), and the
    /// offset in force before any change around it.
    private static func candidates(_ local: LocalDateTime, zone: TimeZone) -> (valid: Set<Int64>, before: Int) {
        let naive = local.microsecondsSinceEpoch
        let hours3: Int64 = 3 * 3_600 * 1_000_000
        // Offsets a few hours either side: every transition of a real zone is further apart than that.
        let before = zone.secondsFromGMT(for: date(naive - hours3))
        let after = zone.secondsFromGMT(for: date(naive + hours3))
        var valid = Set<Int64>()
        for offset in [before, after] {
            let instant = naive - Int64(offset) * 1_000_000
            if zone.secondsFromGMT(for: date(instant)) == offset { valid.insert(instant) }
        }
        return (valid, before)
    }

    private static func date(_ microseconds: Int64) -> Date { Date(timeIntervalSince1970: Double(microseconds) / 1_000_000) }
}

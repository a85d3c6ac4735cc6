import Foundation

extension Timestamp {
    /// The zone people read times in: the ledger shows Europe/Paris and stores UTC with the original offset.
    /// Without the system's time-zone data, fixed +01:00 (Paris winter time) rather than a crash.
    public static let displayZone = TimeZone(identifier: "Europe/Paris") ?? TimeZone(secondsFromGMT: 3600)!

    /// The same instant, written in `zone`'s offset at that instant (summer time included).
    public func inZone(_ zone: TimeZone = Timestamp.displayZone) -> Timestamp {
        let date = Date(timeIntervalSince1970: Double(microseconds) / 1_000_000)
        return inOffset(Int32(zone.secondsFromGMT(for: date)))
    }

    /// `2024-01-15 01:20 +01:00` (seconds shown only when not zero): for tables people read.
    public var humanReadable: String {
        let l = local
        var text = pad(l.year, 4) + "-" + pad(l.month, 2) + "-" + pad(l.day, 2) + " " + pad(l.hour, 2) + ":" + pad(l.minute, 2)
        if l.second != 0 || l.microsecond != 0 { text += ":" + pad(l.second, 2) }
        return text + " " + (offsetSeconds == 0 ? "+00:00" : Timestamp.offsetText(offsetSeconds))
    }

    /// Reads local wall-clock fields as a time in `zone` (Europe/Paris by default). A time that falls in
    /// the spring-forward gap takes the offset before the change; an ambiguous autumn time the first one.
    public init(local: LocalDateTime, zone: TimeZone = Timestamp.displayZone) {
        let naive = local.microsecondsSinceEpoch
        // The offset at the naive instant, then corrected once: exact away from the transitions.
        let guess = zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(naive) / 1_000_000))
        let corrected = zone.secondsFromGMT(
            for: Date(timeIntervalSince1970: Double(naive - Int64(guess) * 1_000_000) / 1_000_000))
        self.init(microseconds: naive - Int64(corrected) * 1_000_000, offsetSeconds: Int32(corrected))
    }
}

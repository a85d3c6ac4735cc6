/// An instant with the UTC offset it was given in: microseconds since 1970-01-01T00:00:00Z plus the
/// offset, so "01:20 in Nantes" is stored as that instant and shown again as `+01:00`.
///
/// Two timestamps order by instant; the offset is how the instant was written. Equality is of both, as the
/// canonical form writes both (`2024-01-15T01:20:00+01:00` and `2024-01-15T00:20:00Z` are different bytes), and
/// the order agrees with it: the same instant written in two offsets orders by offset, so that of two
/// timestamps exactly one of `<`, `==`, `>` holds. Code that means "the same instant" compares `microseconds`.
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Microseconds since the Unix epoch, UTC.
    public let microseconds: Int64
    /// Offset from UTC in seconds that the instant was written in (e.g. 3600 for +01:00).
    public let offsetSeconds: Int32

    public init(microseconds: Int64, offsetSeconds: Int32 = 0) {
        self.microseconds = microseconds
        self.offsetSeconds = offsetSeconds
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        (lhs.microseconds, lhs.offsetSeconds) < (rhs.microseconds, rhs.offsetSeconds)
    }
    public static func == (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.microseconds == rhs.microseconds && lhs.offsetSeconds == rhs.offsetSeconds
    }

    /// The same instant written in another offset.
    public func inOffset(_ seconds: Int32) -> Timestamp { Timestamp(microseconds: microseconds, offsetSeconds: seconds) }

    /// The local wall-clock fields in this timestamp's offset.
    package var local: LocalDateTime {
        LocalDateTime(microsecondsSinceEpoch: microseconds + Int64(offsetSeconds) * 1_000_000)
    }

    /// RFC 3339: `2024-01-15T01:20:00+01:00`; fractional seconds (6 digits) only when not zero; `Z` for UTC.
    public var description: String { rfc3339 }

    public var rfc3339: String {
        var text = local.text(withFraction: microseconds % 1_000_000 != 0)
        text += Self.offsetText(offsetSeconds)
        return text
    }

    /// `Z`, or `+hh:mm` / `-hh:mm`.
    static func offsetText(_ seconds: Int32) -> String {
        if seconds == 0 { return "Z" }
        let sign = seconds < 0 ? "-" : "+"
        let minutes = abs(Int(seconds)) / 60
        return sign + pad(minutes / 60, 2) + ":" + pad(minutes % 60, 2)
    }

    /// Parses RFC 3339 with a mandatory offset (`Z` or `±hh:mm`) and up to 6 fractional digits.
    /// Returns nil when the text is not such a timestamp or names an impossible date.
    public init?(rfc3339 text: String) {
        guard let parsed = Timestamp(rfc3339: text, unbounded: ()), Self.supportedRange.contains(parsed.microseconds) else {
            return nil
        }
        self = parsed
    }

    /// Why an instant outside ``supportedRange`` is refused.
    package static let outOfRangeReason = "outside the years the ledger takes (0001-01-02 to 9999-12-30 in UTC)"

    /// Parses RFC 3339 whatever the year gives in UTC (to tell an out-of-range instant from a malformed one).
    package init?(rfc3339 text: String, unbounded: Void) {
        // Native strings are contiguous UTF-8: read them in place (a copy into an array was most of the cost).
        var text = text
        guard let parsed = text.withUTF8({ Self.parse(rfc3339: $0) }) else { return nil }
        self = parsed
    }

    private static func parse(rfc3339 bytes: UnsafeBufferPointer<UInt8>) -> Timestamp? {
        var i = 0
        func number(_ width: Int) -> Int? {
            guard i + width <= bytes.count else { return nil }
            var value = 0
            for b in bytes[i..<(i + width)] {
                guard b >= 0x30, b <= 0x39 else { return nil }
                value = value * 10 + Int(b - 0x30)
            }
            i += width
            return value
        }
        func expect(_ c: Unicode.Scalar) -> Bool {
            guard i < bytes.count, bytes[i] == UInt8(ascii: c) else { return false }
            i += 1
            return true
        }
        guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2),
            i < bytes.count, bytes[i] == UInt8(ascii: "T") || bytes[i] == UInt8(ascii: "t")
        else { return nil }
        i += 1
        guard let hour = number(2), expect(":"), let minute = number(2), expect(":"), let second = number(2)
        else { return nil }
        var micros = 0
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            var digits = 0
            while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 {
                guard digits < 6 else { return nil }
                micros = micros * 10 + Int(bytes[i] - 0x30)
                digits += 1
                i += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<6 { micros *= 10 }
        }
        var offset = 0
        guard i < bytes.count else { return nil }
        switch bytes[i] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"): i += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            let negative = bytes[i] == UInt8(ascii: "-")
            i += 1
            guard let oh = number(2), expect(":"), let om = number(2), oh <= 23, om <= 59 else { return nil }
            offset = (oh * 3600 + om * 60) * (negative ? -1 : 1)
        default: return nil
        }
        guard i == bytes.count else { return nil }
        guard
            let local = LocalDateTime(
                year: year, month: month, day: day, hour: hour, minute: minute, second: second, microsecond: micros)
        else { return nil }
        return Timestamp(microseconds: local.microsecondsSinceEpoch - Int64(offset) * 1_000_000, offsetSeconds: Int32(offset))
    }

    /// The instants the ledger takes in, in microseconds: years 0001 to 9999 in UTC, a day short of each end
    /// so that every instant shows in any offset and every window end (the end of a day or month) still has a year of four digits.
    package static let supportedRange: ClosedRange<Int64> =
        LocalDateTime(year: 1, month: 1, day: 2)!
        .microsecondsSinceEpoch...LocalDateTime(year: 9999, month: 12, day: 30)!.microsecondsSinceEpoch
}

/// Wall-clock fields without an offset, in the proleptic Gregorian calendar.
package struct LocalDateTime: Sendable, Hashable {
    package let year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, microsecond: Int

    /// Validates the fields (leap years included); nil when the date or time does not exist.
    package init?(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0, microsecond: Int = 0) {
        guard (1...9999).contains(year), (1...12).contains(month),
            (1...LocalDateTime.daysIn(month: month, year: year)).contains(day),
            (0...23).contains(hour), (0...59).contains(minute), (0...59).contains(second),
            (0..<1_000_000).contains(microsecond)
        else { return nil }
        (self.year, self.month, self.day) = (year, month, day)
        (self.hour, self.minute, self.second, self.microsecond) = (hour, minute, second, microsecond)
    }

    /// Splits microseconds since the epoch (in some offset) into fields.
    package init(microsecondsSinceEpoch value: Int64) {
        let micros = value.floorMod(86_400_000_000)
        let days = (value - micros) / 86_400_000_000
        (year, month, day) = civil(fromDays: days)
        let secondsOfDay = Int(micros / 1_000_000)
        hour = secondsOfDay / 3600
        minute = secondsOfDay / 60 % 60
        second = secondsOfDay % 60
        microsecond = Int(micros % 1_000_000)
    }

    /// Microseconds since the epoch, reading these fields as UTC.
    package var microsecondsSinceEpoch: Int64 {
        let days = daysFromCivil(year: year, month: month, day: day)
        return (days * 86_400 + Int64(hour * 3600 + minute * 60 + second)) * 1_000_000 + Int64(microsecond)
    }

    package static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    func text(withFraction: Bool) -> String {
        var s = pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2)
        s += "T" + pad(hour, 2) + ":" + pad(minute, 2) + ":" + pad(second, 2)
        if withFraction { s += "." + pad(microsecond, 6) }
        return s
    }
}

func pad(_ value: Int, _ width: Int) -> String {
    let digits = String(value)
    return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
}

extension Int64 {
    func floorMod(_ divisor: Int64) -> Int64 {
        let r = self % divisor
        return r < 0 ? r + divisor : r
    }
}

// Howard Hinnant's days-from-civil algorithms: exact for the proleptic Gregorian calendar.
func daysFromCivil(year: Int, month: Int, day: Int) -> Int64 {
    let y = Int64(month <= 2 ? year - 1 : year)
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let m = Int64(month)
    let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146_097 + doe - 719_468
}

func civil(fromDays days: Int64) -> (Int, Int, Int) {
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = doy - (153 * mp + 2) / 5 + 1
    let m = mp < 10 ? mp + 3 : mp - 9
    let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
    return (Int(y), Int(m), Int(d))
}

/// When a fact happened in the world, as precisely as it is known.
///
/// "At 01:20 on 15 January" is an ``Precision/minute``; "on Wednesday" a ``Precision/day``; "during the
/// summer of 2021" an ``Precision/interval`` from 1 June to 12 September. Each value covers a window
/// `[earliest, latest)` of instants (an ``Precision/instant`` is the window of one point): at a time T the
/// fact is certain once the window's last instant is at or before T, and only possible while T is inside it
/// before that last instant.
public struct OccurredAt: Sendable, Hashable, CustomStringConvertible {
    /// How precisely the time is known.
    public enum Precision: String, Sendable, Hashable, CaseIterable {
        case instant, minute, hour, day, month, interval
    }

    public let precision: Precision
    /// The instant (for `instant`), the start of the minute, hour, day or month in its offset, or the
    /// start of the interval.
    public let start: Timestamp
    /// The end of the interval (exclusive); nil for every other precision.
    public let end: Timestamp?

    /// A value of the given precision; nil when `start` is not aligned to it in its own offset
    /// (a `day` must start at local midnight) or when an interval does not end after it starts.
    public init?(precision: Precision, start: Timestamp, end: Timestamp? = nil) {
        let local = start.local
        switch precision {
        case .instant: guard end == nil else { return nil }
        case .minute: guard end == nil, local.second == 0, local.microsecond == 0 else { return nil }
        case .hour: guard end == nil, local.minute == 0, local.second == 0, local.microsecond == 0 else { return nil }
        case .day:
            guard end == nil, local.hour == 0, local.minute == 0, local.second == 0, local.microsecond == 0 else {
                return nil
            }
        case .month:
            guard end == nil, local.day == 1, local.hour == 0, local.minute == 0, local.second == 0,
                local.microsecond == 0
            else { return nil }
        case .interval:
            guard let end, end.microseconds > start.microseconds else { return nil }
        }
        self.precision = precision
        self.start = start
        self.end = end
    }

    /// A precise instant.
    public static func instant(_ timestamp: Timestamp) -> OccurredAt {
        OccurredAt(precision: .instant, start: timestamp)!
    }

    /// The first instant the fact may have happened at (microseconds since the epoch).
    public var earliest: Int64 { start.microseconds }

    /// The end of the window (exclusive), or the instant itself for `instant`.
    public var latest: Int64 {
        switch precision {
        case .instant: return start.microseconds
        case .minute: return start.microseconds + 60_000_000
        case .hour: return start.microseconds + 3_600_000_000
        case .day: return start.microseconds + 86_400_000_000
        case .month:
            let local = start.local
            // December 9999 has no next month in the calendar the ledger accepts: its month ends 31 days on.
            guard
                let next = LocalDateTime(
                    year: local.month == 12 ? local.year + 1 : local.year, month: local.month == 12 ? 1 : local.month + 1,
                    day: 1)
            else { return start.microseconds + 31 * 86_400_000_000 }
            return next.microsecondsSinceEpoch - Int64(start.offsetSeconds) * 1_000_000
        case .interval: return end!.microseconds
        }
    }

    /// True when the fact has certainly happened by `microseconds`: the last instant of its window (`latest` is
    /// exclusive, so one microsecond before it) is not after it. "As of 2021-09-14" is the last instant of that day
    /// (``TimeExpression``): a fact known to that day is certain then, not only possible.
    public func isCertain(by microseconds: Int64) -> Bool {
        (precision == .instant ? latest : latest - 1) <= microseconds
    }
    /// True when the fact may have happened by `microseconds`.
    public func isPossible(by microseconds: Int64) -> Bool { earliest <= microseconds }

    /// `{"precision":"minute","at":"…"}` or `{"precision":"interval","from":"…","to":"…"}`.
    public var json: JSONValue {
        var members: [String: JSONValue] = ["precision": .string(precision.rawValue)]
        if let end {
            members["from"] = .string(start.rfc3339)
            members["to"] = .string(end.rfc3339)
        } else {
            members["at"] = .string(start.rfc3339)
        }
        return .object(members)
    }

    public var description: String {
        if let end { return "\(start.rfc3339)/\(end.rfc3339)" }
        return precision == .instant ? start.rfc3339 : "\(start.rfc3339) (\(precision.rawValue))"
    }

    private static let intervalKeys = ["from", "to"]

    /// Reads the JSON form, naming `path` and the rule broken when it is wrong.
    /// Reads an occurredAt object. Input is `bounded` to ``Timestamp/supportedRange``; what is already stored is
    /// read whatever its year (an event stored before the bound existed must still read).
    /// `path` is spelled only for an error.
    package init(json: JSONValue, path pathText: @autoclosure () -> String, bounded: Bool = true) throws(EventStoreError) {
        guard let members = json.objectValue else {
            throw .invalid(
                pathText(),
                "expected an object with \"precision\" and \"at\" (or \"from\" and \"to\"), got \(json.typeName)")
        }
        for key in members.keys {
            switch key {
            case "precision", "at", "from", "to": continue
            default: throw .invalid("\(pathText()).\(key)", "unknown field")
            }
        }
        var path: String { pathText() }
        guard let precisionText = members["precision"]?.stringValue else {
            throw .invalid("\(path).precision", "required: one of \(Precision.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let precision = Precision(rawValue: precisionText) else {
            throw .invalid(
                "\(path).precision",
                "\"\(precisionText)\" is not one of \(Precision.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        func timestamp(_ key: String) throws(EventStoreError) -> Timestamp {
            guard let value = members[key] else { throw .invalid("\(path).\(key)", "required for precision \(precisionText)") }
            guard let text = value.stringValue,
                let t = bounded ? Timestamp(rfc3339: text) : Timestamp(rfc3339: text, unbounded: ())
            else {
                if let text = value.stringValue, Timestamp(rfc3339: text, unbounded: ()) != nil {
                    throw .invalid("\(path).\(key)", Timestamp.outOfRangeReason)
                }
                throw .invalid("\(path).\(key)", "expected an RFC 3339 timestamp with an offset, like 2024-01-15T01:20:00+01:00")
            }
            return t
        }
        if precision == .interval {
            if members["at"] != nil { throw .invalid("\(path).at", "an interval takes \"from\" and \"to\", not \"at\"") }
            let from = try timestamp("from")
            let to = try timestamp("to")
            guard let value = OccurredAt(precision: .interval, start: from, end: to) else {
                throw .invalid("\(path).to", "must be after \"from\"")
            }
            self = value
        } else {
            for key in Self.intervalKeys where members[key] != nil {
                throw .invalid("\(path).\(key)", "only an interval takes \"from\" and \"to\"")
            }
            let at = try timestamp("at")
            guard let value = OccurredAt(precision: precision, start: at) else {
                throw .invalid(
                    "\(path).at", "not aligned to a \(precisionText) in its offset (a day starts at 00:00, a month on the 1st)")
            }
            self = value
        }
        guard !bounded || latest <= Timestamp.supportedRange.upperBound else {
            throw .invalid("\(path).\(precision == .interval ? "to" : "at")", Timestamp.outOfRangeReason)
        }
    }
}

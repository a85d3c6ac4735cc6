import EventStore
import Foundation
import IncidentDomain

/// The regulatory clocks of the incidents as a list to act on: each with the time left before it falls due or
/// how long it has been overdue, most urgent first, as `ledger deadlines` and the service's deadline routes show
/// it.
///
/// A clock falls due at its deadline, or, for an obligation "without delay" (no hour count in the text), at its
/// rule's alert threshold (``ObligationClock/overdueFrom``). The order: the open clocks (running or overdue) with
/// a due time, soonest first (so the overdue ones first, the most overdue first), then the open ones without a
/// due time, then the closed ones (met, met late, not required, kept by the ledger); ties keep the incidents' and
/// the rules' order. Pure: the reference time is given, never read from a clock.
public struct DeadlineBoard: Sendable, Hashable {
    /// One clock of one incident, with how long is left at the board's reference time.
    public struct Item: Sendable, Hashable {
        public let incident: String
        public let clock: ObligationClock
        /// When it falls due: the deadline, else the alert threshold of an obligation without delay; nil without
        /// either.
        public var dueAt: Timestamp? { clock.deadline ?? clock.overdueFrom }
        /// Whether something is still to be done: running or overdue.
        public var isOpen: Bool { clock.status == .running || clock.status == .overdue }
        /// Microseconds from the reference time to the due time, for a running clock that has one.
        public let dueIn: Int64?
        /// Microseconds from the due time to the reference time, for an overdue clock.
        public let overdueBy: Int64?

        init(incident: String, clock: ObligationClock, reference: Int64) {
            self.incident = incident
            self.clock = clock
            let due = clock.deadline ?? clock.overdueFrom
            // From the status, which the fold decided at the same reference: the figure never contradicts it.
            dueIn = clock.status == .running ? due.map { max(0, $0.microseconds - reference) } : nil
            overdueBy = clock.status == .overdue ? due.map { max(0, reference - $0.microseconds) } : nil
        }

        /// "due in 5 h 20 min", "overdue by 3 days 4 h", or nil for a clock that is closed or has no due time; in
        /// English, as JSON carries it (``dueText(language:)`` for people).
        public var dueText: String? { dueText(language: .english) }

        /// The same in `language`: "reste 5 h 20", "en retard de 3 j 4 h".
        public func dueText(language: Language) -> String? {
            let m = Messages.of(language)
            if let dueIn { return m("deadline.dueIn", ["duration": DeadlineBoard.durationText(dueIn, language: language)]) }
            if let overdueBy {
                return m("deadline.overdueBy", ["duration": DeadlineBoard.durationText(overdueBy, language: language)])
            }
            return nil
        }

        /// Running and due within ``DeadlineBoard/soon``: what a terminal shows in yellow.
        public var isDueSoon: Bool { dueIn.map { $0 <= DeadlineBoard.soon } ?? false }

        /// Where it sorts: open with a due time (by that time), open without one, closed.
        fileprivate var rank: Int { isOpen ? (dueAt == nil ? 1 : 0) : 2 }
    }

    /// Which clocks a board keeps.
    public struct Filter: Sendable, Hashable {
        /// Microseconds: only the open clocks due at or before the reference time plus this (the overdue ones
        /// always are); nil keeps every clock.
        public var dueWithin: Int64?
        /// Only clocks of these statuses; empty keeps every status.
        public var statuses: Set<ObligationClock.Status>

        public init(dueWithin: Int64? = nil, statuses: Set<ObligationClock.Status> = []) {
            self.dueWithin = dueWithin
            self.statuses = statuses
        }

        public var isEmpty: Bool { dueWithin == nil && statuses.isEmpty }

        func keeps(_ item: Item) -> Bool {
            if !statuses.isEmpty, !statuses.contains(item.clock.status) { return false }
            guard let dueWithin else { return true }
            return item.overdueBy != nil || item.dueIn.map { $0 <= dueWithin } == true
        }
    }

    /// A running clock due within this is shown as due soon (24 h).
    public static let soon: Int64 = 24 * 3_600_000_000

    /// The instant the figures are counted from: the query's as-of time, else when it was answered.
    public let reference: Int64
    public let filter: Filter
    /// The clocks the filter keeps, most urgent first.
    public let items: [Item]
    /// The incidents to which no obligation applies yet (whatever the filter).
    public let incidentsWithoutClocks: [String]

    /// The board of `all` (the runner's clocks by incident) at `reference`, which must be the reference time the
    /// clocks were computed at (``QueryTime/reference`` of the answered time).
    public init(_ all: [(incident: String, clocks: [ObligationClock])], reference: Int64, filter: Filter = Filter()) {
        self.reference = reference
        self.filter = filter
        let every = all.flatMap { entry in entry.clocks.map { Item(incident: entry.incident, clock: $0, reference: reference) } }
        items = every.enumerated().filter { filter.keeps($0.element) }.sorted { a, b in
            let (x, y) = (a.element, b.element)
            if x.rank != y.rank { return x.rank < y.rank }
            if x.rank == 0, let dx = x.dueAt?.microseconds, let dy = y.dueAt?.microseconds, dx != dy { return dx < dy }
            return a.offset < b.offset
        }.map(\.element)
        incidentsWithoutClocks = all.filter { $0.clocks.isEmpty }.map(\.incident)
    }

    /// A length of time for people, to the minute under a day and to the hour beyond: "0 min", "under 1 min", "45 min",
    /// "5 h 20 min", "1 day", "3 days 4 h" (French "3 h 20", "2 j 4 h": the `deadline.duration.` keys). Rounded
    /// down: a deadline is never said to be further than it is.
    public static func durationText(_ microseconds: Int64, language: Language = .english) -> String {
        let m = Messages.of(language)
        let minutes = max(0, microseconds) / 60_000_000
        let (days, hours, rest) = (minutes / 1440, minutes % 1440 / 60, minutes % 60)
        if days > 0 {
            let dayText = days == 1 ? m("deadline.duration.day") : m("deadline.duration.days", ["days": String(days)])
            return hours > 0 ? m("deadline.duration.daysHours", ["days": dayText, "hours": String(hours)]) : dayText
        }
        if hours > 0 {
            guard rest > 0 else { return m("deadline.duration.hours", ["hours": String(hours)]) }
            return m(
                "deadline.duration.hoursMinutes",
                ["hours": String(hours), "minutes": String(rest), "minutes2": rest < 10 ? "0\(rest)" : String(rest)])
        }
        return minutes > 0 || microseconds <= 0
            ? m("deadline.duration.minutes", ["minutes": String(minutes)]) : m("deadline.duration.underMinute")
    }
}

extension QueryViews {
    /// The text of `ledger deadlines`: one entry a clock, most urgent first. Its first line is the status in
    /// words, then what it means now (due in, overdue by, done, not required) and the due time; with `colours`
    /// (a terminal), that line is red when overdue, yellow when due within 24 h and green when met, the words
    /// saying the same without colour.
    public static func deadlinesText(_ board: DeadlineBoard, colours: Bool = false, language: Language = .english) -> String {
        let m = Messages.of(language)
        var out = ""
        // The status column is as wide as the language's longest status word, and at least 15.
        let width = max(15, ObligationClock.Status.allCases.map { m("deadline.status.\($0.rawValue)").count + 1 }.max() ?? 0)
        let indent = String(repeating: " ", count: width)
        for item in board.items {
            let c = item.clock
            let mark = m("deadline.status.\(c.status.rawValue)")
            var head = mark.padding(toLength: max(width, mark.count + 1), withPad: " ", startingAt: 0) + now(item, m)
            if colours, let colour = colour(item) { head = colour + head + "\u{1B}[0m" }
            out += head + "\n"
            out +=
                indent
                + m(
                    "deadline.obligation",
                    [
                        "incident": item.incident, "title": c.rule.title(language: language),
                        "basis": c.rule.legalBasis(language: language), "recipient": c.rule.recipient(language: language),
                    ])
                + "\n"
            let closed = c.satisfiedAt != nil || c.notRequiredBy != nil
            out +=
                indent
                + m(
                    closed ? "deadline.startedClosed" : "deadline.started",
                    [
                        "time": TimelineRendering.describe(c.startedAt, m),
                        "elapsed": TimelineRendering.formatHours(c.elapsedHours, m),
                    ])
                + "\n"
            out += indent + m("deadline.startedBy", ["fact": c.startedByFact.summaryText(language: language)]) + "\n"
            if let decision = c.notRequiredBy {
                out += indent + m("deadline.notRequiredBecause", ["reason": decision.summaryText(language: language)]) + "\n"
            }
        }
        if board.items.isEmpty {
            if !board.filter.isEmpty {
                if let window = board.filter.dueWithin {
                    out += m("deadline.noMatchWithin", ["duration": DeadlineBoard.durationText(window, language: language)])
                } else {
                    out += m("deadline.noMatch")
                }
                out += "\n"
            } else if board.incidentsWithoutClocks.isEmpty {
                out += m("deadline.noIncident") + "\n"
            }
        }
        for incident in board.incidentsWithoutClocks where board.filter.isEmpty {
            out += m("deadline.withoutClocks", ["incident": incident]) + "\n"
        }
        return out
    }

    /// What a clock means at the board's time, with its due time: "due in 5 h 20 min: deadline …",
    /// "overdue by 1 day 7 h: without delay, alert threshold …", "done … (deadline …)".
    private static func now(_ item: DeadlineBoard.Item, _ m: Messages) -> String {
        let c = item.clock
        func time(_ t: Timestamp) -> String { m.time(t) }
        let due: String? =
            c.deadline.map { m("deadline.deadline", ["time": time($0)]) }
            ?? c.overdueFrom.map { m("deadline.withoutDelay", ["time": time($0)]) }
        switch c.status {
        case .running, .overdue:
            guard let text = item.dueText(language: m.language), let due else { return m("report.remaining.noDue") }
            return m("deadline.now", ["text": text, "due": due])
        case .met, .metLate:
            let done =
                c.satisfiedAt.map { m("deadline.done", ["time": TimelineRendering.describe($0, m)]) } ?? m("deadline.doneUndated")
            guard let deadline = c.deadline else { return done }
            return m(
                c.status == .metLate ? "deadline.afterDeadline" : "deadline.withDeadline", ["done": done, "time": time(deadline)])
        case .notRequired:
            let decided = c.notRequiredBy.map {
                m("deadline.notRequiredFrom", ["time": TimelineRendering.describe($0.occurredAt, m)])
            }
            let text = decided ?? m("deadline.notRequired")
            return c.deadline.map { m("deadline.withDeadline", ["done": text, "time": time($0)]) } ?? text
        case .keptByLedger:
            return m("report.remaining.kept")
        }
    }

    /// The terminal colour of a clock's first line: red overdue, yellow due within 24 h, green met.
    private static func colour(_ item: DeadlineBoard.Item) -> String? {
        switch item.clock.status {
        case .overdue: "\u{1B}[1;31m"
        case .running where item.isDueSoon: "\u{1B}[33m"
        case .met: "\u{1B}[32m"
        default: nil
        }
    }

    /// One clock as `ledger deadlines --format json` prints it (an item of its `clocks`) and the service serves
    /// it: the clock, its due time and how long is left (`dueInSeconds`) or how long it has been overdue
    /// (`overdueBySeconds`), in whole seconds rounded down, with the same in words (`dueText`).
    public static func clockJSON(_ item: DeadlineBoard.Item) -> JSONValue {
        let c = item.clock
        func seconds(_ micros: Int64?) -> JSONValue { micros.map { .number(JSONNumber(Int($0 / 1_000_000))) } ?? .null }
        return .object([
            "incident": .string(item.incident), "rule": .string(c.rule.id), "title": .string(c.rule.title),
            "legalBasis": .string(c.rule.legalBasis), "recipient": .string(c.rule.recipient),
            "status": .string(c.status.rawValue),
            "startedBy": .string(c.startedBy.lowercasedString), "startedAt": c.startedAt.json,
            "startedBySummary": .string(c.startedBySummary),
            "deadline": c.deadline.map { .string($0.inZone().rfc3339) } ?? .null,
            "satisfiedBy": c.satisfiedBy.map { .string($0.lowercasedString) } ?? .null,
            "satisfiedAt": c.satisfiedAt?.json ?? .null,
            "notRequiredBy": c.notRequiredBy.map { .string($0.eventId.lowercasedString) } ?? .null,
            "notRequiredAt": c.notRequiredBy?.occurredAt.json ?? .null,
            "notRequiredReason": c.notRequiredBy.map { .string($0.summary) } ?? .null,
            "elapsedHours": number(FigureText.hours(c.elapsedHours)),
            "overdueFrom": c.overdueFrom.map { .string($0.inZone().rfc3339) } ?? .null,
            "dueAt": item.dueAt.map { .string($0.inZone().rfc3339) } ?? .null,
            "dueInSeconds": seconds(item.dueIn), "overdueBySeconds": seconds(item.overdueBy),
            "dueText": item.dueText.map { .string($0) } ?? .null,
        ])
    }
}

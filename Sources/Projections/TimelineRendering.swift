import EventStore
import Foundation
import IncidentDomain

/// Draws recovery timelines for people: a terminal chart, a JSON document, an SVG Gantt chart, and an HTML
/// report around it. Times are shown in Europe/Paris.
///
/// Every chart is a chart of sites: one establishment's timeline is the one-site case of several establishments'
/// timelines (a group's sites in one incident) on a common time axis, each site with its lanes under a heading.
public enum TimelineRendering {
    // MARK: - The time axis

    /// The span a chart of `timelines` covers: from the first milestone or segment to the last change, padded; to
    /// the query's T itself (`endsAtReference`) when a service is still not restored then, so that the bars of the
    /// outages still going on reach the as-of time.
    static func span(_ timelines: [RecoveryTimeline]) -> (start: Int64, end: Int64, endsAtReference: Bool) {
        var starts: [Int64] = []
        var ends: [Int64] = []
        var ongoing = false
        var reference = Int64.min
        for timeline in timelines {
            let t = timeline.reference
            reference = max(reference, t)
            // A fact only possible at T ends the chart at T, not at the end of its window.
            func cut(_ window: OccurredAt) -> Int64 { max(window.earliest, min(window.latest, t)) }
            starts += timeline.milestones.filter { $0.kind != .intrusion }.map { $0.occurredAt.earliest }
            starts += timeline.lanes.compactMap { $0.segments.first?.start.microseconds }
            for lane in timeline.lanes {
                for segment in lane.segments { ends.append(segment.endedAt.map(cut) ?? segment.start.microseconds) }
                if isOngoing(lane) { ongoing = true }
            }
            ends += timeline.milestones.filter { $0.kind != .intrusion || !$0.possible }.map { cut($0.occurredAt) }
        }
        let start = starts.min() ?? (timelines.isEmpty ? 0 : reference)
        var end = max(ends.max() ?? start, start + 3_600_000_000)
        let endsAtReference = ongoing && reference >= end
        if endsAtReference { end = reference }
        let pad = (end - start) / 40
        // Clamped to the years the ledger takes: a fact stored at year 0001 or 9999 still draws.
        let bounds = Timestamp.supportedRange
        let first = max(bounds.lowerBound, start - pad)
        return (first, min(bounds.upperBound, max(endsAtReference ? end : end + pad, first + 1)), endsAtReference)
    }

    /// True when the lane's last segment is still open at T and the service not back.
    static func isOngoing(_ lane: ServiceLane) -> Bool {
        guard let last = lane.segments.last else { return false }
        return last.endedAt == nil && last.status != .restored
    }

    /// A tick of the time axis: its instant, its label, and the wider context (the day of an hour, the year of a
    /// day) where it changes.
    struct Tick: Equatable {
        let at: Int64
        let label: String
        let context: String?
    }

    /// The step between ticks, in wall-clock units of Paris time.
    enum Step: Equatable {
        case hours(Int), days(Int), weeks(Int), months(Int), years(Int)

        var isHourly: Bool {
            if case .hours = self { return true }
            return false
        }
    }

    /// Chooses the step from the span: hours under two days, then days, weeks, months, years; the smallest that
    /// leaves `maximum` ticks or fewer.
    static func step(start: Int64, end: Int64, maximum: Int) -> Step {
        let hour: Double = 3_600_000_000
        let span = Double(end - start)
        let hourly: [Step] = [.hours(1), .hours(2), .hours(3), .hours(6), .hours(12)]
        let longer: [Step] =
            [.days(1), .days(2), .weeks(1), .weeks(2), .months(1), .months(2), .months(3), .months(6)]
            + [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000].map { Step.years($0) }
        func length(_ step: Step) -> Double {
            switch step {
            case .hours(let n): Double(n) * hour
            case .days(let n): Double(n) * 24 * hour
            case .weeks(let n): Double(n) * 7 * 24 * hour
            case .months(let n): Double(n) * 30.4 * 24 * hour
            case .years(let n): Double(n) * 365.25 * 24 * hour
            }
        }
        let candidates = span < 48 * hour ? hourly : longer
        return candidates.first { span / length($0) <= Double(maximum) } ?? candidates.last!
    }

    /// The ticks from `start` to `end` at a step chosen from the span, at round Paris times (the hour, midnight,
    /// Monday, the 1st, 1 January), each labelled; the first one and each change of day (hours: "15 Jan 2024", the
    /// year on the first and where it changes) or of year (days, weeks, months) carry that as their context.
    static func ticks(start: Int64, end: Int64, maximum: Int, _ m: Messages = .english) -> [Tick] {
        let step = step(start: start, end: end, maximum: maximum)
        let day: Int64 = 86_400_000_000
        let first = Timestamp(microseconds: start).inZone().local
        // Wall-clock times, as microseconds read as UTC: stepping them and reading each in Paris keeps ticks on
        // round local times across clock changes.
        var wall: Int64
        switch step {
        case .hours(let n):
            wall =
                LocalDateTime(year: first.year, month: first.month, day: first.day, hour: first.hour / n * n)!
                .microsecondsSinceEpoch
        case .days, .weeks:
            wall = LocalDateTime(year: first.year, month: first.month, day: first.day)!.microsecondsSinceEpoch
            // 1970-01-01 was a Thursday: weeks start on Monday.
            if case .weeks = step {
                let days = wall >= 0 ? wall / day : (wall - day + 1) / day
                wall -= ((days + 3) % 7 + 7) % 7 * day
            }
        case .months(let n):
            wall = LocalDateTime(year: first.year, month: (first.month - 1) / n * n + 1, day: 1)!.microsecondsSinceEpoch
        case .years(let n):
            wall = LocalDateTime(year: max(1, first.year / n * n), month: 1, day: 1)!.microsecondsSinceEpoch
        }
        func next(_ wall: Int64) -> Int64 {
            switch step {
            case .hours(let n): return wall + Int64(n) * 3_600_000_000
            case .days(let n): return wall + Int64(n) * day
            case .weeks(let n): return wall + Int64(n) * 7 * day
            case .months(let n), .years(let n):
                let local = LocalDateTime(microsecondsSinceEpoch: wall)
                let months = local.month - 1 + (step == .months(n) ? n : 12 * n)
                guard let moved = LocalDateTime(year: local.year + months / 12, month: months % 12 + 1, day: 1) else {
                    return Int64.max
                }
                return moved.microsecondsSinceEpoch
            }
        }
        var ticks: [Tick] = []
        var lastKey: String?
        var lastYear: Int?
        while ticks.count < 400, wall < Int64.max / 2 {
            let local = LocalDateTime(microsecondsSinceEpoch: wall)
            guard local.year <= 9999 else { break }
            // A wall-clock time the spring clock change skips is no tick (it would fall on the next hour's).
            guard local.year >= 1, !Timestamp.isNonexistent(local) else {
                wall = next(wall)
                continue
            }
            let at = Timestamp(local: local).microseconds
            if at > end { break }
            if at >= start, at > (ticks.last?.at ?? Int64.min) {
                // The label, and what the context row says where it changes: the day of an hour tick, the year
                // of the others.
                // The words and their order are the language's (`chart.tick.` keys).
                let time = Timestamp(microseconds: at)
                let label: String
                let key: String?
                switch step {
                case .hours:
                    label = m.filled("chart.tick.hour", time)
                    key = m.filled("chart.tick.day", time)
                case .days, .weeks:
                    label = m.filled("chart.tick.day", time)
                    key = m.filled("chart.tick.year", time)
                case .months:
                    label = m.filled("chart.tick.month", time)
                    key = m.filled("chart.tick.year", time)
                case .years:
                    label = m.filled("chart.tick.year", time)
                    key = nil
                }
                var context = key == lastKey ? nil : key
                // A day carries its year on the first tick and where the year changes.
                if step.isHourly, context != nil {
                    context = lastYear == local.year ? context : m.filled("chart.tick.dayYear", time)
                    lastYear = local.year
                }
                ticks.append(Tick(at: at, label: label, context: context))
                lastKey = key
            }
            wall = next(wall)
        }
        return ticks
    }

    /// The as-of time for people: an as-of typed as a minute, an hour or a day is the last microsecond of it
    /// (``TimeExpression/queryInstant(_:)``), shown as that minute ("23:59", not "23:59:59").
    static func asOfText(_ reference: Int64, _ m: Messages = .english) -> String {
        let local = Timestamp(microseconds: reference).inZone().local
        guard local.second == 59, local.microsecond == 999_999 else { return m.time(Timestamp(microseconds: reference)) }
        return m.time(Timestamp(microseconds: reference - 59_999_999))
    }

    static func day(_ micros: Int64, _ m: Messages = .english) -> String { m.day(Timestamp(microseconds: micros)) }

    /// How wide `text` is drawn at `size` px in Helvetica (bold a tenth wider), a little generously: the layout
    /// keeps labels apart and inside the chart by it.
    static func textWidth(_ text: String, size: Double, bold: Bool = false) -> Double {
        var em = 0.0
        for c in text {
            switch c {
            case "i", "l", "j", "t", "f", "r", ".", ",", ":", ";", "'", "|", "!", " ", "(", ")", "[", "]", "·", "/": em += 0.32
            case "m", "w", "M", "W", "%", "@", "…", "◀": em += 0.86
            case _ where c.isUppercase: em += 0.68
            default: em += 0.57
            }
        }
        return em * size * (bold ? 1.1 : 1)
    }

    /// `text` cut with "…" to at most `maximum` px wide.
    static func fit(_ text: String, size: Double, bold: Bool = false, within maximum: Double) -> String {
        var shown = text
        while textWidth(shown, size: size, bold: bold) > maximum, shown.count > 2 { shown = String(shown.dropLast(2)) + "…" }
        return shown
    }

    /// `text` in lines at most `maximum` px wide, broken between words (a word too long for a line cut with "…").
    static func wrap(_ text: String, size: Double, bold: Bool = false, within maximum: Double) -> [String] {
        var lines: [String] = []
        var line = ""
        for word in text.split(separator: " ").map(String.init) {
            let joined = line.isEmpty ? word : line + " " + word
            if textWidth(joined, size: size, bold: bold) <= maximum || line.isEmpty {
                line = joined
            } else {
                lines.append(line)
                line = word
            }
        }
        lines.append(line)
        return lines.map { fit($0, size: size, bold: bold, within: maximum) }
    }

    // MARK: - Words for people

    static func statusText(_ status: ServiceCondition.Status, _ m: Messages = .english) -> String {
        m("report.condition.\(status.rawValue)")
    }

    /// True for a segment between down and fully back, whose capacity is worth saying.
    static func isPartial(_ segment: ServiceLane.Segment) -> Bool {
        segment.status == .degraded || segment.status == .partiallyRestored
    }

    static func capacityText(_ segment: ServiceLane.Segment, _ m: Messages = .english) -> String {
        segment.capacityPercent.map { "\(FigureText.of($0, m)) %" } ?? "–"
    }

    /// A milestone in words: a step of the recovery by its name, a fact by the words of its event type with the
    /// value that tells it apart ("authority notified (CNIL)", "complaint filed (police)").
    /// The milestone's words are the table's (`chart.milestone.` keys, by step or event type; a type the tables
    /// do not know falls back to its words), the value that tells it apart the catalogue's label of that value.
    static func milestoneText(_ kind: Milestone.Kind, _ m: Messages = .english) -> String {
        let key = "chart.milestone." + kind.rawValue
        let words =
            m.has(key)
            ? m(key) : kind.rawValue.replacingOccurrences(of: "_", with: " ").replacingOccurrences(of: ".", with: " ")
        guard let detail = kind.detail else { return words }
        if detail == "OTHER" { return "\(words) (\(m("chart.milestone.other")))" }
        let field = Catalogue.spec(for: kind.rawValue)?.milestone?.distinguishedBy
        let known = field.map { m.value(detail, field: $0) }.flatMap { $0 == detail ? nil : $0 }
        return "\(words) (\(known ?? FactSummary.providerLabel(detail, name: nil)))"
    }

    /// Hours for people, one decimal with the language's separator: "2.0 h", "2,1 jours".
    package static func formatHours(_ hours: Double, _ m: Messages = .english) -> String {
        func number(_ value: Double) -> String {
            String(format: "%.1f", value).replacingOccurrences(of: ".", with: m("chart.decimal"))
        }
        return hours >= 48 ? m("chart.days", ["days": number(hours / 24)]) : m("chart.hours", ["hours": number(hours)])
    }

    /// A duration for people: "2.0 h" when exact (or when its ends print alike), else "between 1.5 h and 9.0 h".
    package static func formatHours(_ range: HoursRange, _ m: Messages = .english) -> String {
        let shortest = formatHours(range.shortest, m)
        let longest = formatHours(range.longest, m)
        return shortest == longest ? shortest : m("chart.between", ["shortest": shortest, "longest": longest])
    }

    /// An occurredAt for people: Paris time, with its precision.
    package static func describe(_ occurred: OccurredAt, _ m: Messages = .english) -> String {
        m.occurred(occurred, offsets: true)
    }

    /// The same, without the offsets (`offsets: false`) where the page already says the times are Paris times and
    /// room is short (the chart's milestone labels).
    static func describe(_ occurred: OccurredAt, offsets: Bool, _ m: Messages = .english) -> String {
        m.occurred(occurred, offsets: offsets)
    }

    /// Where a segment ends, in words: its end, or "ongoing at the as-of time" while a service is not back.
    static func endText(_ segment: ServiceLane.Segment, _ m: Messages = .english) -> String {
        if let end = segment.endedAt { return describe(end, m) + (segment.endPossible ? " " + m("report.possible") : "") }
        return segment.status == .restored ? "–" : m("chart.end.ongoing")
    }

    /// A site's name as headings show it.
    static func siteName(_ timeline: RecoveryTimeline) -> String {
        timeline.establishmentName == timeline.establishment
            ? timeline.establishment : "\(timeline.establishmentName) (\(timeline.establishment))"
    }

    /// The milestones of the sites on one chart, one per kind and time: a milestone shared by every site (the
    /// incident's detection) once, one of some sites naming them.
    static func milestones(_ timelines: [RecoveryTimeline]) -> [(milestone: Milestone, sites: [String])] {
        var found: [(milestone: Milestone, sites: [String])] = []
        for timeline in timelines {
            for milestone in timeline.milestones {
                if let i = found.firstIndex(where: { $0.milestone == milestone }) {
                    found[i].sites.append(timeline.establishmentName)
                } else {
                    found.append((milestone, [timeline.establishmentName]))
                }
            }
        }
        return
            found
            .map { timelines.count > 1 && $0.sites.count < timelines.count ? $0 : ($0.milestone, []) }
            .sorted { Milestone.precedes($0.milestone, $1.milestone) }
    }

    static func milestoneLabel(
        _ item: (milestone: Milestone, sites: [String]), offsets: Bool = false, _ m: Messages = .english
    ) -> String {
        (item.sites.isEmpty ? "" : item.sites.joined(separator: ", ") + " · ")
            + m(
                "chart.milestoneLabel",
                [
                    "milestone": milestoneText(item.milestone.kind, m),
                    "time": describe(item.milestone.occurredAt, offsets: offsets, m),
                ])
            + (item.milestone.possible ? " " + m("report.possible") : "")
    }

    /// The incidents the timelines are of, by title, each once.
    static func incidentTitles(_ timelines: [RecoveryTimeline]) -> String {
        var titles: [String] = []
        for timeline in timelines where !titles.contains(timeline.incidentTitle) { titles.append(timeline.incidentTitle) }
        return titles.joined(separator: ", ")
    }

    static func metricRows(_ metrics: RecoveryTimeline.Metrics, _ m: Messages = .english) -> [(String, HoursRange?)] {
        [
            (m("chart.metric.containment"), metrics.hoursToContainment),
            (m("chart.metric.firstPartialRestoration"), metrics.hoursToFirstPartialRestoration),
            (m("chart.metric.fullRestoration"), metrics.hoursToFullRestoration),
        ]
    }

    // MARK: - Terminal

    static func symbol(_ status: ServiceCondition.Status) -> Character {
        switch status {
        case .down: "█"
        case .degraded: "▓"
        case .partiallyRestored: "▒"
        case .restored: "·"
        }
    }

    /// A chart for a terminal: one lane per service, `width` columns of time.
    public static func terminal(_ timeline: RecoveryTimeline, width: Int = 60, language: Language = .english) -> String {
        let m = Messages.of(language)
        return terminal(
            [timeline],
            title: m(
                "chart.terminal.title",
                [
                    "site": "\(timeline.establishmentName) (\(timeline.establishment))", "incident": timeline.incidentTitle,
                    "id": timeline.incidentId,
                ]),
            width: width, language: language)
    }

    /// Several sites' timelines on one terminal chart with a common time axis: each site's lanes under its name,
    /// then the milestones, each site's metrics and a table of the segments (status, capacity, from, to).
    public static func terminal(
        _ timelines: [RecoveryTimeline], title: String, width: Int = 60, language: Language = .english
    ) -> String {
        let m = Messages.of(language)
        let (start, end, endsAtReference) = span(timelines)
        let reference = timelines.map(\.reference).max() ?? end
        let scale = Double(width) / Double(max(1, end - start))
        func column(_ micros: Int64) -> Int { Int(min(Double(width - 1), max(0, Double(micros - start) * scale))) }
        let multiSite = timelines.count > 1
        var out = title + "\n"
        let labelWidth = 28
        let hourly = end - start < 2 * 86_400_000_000
        func axis(_ micros: Int64) -> String {
            hourly ? m.time(Timestamp(microseconds: micros - micros % 60_000_000), offsets: false) : day(micros, m)
        }
        let left = axis(start)
        let right = axis(end)
        out += String(repeating: " ", count: labelWidth) + left
        out += String(repeating: " ", count: max(1, width - left.count - right.count)) + right
        out += endsAtReference ? " " + m("chart.terminal.asOf") + "\n" : "\n"
        func fit(_ label: String, _ width: Int) -> String {
            (label.count > width - 2 ? String(label.prefix(width - 3)) + "…" : label)
                .padding(toLength: width, withPad: " ", startingAt: 0)
        }
        for timeline in timelines {
            if multiSite { out += "— \(siteName(timeline)) —\n" }
            for lane in timeline.lanes {
                var cells = [Character](repeating: " ", count: width)
                for segment in lane.segments {
                    let from = column(segment.start.microseconds)
                    let to = segment.end.map { column($0.microseconds) } ?? column(min(end, reference))
                    for c in from...max(from, to) { cells[c] = symbol(segment.status) }
                    // The start's uncertainty (a day, an interval) shows as '?'.
                    if segment.startIsUncertain {
                        for c in from...max(from, min(to, column(segment.startWindowEnd) - 1)) where c < width { cells[c] = "?" }
                    }
                }
                out +=
                    fit(Services.label(lane.service, language: language), labelWidth) + String(cells)
                    + (isOngoing(lane) ? " ▶ " + m("chart.ongoing") : "") + "\n"
            }
        }
        var marks = [Character](repeating: " ", count: width)
        let milestones = milestones(timelines)
        for item in milestones where item.milestone.occurredAt.earliest >= start {
            marks[column(item.milestone.occurredAt.earliest)] = "^"
        }
        out += m("chart.terminal.milestones").padding(toLength: labelWidth, withPad: " ", startingAt: 0) + String(marks) + "\n"
        out += m("chart.terminal.legend") + "\n"
        for item in milestones { out += "  " + milestoneLabel(item, offsets: true, m) + "\n" }
        for timeline in timelines {
            if multiSite { out += "\(siteName(timeline)):\n" }
            let metrics = timeline.metrics
            for (name, hours) in metricRows(metrics, m) {
                out += "  " + m("cli.field", ["label": name, "text": hours.map { formatHours($0, m) } ?? "-"]) + "\n"
            }
            for lane in timeline.lanes {
                let h = metrics.serviceHours[lane.service]!
                let hours = m("chart.serviceHours", ["down": formatHours(h.down, m), "degraded": formatHours(h.degraded, m)])
                out += "  " + m("cli.field", ["label": Services.label(lane.service, language: language), "text": hours]) + "\n"
            }
            if !timeline.lanes.isEmpty {
                out +=
                    "  " + fit(m("chart.terminal.column.service"), labelWidth) + fit(m("chart.terminal.column.status"), 32)
                    + fit(m("chart.terminal.column.capacity"), 10) + m("chart.terminal.column.fromTo") + "\n"
            }
            for lane in timeline.lanes {
                for segment in lane.segments {
                    out +=
                        "  " + fit(Services.label(lane.service, language: language), labelWidth)
                        + fit(statusText(segment.status, m) + (segment.possible ? " " + m("report.possible") : ""), 32)
                        + fit(capacityText(segment, m), 10) + describe(segment.startedAt, m) + " → " + endText(segment, m) + "\n"
                }
            }
            for impact in timeline.careImpacts {
                let summary = impact.summaryText(language: m.language)
                out += "  " + m("chart.terminal.care", ["summary": summary, "time": describe(impact.occurredAt, m)]) + "\n"
                out += QueryViews.detailLines(
                    impact, indent: "    ", summary: summary, sources: false,
                    names: [timeline.establishment: timeline.establishmentName], sole: timeline.establishment, m)
            }
        }
        return out
    }

    // MARK: - JSON

    /// The timeline as JSON.
    public static func json(_ timeline: RecoveryTimeline) -> JSONValue {
        func time(_ t: Timestamp?) -> JSONValue { t.map { .string($0.inZone().rfc3339) } ?? .null }
        func instant(_ micros: Int64?) -> JSONValue { time(micros.map { Timestamp(microseconds: $0) }) }
        func number(_ d: Double?) -> JSONValue { d.flatMap(JSONNumber.init).map(JSONValue.number) ?? .null }
        func hours(_ range: HoursRange?) -> JSONValue { range?.json ?? .null }
        return .object([
            "establishment": .string(timeline.establishment), "establishmentName": .string(timeline.establishmentName),
            "incident": .string(timeline.incidentId), "incidentTitle": .string(timeline.incidentTitle),
            "reference": .string(referenceText(timeline.reference)),
            "lanes": .array(
                timeline.lanes.map { lane in
                    .object([
                        "service": .string(lane.service), "label": .string(Services.label(lane.service)),
                        "segments": .array(
                            lane.segments.map { s in
                                .object([
                                    "status": .string(s.status.rawValue), "capacityPercent": number(s.capacityPercent),
                                    "start": time(s.start), "end": time(s.end),
                                    "startKnownWithin": instant(s.startWindowEnd), "endKnownWithin": instant(s.endWindowEnd),
                                    "possible": .bool(s.possible), "hours": s.hours(until: timeline.reference).json,
                                ])
                            }),
                    ])
                }),
            "milestones": .array(
                timeline.milestones.map {
                    .object([
                        "kind": .string($0.kind.rawValue), "detail": $0.kind.detail.map(JSONValue.string) ?? .null,
                        "label": .string(milestoneText($0.kind)), "occurredAt": $0.occurredAt.json,
                        "possible": .bool($0.possible),
                    ])
                }),
            "metrics": .object([
                "hoursToContainment": hours(timeline.metrics.hoursToContainment),
                "hoursToFirstPartialRestoration": hours(timeline.metrics.hoursToFirstPartialRestoration),
                "hoursToFullRestoration": hours(timeline.metrics.hoursToFullRestoration),
                "serviceHours": .object(
                    timeline.metrics.serviceHours.mapValues { .object(["down": $0.down.json, "degraded": $0.degraded.json]) }),
            ]),
            "careImpacts": .array(timeline.careImpacts.map(QueryViews.summaryJSON)),
        ])
    }

    /// The reference time to the second: an as-of day is its last microsecond, which reads as 23:59:59.
    static func referenceText(_ micros: Int64) -> String {
        let seconds = micros - ((micros % 1_000_000) + 1_000_000) % 1_000_000
        return Timestamp(microseconds: seconds).inZone().rfc3339
    }

    /// Several sites' timelines (a group's) as one JSON document: `{"group": …, "reference": …, "timelines": […]}`,
    /// each timeline as ``json(_:)`` writes it.
    public static func json(group: String, timelines: [RecoveryTimeline]) -> JSONValue {
        .object([
            "group": .string(group),
            "reference": timelines.map(\.reference).max().map { .string(referenceText($0)) }
                ?? .null,
            "timelines": .array(timelines.map(json)),
        ])
    }

    // MARK: - SVG

    /// Text for SVG and HTML: markup characters escaped, and the characters XML 1.0 forbids (controls other than
    /// tab, line feed and carriage return; U+FFFE, U+FFFF) dropped, so that no stored text makes a document a
    /// browser refuses to draw.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            case _ where scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF: continue
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    static func color(_ status: ServiceCondition.Status) -> String {
        switch status {
        case .down: "#c0392b"
        case .degraded: "#e67e22"
        case .partiallyRestored: "#f1c40f"
        case .restored: "#27ae60"
        }
    }

    /// The colour of text drawn on a bar of `status`: white on the dark ones.
    static func ink(_ status: ServiceCondition.Status) -> String {
        status == .down || status == .restored ? "#fff" : "#222"
    }

    /// The statuses a bar can have, in the legend's order.
    static let statuses: [ServiceCondition.Status] = [.down, .degraded, .partiallyRestored, .restored]

    /// The pattern each status is filled with over its colour, so that the chart reads without colour (printed
    /// in grey, or by someone who does not tell red from green): down a dense grid, degraded vertical stripes,
    /// partially restored dots, restored thin horizontal lines; a start known only within a window is hatched
    /// diagonally over it.
    static func pattern(_ status: ServiceCondition.Status, id: String) -> String {
        let open = "<pattern id=\"\(id)\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\">"
        let ground = "<rect width=\"6\" height=\"6\" fill=\"\(color(status))\"/>"
        let marks =
            switch status {
            case .down: "<path d=\"M0 0.5H6M0.5 0V6\" stroke=\"#641e16\" stroke-width=\"1\"/>"
            case .degraded: "<rect x=\"0\" width=\"2\" height=\"6\" fill=\"#a04000\"/>"
            case .partiallyRestored: "<circle cx=\"3\" cy=\"3\" r=\"1.3\" fill=\"#7d6608\"/>"
            case .restored: "<rect y=\"0\" width=\"6\" height=\"1\" fill=\"#b9f0cd\"/>"
            }
        return open + ground + marks + "</pattern>"
    }

    /// A prefix for the ids of one chart's patterns: several charts on one page (an HTML report of several
    /// incidents) must not share ids. From the incidents' ids, as letters, digits and dashes.
    static func idPrefix(_ timelines: [RecoveryTimeline]) -> String {
        var ids: [String] = []
        for timeline in timelines where !ids.contains(timeline.incidentId) { ids.append(timeline.incidentId) }
        let text = ids.joined(separator: "-")
        return "tl-"
            + String(text.unicodeScalars.map { CharacterSet.alphanumerics.contains($0) && $0.isASCII ? Character($0) : "-" })
            + "-"
    }

    /// A number for an SVG attribute: two decimals at most.
    static func n(_ value: Double) -> String {
        // Total: a chart of values stored at the ends of the calendar still prints.
        guard value.isFinite else { return "0" }
        let rounded = (min(1e9, max(-1e9, value)) * 100).rounded() / 100
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
    }

    /// The chart's geometry, in viewBox units (px at its natural size): the width, the column of lane names, the
    /// plot between `left` and `right` (room to the right of it for the "ongoing" marks). 800 wide so that it is
    /// drawn near its natural size in an 800 px window and on an A4 page; it scales down below that.
    static let width = 800.0, left = 190.0, right = 736.0, laneHeight = 26.0, headingHeight = 22.0, rowHeight = 16.0

    /// A Gantt chart of one establishment's timeline.
    public static func svg(_ timeline: RecoveryTimeline, language: Language = .english) -> String {
        svg(
            [timeline],
            title: Messages.of(language)(
                "chart.title", ["name": "\(timeline.establishmentName) (\(timeline.establishment))"]),
            language: language)
    }

    /// A `<text>` element at (`x`, `y`) (the baseline's start): every label of the chart is one, with its size, so
    /// that its box can be estimated (``textWidth(_:size:bold:)``) and checked against the others.
    static func text(
        _ content: String, x: Double, y: Double, size: Double, bold: Bool = false, fill: String = "#222",
        attributes: String = "", tooltip: String? = nil
    ) -> String {
        "<text\(attributes) x=\"\(n(x))\" y=\"\(n(y))\" font-size=\"\(n(size))\"\(bold ? " font-weight=\"bold\"" : "") fill=\"\(fill)\">"
            + (tooltip.map { "<title>\(escape($0))</title>" } ?? "") + escape(content) + "</text>"
    }

    /// A Gantt chart of several sites' timelines (a group's establishments in one incident) on one time axis: each
    /// site's lanes under a heading row with its name (no heading for a single site, named by `title`), each
    /// condition a colour and a pattern, with the status and capacity written in the bar where they fit (always
    /// in its tooltip), the start known only within a window hatched, what is only possible at the as-of time
    /// translucent and outlined, outages still going on at the as-of time marked "ongoing" at the axis end,
    /// milestones (the recovery's steps, and the facts the catalogue marks: notifications, complaints, data theft)
    /// as dashed lines with their labels in rows below the lanes, and a legend of all of it. Ticks of hours, days,
    /// weeks, months or years by the span, in Paris time. It scales with the page (`width="100%"`, a viewBox, at
    /// most its natural width); `role="img"`, an `aria-label`, a `<title>` and a `<desc>` that says it in words.
    /// No two labels overlap, none leaves the chart, and no dashed line crosses one.
    public static func svg(_ timelines: [RecoveryTimeline], title: String, language: Language = .english) -> String {
        let m = Messages.of(language)
        let (start, end, endsAtReference) = span(timelines)
        let reference = timelines.map(\.reference).max() ?? end
        let multiSite = timelines.count > 1
        let ids = idPrefix(timelines)
        func x(_ micros: Int64) -> Double { left + Double(micros - start) / Double(max(1, end - start)) * (right - left) }
        var body = ""

        // The title and the line under it, wrapped to the chart's width.
        let asOf = asOfText(reference, m)
        let incidents = incidentTitles(timelines)
        var y = 20.0
        for line in wrap(title, size: 15, bold: true, within: width - 20) {
            body += text(line, x: 10, y: y, size: 15, bold: true) + "\n"
            y += 19
        }
        let plainSubtitle = m("chart.subtitle", ["incidents": incidents, "asOf": asOf])
        let subtitle = endsAtReference ? m("chart.subtitle.axisEnds", ["subtitle": plainSubtitle]) : plainSubtitle
        for line in wrap(subtitle, size: 12, within: width - 20) {
            body += text(line, x: 10, y: y - 1, size: 12, fill: "#555") + "\n"
            y += 16
        }

        // The legend: what the colours and patterns, hatching, translucency, the ongoing mark and the dashed
        // lines mean; each swatch drawn as the chart draws it.
        var legendX = 10.0
        var legendY = y + 6
        func legendItem(_ swatch: (Double, Double) -> String, _ label: String) {
            let itemWidth = 20 + textWidth(label, size: 11) + 14
            if legendX + itemWidth > width - 10, legendX > 10 {
                legendX = 10
                legendY += 18
            }
            body += swatch(legendX, legendY - 10) + text(label, x: legendX + 20, y: legendY, size: 11) + "\n"
            legendX += itemWidth
        }
        func square(_ x: Double, _ y: Double, _ attributes: String) -> String {
            "<rect x=\"\(n(x))\" y=\"\(n(y))\" width=\"16\" height=\"12\" \(attributes)/>"
        }
        for status in statuses {
            legendItem(
                { square($0, $1, "fill=\"url(#\(ids)\(status.rawValue))\" stroke=\"#555\" stroke-width=\"0.5\"") },
                statusText(status, m))
        }
        legendItem(
            { square($0, $1, "fill=\"#fff\" stroke=\"#999\"") + square($0, $1, "fill=\"url(#\(ids)uncertain)\"") },
            m("chart.legend.uncertain"))
        legendItem(
            {
                square(
                    $0, $1,
                    "fill=\"url(#\(ids)down)\" fill-opacity=\"0.45\" stroke=\"#333\" stroke-dasharray=\"2 2\"")
            }, m("chart.legend.possible"))
        legendItem(
            { "<path d=\"M\(n($0 + 3)) \(n($1)) L\(n($0 + 12)) \(n($1 + 6)) L\(n($0 + 3)) \(n($1 + 12)) Z\" fill=\"#2c3e50\"/>" },
            m("chart.legend.ongoing"))
        legendItem(
            {
                "<line x1=\"\(n($0 + 8))\" y1=\"\(n($1))\" x2=\"\(n($0 + 8))\" y2=\"\(n($1 + 12))\" stroke=\"#2c3e50\" stroke-dasharray=\"3 2\"/>"
            }, m("chart.legend.milestone"))

        // The axis: a row for the context (the day of hour ticks with the year on the first and when it changes,
        // the year of day, week and month ticks), a row for the ticks.
        let contextY = legendY + 22
        let tickY = contextY + 13
        let top = tickY + 8
        var laneTop = top
        for timeline in timelines {
            if multiSite { laneTop += headingHeight }
            laneTop += Double(timeline.lanes.count) * laneHeight
        }
        let bottom = max(laneTop, top + 10)
        let plotWidth = right - left
        // A tick every 72 px at most: room for a label ("16 Jan", "02:00") or a context ("15 Jan 2024").
        let ticks = ticks(start: start, end: end, maximum: max(2, Int(plotWidth / 72)), m)
        var lastLabelEnd = -Double.infinity
        var lastContextEnd = -Double.infinity
        for tick in ticks {
            let tx = x(tick.at)
            body += "<line x1=\"\(n(tx))\" y1=\"\(n(tickY + 3))\" x2=\"\(n(tx))\" y2=\"\(n(bottom))\" stroke=\"#ddd\"/>"
            // Each label starts at its tick, or ends inside the chart's right edge; one that would touch the one
            // before is left out (the first, with the year, never is).
            let labelWidth = textWidth(tick.label, size: 10)
            let labelX = min(tx + 2, width - 4 - labelWidth)
            if labelX > lastLabelEnd + 4 {
                body += text(tick.label, x: labelX, y: tickY, size: 10, fill: "#555", attributes: " class=\"tick\"")
                lastLabelEnd = labelX + labelWidth
            }
            if let context = tick.context {
                let contextWidth = textWidth(context, size: 10, bold: true)
                let contextX = min(tx + 2, width - 4 - contextWidth)
                if contextX > lastContextEnd + 4 {
                    body += text(
                        context, x: contextX, y: contextY, size: 10, bold: true, fill: "#333",
                        attributes: " class=\"tick-context\"")
                    lastContextEnd = contextX + contextWidth
                }
            }
            body += "\n"
        }

        // Where the milestones' labels go, first: their dashed lines decide where the bars' own labels fit.
        let items = milestones(timelines)
        let placed = layOut(items, start: start, m, x: x)
        let lineXs = placed.compactMap(\.lineX)

        // The sites and their lanes.
        y = top
        for timeline in timelines {
            if multiSite {
                body +=
                    "<rect x=\"0\" y=\"\(n(y))\" width=\"\(n(width))\" height=\"\(n(headingHeight))\" fill=\"#eef1f3\"/>"
                body += text(
                    fit(siteName(timeline), size: 12, bold: true, within: width - 20), x: 10, y: y + 15, size: 12, bold: true)
                body += "\n"
                y += headingHeight
            }
            for lane in timeline.lanes {
                let name = Services.label(lane.service, language: language)
                body += text(fit(name, size: 12, within: left - 16), x: 10, y: y + 17, size: 12, tooltip: name) + "\n"
                for segment in lane.segments {
                    body += bar(segment, lane: name, y: y, reference: reference, end: end, ids: ids, lines: lineXs, m, x: x)
                }
                if isOngoing(lane), let last = lane.segments.last {
                    let ex = x(min(end, reference))
                    body +=
                        "<path d=\"M\(n(ex + 1)) \(n(y + 4)) L\(n(ex + 10)) \(n(y + 13)) L\(n(ex + 1)) \(n(y + 22)) Z\" fill=\"#2c3e50\">"
                    body +=
                        "<title>\(escape(m("chart.ongoing.tip", ["service": name, "status": statusText(last.status, m)])))</title></path>"
                    body += text(m("chart.ongoing"), x: ex + 13, y: y + 17, size: 10, fill: "#2c3e50") + "\n"
                }
                y += laneHeight
            }
        }
        // T itself when the axis reaches it: the line the ongoing bars stop at.
        if reference >= start, reference <= end {
            body +=
                "<line x1=\"\(n(x(reference)))\" y1=\"\(n(top - 4))\" x2=\"\(n(x(reference)))\" y2=\"\(n(bottom))\" stroke=\"#555\"><title>\(escape(m("chart.asOf.tip", ["time": asOf])))</title></line>\n"
        }
        body += "<line x1=\"\(n(left))\" y1=\"\(n(bottom))\" x2=\"\(n(right))\" y2=\"\(n(bottom))\" stroke=\"#999\"/>\n"

        // Milestones: a dashed line down to the label's own row (``layOut``), on a white ground that hides any line
        // that still has to pass behind it.
        var labels = ""
        for placed in placed {
            let labelY = bottom + 22 + Double(placed.row) * rowHeight
            let occurred = placed.item.milestone.occurredAt
            if let mx = placed.lineX {
                // The window of a milestone known only within one (a containment "during the night"), shaded.
                let windowEnd = min(end, max(occurred.earliest, min(occurred.latest, reference)))
                if windowEnd - occurred.earliest > 60_000_000 {
                    body +=
                        "<rect x=\"\(n(mx))\" y=\"\(n(top - 4))\" width=\"\(n(max(1, x(windowEnd) - mx)))\" height=\"\(n(bottom - top + 4))\" fill=\"#2c3e50\" fill-opacity=\"0.08\"><title>\(escape(m("chart.window.tip", ["milestone": milestoneText(placed.item.milestone.kind, m)])))</title></rect>"
                }
                let opacity = placed.item.milestone.possible ? " stroke-opacity=\"0.5\"" : ""
                body +=
                    "<line x1=\"\(n(mx))\" y1=\"\(n(top - 4))\" x2=\"\(n(mx))\" y2=\"\(n(labelY - 11))\" stroke=\"#2c3e50\" stroke-dasharray=\"4 3\"\(opacity)/>\n"
            }
            let textLength = textWidth(placed.text, size: 11)
            labels +=
                "<rect x=\"\(n(placed.x - 2))\" y=\"\(n(labelY - 11))\" width=\"\(n(textLength + 4))\" height=\"14\" fill=\"#fff\"/>"
            labels +=
                text(placed.text, x: placed.x, y: labelY, size: 11, fill: "#2c3e50", attributes: " class=\"milestone\"") + "\n"
        }
        body += labels
        let rows = (placed.map(\.row).max() ?? -1) + 1
        let height = bottom + 22 + Double(rows) * rowHeight + (rows == 0 ? 0 : 4)

        let laneCount = timelines.reduce(0) { $0 + $1.lanes.count }
        let ongoingCount = timelines.reduce(0) { $0 + $1.lanes.filter(isOngoing).count }
        let services =
            laneCount == 1 ? m("chart.summary.service") : m("chart.summary.services", ["count": String(laneCount)])
        let summary = m(
            "chart.summary",
            [
                "title": title,
                "services": multiSite
                    ? m("chart.summary.sites", ["services": services, "count": String(timelines.count)]) : services,
                "ongoing": String(ongoingCount), "asOf": asOf,
                "milestones": items.count == 1
                    ? m("chart.summary.milestone") : m("chart.summary.milestones", ["count": String(items.count)]),
            ])
        let defs =
            statuses.map { pattern($0, id: ids + $0.rawValue) }.joined()
            + "<pattern id=\"\(ids)uncertain\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">"
            + "<rect width=\"3\" height=\"6\" fill=\"#7f8c8d\"/></pattern>"
        return """
            <svg xmlns="http://www.w3.org/2000/svg" width="100%" viewBox="0 0 \(n(width)) \(n(height))" \
            preserveAspectRatio="xMinYMin meet" style="max-width:\(n(width))px" \
            role="img" aria-label="\(escape(summary))" font-family="Helvetica, Arial, sans-serif" font-size="12">
            <title>\(escape(title))</title>
            <desc>\(escape(description(timelines, summary: summary, milestones: items, m)))</desc>
            <defs>\(defs)</defs>
            \(body)</svg>

            """
    }

    /// Where each milestone's label goes: its text, its left edge, its row below the lanes, and the x of its
    /// dashed line (nil for one before the chart's start, listed without a line).
    ///
    /// Each label ends at its line (text to its left) or starts at it, on the side with room and fewer other
    /// lines under it, or is shifted just inside the chart. A line runs down to its own row, so it must not cross
    /// a label of a row above: a milestone whose line falls within another's label goes in a row above that
    /// label. Labels are placed in that order (else the order things happened), each in the first row below the
    /// lines that must pass above it where it overlaps no label already there; where two labels each cover the
    /// other's line, the earlier goes first and the white ground of the later hides the line.
    static func layOut(
        _ items: [(milestone: Milestone, sites: [String])], start: Int64, _ m: Messages = .english, x: (Int64) -> Double
    ) -> [(
        item: (milestone: Milestone, sites: [String]), text: String, x: Double, row: Int, lineX: Double?
    )] {
        let lines: [Double?] = items.map { $0.milestone.occurredAt.earliest < start ? nil : x($0.milestone.occurredAt.earliest) }
        var texts: [String] = []
        // Where each label may start: at its line's left (ending there) or right, where it fits; else shifted
        // just inside the chart.
        var choices: [[Double]] = []
        var lengths: [Double] = []
        for (k, item) in items.enumerated() {
            var text = milestoneLabel(item, m)
            if lines[k] == nil { text = m("chart.beforeChart", ["label": text]) }
            text = fit(text, size: 11, within: width - 20)
            let length = textWidth(text, size: 11)
            var sides = [10.0]
            if let mx = lines[k] {
                sides = [mx - 4 - length, mx + 4].filter { $0 >= 10 && $0 + length <= width - 10 }
                if sides.isEmpty { sides = [min(width - 10 - length, max(10, mx - 4 - length))] }
            }
            texts.append(text)
            lengths.append(length)
            choices.append(sides)
        }
        var chosen = [Int](repeating: 0, count: items.count)
        func span(_ k: Int) -> (from: Double, to: Double) {
            let from = choices[k][chosen[k]]
            return (from - 2, from + lengths[k] + 2)
        }
        func covers(_ k: Int, _ j: Int) -> Bool {
            guard j != k, let line = lines[j] else { return false }
            let s = span(k)
            return line > s.from && line < s.to
        }
        // The sides: first each the one with fewer other lines through its label (the left one on a tie), then
        // labels that cover each other's lines (no row order can keep both lines clear) turned to their other
        // side while that lowers the number of such pairs, then of lines through labels.
        func cost() -> (pairs: Int, crossings: Int) {
            var pairs = 0
            var crossings = 0
            for k in items.indices {
                for j in items.indices where covers(k, j) {
                    crossings += 1
                    if j > k, covers(j, k) { pairs += 1 }
                }
            }
            return (pairs, crossings)
        }
        for k in items.indices where choices[k].count > 1 {
            let crossings = choices[k].indices.map { c in
                chosen[k] = c
                return items.indices.filter { covers(k, $0) }.count
            }
            chosen[k] = crossings[1] < crossings[0] ? 1 : 0
        }
        var best = cost()
        var improved = best.pairs > 0
        while improved {
            improved = false
            for k in items.indices where choices[k].count > 1 {
                chosen[k] = 1 - chosen[k]
                let now = cost()
                if now.pairs < best.pairs || (now.pairs == best.pairs && now.crossings < best.crossings) {
                    best = now
                    improved = best.pairs > 0
                } else {
                    chosen[k] = 1 - chosen[k]
                }
            }
        }
        let spans = items.indices.map(span)
        // above[k]: the milestones whose line crosses k's label, which must be in rows above it.
        let above = items.indices.map { k in items.indices.filter { covers(k, $0) } }
        var rows = [Int](repeating: -1, count: items.count)
        var occupied: [[(from: Double, to: Double)]] = []
        for _ in items.indices {
            let waiting = items.indices.filter { rows[$0] < 0 }
            // Where every choice breaks a rule (labels covering each other's lines), the one breaking fewest.
            let k =
                waiting.first { above[$0].allSatisfy { rows[$0] >= 0 } }
                ?? waiting.min { a, b in above[a].filter { rows[$0] < 0 }.count < above[b].filter { rows[$0] < 0 }.count }!
            var row = (above[k].map { rows[$0] }.max() ?? -1) + 1
            while row < occupied.count,
                occupied[row].contains(where: { $0.from < spans[k].to + 2 && spans[k].from < $0.to + 2 })
            {
                row += 1
            }
            while occupied.count <= row { occupied.append([]) }
            occupied[row].append(spans[k])
            rows[k] = row
        }
        return items.indices.map { (items[$0], texts[$0], spans[$0].from + 2, rows[$0], lines[$0]) }
    }

    /// One segment's bar: its colour and pattern, translucent and outlined when only possible, its start's window
    /// hatched, its status and capacity written in it where they fit between the milestones' dashed lines (`lines`),
    /// and all of it in its tooltip.
    static func bar(
        _ segment: ServiceLane.Segment, lane: String, y: Double, reference: Int64, end: Int64, ids: String, lines: [Double],
        _ m: Messages = .english, x: (Int64) -> Double
    ) -> String {
        let segmentEnd = segment.end?.microseconds ?? min(end, reference)
        let x0 = x(segment.start.microseconds)
        let barWidth = max(2, x(segmentEnd) - x0)
        let status = statusText(segment.status, m)
        // The share still working says something only between down (0 %) and fully back (100 %).
        let capacity = isPartial(segment) ? segment.capacityPercent.map { "\(FigureText.of($0, m)) %" } : nil
        var tip = m(
            "chart.tip.from",
            ["service": lane, "status": status + (capacity.map { " (\($0))" } ?? ""), "start": describe(segment.startedAt, m)])
        if segment.endedAt != nil {
            tip = m("chart.tip.to", ["tip": tip, "end": endText(segment, m)])
        } else if segment.status != .restored {
            tip = m("chart.tip.ongoing", ["tip": tip])
        }
        if segment.possible { tip = m("chart.tip.possible", ["tip": tip]) }
        var out =
            "<rect x=\"\(n(x0))\" y=\"\(n(y + 4))\" width=\"\(n(barWidth))\" height=\"\(n(laneHeight - 8))\" fill=\"url(#\(ids)\(segment.status.rawValue))\""
        if segment.possible { out += " fill-opacity=\"0.45\" stroke=\"#333\" stroke-dasharray=\"2 2\"" }
        out += "><title>\(escape(tip))</title></rect>\n"
        if segment.startIsUncertain {
            let bandWidth = max(2, min(barWidth, x(segment.startWindowEnd) - x0))
            out +=
                "<rect x=\"\(n(x0))\" y=\"\(n(y + 4))\" width=\"\(n(bandWidth))\" height=\"\(n(laneHeight - 8))\" fill=\"url(#\(ids)uncertain)\" opacity=\"0.6\"><title>\(escape(m("chart.tip.uncertain", ["tip": tip])))</title></rect>\n"
        }
        // In the bar: "partially restored 60 %", else "60 %", else nothing (the tooltip still says it); moved right
        // past any milestone line it would sit on, on a plain ground of the bar's colour that keeps it legible
        // over the pattern.
        for candidate in [status + (capacity.map { " \($0)" } ?? ""), capacity].compactMap({ $0 }) {
            let length = textWidth(candidate, size: 10)
            var from = x0 + 4
            while let line = lines.filter({ $0 > from - 4 && $0 < from + length + 4 }).max() { from = line + 4 }
            guard from + length + 3 <= x0 + barWidth else { continue }
            let opacity = segment.possible ? " fill-opacity=\"0.45\"" : ""
            out +=
                "<rect x=\"\(n(from - 2))\" y=\"\(n(y + 8))\" width=\"\(n(length + 4))\" height=\"13\" rx=\"2\" fill=\"\(color(segment.status))\"\(opacity) pointer-events=\"none\"/>"
                + text(
                    candidate, x: from, y: y + 17, size: 10, fill: ink(segment.status),
                    attributes: " class=\"bar-label\" pointer-events=\"none\"") + "\n"
            break
        }
        return out
    }

    /// The chart in words, for `<desc>`: each site's services and their segments, then the milestones.
    static func description(
        _ timelines: [RecoveryTimeline], summary: String, milestones: [(milestone: Milestone, sites: [String])],
        _ m: Messages = .english
    ) -> String {
        var parts = [summary + "."]
        for timeline in timelines {
            let lanes = timeline.lanes.map { lane in
                Services.label(lane.service, language: m.language) + ": "
                    + lane.segments.map { s in
                        var text = m(
                            "chart.desc.from",
                            [
                                "status": statusText(s.status, m)
                                    + (isPartial(s) ? s.capacityPercent.map { " \(FigureText.of($0, m)) %" } ?? "" : ""),
                                "start": describe(s.startedAt, m),
                            ])
                        if let end = s.endedAt { text = m("chart.desc.to", ["segment": text, "end": describe(end, m)]) }
                        if s.endedAt == nil, s.status != .restored { text = m("chart.desc.ongoing", ["segment": text]) }
                        return text
                    }.joined(separator: ", \(m("chart.desc.then")) ")
            }
            parts.append((timelines.count > 1 ? siteName(timeline) + ": " : "") + lanes.joined(separator: "; ") + ".")
        }
        if !milestones.isEmpty {
            parts.append(
                m(
                    "chart.desc.milestones",
                    ["list": milestones.map { milestoneLabel($0, offsets: true, m) }.joined(separator: "; ")]))
        }
        return parts.joined(separator: " ")
    }

    // MARK: - HTML

    static let style = """
        body{font-family:Helvetica,Arial,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:.5em 0}\
        td,th{border:1px solid #ccc;padding:4px 10px;text-align:left}caption{text-align:left;font-weight:bold;padding:4px 0}\
        svg{display:block;max-width:100%;height:auto}\
        @media print{body{margin:0}section{break-inside:avoid}}
        """

    /// A self-contained HTML report of one establishment: per incident, the Gantt chart, the metrics, the
    /// segments (with capacity) and the care impact.
    public static func html(_ timelines: [RecoveryTimeline], language: Language = .english) -> String {
        let m = Messages.of(language)
        let name = timelines.first.map { "\($0.establishmentName) (\($0.establishment))" } ?? m("chart.page.noIncident")
        let body = timelines.map { section(heading: $0.incidentTitle, [$0], chartTitle: nil, m) }.joined()
        return page(name: name, body: body, m)
    }

    /// A self-contained HTML report of a group (`group`, a name for people): per incident, one chart of every
    /// site's lanes on a common time axis, then each site's metrics, segments and care impact.
    public static func html(group: String, timelines: [RecoveryTimeline], language: Language = .english) -> String {
        let m = Messages.of(language)
        var incidents: [String] = []
        for timeline in timelines where !incidents.contains(timeline.incidentId) { incidents.append(timeline.incidentId) }
        let body = incidents.map { incident in
            let sites = timelines.filter { $0.incidentId == incident }
            return section(heading: sites[0].incidentTitle, sites, chartTitle: m("chart.title", ["name": group]), m)
        }.joined()
        return page(name: group, body: body, m)
    }

    static func page(name: String, body: String, _ m: Messages = .english) -> String {
        let title = escape(m("chart.page.title", ["name": name]))
        return """
            <!DOCTYPE html>
            <html lang="\(m.language.rawValue)"><head><meta charset="utf-8"><title>\(title)</title>
            <style>\(style)</style></head>
            <body><h1>\(title)</h1>
            \(body.isEmpty ? "<p>\(escape(m("chart.page.none")))</p>\n" : body)</body></html>

            """
    }

    /// One incident's section: the chart of its sites and its milestones as a table (what the chart shows, for
    /// those who cannot see it), then for each site the metrics, the segments and the care.
    static func section(
        heading: String, _ timelines: [RecoveryTimeline], chartTitle: String?, _ m: Messages = .english
    ) -> String {
        var body = "<section><h2>\(escape(heading))</h2>\n"
        body += chartTitle.map { svg(timelines, title: $0, language: m.language) } ?? svg(timelines[0], language: m.language)
        let items = milestones(timelines)
        func th(_ key: String) -> String { "<th>\(escape(m(key)))</th>" }
        let possible = " " + m("report.possible")
        if !items.isEmpty {
            let sites = items.contains { !$0.sites.isEmpty }
            body +=
                "<table class=\"milestones\"><caption>\(escape(m("report.milestones.heading")))</caption><tr>"
                + th("report.milestones.column.milestone") + th("report.milestones.column.when")
                + (sites ? th("report.milestones.column.sites") : "") + "</tr>\n"
            for item in items {
                let all = m("report.milestones.allSites")
                body +=
                    "<tr><td>\(escape(milestoneText(item.milestone.kind, m)))\(item.milestone.possible ? escape(possible) : "")</td>"
                    + "<td>\(escape(describe(item.milestone.occurredAt, m)))</td>"
                    + (sites ? "<td>\(escape(item.sites.isEmpty ? all : item.sites.joined(separator: ", ")))</td>" : "")
                    + "</tr>\n"
            }
            body += "</table>\n"
        }
        for timeline in timelines {
            if timelines.count > 1 { body += "<h3>\(escape(siteName(timeline)))</h3>\n" }
            body += "<table><tr>" + th("chart.metric.column.metric") + th("chart.metric.column.value") + "</tr>\n"
            let metrics = timeline.metrics
            for (name, hours) in metricRows(metrics, m) {
                body +=
                    "<tr><td>\(escape(name.prefix(1).uppercased() + name.dropFirst()))</td><td>\(escape(hours.map { formatHours($0, m) } ?? "–"))</td></tr>\n"
            }
            for lane in timeline.lanes {
                let h = metrics.serviceHours[lane.service]!
                let hours = m("chart.serviceHours", ["down": formatHours(h.down, m), "degraded": formatHours(h.degraded, m)])
                body +=
                    "<tr><td>\(escape(Services.label(lane.service, language: m.language)))</td><td>\(escape(hours))</td></tr>\n"
            }
            body += "</table>\n"
            if !timeline.lanes.isEmpty {
                body +=
                    "<table class=\"segments\"><caption>\(escape(m("chart.segments.caption")))</caption><tr>"
                    + th("report.services.column.service") + th("report.services.column.status")
                    + th("report.services.column.capacity") + th("chart.column.from") + th("chart.column.to") + "</tr>\n"
                for lane in timeline.lanes {
                    for segment in lane.segments {
                        body +=
                            "<tr><td>\(escape(Services.label(lane.service, language: m.language)))</td><td>\(escape(statusText(segment.status, m)))\(segment.possible ? escape(possible) : "")</td>"
                            + "<td>\(escape(capacityText(segment, m)))</td><td>\(escape(describe(segment.startedAt, m)))</td>"
                            + "<td>\(escape(endText(segment, m)))</td></tr>\n"
                    }
                }
                body += "</table>\n"
            }
            if !timeline.careImpacts.isEmpty {
                body +=
                    "<h3>\(escape(m("report.care.heading")))</h3><ul>"
                    + timeline.careImpacts.map { impact in
                        let summary = impact.summaryText(language: m.language)
                        let details = FactFields.details(
                            eventType: impact.eventType, payload: impact.payload, summary: summary,
                            names: [timeline.establishment: timeline.establishmentName], m)
                        let revisions = impact.revisionText(m)
                        return "<li>\(escape(summary)) [\(escape(describe(impact.occurredAt, m)))]"
                            + (details.isEmpty ? "" : "<br><small>\(escape(details))</small>")
                            + (revisions.isEmpty ? "" : "<br><small>\(escape(revisions))</small>")
                            + "<br><small>\(escape(m("chart.care.source", ["source": impact.source, "actor": impact.actor])))</small></li>"
                    }.joined()
                    + "</ul>\n"
            }
        }
        return body + "</section>\n"
    }
}

extension HoursRange {
    /// `{"shortest": 1.5, "longest": 9, "shortestSeconds": 5400, "longestSeconds": 32400}`: hours rounded to three
    /// decimals (3.6 s) for people and plots, and the exact figure in whole seconds; equal ends when exact.
    public var json: JSONValue {
        func seconds(_ micros: Int64) -> Int64 { (micros + 500_000) / 1_000_000 }
        func hours(_ micros: Int64) -> JSONValue {
            .number(JSONNumber((Double(seconds(micros)) / 3.6).rounded() / 1000)!)
        }
        return .object([
            "shortest": hours(shortestMicroseconds), "longest": hours(longestMicroseconds),
            "shortestSeconds": .number(JSONNumber(Int(seconds(shortestMicroseconds)))),
            "longestSeconds": .number(JSONNumber(Int(seconds(longestMicroseconds)))),
        ])
    }
}

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
    }

    static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

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
    /// Monday, the 1st, 1 January), each labelled; the first one and each change of day (hours) or year carry it.
    static func ticks(start: Int64, end: Int64, maximum: Int) -> [Tick] {
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
        var lastContext: String?
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
                let label: String
                let context: String?
                switch step {
                case .hours:
                    label = pad(local.hour) + ":00"
                    context = String(format: "%04d-%02d-%02d", local.year, local.month, local.day)
                case .days, .weeks:
                    label = "\(local.day) \(monthNames[local.month - 1])"
                    context = String(local.year)
                case .months:
                    label = monthNames[local.month - 1]
                    context = String(local.year)
                case .years:
                    label = String(local.year)
                    context = nil
                }
                ticks.append(Tick(at: at, label: label, context: context == lastContext ? nil : context))
                lastContext = context
            }
            wall = next(wall)
        }
        return ticks
    }

    static func pad(_ value: Int) -> String { value < 10 ? "0\(value)" : String(value) }

    /// The as-of time for people: an as-of typed as a minute, an hour or a day is the last microsecond of it
    /// (``TimeExpression/queryInstant(_:)``), shown as that minute ("23:59", not "23:59:59").
    static func asOfText(_ reference: Int64) -> String {
        let t = Timestamp(microseconds: reference).inZone()
        let text = t.humanReadable
        guard t.local.second == 59, t.local.microsecond == 999_999 else { return text }
        return String(text.prefix(16)) + String(text.suffix(7))
    }

    static func day(_ micros: Int64) -> String {
        String(Timestamp(microseconds: micros).inZone().humanReadable.prefix(10))
    }

    /// How wide `text` is drawn at `size` px in Helvetica, a little generously: the layout keeps labels apart by it.
    static func textWidth(_ text: String, size: Double) -> Double {
        var em = 0.0
        for c in text {
            switch c {
            case "i", "l", "j", "t", "f", "r", ".", ",", ":", ";", "'", "|", "!", " ", "(", ")", "[", "]", "·", "/": em += 0.32
            case "m", "w", "M", "W", "%", "@": em += 0.86
            case _ where c.isUppercase: em += 0.68
            default: em += 0.57
            }
        }
        return em * size
    }

    // MARK: - Words for people

    static func statusText(_ status: ServiceCondition.Status) -> String {
        status.rawValue.replacingOccurrences(of: "_", with: " ")
    }

    /// True for a segment between down and fully back, whose capacity is worth saying.
    static func isPartial(_ segment: ServiceLane.Segment) -> Bool {
        segment.status == .degraded || segment.status == .partiallyRestored
    }

    static func capacityText(_ segment: ServiceLane.Segment) -> String {
        segment.capacityPercent.map { "\(FigureText.of($0)) %" } ?? "–"
    }

    /// A milestone in words: a step of the recovery by its name, a fact by the words of its event type with the
    /// value that tells it apart ("authority notified (CNIL)", "complaint filed (police)").
    static func milestoneText(_ kind: Milestone.Kind) -> String {
        let words = kind.rawValue.replacingOccurrences(of: "_", with: " ").replacingOccurrences(of: ".", with: " ")
        guard let detail = kind.detail else { return words }
        return "\(words) (\(detail == "OTHER" ? "other" : FactSummary.providerLabel(detail, name: nil)))"
    }

    public static func formatHours(_ hours: Double) -> String {
        hours >= 48 ? String(format: "%.1f days", hours / 24) : String(format: "%.1f h", hours)
    }

    /// A duration for people: "2.0 h" when exact (or when its ends print alike), else "between 1.5 h and 9.0 h".
    public static func formatHours(_ range: HoursRange) -> String {
        let shortest = formatHours(range.shortest)
        let longest = formatHours(range.longest)
        return shortest == longest ? shortest : "between \(shortest) and \(longest)"
    }

    /// An occurredAt for people: Paris time, with its precision.
    public static func describe(_ occurred: OccurredAt) -> String { describe(occurred, offsets: true) }

    /// The same, without the offsets (`offsets: false`) where the page already says the times are Paris times and
    /// room is short (the chart's milestone labels).
    static func describe(_ occurred: OccurredAt, offsets: Bool) -> String {
        func text(_ t: Timestamp) -> String {
            let full = t.inZone().humanReadable
            return offsets ? full : String(full.dropLast(7))
        }
        if let end = occurred.end { return "between \(text(occurred.start)) and \(text(end))" }
        let text = text(occurred.start)
        switch occurred.precision {
        case .instant, .minute: return text
        case .hour: return String(text.prefix(13)) + "h (hour)"
        case .day: return String(text.prefix(10)) + " (day)"
        case .month: return String(text.prefix(7)) + " (month)"
        case .interval: return text
        }
    }

    /// Where a segment ends, in words: its end, or "ongoing at the as-of time" while a service is not back.
    static func endText(_ segment: ServiceLane.Segment) -> String {
        if let end = segment.endedAt { return describe(end) + (segment.endPossible ? " (possible)" : "") }
        return segment.status == .restored ? "–" : "ongoing at the as-of time"
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

    static func milestoneLabel(_ item: (milestone: Milestone, sites: [String]), offsets: Bool = false) -> String {
        (item.sites.isEmpty ? "" : item.sites.joined(separator: ", ") + " · ") + milestoneText(item.milestone.kind) + ": "
            + describe(item.milestone.occurredAt, offsets: offsets) + (item.milestone.possible ? " (possible)" : "")
    }

    /// The incidents the timelines are of, by title, each once.
    static func incidentTitles(_ timelines: [RecoveryTimeline]) -> String {
        var titles: [String] = []
        for timeline in timelines where !titles.contains(timeline.incidentTitle) { titles.append(timeline.incidentTitle) }
        return titles.joined(separator: ", ")
    }

    static func metricRows(_ m: RecoveryTimeline.Metrics) -> [(String, HoursRange?)] {
        [
            ("time to containment", m.hoursToContainment),
            ("time to first partial restoration", m.hoursToFirstPartialRestoration),
            ("time to full restoration", m.hoursToFullRestoration),
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
    public static func terminal(_ timeline: RecoveryTimeline, width: Int = 60) -> String {
        terminal(
            [timeline],
            title:
                "\(timeline.establishmentName) (\(timeline.establishment)) in \(timeline.incidentTitle) [\(timeline.incidentId)]",
            width: width)
    }

    /// Several sites' timelines on one terminal chart with a common time axis: each site's lanes under its name,
    /// then the milestones, each site's metrics and a table of the segments (status, capacity, from, to).
    public static func terminal(_ timelines: [RecoveryTimeline], title: String, width: Int = 60) -> String {
        let (start, end, endsAtReference) = span(timelines)
        let reference = timelines.map(\.reference).max() ?? end
        let scale = Double(width) / Double(max(1, end - start))
        func column(_ micros: Int64) -> Int { Int(min(Double(width - 1), max(0, Double(micros - start) * scale))) }
        let multiSite = timelines.count > 1
        var out = title + "\n"
        let labelWidth = 28
        let hourly = end - start < 2 * 86_400_000_000
        func axis(_ micros: Int64) -> String {
            hourly ? String(Timestamp(microseconds: micros).inZone().humanReadable.prefix(16)) : day(micros)
        }
        let left = axis(start)
        let right = axis(end)
        out += String(repeating: " ", count: labelWidth) + left
        out += String(repeating: " ", count: max(1, width - left.count - right.count)) + right
        out += endsAtReference ? " (as of)\n" : "\n"
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
                    fit(Services.label(lane.service), labelWidth) + String(cells) + (isOngoing(lane) ? " ▶ ongoing" : "") + "\n"
            }
        }
        var marks = [Character](repeating: " ", count: width)
        let milestones = milestones(timelines)
        for item in milestones where item.milestone.occurredAt.earliest >= start {
            marks[column(item.milestone.occurredAt.earliest)] = "^"
        }
        out += "milestones".padding(toLength: labelWidth, withPad: " ", startingAt: 0) + String(marks) + "\n"
        out +=
            "legend: █ down  ▓ degraded  ▒ partially restored  · restored  ? start known only within a window  "
            + "▶ ongoing at the as-of time\n"
        for item in milestones { out += "  " + milestoneLabel(item, offsets: true) + "\n" }
        for timeline in timelines {
            if multiSite { out += "\(siteName(timeline)):\n" }
            let m = timeline.metrics
            for (name, hours) in metricRows(m) { out += "  \(name): \(hours.map(formatHours) ?? "-")\n" }
            for lane in timeline.lanes {
                let h = m.serviceHours[lane.service]!
                out +=
                    "  \(Services.label(lane.service)): down \(formatHours(h.down)), degraded \(formatHours(h.degraded))\n"
            }
            if !timeline.lanes.isEmpty {
                out += "  " + fit("service", labelWidth) + fit("status", 32) + fit("capacity", 10) + "from → to\n"
            }
            for lane in timeline.lanes {
                for segment in lane.segments {
                    out +=
                        "  " + fit(Services.label(lane.service), labelWidth)
                        + fit(statusText(segment.status) + (segment.possible ? " (possible)" : ""), 32)
                        + fit(capacityText(segment), 10) + describe(segment.startedAt) + " → " + endText(segment) + "\n"
                }
            }
            for impact in timeline.careImpacts {
                out += "  care: \(impact.summary) [\(describe(impact.occurredAt))]\n"
                out += QueryViews.detailLines(
                    impact, indent: "    ", summary: impact.summary, sources: false,
                    names: [timeline.establishment: timeline.establishmentName], sole: timeline.establishment)
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

    /// A number for an SVG attribute: two decimals at most.
    static func n(_ value: Double) -> String {
        // Total: a chart of values stored at the ends of the calendar still prints.
        guard value.isFinite else { return "0" }
        let rounded = (min(1e9, max(-1e9, value)) * 100).rounded() / 100
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
    }

    /// The chart's geometry: the width, the column of lane names, the plot between `left` and `right` (room to the
    /// right of it for the "ongoing" marks).
    static let width = 990.0, left = 210.0, right = 930.0, laneHeight = 26.0, headingHeight = 22.0, rowHeight = 16.0

    /// A Gantt chart of one establishment's timeline.
    public static func svg(_ timeline: RecoveryTimeline) -> String {
        svg([timeline], title: "\(timeline.establishmentName) (\(timeline.establishment)): recovery timeline")
    }

    /// A Gantt chart of several sites' timelines (a group's establishments in one incident) on one time axis: each
    /// site's lanes under a heading row with its name (no heading for a single site, named by `title`), coloured by
    /// condition with the status and capacity written in the bar when they fit (always in its tooltip), the start
    /// known only within a window hatched, what is only possible at the as-of time translucent and outlined,
    /// outages still going on at the as-of time marked "ongoing" at the axis end, milestones as dashed lines with
    /// their labels one per row below the lanes, and a legend of all of it. Ticks of hours, days, weeks, months
    /// or years by the span. `role="img"`, an `aria-label`, a `<title>` and a `<desc>` that says it in words.
    public static func svg(_ timelines: [RecoveryTimeline], title: String) -> String {
        let (start, end, endsAtReference) = span(timelines)
        let reference = timelines.map(\.reference).max() ?? end
        let multiSite = timelines.count > 1
        func x(_ micros: Int64) -> Double { left + Double(micros - start) / Double(max(1, end - start)) * (right - left) }
        var body = ""

        // The legend: what colours, hatching, translucency, the ongoing mark and the dashed lines mean.
        var legendX = 10.0
        var legendY = 58.0
        func legendItem(_ swatch: String, _ text: String) {
            let itemWidth = 18 + textWidth(text, size: 11) + 14
            if legendX + itemWidth > width - 10 {
                legendX = 10
                legendY += 18
            }
            body += "<g transform=\"translate(\(n(legendX)),\(n(legendY - 10)))\">\(swatch)"
            body += "<text x=\"17\" y=\"10\" font-size=\"11\">\(escape(text))</text></g>\n"
            legendX += itemWidth
        }
        for status in [ServiceCondition.Status.down, .degraded, .partiallyRestored, .restored] {
            legendItem("<rect width=\"12\" height=\"12\" fill=\"\(color(status))\"/>", statusText(status))
        }
        legendItem(
            "<rect width=\"12\" height=\"12\" fill=\"#fff\" stroke=\"#999\"/><rect width=\"12\" height=\"12\" fill=\"url(#uncertain)\"/>",
            "hatched: start known only within a window")
        legendItem(
            "<rect width=\"12\" height=\"12\" fill=\"\(color(.down))\" fill-opacity=\"0.45\" stroke=\"#333\" stroke-dasharray=\"2 2\"/>",
            "translucent, dashed outline: only possible at the as-of time")
        legendItem("<path d=\"M2 1 L11 6 L2 11 Z\" fill=\"#2c3e50\"/>", "ongoing at the as-of time")
        legendItem("<line x1=\"6\" y1=\"0\" x2=\"6\" y2=\"12\" stroke=\"#2c3e50\" stroke-dasharray=\"3 2\"/>", "milestone")

        // The axis: a row for the context (the day of hour ticks, the year of day ticks), a row for the ticks.
        let contextY = legendY + 22
        let tickY = contextY + 13
        let top = tickY + 8
        var rows: [(y: Double, height: Double)] = []
        var y = top
        for timeline in timelines {
            if multiSite {
                rows.append((y, headingHeight))
                y += headingHeight
            }
            y += Double(timeline.lanes.count) * laneHeight
        }
        let bottom = max(y, top + 10)
        let plotWidth = right - left
        let ticks = ticks(start: start, end: end, maximum: max(2, Int(plotWidth / 64)))
        var lastLabelEnd = -Double.infinity
        var lastContextEnd = -Double.infinity
        for tick in ticks {
            let tx = x(tick.at)
            body += "<line x1=\"\(n(tx))\" y1=\"\(n(tickY + 3))\" x2=\"\(n(tx))\" y2=\"\(n(bottom))\" stroke=\"#ddd\"/>"
            let labelWidth = textWidth(tick.label, size: 10)
            if tx + 2 > lastLabelEnd + 4, tx + 2 + labelWidth <= width - 4 {
                body += "<text x=\"\(n(tx + 2))\" y=\"\(n(tickY))\" fill=\"#555\" font-size=\"10\">\(escape(tick.label))</text>"
                lastLabelEnd = tx + 2 + labelWidth
            }
            if let context = tick.context, tx + 2 > lastContextEnd + 4, tx + 2 + textWidth(context, size: 10) <= width - 4 {
                body +=
                    "<text x=\"\(n(tx + 2))\" y=\"\(n(contextY))\" fill=\"#333\" font-size=\"10\" font-weight=\"bold\">\(escape(context))</text>"
                lastContextEnd = tx + 2 + textWidth(context, size: 10)
            }
            body += "\n"
        }

        // The sites and their lanes.
        y = top
        for timeline in timelines {
            if multiSite {
                body +=
                    "<rect x=\"0\" y=\"\(n(y))\" width=\"\(n(width))\" height=\"\(n(headingHeight))\" fill=\"#eef1f3\"/>"
                body +=
                    "<text x=\"10\" y=\"\(n(y + 15))\" font-weight=\"bold\">\(escape(siteName(timeline)))</text>\n"
                y += headingHeight
            }
            for lane in timeline.lanes {
                let name = Services.label(lane.service)
                var shown = name
                while textWidth(shown, size: 12) > left - 16, shown.count > 2 { shown = String(shown.dropLast(2)) + "…" }
                body += "<text x=\"10\" y=\"\(n(y + 17))\"><title>\(escape(name))</title>\(escape(shown))</text>\n"
                for segment in lane.segments {
                    body += bar(segment, lane: name, y: y, reference: reference, end: end, x: x)
                }
                if isOngoing(lane), let last = lane.segments.last {
                    let ex = x(min(end, reference))
                    body +=
                        "<path d=\"M\(n(ex + 1)) \(n(y + 4)) L\(n(ex + 10)) \(n(y + 13)) L\(n(ex + 1)) \(n(y + 22)) Z\" fill=\"#2c3e50\">"
                    body += "<title>\(escape(name)): still \(statusText(last.status)) at the as-of time</title></path>"
                    body += "<text x=\"\(n(ex + 13))\" y=\"\(n(y + 17))\" font-size=\"10\" fill=\"#2c3e50\">ongoing</text>\n"
                }
                y += laneHeight
            }
        }
        // T itself when the axis reaches it: the line the ongoing bars stop at.
        if reference >= start, reference <= end {
            body +=
                "<line x1=\"\(n(x(reference)))\" y1=\"\(n(top - 4))\" x2=\"\(n(x(reference)))\" y2=\"\(n(bottom))\" stroke=\"#555\"><title>as of \(escape(asOfText(reference)))</title></line>\n"
        }
        body += "<line x1=\"\(n(left))\" y1=\"\(n(bottom))\" x2=\"\(n(right))\" y2=\"\(n(bottom))\" stroke=\"#999\"/>\n"

        // Milestones: a dashed line down to the label's own row (``layOut``), on a white ground that hides any line
        // that still has to pass behind it.
        let items = milestones(timelines)
        var labels = ""
        for placed in layOut(items, start: start, x: x) {
            let labelY = bottom + 22 + Double(placed.row) * rowHeight
            let occurred = placed.item.milestone.occurredAt
            if let mx = placed.lineX {
                // The window of a milestone known only within one (a containment "during the night"), shaded.
                let windowEnd = min(end, max(occurred.earliest, min(occurred.latest, reference)))
                if windowEnd - occurred.earliest > 60_000_000 {
                    body +=
                        "<rect x=\"\(n(mx))\" y=\"\(n(top - 4))\" width=\"\(n(max(1, x(windowEnd) - mx)))\" height=\"\(n(bottom - top + 4))\" fill=\"#2c3e50\" fill-opacity=\"0.08\"><title>\(escape(milestoneText(placed.item.milestone.kind))) known only within this window</title></rect>"
                }
                let opacity = placed.item.milestone.possible ? " stroke-opacity=\"0.5\"" : ""
                body +=
                    "<line x1=\"\(n(mx))\" y1=\"\(n(top - 4))\" x2=\"\(n(mx))\" y2=\"\(n(labelY - 11))\" stroke=\"#2c3e50\" stroke-dasharray=\"4 3\"\(opacity)/>\n"
            }
            let textLength = textWidth(placed.text, size: 11)
            labels +=
                "<rect x=\"\(n(placed.x - 2))\" y=\"\(n(labelY - 11))\" width=\"\(n(textLength + 4))\" height=\"14\" fill=\"#fff\"/>"
            labels +=
                "<text class=\"milestone\" x=\"\(n(placed.x))\" y=\"\(n(labelY))\" font-size=\"11\" fill=\"#2c3e50\">\(escape(placed.text))</text>\n"
        }
        body += labels
        let height = bottom + 22 + Double(items.count) * rowHeight + (items.isEmpty ? 0 : 4)

        let asOf = asOfText(reference)
        let incidents = incidentTitles(timelines)
        let laneCount = timelines.reduce(0) { $0 + $1.lanes.count }
        let ongoingCount = timelines.reduce(0) { $0 + $1.lanes.filter(isOngoing).count }
        let summary =
            "\(title): \(laneCount) service\(laneCount == 1 ? "" : "s")"
            + (multiSite ? " at \(timelines.count) sites" : "") + ", \(ongoingCount) not restored as of \(asOf)"
        return """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(n(width))" height="\(n(height))" viewBox="0 0 \(n(width)) \(n(height))" \
            role="img" aria-label="\(escape(summary))" font-family="Helvetica, Arial, sans-serif" font-size="12">
            <title>\(escape(title))</title>
            <desc>\(escape(description(timelines, summary: summary)))</desc>
            <defs><pattern id="uncertain" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">\
            <rect width="3" height="6" fill="#7f8c8d"/></pattern></defs>
            <text x="10" y="20" font-size="15" font-weight="bold">\(escape(title))</text>
            <text x="10" y="38" fill="#555">\(escape(incidents)) · times in Europe/Paris · as of \(escape(asOf))\
            \(endsAtReference ? " (the axis ends there)" : "")</text>
            \(body)</svg>

            """
    }

    /// Where each milestone's label goes: its text, its left edge, its row below the lanes, and the x of its
    /// dashed line (nil for one before the chart's start, listed without a line).
    ///
    /// Each label ends at its line (text to its left) or starts at it, on the side with room and fewer other
    /// lines under it, or is shifted just inside the chart. A line runs down to its own row, so it must not cross a label of a row above:
    /// a milestone whose line falls within another's label goes in a row above that label. Rows follow that order,
    /// else the order things happened; where two labels each cover the other's line, the earlier goes first and the
    /// white ground of the later hides the line.
    static func layOut(_ items: [(milestone: Milestone, sites: [String])], start: Int64, x: (Int64) -> Double) -> [(
        item: (milestone: Milestone, sites: [String]), text: String, x: Double, row: Int, lineX: Double?
    )] {
        let lines: [Double?] = items.map { $0.milestone.occurredAt.earliest < start ? nil : x($0.milestone.occurredAt.earliest) }
        var texts: [String] = []
        var spans: [(from: Double, to: Double)] = []
        for (k, item) in items.enumerated() {
            var text = milestoneLabel(item)
            if lines[k] == nil { text = "◀ " + text + " (before the chart)" }
            while textWidth(text, size: 11) > width - 20, text.count > 2 { text = String(text.dropLast(2)) + "…" }
            let length = textWidth(text, size: 11)
            func crossed(_ from: Double) -> Int {
                lines.indices.filter { j in j != k && lines[j].map { $0 > from - 2 && $0 < from + length + 2 } ?? false }.count
            }
            var from = 10.0
            if let mx = lines[k] {
                // The side that fits and has fewer other lines through the label; the left one on a tie.
                let sides = [mx - 4 - length, mx + 4].filter { $0 >= 10 && $0 + length <= width - 10 }
                from =
                    sides.min { crossed($0) < crossed($1) } ?? min(width - 10 - length, max(10, mx - 4 - length))
            }
            texts.append(text)
            spans.append((from - 2, from + length + 2))
        }
        // above[k]: the milestones whose line crosses k's label, which must be in rows above it.
        let above = items.indices.map { k in
            items.indices.filter { j in j != k && lines[j].map { $0 > spans[k].from && $0 < spans[k].to } ?? false }
        }
        var rows = [Int](repeating: -1, count: items.count)
        var next = 0
        while next < items.count {
            let waiting = items.indices.filter { rows[$0] < 0 }
            // Where every choice breaks a rule (labels covering each other's lines), the one breaking fewest.
            let k =
                waiting.first { above[$0].allSatisfy { rows[$0] >= 0 } }
                ?? waiting.min { a, b in above[a].filter { rows[$0] < 0 }.count < above[b].filter { rows[$0] < 0 }.count }!
            rows[k] = next
            next += 1
        }
        return items.indices.map { (items[$0], texts[$0], spans[$0].from + 2, rows[$0], lines[$0]) }
    }

    /// One segment's bar: its colour, translucent and outlined when only possible, its start's window hatched, its
    /// status and capacity written in it when they fit, and all of it in its tooltip.
    static func bar(
        _ segment: ServiceLane.Segment, lane: String, y: Double, reference: Int64, end: Int64, x: (Int64) -> Double
    ) -> String {
        let segmentEnd = segment.end?.microseconds ?? min(end, reference)
        let x0 = x(segment.start.microseconds)
        let barWidth = max(2, x(segmentEnd) - x0)
        let status = statusText(segment.status)
        // The share still working says something only between down (0 %) and fully back (100 %).
        let capacity = isPartial(segment) ? segment.capacityPercent.map { "\(FigureText.of($0)) %" } : nil
        var tip = "\(lane): \(status)" + (capacity.map { " (\($0))" } ?? "") + " from \(describe(segment.startedAt))"
        tip +=
            segment.endedAt == nil
            ? (segment.status == .restored ? "" : ", ongoing at the as-of time") : " to \(endText(segment))"
        if segment.possible { tip += "; only possible at the as-of time" }
        var out =
            "<rect x=\"\(n(x0))\" y=\"\(n(y + 4))\" width=\"\(n(barWidth))\" height=\"\(n(laneHeight - 8))\" fill=\"\(color(segment.status))\""
        if segment.possible { out += " fill-opacity=\"0.45\" stroke=\"#333\" stroke-dasharray=\"2 2\"" }
        out += "><title>\(escape(tip))</title></rect>\n"
        if segment.startIsUncertain {
            let bandWidth = max(2, min(barWidth, x(segment.startWindowEnd) - x0))
            out +=
                "<rect x=\"\(n(x0))\" y=\"\(n(y + 4))\" width=\"\(n(bandWidth))\" height=\"\(n(laneHeight - 8))\" fill=\"url(#uncertain)\" opacity=\"0.6\"><title>\(escape(tip)); start known only within this window</title></rect>\n"
        }
        // In the bar: "partially restored 60 %", else "60 %", else nothing (the tooltip still says it).
        let candidates = [status + (capacity.map { " \($0)" } ?? ""), capacity].compactMap { $0 }
        if let text = candidates.first(where: { textWidth($0, size: 10) + 8 <= barWidth }) {
            out +=
                "<text class=\"bar-label\" x=\"\(n(x0 + 4))\" y=\"\(n(y + 17))\" font-size=\"10\" fill=\"\(ink(segment.status))\" pointer-events=\"none\">\(escape(text))</text>\n"
        }
        return out
    }

    /// The chart in words, for `<desc>`: each site's services and their segments.
    static func description(_ timelines: [RecoveryTimeline], summary: String) -> String {
        var parts = [summary + "."]
        for timeline in timelines {
            let lanes = timeline.lanes.map { lane in
                Services.label(lane.service) + ": "
                    + lane.segments.map { s in
                        statusText(s.status) + (isPartial(s) ? s.capacityPercent.map { " \(FigureText.of($0)) %" } ?? "" : "")
                            + " from "
                            + describe(s.startedAt) + (s.endedAt.map { " to " + describe($0) } ?? "")
                    }.joined(separator: ", then ")
            }
            parts.append((timelines.count > 1 ? siteName(timeline) + ": " : "") + lanes.joined(separator: "; ") + ".")
        }
        return parts.joined(separator: " ")
    }

    // MARK: - HTML

    static let style = """
        body{font-family:Helvetica,Arial,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:.5em 0}\
        td,th{border:1px solid #ccc;padding:4px 10px;text-align:left}svg{max-width:100%;height:auto}\
        @media print{body{margin:0}section{break-inside:avoid}}
        """

    /// A self-contained HTML report of one establishment: per incident, the Gantt chart, the metrics, the
    /// segments (with capacity) and the care impact.
    public static func html(_ timelines: [RecoveryTimeline]) -> String {
        let name = timelines.first.map { "\($0.establishmentName) (\($0.establishment))" } ?? "No incident"
        let body = timelines.map { section(heading: $0.incidentTitle, [$0], chartTitle: nil) }.joined()
        return page(name: name, body: body)
    }

    /// A self-contained HTML report of a group (`group`, a name for people): per incident, one chart of every
    /// site's lanes on a common time axis, then each site's metrics, segments and care impact.
    public static func html(group: String, timelines: [RecoveryTimeline]) -> String {
        var incidents: [String] = []
        for timeline in timelines where !incidents.contains(timeline.incidentId) { incidents.append(timeline.incidentId) }
        let body = incidents.map { incident in
            let sites = timelines.filter { $0.incidentId == incident }
            return section(heading: sites[0].incidentTitle, sites, chartTitle: "\(group): recovery timeline")
        }.joined()
        return page(name: group, body: body)
    }

    static func page(name: String, body: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>Recovery timeline: \(escape(name))</title>
        <style>\(style)</style></head>
        <body><h1>Recovery timeline: \(escape(name))</h1>
        \(body.isEmpty ? "<p>No incident.</p>\n" : body)</body></html>

        """
    }

    /// One incident's section: the chart of its sites, then for each site the metrics, the segments and the care.
    static func section(heading: String, _ timelines: [RecoveryTimeline], chartTitle: String?) -> String {
        var body = "<section><h2>\(escape(heading))</h2>\n"
        body += chartTitle.map { svg(timelines, title: $0) } ?? svg(timelines[0])
        for timeline in timelines {
            if timelines.count > 1 { body += "<h3>\(escape(siteName(timeline)))</h3>\n" }
            body += "<table><tr><th>Metric</th><th>Value</th></tr>\n"
            let m = timeline.metrics
            for (name, hours) in metricRows(m) {
                body +=
                    "<tr><td>\(name.prefix(1).uppercased() + name.dropFirst())</td><td>\(hours.map(formatHours) ?? "–")</td></tr>\n"
            }
            for lane in timeline.lanes {
                let h = m.serviceHours[lane.service]!
                body +=
                    "<tr><td>\(escape(Services.label(lane.service)))</td><td>down \(formatHours(h.down)), degraded \(formatHours(h.degraded))</td></tr>\n"
            }
            body += "</table>\n"
            if !timeline.lanes.isEmpty {
                body +=
                    "<table class=\"segments\"><tr><th>Service</th><th>Status</th><th>Capacity</th><th>From</th><th>To</th></tr>\n"
                for lane in timeline.lanes {
                    for segment in lane.segments {
                        body +=
                            "<tr><td>\(escape(Services.label(lane.service)))</td><td>\(statusText(segment.status))\(segment.possible ? " (possible)" : "")</td>"
                            + "<td>\(escape(capacityText(segment)))</td><td>\(escape(describe(segment.startedAt)))</td>"
                            + "<td>\(escape(endText(segment)))</td></tr>\n"
                    }
                }
                body += "</table>\n"
            }
            if !timeline.careImpacts.isEmpty {
                body +=
                    "<h3>Care impact</h3><ul>"
                    + timeline.careImpacts.map { impact in
                        let details = FactFields.details(
                            eventType: impact.eventType, payload: impact.payload, summary: impact.summary,
                            names: [timeline.establishment: timeline.establishmentName])
                        let revisions = impact.revisionText
                        return "<li>\(escape(impact.summary)) [\(escape(describe(impact.occurredAt)))]"
                            + (details.isEmpty ? "" : "<br><small>\(escape(details))</small>")
                            + (revisions.isEmpty ? "" : "<br><small>\(escape(revisions))</small>")
                            + "<br><small>source: \(escape(impact.source)) · recorded by \(escape(impact.actor))</small></li>"
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

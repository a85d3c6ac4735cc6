import EventStore
import Foundation
import IncidentDomain

/// Draws recovery timelines for people: a terminal chart, a JSON document, an SVG Gantt chart, and an HTML
/// report around it. Times are shown in Europe/Paris.
public enum TimelineRendering {
    /// The span a chart covers: from the first milestone or segment to the last change (or T), padded.
    static func span(_ timeline: RecoveryTimeline) -> (start: Int64, end: Int64) {
        var starts = timeline.milestones.filter { $0.kind != .intrusion }.map { $0.occurredAt.earliest }
        starts += timeline.lanes.compactMap { $0.segments.first?.start.microseconds }
        var ends = timeline.lanes.flatMap { $0.segments.map { $0.end?.microseconds ?? $0.start.microseconds } }
        ends += timeline.milestones.map(\.occurredAt.latest)
        let start = starts.min() ?? timeline.reference
        var end = max(ends.max() ?? start, start + 3_600_000_000)
        if timeline.lanes.contains(where: { $0.segments.last?.end == nil && $0.segments.last?.status != .restored }) {
            end = max(end, min(timeline.reference, end + 7 * 86_400_000_000))
        }
        let pad = (end - start) / 20
        // Clamped to the years the ledger takes: a fact stored at year 0001 or 9999 still draws.
        let bounds = Timestamp.supportedRange
        return (max(bounds.lowerBound, start - pad), min(bounds.upperBound, max(end + pad, max(bounds.lowerBound, start - pad) + 1)))
    }

    static func day(_ micros: Int64) -> String {
        String(Timestamp(microseconds: micros).inZone().humanReadable.prefix(10))
    }

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
        let (start, end) = span(timeline)
        let scale = Double(width) / Double(end - start)
        func column(_ micros: Int64) -> Int { min(width - 1, max(0, Int(Double(micros - start) * scale))) }
        var out =
            "\(timeline.establishmentName) (\(timeline.establishment)) in \(timeline.incidentTitle) [\(timeline.incidentId)]\n"
        let labelWidth = 28
        out += String(repeating: " ", count: labelWidth) + day(start)
        out += String(repeating: " ", count: max(1, width - 20)) + day(end) + "\n"
        for lane in timeline.lanes {
            var cells = [Character](repeating: " ", count: width)
            for segment in lane.segments {
                let from = column(segment.start.microseconds)
                let to = segment.end.map { column($0.microseconds) } ?? column(min(end, timeline.reference))
                for c in from...max(from, to) { cells[c] = symbol(segment.status) }
                // The start's uncertainty (a day, an interval) shows as '?'.
                if segment.startWindowEnd - segment.start.microseconds > 60_000_000 {
                    for c in from...max(from, min(to, column(segment.startWindowEnd) - 1)) where c < width { cells[c] = "?" }
                }
            }
            let label = Services.label(lane.service)
            out +=
                (label.count > labelWidth - 2 ? String(label.prefix(labelWidth - 3)) + "…" : label)
                .padding(toLength: labelWidth, withPad: " ", startingAt: 0) + String(cells) + "\n"
        }
        var marks = [Character](repeating: " ", count: width)
        for milestone in timeline.milestones where milestone.occurredAt.earliest >= start {
            marks[column(milestone.occurredAt.earliest)] = "^"
        }
        out += "milestones".padding(toLength: labelWidth, withPad: " ", startingAt: 0) + String(marks) + "\n"
        out += "legend: █ down  ▓ degraded  ▒ partially restored  · restored  ? start known only within a window\n"
        for milestone in timeline.milestones {
            out +=
                "  \(milestone.kind.rawValue.replacingOccurrences(of: "_", with: " ")): \(describe(milestone.occurredAt))"
                + (milestone.possible ? " (possible, not certain)" : "") + "\n"
        }
        let m = timeline.metrics
        let metrics: [(String, Double?)] = [
            ("time to containment", m.hoursToContainment),
            ("time to first partial restoration", m.hoursToFirstPartialRestoration),
            ("time to full restoration", m.hoursToFullRestoration),
        ]
        for (name, hours) in metrics { out += "  \(name): \(hours.map(formatHours) ?? "-")\n" }
        for lane in timeline.lanes {
            let h = m.serviceHours[lane.service]!
            out += "  \(Services.label(lane.service)): down \(formatHours(h.down)), degraded \(formatHours(h.degraded))\n"
        }
        for impact in timeline.careImpacts { out += "  care: \(impact.summary)\n" }
        return out
    }

    public static func formatHours(_ hours: Double) -> String {
        hours >= 48 ? String(format: "%.1f days", hours / 24) : String(format: "%.1f h", hours)
    }

    /// An occurredAt for people: Paris time, with its precision.
    public static func describe(_ occurred: OccurredAt) -> String {
        if let end = occurred.end {
            return "between \(occurred.start.inZone().humanReadable) and \(end.inZone().humanReadable)"
        }
        let text = occurred.start.inZone().humanReadable
        switch occurred.precision {
        case .instant, .minute: return text
        case .hour: return String(text.prefix(13)) + "h (hour)"
        case .day: return String(text.prefix(10)) + " (day)"
        case .month: return String(text.prefix(7)) + " (month)"
        case .interval: return text
        }
    }

    /// The timeline as JSON.
    public static func json(_ timeline: RecoveryTimeline) -> JSONValue {
        func time(_ t: Timestamp?) -> JSONValue { t.map { .string($0.inZone().rfc3339) } ?? .null }
        func number(_ d: Double?) -> JSONValue { d.flatMap(JSONNumber.init).map(JSONValue.number) ?? .null }
        return .object([
            "establishment": .string(timeline.establishment), "establishmentName": .string(timeline.establishmentName),
            "incident": .string(timeline.incidentId), "incidentTitle": .string(timeline.incidentTitle),
            "reference": .string(Timestamp(microseconds: timeline.reference).inZone().rfc3339),
            "lanes": .array(
                timeline.lanes.map { lane in
                    .object([
                        "service": .string(lane.service), "label": .string(Services.label(lane.service)),
                        "segments": .array(
                            lane.segments.map { s in
                                .object([
                                    "status": .string(s.status.rawValue), "capacityPercent": number(s.capacityPercent),
                                    "start": time(s.start), "end": time(s.end),
                                    "startKnownWithin": time(Timestamp(microseconds: s.startWindowEnd)),
                                    "possible": .bool(s.possible),
                                ])
                            }),
                    ])
                }),
            "milestones": .array(
                timeline.milestones.map {
                    .object(["kind": .string($0.kind.rawValue), "occurredAt": $0.occurredAt.json, "possible": .bool($0.possible)])
                }),
            "metrics": .object([
                "hoursToContainment": number(timeline.metrics.hoursToContainment),
                "hoursToFirstPartialRestoration": number(timeline.metrics.hoursToFirstPartialRestoration),
                "hoursToFullRestoration": number(timeline.metrics.hoursToFullRestoration),
                "serviceHours": .object(
                    timeline.metrics.serviceHours.mapValues {
                        .object(["down": number($0.down), "degraded": number($0.degraded)])
                    }),
            ]),
            "careImpacts": .array(timeline.careImpacts.map { .string($0.summary) }),
        ])
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static func color(_ status: ServiceCondition.Status) -> String {
        switch status {
        case .down: "#c0392b"
        case .degraded: "#e67e22"
        case .partiallyRestored: "#f1c40f"
        case .restored: "#27ae60"
        }
    }

    /// A Gantt chart: a lane per service, coloured by condition, the uncertain start of a segment hatched,
    /// milestones as dashed lines, one tick per day (or per week on long incidents).
    public static func svg(_ timeline: RecoveryTimeline) -> String {
        let (start, end) = span(timeline)
        let left = 210.0, laneHeight = 26.0, top = 60.0, chartWidth = 760.0
        let height = top + Double(timeline.lanes.count) * laneHeight + 40 + Double(timeline.milestones.count) * 16
        func x(_ micros: Int64) -> Double { left + Double(micros - start) / Double(end - start) * chartWidth }
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(left + chartWidth + 20))" height="\(Int(height))" \
            font-family="Helvetica, Arial, sans-serif" font-size="12">
            <defs><pattern id="uncertain" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">\
            <rect width="3" height="6" fill="#7f8c8d"/></pattern></defs>
            <text x="10" y="20" font-size="15" font-weight="bold">\(escape(timeline.establishmentName)) (\(timeline.establishment)): \
            recovery timeline</text>
            <text x="10" y="38" fill="#555">\(escape(timeline.incidentTitle)) · times in Europe/Paris · \
            as of \(escape(Timestamp(microseconds: timeline.reference).inZone().humanReadable))</text>

            """
        let days = Double(end - start) / 86_400_000_000
        let dayMicros: Int64 = 86_400_000_000
        // A day or a week apart; on longer spans whole days chosen so that about 40 ticks fit.
        let step: Int64 = days > 280 ? Int64((days / 40).rounded(.up)) * dayMicros : days > 40 ? 7 * dayMicros : dayMicros
        let firstLocal = Timestamp(microseconds: start).inZone().local
        var tick =
            LocalDateTime(year: firstLocal.year, month: firstLocal.month, day: firstLocal.day).map {
                Timestamp(local: $0).microseconds
            } ?? start
        while tick < end {
            if tick >= start {
                svg +=
                    "<line x1=\"\(x(tick))\" y1=\"\(top - 6)\" x2=\"\(x(tick))\" y2=\"\(top + Double(timeline.lanes.count) * laneHeight)\" stroke=\"#ddd\"/>"
                svg +=
                    "<text x=\"\(x(tick) + 2)\" y=\"\(top - 8)\" fill=\"#555\" font-size=\"10\">\(day(tick).suffix(5))</text>\n"
            }
            tick += step
        }
        for (row, lane) in timeline.lanes.enumerated() {
            let y = top + Double(row) * laneHeight
            svg += "<text x=\"10\" y=\"\(y + 17)\">\(escape(Services.label(lane.service)))</text>\n"
            for segment in lane.segments {
                let segmentEnd = segment.end?.microseconds ?? min(end, timeline.reference)
                let x0 = x(segment.start.microseconds)
                let width = max(2, x(segmentEnd) - x0)
                let label =
                    segment.status.rawValue.replacingOccurrences(of: "_", with: " ")
                    + (segment.capacityPercent.map { " (\(FigureText.of($0)) %)" } ?? "")
                svg +=
                    "<rect x=\"\(x0)\" y=\"\(y + 4)\" width=\"\(width)\" height=\"\(laneHeight - 8)\" fill=\"\(color(segment.status))\"\(segment.possible ? " fill-opacity=\"0.5\"" : "")>"
                svg += "<title>\(escape(label)) from \(segment.start.inZone().humanReadable)</title></rect>\n"
                if segment.startWindowEnd - segment.start.microseconds > 60_000_000 {
                    let bandWidth = max(2, min(width, x(segment.startWindowEnd) - x0))
                    svg +=
                        "<rect x=\"\(x0)\" y=\"\(y + 4)\" width=\"\(bandWidth)\" height=\"\(laneHeight - 8)\" fill=\"url(#uncertain)\" opacity=\"0.6\"><title>start known only within this window</title></rect>\n"
                }
            }
        }
        let bottom = top + Double(timeline.lanes.count) * laneHeight
        for (i, milestone) in timeline.milestones.enumerated() where milestone.occurredAt.earliest >= start {
            let mx = x(milestone.occurredAt.earliest)
            svg +=
                "<line x1=\"\(mx)\" y1=\"\(top - 4)\" x2=\"\(mx)\" y2=\"\(bottom + 14 + Double(i) * 16)\" stroke=\"#2c3e50\" stroke-dasharray=\"4 3\"/>"
            svg +=
                "<text x=\"\(mx + 3)\" y=\"\(bottom + 24 + Double(i) * 16)\" fill=\"#2c3e50\">\(milestone.kind.rawValue.replacingOccurrences(of: "_", with: " ")): \(escape(describe(milestone.occurredAt)))</text>\n"
        }
        svg += "</svg>\n"
        return svg
    }

    /// A self-contained HTML report: the Gantt chart, the milestones, the metrics and the care impact.
    public static func html(_ timelines: [RecoveryTimeline]) -> String {
        var body = ""
        for timeline in timelines {
            body += "<section><h2>\(escape(timeline.incidentTitle))</h2>\n" + svg(timeline)
            body += "<p class=\"legend\">"
            for status in [ServiceCondition.Status.down, .degraded, .partiallyRestored, .restored] {
                body +=
                    "<span style=\"background:\(color(status))\"></span>\(status.rawValue.replacingOccurrences(of: "_", with: " ")) "
            }
            body +=
                "<span class=\"hatch\"></span>start known only within a window</p>\n<table><tr><th>Metric</th><th>Value</th></tr>\n"
            let m = timeline.metrics
            for (name, hours) in [
                ("Time to containment", m.hoursToContainment),
                ("Time to first partial restoration", m.hoursToFirstPartialRestoration),
                ("Time to full restoration", m.hoursToFullRestoration),
            ] {
                body += "<tr><td>\(name)</td><td>\(hours.map(formatHours) ?? "–")</td></tr>\n"
            }
            for lane in timeline.lanes {
                let h = m.serviceHours[lane.service]!
                body +=
                    "<tr><td>\(escape(Services.label(lane.service)))</td><td>down \(formatHours(h.down)), degraded \(formatHours(h.degraded))</td></tr>\n"
            }
            body += "</table>\n"
            if !timeline.careImpacts.isEmpty {
                body +=
                    "<h3>Care impact</h3><ul>" + timeline.careImpacts.map { "<li>\(escape($0.summary))</li>" }.joined()
                    + "</ul>\n"
            }
            body += "</section>\n"
        }
        let name = timelines.first.map { "\($0.establishmentName) (\($0.establishment))" } ?? "No incident"
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>Recovery timeline: \(escape(name))</title>
            <style>body{font-family:Helvetica,Arial,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}\
            td,th{border:1px solid #ccc;padding:4px 10px;text-align:left}.legend span{display:inline-block;width:14px;\
            height:14px;margin:0 4px 0 12px;vertical-align:middle}.legend .hatch{background:repeating-linear-gradient(45deg,\
            #7f8c8d 0 3px,#fff 3px 6px)}</style></head>
            <body><h1>Recovery timeline: \(escape(name))</h1>
            \(body)</body></html>

            """
    }
}

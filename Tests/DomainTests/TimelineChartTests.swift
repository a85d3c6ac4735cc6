import EventStore
import Foundation
import IncidentDomain
import LedgerTestSupport
import ProjectionRunner
import Testing

@testable import Projections

private func micros(_ text: String) -> Int64 { Timestamp(rfc3339: text)!.microseconds }
private func str(_ text: String) -> JSONValue { .string(text) }
private let hour: Int64 = 3_600_000_000

/// A hospital's incident recorded the way articles tell it: detected at 21:00, contained "during the night",
/// email partly back "on the 17th" and fully "in March", the hospital's own emergency software back at an
/// exact time.
private func uncertainIncident(finess: String = "440000289", name: String = "CHU Test") -> [DatasetLine] {
    let stream = "incident:uncertain"
    func fact(_ type: String, _ occurred: String, _ payload: [String: JSONValue]) -> DatasetLine {
        line("2024-04-01T08:00:00+02:00", type, occurred, payload, stream: stream)
    }
    return [
        line(
            "2024-01-15T08:00:00+01:00", "establishment.registered", "2024-01-15T08:00:00+01:00",
            ["finess": str(finess), "name": str(name), "city": str("Nantes"), "essentialOperator": .bool(true)],
            stream: "establishment:\(finess)"),
        fact("incident.opened", "2024-01-15 21:00", ["title": str("Night attack"), "establishments": .array([str(finess)])]),
        fact("attack.detected", "2024-01-15 21:00", ["description": str("screens went dark")]),
        fact(
            "containment.action_taken", "2024-01-15 22:00/2024-01-16 06:00",
            ["action": str("isolate_from_internet"), "description": str("cut during the night")]),
        fact(
            "service.degraded", "2024-01-15 21:00",
            ["establishment": str(finess), "service": str("emergency_software"), "status": str("down")]),
        fact(
            "service.degraded", "2024-01-15 21:00",
            ["establishment": str(finess), "service": str("external_email"), "status": str("down")]),
        fact(
            "service.restored", "2024-01-17",
            [
                "establishment": str(finess), "service": str("external_email"), "extent": str("partial"),
                "capacityPercent": .number(JSONNumber(60)),
            ]),
        fact(
            "service.restored", "2024-01-20 10:00",
            ["establishment": str(finess), "service": str("emergency_software"), "extent": str("full")]),
        fact(
            "service.restored", "2024-03",
            ["establishment": str(finess), "service": str("external_email"), "extent": str("full")]),
    ]
}

private func timeline(_ lines: [DatasetLine], _ dir: TemporaryDirectory, finess: String = "440000289", asOf: Int64? = nil)
    throws -> RecoveryTimeline
{
    let (store, clock) = try ledgerWithManualClock(dir)
    try load(lines, into: store, clock: clock)
    return try #require(try LedgerQueries(store: store).timelines(establishment: finess, at: QueryTime(asOf: asOf)).first)
}

/// The `<text>` elements of an SVG with a class, as (x, y, text).
private func texts(_ svg: String, class name: String) -> [(x: Double, y: Double, text: String)] {
    let pattern = try! NSRegularExpression(
        pattern: "<text class=\"\(name)\" x=\"([0-9.-]+)\" y=\"([0-9.-]+)\"[^>]*>([^<]*)</text>")
    return pattern.matches(in: svg, range: NSRange(svg.startIndex..., in: svg)).map { m in
        let group = { (i: Int) in String(svg[Range(m.range(at: i), in: svg)!]) }
        return (Double(group(1))!, Double(group(2))!, group(3))
    }
}

/// The dashed milestone lines of an SVG, as (x, y1, y2).
private func milestoneLines(_ svg: String) -> [(x: Double, top: Double, bottom: Double)] {
    let pattern = try! NSRegularExpression(
        pattern:
            "<line x1=\"([0-9.-]+)\" y1=\"([0-9.-]+)\" x2=\"[0-9.-]+\" y2=\"([0-9.-]+)\" stroke=\"#2c3e50\" stroke-dasharray=\"4 3\""
    )
    return pattern.matches(in: svg, range: NSRange(svg.startIndex..., in: svg)).map { m in
        let group = { (i: Int) in Double(String(svg[Range(m.range(at: i), in: svg)!]))! }
        return (group(1), group(2), group(3))
    }
}

@Suite("Timeline ranges and charts")
struct TimelineChartTests {
    @Test func durationsFromUncertainInstantsAreRanges() throws {
        let dir = TemporaryDirectory()
        let t = try timeline(uncertainIncident(), dir)
        let m = t.metrics
        // Detected at 21:00, contained between 22:00 and 06:00: 1 to 9 hours, not "0.0 h".
        #expect(m.hoursToContainment == HoursRange(shortestMicroseconds: 1 * hour, longestMicroseconds: 9 * hour))
        // Partly restored some time on the 17th (a day): from 27 to 51 hours after detection.
        #expect(m.hoursToFirstPartialRestoration == HoursRange(shortestMicroseconds: 27 * hour, longestMicroseconds: 51 * hour))
        // Fully restored "in March" (a month): from the 1st of March to the end of it.
        let detected = micros("2024-01-15T21:00:00+01:00")
        let full = try #require(m.hoursToFullRestoration)
        #expect(full.shortestMicroseconds == micros("2024-03-01T00:00:00+01:00") - detected)
        let march = try #require(TimeExpression.occurredAt("2024-03"))
        #expect(full.longestMicroseconds == march.latest - detected)
        #expect(!full.isExact)
        // Email down until some time on the 17th, then partly restored until some time in March.
        let email = try #require(m.serviceHours["external_email"])
        #expect(email.down == HoursRange(shortestMicroseconds: 27 * hour, longestMicroseconds: 51 * hour))
        #expect(email.degraded.shortestMicroseconds == micros("2024-03-01T00:00:00+01:00") - micros("2024-01-18T00:00:00+01:00"))
        #expect(email.degraded.longestMicroseconds == march.latest - micros("2024-01-17T00:00:00+01:00"))
        // Exact facts give equal ends.
        let emergency = try #require(m.serviceHours["emergency_software"])
        #expect(emergency.down.isExact && emergency.down.shortestMicroseconds == micros("2024-01-20T10:00:00+01:00") - detected)
        #expect(emergency.degraded == .zero)
        // The segments know their end's window too.
        let segments = try #require(t.lanes.first { $0.service == "external_email" }).segments
        #expect(segments[0].endWindowEnd == micros("2024-01-18T00:00:00+01:00"))
        #expect(segments.last?.endWindowEnd == nil)

        // The renderings say it.
        let text = TimelineRendering.terminal(t)
        #expect(text.contains("time to containment: between 1.0 h and 9.0 h"), "\(text)")
        #expect(text.contains("External email: down between 27.0 h and 2.1 days"), "\(text)")
        #expect(text.contains("Emergency software: down 4.5 days, degraded 0.0 h"), "\(text)")
        #expect(TimelineRendering.html([t]).contains("<td>Time to containment</td><td>between 1.0 h and 9.0 h</td>"))
        let json = TimelineRendering.json(t)
        #expect(
            json["metrics"]?["hoursToContainment"]
                == .object([
                    "shortest": .number(JSONNumber(1)), "longest": .number(JSONNumber(9)),
                    "shortestSeconds": .number(JSONNumber(3600)), "longestSeconds": .number(JSONNumber(32400)),
                ]))
    }

    @Test func jsonDurationsAreRoundedToWholeSecondsAndThreeDecimalsOfHours() throws {
        // 1415.9999999997221 h was how 59 days printed: now whole seconds, and hours to three decimals.
        let range = HoursRange(shortestMicroseconds: 100 * 60_000_000 + 1, longestMicroseconds: 5_097_599_999_999)
        let text = CanonicalJSON.string(range.json)
        #expect(text == #"{"longest":1416,"longestSeconds":5097600,"shortest":1.667,"shortestSeconds":6000}"#)
        let dir = TemporaryDirectory()
        let all = CanonicalJSON.string(TimelineRendering.json(try timeline(uncertainIncident(), dir)))
        // No number (a member's value) with more than three decimals.
        let long = try NSRegularExpression(pattern: "\":-?[0-9]+\\.[0-9]{4,}")
        let found = long.firstMatch(in: all, range: NSRange(all.startIndex..., in: all)).map {
            (all as NSString).substring(with: $0.range)
        }
        #expect(found == nil, "\(all)")
    }

    @Test func anAsOfDayMakesTheFactsOfThatDayCertain() throws {
        let dir = TemporaryDirectory()
        let asOf = try #require(TimeExpression.queryInstant("2024-01-17"))
        let t = try timeline(uncertainIncident(), dir, asOf: asOf)
        let email = try #require(t.lanes.first { $0.service == "external_email" })
        #expect(email.segments.map(\.status) == [.down, .partiallyRestored])
        #expect(email.segments[1].possible == false, "restored on the 17th, seen as of the 17th: certain")
        #expect(
            t.metrics.hoursToFirstPartialRestoration
                == HoursRange(shortestMicroseconds: 27 * hour, longestMicroseconds: 51 * hour))
        // As of the 16th the restoration is not there; as of noon on the 17th it is only possible, and its window
        // ends at that T.
        #expect(
            try timeline(uncertainIncident(), TemporaryDirectory(), asOf: TimeExpression.queryInstant("2024-01-16")).lanes
                .first { $0.service == "external_email" }?.segments.count == 1)
        let noon = micros("2024-01-17T12:00:00+01:00")
        let midday = try timeline(uncertainIncident(), TemporaryDirectory(), asOf: noon)
        #expect(midday.lanes.first { $0.service == "external_email" }?.segments[1].possible == true)
        #expect(
            midday.metrics.hoursToFirstPartialRestoration
                == HoursRange(shortestMicroseconds: 27 * hour, longestMicroseconds: 39 * hour))
    }

    @Test func theSVGHasALegendNamesAccessibilityAndCapacity() throws {
        let dir = TemporaryDirectory()
        let t = try timeline(uncertainIncident(), dir)
        let svg = TimelineRendering.svg(t)
        for legend in [
            ">down</text>", ">degraded</text>", ">partially restored</text>", ">restored</text>",
            ">hatched: start known only within a window</text>",
            ">translucent, dashed outline: only possible at the as-of time</text>",
            ">ongoing at the as-of time</text>", ">milestone</text>",
        ] {
            #expect(svg.contains(legend), "legend: \(legend)")
        }
        #expect(svg.contains("role=\"img\"") && svg.contains("aria-label=\"CHU Test (440000289): recovery timeline: 2 services"))
        #expect(svg.contains("<title>CHU Test (440000289): recovery timeline</title>") && svg.contains("<desc>"))
        #expect(svg.contains("viewBox=\"0 0 990 "))
        // The hospital's own service by a name, never its raw id.
        #expect(svg.contains(">Emergency software</text>") && !svg.contains("emergency_software"))
        // Capacity in the bar and in its tooltip.
        #expect(texts(svg, class: "bar-label").contains { $0.text == "partially restored 60 %" })
        #expect(svg.contains("<title>External email: partially restored (60 %) from 2024-01-17 (day) to 2024-03 (month)</title>"))
        let html = TimelineRendering.html([t])
        #expect(
            html.contains(
                "<tr><td>External email</td><td>partially restored</td><td>60 %</td><td>2024-01-17 (day)</td><td>2024-03 (month)</td></tr>"
            ))
        let terminal = TimelineRendering.terminal(t)
        #expect(
            terminal.split(separator: "\n").contains {
                $0.contains("External email") && $0.contains("partially restored") && $0.contains("60 %")
                    && $0.contains("2024-01-17 (day) → 2024-03 (month)")
            }, "\(terminal)")
        #expect(Services.label("emergency_software") == "Emergency software" && Services.label("pharmacy") == "Pharmacy")
    }

    @Test func milestoneLabelsFiveMinutesApartNeitherOverlapNorGetStruckThrough() throws {
        let stream = "incident:close"
        let finess = "440000289"
        func fact(_ type: String, _ occurred: String, _ payload: [String: JSONValue]) -> DatasetLine {
            line("2024-02-01T08:00:00+01:00", type, occurred, payload, stream: stream)
        }
        let lines = [
            fact("incident.opened", "2024-01-10 08:00", ["title": str("Close calls"), "establishments": .array([str(finess)])]),
            fact(
                "service.degraded", "2024-01-10 08:00",
                ["establishment": str(finess), "service": str("telephony"), "status": str("down")]),
            fact("attack.detected", "2024-01-15 10:00", ["description": str("alert")]),
            fact(
                "containment.action_taken", "2024-01-15 10:05",
                ["action": str("isolate_from_internet"), "description": str("cut")]),
            fact(
                "service.restored", "2024-01-15 10:10",
                ["establishment": str(finess), "service": str("telephony"), "extent": str("full")]),
            fact(
                "service.degraded", "2024-01-20 08:00",
                ["establishment": str(finess), "service": str("pharmacy"), "status": str("down")]),
            fact(
                "service.restored", "2024-01-20 08:05",
                ["establishment": str(finess), "service": str("pharmacy"), "extent": str("full")]),
        ]
        let svg = TimelineRendering.svg(try timeline(lines, TemporaryDirectory()))
        let labels = texts(svg, class: "milestone")
        #expect(labels.count == 4, "\(labels)")
        #expect(Set(labels.map(\.y)).count == labels.count, "one row per label")
        // Each label ends before its own line; no other line passes through any label's box.
        let lines_ = milestoneLines(svg)
        #expect(lines_.count == labels.count)
        for (i, label) in labels.enumerated() {
            let width = TimelineRendering.textWidth(label.text, size: 11)
            #expect(label.x >= 0 && label.x + width <= 990, "inside the chart: \(label.text)")
            for (j, line) in lines_.enumerated() where j != i {
                let crosses = line.x > label.x - 2 && line.x < label.x + width + 2 && line.bottom > label.y - 11
                #expect(!crosses, "line \(j) strikes label \(label.text)")
            }
        }
    }

    @Test func theAxisEndsAtTheAsOfTimeWithAnOngoingMark() throws {
        let dir = TemporaryDirectory()
        // As of the 1st of March, email is partly back since the 17th and not fully: the axis runs to that T.
        let asOf = micros("2024-03-01T00:00:00+01:00") - 1
        let t = try timeline(uncertainIncident(), dir, asOf: asOf)
        let span = TimelineRendering.span([t])
        #expect(span.end == asOf && span.endsAtReference)
        let svg = TimelineRendering.svg(t)
        #expect(svg.contains("<line x1=\"930\" y1=") && svg.contains("<title>as of 2024-02-29 23:59 +01:00</title>"))
        #expect(svg.contains(">ongoing</text>") && svg.contains("External email: still partially restored at the as-of time"))
        #expect(TimelineRendering.terminal(t).contains("▶ ongoing"))
        // Once everything is back the axis stops after the last change, whatever the as-of time.
        let later = try timeline(uncertainIncident(), TemporaryDirectory(), asOf: micros("2025-01-01T00:00:00+01:00"))
        #expect(TimelineRendering.span([later]).endsAtReference == false)
        #expect(TimelineRendering.span([later]).end < micros("2024-04-15T00:00:00+02:00"))
    }

    @Test func ticksFollowTheSpan() {
        let start = micros("2024-01-15T01:20:00+01:00")
        let hours = TimelineRendering.ticks(start: start, end: start + 10 * hour, maximum: 11)
        #expect(hours.first?.label == "02:00" && hours.first?.context == "2024-01-15")
        #expect(hours.map(\.label).contains("11:00"))
        let days = TimelineRendering.ticks(start: start, end: start + 9 * 24 * hour, maximum: 11)
        #expect(
            days.first?.label == "16 Jan" && days.first?.context == "2024" && days.dropFirst().allSatisfy { $0.context == nil })
        // Across a year: the year is written where it changes.
        let winter = TimelineRendering.ticks(
            start: micros("2023-12-20T00:00:00+01:00"), end: micros("2024-01-20T00:00:00+01:00"), maximum: 11)
        #expect(winter.first?.context == "2023" && winter.contains { $0.context == "2024" })
        #expect(TimelineRendering.step(start: start, end: start + 60 * 24 * hour, maximum: 11) == .weeks(1))
        // Across the spring clock change, hour ticks stay on round Paris hours.
        let spring = TimelineRendering.ticks(
            start: micros("2024-03-31T00:00:00+01:00"), end: micros("2024-03-31T06:00:00+02:00"), maximum: 11)
        #expect(spring.map(\.label) == ["00:00", "01:00", "03:00", "04:00", "05:00", "06:00"])
    }

    @Test func severalSitesShareOneChart() throws {
        let dir = TemporaryDirectory()
        let (store, clock) = try ledgerWithManualClock(dir)
        let b = "440000297"
        var lines = uncertainIncident()
        lines.insert(
            line(
                "2024-01-15T08:00:00+01:00", "establishment.registered", "2024-01-15T08:00:00+01:00",
                [
                    "finess": str(b), "name": str("CH Saint-Nazaire"), "city": str("Saint-Nazaire"),
                    "essentialOperator": .bool(false),
                ],
                stream: "establishment:\(b)"), at: 1)
        lines.append(
            line(
                "2024-04-01T08:00:00+02:00", "service.degraded", "2024-01-16 09:00",
                [
                    "establishment": str(b), "service": str("pharmacy"), "status": str("degraded"),
                    "capacityPercent": .number(JSONNumber(30)),
                ],
                stream: "incident:uncertain"))
        try load(lines, into: store, clock: clock)
        let queries = LedgerQueries(store: store)
        let sites = try ["440000289", b].map { try #require(try queries.timelines(establishment: $0, at: .now).first) }
        let svg = TimelineRendering.svg(sites, title: "GHT 44: recovery timeline")
        #expect(svg.components(separatedBy: "<svg ").count == 2, "one chart")
        #expect(svg.contains(">CHU Test (440000289)</text>") && svg.contains(">CH Saint-Nazaire (440000297)</text>"))
        for lane in [">External email</text>", ">Emergency software</text>", ">Pharmacy</text>"] { #expect(svg.contains(lane)) }
        // Site headings come before their lanes.
        let first = try #require(svg.range(of: ">CHU Test (440000289)</text>")).lowerBound
        let second = try #require(svg.range(of: ">CH Saint-Nazaire (440000297)</text>")).lowerBound
        #expect(svg.range(of: ">External email</text>")!.lowerBound > first)
        #expect(
            svg.range(of: ">External email</text>")!.lowerBound < second && svg.range(of: ">Pharmacy</text>")!.lowerBound > second
        )
        // The detection is the incident's: one label for both sites; a site's own restoration names it.
        let labels = texts(svg, class: "milestone").map(\.text)
        #expect(labels.filter { $0.hasPrefix("detection:") }.count == 1)
        #expect(labels.contains { $0.hasPrefix("CHU Test · first partial restoration:") })
        #expect(svg.contains(">degraded 30 %</text>"))
        let terminal = TimelineRendering.terminal(sites, title: "GHT 44")
        #expect(terminal.contains("— CHU Test (440000289) —") && terminal.contains("— CH Saint-Nazaire (440000297) —"))
        #expect(terminal.contains("CH Saint-Nazaire (440000297):\n  time to containment: between"))
        let html = TimelineRendering.html(group: "GHT 44", timelines: sites)
        #expect(html.components(separatedBy: "<svg ").count == 2 && html.contains("<h3>CH Saint-Nazaire (440000297)</h3>"))
        #expect(html.contains("<td>Pharmacy</td><td>degraded</td><td>30 %</td>"))
        let json = TimelineRendering.json(group: "ght:44", timelines: sites)
        #expect(json["group"] == .string("ght:44") && json["timelines"]?.arrayValue?.count == 2)
        // One site's chart is the same drawing with no heading row.
        #expect(
            TimelineRendering.svg(sites[0]) == TimelineRendering.svg([sites[0]], title: "CHU Test (440000289): recovery timeline")
        )
        #expect(!TimelineRendering.svg(sites[0]).contains("fill=\"#eef1f3\""))
    }

    /// The characters XML 1.0 forbids never reach a chart: a generic store may hold texts the domain would refuse.
    @Test func chartTextDropsWhatXMLForbidsAndEscapesMarkup() {
        #expect(TimelineRendering.escape("a\u{1}b\u{1B}[31m<c>&\"d\"\u{FFFE}") == "ab[31m&lt;c&gt;&amp;&quot;d&quot;")
        #expect(TimelineRendering.escape("line\none\ttab\r") == "line\none\ttab\r")
        #expect(TimelineRendering.escape("é 😀 ✓") == "é 😀 ✓")
    }
}

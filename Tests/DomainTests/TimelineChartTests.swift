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

/// One `<text>` of a chart with the box the chart's own measure gives it: from its x over the estimated width,
/// from a little above its baseline (ascenders) to a little below (descenders).
struct TextBox: CustomStringConvertible {
    let text: String
    let x: Double
    let y: Double
    let size: Double
    let bold: Bool
    let classes: String
    var width: Double { TimelineRendering.textWidth(text, size: size, bold: bold) }
    var top: Double { y - 0.8 * size }
    var bottom: Double { y + 0.25 * size }
    var description: String { "\"\(text)\" at (\(x), \(y)), \(size) px" }

    func overlaps(_ other: TextBox) -> Bool {
        x < other.x + other.width && other.x < x + width && top < other.bottom && other.top < bottom
    }
}

/// Every `<text>` element of an SVG (its tooltip left out, entities read), with its box.
func textBoxes(_ svg: String) -> [TextBox] {
    let element = try! NSRegularExpression(pattern: "<text([^>]*)>((?:(?!</text>).)*)</text>")
    func attribute(_ name: String, _ attributes: String) -> String? {
        let pattern = try! NSRegularExpression(pattern: " \(name)=\"([^\"]*)\"")
        guard let m = pattern.firstMatch(in: attributes, range: NSRange(attributes.startIndex..., in: attributes)) else {
            return nil
        }
        return String(attributes[Range(m.range(at: 1), in: attributes)!])
    }
    return element.matches(in: svg, range: NSRange(svg.startIndex..., in: svg)).map { m in
        let attributes = String(svg[Range(m.range(at: 1), in: svg)!])
        var content = String(svg[Range(m.range(at: 2), in: svg)!])
        if let tooltip = content.range(of: "</title>") { content = String(content[tooltip.upperBound...]) }
        for (entity, character) in [("&lt;", "<"), ("&gt;", ">"), ("&quot;", "\""), ("&amp;", "&")] {
            content = content.replacingOccurrences(of: entity, with: character)
        }
        return TextBox(
            text: content, x: Double(attribute("x", attributes) ?? "0")!, y: Double(attribute("y", attributes) ?? "0")!,
            size: Double(attribute("font-size", attributes) ?? "12")!, bold: attribute("font-weight", attributes) == "bold",
            classes: attribute("class", attributes) ?? "")
    }
}

/// The `<text>` elements of an SVG with a class.
private func texts(_ svg: String, class name: String) -> [TextBox] { textBoxes(svg).filter { $0.classes == name } }

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

/// The width and height of an SVG's viewBox.
func viewBox(_ svg: String) -> (width: Double, height: Double)? {
    guard let range = svg.range(of: #"viewBox="0 0 [0-9.]+ [0-9.]+""#, options: .regularExpression) else { return nil }
    let numbers = svg[range].dropFirst(9).dropLast().split(separator: " ").compactMap { Double($0) }
    return numbers.count == 4 ? (numbers[2], numbers[3]) : nil
}

/// The layout's promises, checked on the drawn chart: no two labels' boxes overlap, every label is inside the
/// viewBox, and no dashed milestone line runs through a label. Returns what breaks them, empty when none does.
func layoutProblems(_ svg: String) -> [String] {
    guard let (width, height) = viewBox(svg) else { return ["no viewBox"] }
    let boxes = textBoxes(svg)
    var problems: [String] = []
    if boxes.isEmpty { problems.append("no text at all") }
    for (i, box) in boxes.enumerated() {
        if box.x < 0 || box.x + box.width > width || box.top < 0 || box.bottom > height {
            problems.append("\(box) leaves the \(width) × \(height) viewBox")
        }
        for other in boxes[(i + 1)...] where box.overlaps(other) { problems.append("\(box) overlaps \(other)") }
        for line in milestoneLines(svg)
        where line.x > box.x && line.x < box.x + box.width && line.top < box.bottom && line.bottom > box.top {
            problems.append("the milestone line at x=\(line.x) runs through \(box)")
        }
    }
    return problems
}

/// An incident at one hospital whose outages run `hours` from 2024-01-15 01:20 (Paris), then are fully over.
private func spanIncident(hours: Int64, finess: String = "440000289") -> [DatasetLine] {
    let stream = "incident:span"
    let end = Timestamp(microseconds: micros("2024-01-15T01:20:00+01:00") + hours * hour).inZone().humanReadable
    func fact(_ type: String, _ occurred: String, _ payload: [String: JSONValue]) -> DatasetLine {
        line("2024-08-01T08:00:00+02:00", type, occurred, payload, stream: stream)
    }
    return [
        line(
            "2024-01-15T08:00:00+01:00", "establishment.registered", "2024-01-15T08:00:00+01:00",
            ["finess": str(finess), "name": str("CHU Test"), "city": str("Nantes")], stream: "establishment:\(finess)"),
        fact("incident.opened", "2024-01-15 01:20", ["title": str("Span"), "establishments": .array([str(finess)])]),
        fact("attack.detected", "2024-01-15 01:20", ["description": str("alert")]),
        fact(
            "service.degraded", "2024-01-15 01:20",
            ["establishment": str(finess), "service": str("telephony"), "status": str("down")]),
        fact(
            "service.restored", String(end.prefix(16)),
            ["establishment": str(finess), "service": str("telephony"), "extent": str("full")]),
    ]
}

/// A hospital's incident with everything a crisis cell reports on one chart: detection, containment, a police
/// complaint, the notifications to the CNIL, ANSSI, the ARS and CERT Santé, data theft suspected then confirmed,
/// the attackers' claim, three services down and one back partly.
private func reportedIncident(finess: String = "350005179") -> [DatasetLine] {
    let stream = "incident:reported"
    func fact(_ type: String, _ occurred: String, _ payload: [String: JSONValue]) -> DatasetLine {
        line("2023-07-15T08:00:00+02:00", type, occurred, payload, stream: stream)
    }
    func down(_ service: String) -> DatasetLine {
        fact(
            "service.degraded", "2023-06-21 06:00",
            ["establishment": str(finess), "service": str(service), "status": str("down")])
    }
    return [
        line(
            "2023-06-21T08:00:00+02:00", "establishment.registered", "2023-06-21T08:00:00+02:00",
            ["finess": str(finess), "name": str("CHU de Rennes"), "city": str("Rennes")], stream: "establishment:\(finess)"),
        fact("incident.opened", "2023-06-21 06:00", ["title": str("Exfiltration"), "establishments": .array([str(finess)])]),
        fact("attack.detected", "2023-06-21 06:00", ["description": str("alert")]),
        fact(
            "containment.action_taken", "2023-06-21 07:00", ["action": str("isolate_from_internet"), "description": str("cut")]),
        down("internet_access"), down("public_website"), down("online_booking"),
        fact("complaint.filed", "2023-06-21 15:00", ["filedWith": str("police"), "filedBy": str("CHU de Rennes")]),
        fact("data.exfiltration_suspected", "2023-06-21 12:00", ["description": str("odd traffic")]),
        fact("data.exfiltration_confirmed", "2023-06-22", ["description": str("data stolen")]),
        fact("authority.notified", "2023-06-22 10:00", ["authority": str("CNIL"), "kind": str("initial")]),
        fact("authority.notified", "2023-06-22 11:00", ["authority": str("ANSSI")]),
        fact("authority.notified", "2023-06-22 11:30", ["authority": str("ARS")]),
        fact("authority.notified", "2023-06-22 12:00", ["authority": str("CERT_SANTE")]),
        // A complement to the CNIL is no second milestone: the first notification of each authority is.
        fact("authority.notified", "2023-06-25 09:00", ["authority": str("CNIL"), "kind": str("update")]),
        fact("claim.published", "2023-06-24", ["attacker": str("LockBit")]),
        fact(
            "service.restored", "2023-06-27 09:00",
            [
                "establishment": str(finess), "service": str("internet_access"), "extent": str("partial"),
                "capacityPercent": .number(JSONNumber(50)),
            ]),
        fact(
            "service.restored", "2023-07-05 09:00",
            ["establishment": str(finess), "service": str("public_website"), "extent": str("full")]),
    ]
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
        #expect(svg.contains("width=\"100%\" viewBox=\"0 0 800 "))
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
        #expect(milestoneLines(svg).count == labels.count)
        // No two labels overlap, each is inside the chart, and no line passes through any label's box.
        #expect(layoutProblems(svg).isEmpty, "\(layoutProblems(svg))")
        // Three labels meet within ten minutes on the 15th: they need rows of their own; the 20th's pair shares none.
        #expect(Set(labels.map(\.y)).count >= 3, "\(labels)")
    }

    @Test func theAxisEndsAtTheAsOfTimeWithAnOngoingMark() throws {
        let dir = TemporaryDirectory()
        // As of the 1st of March, email is partly back since the 17th and not fully: the axis runs to that T.
        let asOf = micros("2024-03-01T00:00:00+01:00") - 1
        let t = try timeline(uncertainIncident(), dir, asOf: asOf)
        let span = TimelineRendering.span([t])
        #expect(span.end == asOf && span.endsAtReference)
        let svg = TimelineRendering.svg(t)
        #expect(svg.contains("<line x1=\"736\" y1=") && svg.contains("<title>as of 2024-02-29 23:59 +01:00</title>"))
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
        #expect(hours.first?.label == "02:00" && hours.first?.context == "15 Jan 2024")
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
        // Hours across midnight: the new day without its year, which has not changed; across New Year with it.
        let night = TimelineRendering.ticks(start: start + 20 * hour, end: start + 26 * hour, maximum: 7)
        #expect(night.compactMap(\.context) == ["15 Jan 2024", "16 Jan"], "\(night)")
        let newYear = TimelineRendering.ticks(
            start: micros("2024-12-31T21:00:00+01:00"), end: micros("2025-01-01T03:00:00+01:00"), maximum: 7)
        #expect(newYear.compactMap(\.context) == ["31 Dec 2024", "1 Jan 2025"], "\(newYear)")
    }

    /// Issue 12, item 3: the axis in French from the tables ("14 h", "16 janv.", "1er janv. 2025"), the same ticks
    /// at the same instants as in English.
    @Test func ticksInFrench() {
        let start = micros("2024-01-15T01:20:00+01:00")
        let french = Messages(.french)
        let hours = TimelineRendering.ticks(start: start, end: start + 10 * hour, maximum: 11, french)
        #expect(hours.first?.label == "2 h" && hours.first?.context == "15 janv. 2024", "\(hours)")
        #expect(hours.map(\.at) == TimelineRendering.ticks(start: start, end: start + 10 * hour, maximum: 11).map(\.at))
        let days = TimelineRendering.ticks(start: start, end: start + 9 * 24 * hour, maximum: 11, french)
        #expect(days.first?.label == "16 janv." && days.first?.context == "2024")
        let newYear = TimelineRendering.ticks(
            start: micros("2024-12-31T21:00:00+01:00"), end: micros("2025-01-01T03:00:00+01:00"), maximum: 7, french)
        #expect(newYear.compactMap(\.context) == ["31 déc. 2024", "1er janv. 2025"], "\(newYear)")
        let months = TimelineRendering.ticks(
            start: micros("2024-01-10T00:00:00+01:00"), end: micros("2024-09-10T00:00:00+02:00"), maximum: 11, french)
        #expect(months.map(\.label).contains("sept."), "\(months)")
    }

    /// Issue 12, item 3: one chart in French: its title, legend, "ongoing" mark, aria-label, milestones and table
    /// alternative from the French table, and no English words of the chart's own left.
    @Test func aChartInFrench() throws {
        let t = try timeline(uncertainIncident(), TemporaryDirectory(), asOf: micros("2024-04-20T12:00:00+02:00"))
        let svg = TimelineRendering.svg(t, language: .french)
        for words in [
            "chronologie du rétablissement", "heures de Paris", "en cours à la date de situation", "jalon",
            "hachures : début connu seulement dans une fenêtre", "aria-label=\"CHU Test (440000289) : chronologie",
        ] {
            #expect(svg.contains(words), "\(words)")
        }
        // (`class="milestone"` is the labels' style, not words.)
        for english in ["recovery timeline", "ongoing", "as of", ">milestone<", "hatched", "Milestones:"] {
            #expect(!svg.contains(english), "\(english) in the French chart")
        }
        let html = TimelineRendering.html([t], language: .french)
        #expect(html.contains("<html lang=\"fr\">") && html.contains("<caption>Jalons</caption>"))
        #expect(html.contains("<th>Indicateur</th>") && html.contains("<caption>Périodes par service</caption>"))
        #expect(!html.contains("Time to") && !html.contains("Service segments"))
    }

    /// the first tick with its year, every label inside the chart and clear of the others.
    @Test func theAxisOfSixHoursThreeDaysAndSixMonths() throws {
        let hourLabel = try NSRegularExpression(pattern: "^[0-2][0-9]:00$")
        func matches(_ regex: NSRegularExpression, _ text: String) -> Bool {
            regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
        }
        let dayLabel = try NSRegularExpression(pattern: "^[0-9]{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)$")
        let monthLabel = try NSRegularExpression(pattern: "^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)$")
        let cases: [(hours: Int64, label: NSRegularExpression, firstContext: String, count: ClosedRange<Int>)] = [
            (6, hourLabel, "15 Jan 2024", 5...7), (72, dayLabel, "2024", 3...4), (182 * 24, monthLabel, "2024", 5...7),
        ]
        for (hours, label, firstContext, count) in cases {
            let svg = TimelineRendering.svg(try timeline(spanIncident(hours: hours), TemporaryDirectory()))
            let ticks = texts(svg, class: "tick")
            #expect(count.contains(ticks.count), "\(hours) h: \(ticks)")
            #expect(ticks.allSatisfy { matches(label, $0.text) }, "\(hours) h: \(ticks.map(\.text))")
            #expect(zip(ticks, ticks.dropFirst()).allSatisfy { $0.x < $1.x }, "\(hours) h: in order")
            let contexts = texts(svg, class: "tick-context")
            #expect(contexts.first?.text == firstContext, "\(hours) h: \(contexts)")
            // The first context stands over the first tick.
            #expect(contexts.first.map { abs($0.x - ticks[0].x) < 1 } == true, "\(hours) h: \(contexts) \(ticks)")
            #expect(layoutProblems(svg).isEmpty, "\(hours) h: \(layoutProblems(svg))")
        }
    }

    /// Labels never overlap and never leave the chart, and no dashed line strikes one, whatever the chart:
    /// crowded milestones, a long title, several sites, every demo hospital, as of several times.
    @Test func labelsNeitherOverlapNorLeaveTheChart() throws {
        var charts: [(String, String)] = []
        let reported = try timeline(reportedIncident(), TemporaryDirectory(), finess: "350005179")
        charts.append(("reported", TimelineRendering.svg(reported)))
        let longTitle = String(repeating: "Cyberattack with data exfiltration and a very long title ", count: 4)
        charts.append(("long title", TimelineRendering.svg([reported], title: longTitle)))
        for asOf in ["2023-06-21 06:30", "2023-06-22 10:30", "2023-06-30"] {
            let t = try timeline(
                reportedIncident(), TemporaryDirectory(), finess: "350005179", asOf: TimeExpression.queryInstant(asOf))
            charts.append(("reported as of \(asOf)", TimelineRendering.svg(t)))
        }
        charts.append(("uncertain", TimelineRendering.svg(try timeline(uncertainIncident(), TemporaryDirectory()))))
        let dir = TemporaryDirectory()
        let (store, clock) = try ledgerWithManualClock(dir)
        try load(try demoDataset(), into: store, clock: clock)
        let queries = LedgerQueries(store: store)
        for finess in ["490099017", "750712184", "350005179", "440000289", "060099014"] {
            for t in try queries.timelines(establishment: finess, at: .now) {
                charts.append(("demo \(finess) \(t.incidentId)", TimelineRendering.svg(t)))
            }
        }
        #expect(charts.count >= 10)
        for (name, svg) in charts {
            #expect(layoutProblems(svg).isEmpty, "\(name): \(layoutProblems(svg))")
        }
        // The long title is wrapped, not cut nor spilled.
        let title = textBoxes(charts[1].1).filter { $0.size == 15 }
        #expect(title.count > 1 && title.map(\.text).joined(separator: " ") == longTitle.trimmingCharacters(in: .whitespaces))
    }

    /// The chart scales with the page and says itself in words: a viewBox and a width of 100 % (at most its own),
    /// no fixed width; a title, `role="img"` with an `aria-label` that sums it up, a `<desc>` with the segments and
    /// the milestones; the HTML has a table of the milestones beside the table of segments.
    @Test func theChartScalesAndHasItsTextAlternative() throws {
        let t = try timeline(reportedIncident(), TemporaryDirectory(), finess: "350005179")
        let svg = TimelineRendering.svg(t)
        let root = try #require(svg.components(separatedBy: ">").first)
        #expect(root.contains("width=\"100%\"") && root.contains("viewBox=\"0 0 800 ") && root.contains("max-width:800px"))
        #expect(!root.contains("height=\""), "no fixed height: it follows the width")
        #expect(root.contains("role=\"img\""))
        #expect(
            root.contains(
                "aria-label=\"CHU de Rennes (350005179): recovery timeline: 3 services, 2 not restored as of "),
            "\(root)")
        #expect(svg.contains("<title>CHU de Rennes (350005179): recovery timeline</title>"))
        let desc = try #require(
            svg.range(of: "<desc>").flatMap { d in svg.range(of: "</desc>").map { svg[d.upperBound..<$0.lowerBound] } })
        #expect(
            desc.contains(
                "Internet access: down from 2023-06-21 06:00 +02:00 to 2023-06-27 09:00 +02:00, then partially restored 50 % from 2023-06-27 09:00 +02:00, ongoing"
            ), "\(desc)")
        #expect(
            desc.contains("Milestones: detection: 2023-06-21 06:00 +02:00;")
                && desc.contains("authority notified (CNIL): 2023-06-22 10:00 +02:00"), "\(desc)")
        let html = TimelineRendering.html([t])
        #expect(html.contains("<table class=\"milestones\"><caption>Milestones</caption>"))
        #expect(html.contains("<tr><td>complaint filed (police)</td><td>2023-06-21 15:00 +02:00</td></tr>"), "\(html)")
        #expect(html.contains("<table class=\"segments\"><caption>Service segments</caption>"))
        // The table follows the chart, in the same section.
        let chartEnd = try #require(html.range(of: "</svg>")).upperBound
        #expect(
            html[chartEnd...].hasPrefix("\n<table class=\"milestones\">")
                || html[chartEnd...].hasPrefix("<table class=\"milestones\">"))
    }

    /// Every status has a pattern over its colour, each its own, and the bars and the legend use the same one:
    /// the chart does not say by colour alone which bar is down and which is back.
    @Test func everyStatusHasAPatternInTheBarsAndTheLegend() throws {
        let t = try timeline(uncertainIncident(), TemporaryDirectory())
        let svg = TimelineRendering.svg(t)
        let prefix = "tl-incident-uncertain-"
        var marks: Set<String> = []
        for status in ["down", "degraded", "partially_restored", "restored"] {
            let open = "<pattern id=\"\(prefix)\(status)\""
            let start = try #require(svg.range(of: open), "no pattern for \(status)")
            let rest = svg[start.upperBound...]
            let pattern = String(rest[..<(try #require(rest.range(of: "</pattern>"))).lowerBound])
            // Its colour, and marks over it that are not that colour.
            let shapes = ["<rect", "<path", "<circle"].reduce(0) { $0 + pattern.components(separatedBy: $1).count - 1 }
            #expect(shapes >= 2, "\(status): \(pattern)")
            // What is left without its id and its colours: the marks, which must differ from status to status.
            marks.insert(
                pattern.replacingOccurrences(of: ##"(fill|stroke)="#[0-9a-f]{6}""##, with: "", options: .regularExpression)
                    .replacingOccurrences(of: #"^[^>]*>"#, with: "", options: .regularExpression))
            // The legend's swatch is filled with it, next to the status's name.
            #expect(
                svg.range(
                    of:
                        "fill=\"url\\(#\(prefix)\(status)\\)\" stroke=\"#555\" stroke-width=\"0.5\"/><text x=\"[0-9.]+\" y=\"[0-9.]+\" font-size=\"11\" fill=\"#222\">\(status.replacingOccurrences(of: "_", with: " "))</text>",
                    options: .regularExpression) != nil, "legend of \(status)")
        }
        #expect(marks.count == 4, "four different patterns")
        // Each bar is filled with its status's pattern: email down, partially restored, restored; emergency software down then restored.
        for status in ["down", "partially_restored", "restored"] {
            #expect(
                svg.components(separatedBy: "height=\"18\" fill=\"url(#\(prefix)\(status))\"").count - 1 >= 1, "bars of \(status)"
            )
        }
        #expect(!svg.contains("fill=\"#c0392b\"><title>"), "no bar filled with a colour alone")
        // Two charts on one page do not share their patterns' ids.
        #expect(TimelineRendering.idPrefix([t]) == prefix)
        let other = try timeline(reportedIncident(), TemporaryDirectory(), finess: "350005179")
        #expect(TimelineRendering.idPrefix([other]) != prefix)
    }

    /// Issue 12: complaints, notifications to the CNIL, ANSSI, the ARS and CERT Santé, and data theft are
    /// milestones, as the catalogue marks their types; the first notification of each authority is one.
    @Test func complaintsNotificationsAndDataTheftAreMilestones() throws {
        let t = try timeline(reportedIncident(), TemporaryDirectory(), finess: "350005179")
        let kinds = t.milestones.map(\.kind)
        #expect(
            kinds == [
                .detection, .containment, .firstPartialRestoration,
                .fact(eventType: "data.exfiltration_suspected", detail: nil),
                .fact(eventType: "complaint.filed", detail: "police"),
                .fact(eventType: "data.exfiltration_confirmed", detail: nil),
                .fact(eventType: "authority.notified", detail: "CNIL"),
                .fact(eventType: "authority.notified", detail: "ANSSI"),
                .fact(eventType: "authority.notified", detail: "ARS"),
                .fact(eventType: "authority.notified", detail: "CERT_SANTE"),
                .fact(eventType: "claim.published", detail: "LockBit"),
            ], "\(kinds)")
        // The catalogue says which types are milestones; the timeline has a mark for each such fact it holds.
        let marked = Set(Catalogue.all.filter { $0.milestone != nil }.map(\.eventType))
        #expect(
            marked.isSuperset(of: [
                "complaint.filed", "authority.notified", "data.exfiltration_confirmed", "data.exfiltration_suspected",
            ]))
        #expect(!marked.contains("note.added") && !marked.contains("service.degraded"))
        let cnil = try #require(t.milestones.first { $0.kind == .fact(eventType: "authority.notified", detail: "CNIL") })
        #expect(
            cnil.occurredAt.earliest == micros("2023-06-22T10:00:00+02:00"), "the first CNIL notification, not its complement")
        let labels = texts(TimelineRendering.svg(t), class: "milestone").map(\.text)
        for expected in [
            "complaint filed (police): 2023-06-21 15:00", "authority notified (CNIL): 2023-06-22 10:00",
            "authority notified (CERT Santé): 2023-06-22 12:00", "authority notified (ARS): 2023-06-22 11:30",
            "data exfiltration suspected: 2023-06-21 12:00", "data exfiltration confirmed: 2023-06-22 (day)",
            "claim published (LockBit): 2023-06-24 (day)",
        ] {
            #expect(labels.contains(expected), "\(expected) in \(labels)")
        }
        let json = TimelineRendering.json(t)["milestones"]?.arrayValue ?? []
        #expect(
            json.contains {
                $0["kind"] == .string("authority.notified") && $0["detail"] == .string("CNIL")
                    && $0["label"] == .string("authority notified (CNIL)")
            })
        #expect(json.first?["kind"] == .string("detection") && json.first?["detail"] == .null)
        // Before the notifications, as of the 21st at 20:00: the complaint is there, the CNIL not yet.
        let early = try timeline(
            reportedIncident(), TemporaryDirectory(), finess: "350005179", asOf: micros("2023-06-21T20:00:00+02:00"))
        #expect(early.milestones.contains { $0.kind == .fact(eventType: "complaint.filed", detail: "police") })
        #expect(!early.milestones.contains { $0.kind.rawValue == "authority.notified" })
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

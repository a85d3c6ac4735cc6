import EventStore
import Foundation
import LedgerTestSupport
import Testing

private func ledger(_ arguments: [String]) throws -> ProcessOutput {
    try runProduct("ledger", arguments, environment: ["LEDGER_ACTOR": "scribe@chu-test.example"])
}

/// `ledger timeline` on facts known only roughly (issue 10, point 5 and the chart): durations are ranges in text
/// and json, an as-of day makes that day's facts certain, the charts carry names, capacity and a legend.
@Suite("ledger timeline: ranges and charts", .serialized)
struct TimelineCLITests {
    /// Detected at 21:00, contained "during the night", email partly back on the 17th (a day) and fully in March (a
    /// month), the hospital's own emergency software back at an exact time.
    func nightLedger() throws -> TemporaryDirectory {
        let dir = TemporaryDirectory()
        let d = ["--data-dir", dir.path]
        #expect(try ledger(["init"] + d).status == 0)
        let i = ["--incident", "incident:night"]
        let steps: [[String]] = [
            [
                "establishment.registered", "--at", "2024-01-15", "--set", "finess=440000289",
                "--set", "name=CHU Test", "--set", "city=Nantes", "--set", "essentialOperator=true",
            ],
            ["incident.opened"] + i + [
                "--at", "2024-01-15 21:00", "--set", "title=Night attack", "--set", "establishments=440000289",
            ],
            ["attack.detected"] + i + ["--at", "2024-01-15 21:00", "--set", "description=screens went dark"],
            [
                "containment.action_taken", "--at", "2024-01-15 22:00/2024-01-16 06:00", "--set", "action=isolate_from_internet",
                "--set", "description=cut during the night",
            ] + i,
            [
                "service.degraded", "--at", "2024-01-15 21:00", "--set", "establishment=440000289", "--set",
                "service=emergency_software", "--set", "status=down",
            ] + i,
            [
                "service.degraded", "--at", "2024-01-15 21:00", "--set", "establishment=440000289", "--set",
                "service=external_email",
                "--set", "status=down",
            ] + i,
            [
                "service.restored", "--at", "2024-01-17", "--set", "establishment=440000289", "--set", "service=external_email",
                "--set", "extent=partial", "--set", "capacityPercent=60",
            ] + i,
            [
                "service.restored", "--at", "2024-01-20 10:00", "--set", "establishment=440000289", "--set",
                "service=emergency_software", "--set", "extent=full",
            ] + i,
            [
                "service.restored", "--at", "2024-03", "--set", "establishment=440000289", "--set", "service=external_email",
                "--set", "extent=full",
            ] + i,
        ]
        for step in steps {
            let result = try ledger(["record"] + step + ["--source", "press article"] + d)
            #expect(result.status == 0, "\(step[0]): \(result.stderr)")
        }
        return dir
    }

    @Test func durationsAreRangesInTextAndJSON() throws {
        let dir = try nightLedger()
        let d = ["--data-dir", dir.path, "--hospital", "440000289"]
        let text = try ledger(["timeline"] + d)
        #expect(text.status == 0, "\(text.stderr)")
        for line in [
            "time to containment: between 1.0 h and 9.0 h",
            "time to first partial restoration: between 27.0 h and 2.1 days",
            "time to full restoration: between 45.1 days and 76.1 days",
            "Emergency software: down 4.5 days, degraded 0.0 h",
        ] {
            #expect(text.stdout.contains(line), "\(line)\n\(text.stdout)")
        }
        // Capacity and the hospital's own service by name, in the segment table.
        #expect(
            text.stdout.split(separator: "\n").contains {
                $0.contains("External email") && $0.contains("partially restored") && $0.contains("60 %")
            })
        #expect(!text.stdout.contains("emergency_software"))

        let json = try documentList(try ledger(["timeline", "--format", "json"] + d).stdout, "timelines")
        let metrics = try #require(json.arrayValue?.first?["metrics"])
        #expect(
            CanonicalJSON.string(try #require(metrics["hoursToContainment"]))
                == #"{"longest":9,"longestSeconds":32400,"shortest":1,"shortestSeconds":3600}"#)
        #expect(
            CanonicalJSON.string(try #require(metrics["hoursToFirstPartialRestoration"]))
                == #"{"longest":51,"longestSeconds":183600,"shortest":27,"shortestSeconds":97200}"#)
        // Exact facts give equal ends.
        let emergency = try #require(metrics["serviceHours"]?["emergency_software"]?["down"])
        #expect(emergency["shortest"] == .number(JSONNumber(109)) && emergency["longest"] == .number(JSONNumber(109)))
        let lane = try #require(
            json.arrayValue?.first?["lanes"]?.arrayValue?.first { $0["service"] == .string("emergency_software") })
        #expect(lane["label"] == .string("Emergency software"))
    }

    @Test func anAsOfDayMakesThatDaysFactsCertain() throws {
        let dir = try nightLedger()
        let d = ["--data-dir", dir.path]
        let json = try documentList(
            try ledger(["timeline", "--hospital", "440000289", "--format", "json", "--as-of", "2024-01-17"] + d).stdout,
            "timelines")
        let email = try #require(
            json.arrayValue?.first?["lanes"]?.arrayValue?.first { $0["service"] == .string("external_email") })
        let segments = try #require(email["segments"]?.arrayValue)
        #expect(segments.map { $0["status"] } == [.string("down"), .string("partially_restored")])
        #expect(segments[1]["possible"] == .bool(false), "restored on the 17th, as of the 17th: certain")
        let state = try ledger(["state", "--as-of", "2024-01-17"] + d)
        #expect(state.stdout.contains("(6 facts)\n"), "\(state.stdout)")
        #expect(!state.stdout.contains("possible"), "\(state.stdout)")
        // Noon on the 17th is inside that day: the restoration is only possible then.
        let noon = try ledger(["state", "--as-of", "2024-01-17 12:00"] + d)
        #expect(noon.stdout.contains("1 only possible at that time"), "\(noon.stdout)")
    }

    @Test func theChartsCarryALegendNamesAndCapacity() throws {
        let dir = try nightLedger()
        let d = ["--data-dir", dir.path, "--hospital", "440000289", "--as-of", "2024-02-01"]
        let svg = try ledger(["timeline", "--format", "svg"] + d).stdout
        #expect(svg.hasPrefix("<svg") && svg.contains("role=\"img\"") && svg.contains("<desc>"))
        #expect(svg.contains(">hatched: start known only within a window</text>"))
        #expect(svg.contains(">Emergency software</text>") && svg.contains(">partially restored 60 %</text>"))
        #expect(svg.contains(">ongoing</text>"), "email is not fully back on the 1st of February")
        let html = try ledger(["timeline", "--format", "html"] + d).stdout
        #expect(html.contains("<th>Capacity</th>") && html.contains("<td>partially restored</td><td>60 %</td>"))
    }

    /// Issue 12, the charts through the CLI: a police complaint, a CNIL notification and a confirmed data theft
    /// are milestones in every format; the SVG scales (viewBox, width 100 %), says itself in words (title, role,
    /// aria-label, desc) and patterns each status; the HTML has the milestones as a table; the axis of a night's
    /// chart is in hours with the year on its first tick.
    @Test func theChartsShowComplaintsNotificationsAndDataTheftAndScale() throws {
        let dir = try nightLedger()
        let d = ["--data-dir", dir.path]
        let i = ["--incident", "incident:night", "--source", "press article"]
        for step in [
            ["complaint.filed", "--at", "2024-01-16 10:00", "--set", "filedWith=police", "--set", "filedBy=CHU Test"],
            ["authority.notified", "--at", "2024-01-16 11:00", "--set", "authority=CNIL", "--set", "kind=initial"],
            ["data.exfiltration_confirmed", "--at", "2024-01-18", "--set", "description=files stolen"],
        ] {
            let result = try ledger(["record"] + step + i + d)
            #expect(result.status == 0, "\(step[0]): \(result.stderr)")
        }
        let h = d + ["--hospital", "440000289", "--as-of", "2024-02-01"]
        let svg = try ledger(["timeline", "--format", "svg"] + h)
        #expect(svg.status == 0, "\(svg.stderr)")
        let root = try #require(svg.stdout.components(separatedBy: ">").first)
        #expect(root.contains("width=\"100%\"") && root.contains("viewBox=\"0 0 800 ") && !root.contains("height=\""), "\(root)")
        #expect(
            root.contains("role=\"img\"") && root.contains("aria-label=\"CHU Test (440000289): recovery timeline: 2 services"))
        #expect(svg.stdout.contains("<title>CHU Test (440000289): recovery timeline</title>") && svg.stdout.contains("<desc>"))
        for status in ["down", "degraded", "partially_restored", "restored"] {
            #expect(svg.stdout.contains("<pattern id=\"tl-incident-night-\(status)\""), "pattern of \(status)")
        }
        for label in [
            ">complaint filed (police): 2024-01-16 10:00</text>", ">authority notified (CNIL): 2024-01-16 11:00</text>",
            ">data exfiltration confirmed: 2024-01-18 (day)</text>",
        ] {
            #expect(svg.stdout.contains(label), "\(label)")
        }
        #expect(svg.stdout.contains("Milestones: detection: 2024-01-15 21:00 +01:00;"), "the desc lists the milestones")

        let html = try ledger(["timeline", "--format", "html"] + h).stdout
        #expect(html.contains("<caption>Milestones</caption>"))
        #expect(html.contains("<tr><td>authority notified (CNIL)</td><td>2024-01-16 11:00 +01:00</td></tr>"), "\(html)")
        let json = try documentList(try ledger(["timeline", "--format", "json"] + h).stdout, "timelines")
        let kinds = (json.arrayValue?.first?["milestones"]?.arrayValue ?? []).map { [$0["kind"], $0["detail"]] }
        #expect(kinds.contains([.string("complaint.filed"), .string("police")]), "\(kinds)")
        #expect(kinds.contains([.string("authority.notified"), .string("CNIL")]), "\(kinds)")
        let text = try ledger(["timeline"] + h).stdout
        #expect(text.contains("  complaint filed (police): 2024-01-16 10:00 +01:00\n"), "\(text)")

        // As of the night itself, the chart spans hours: hour ticks, the first one with its day and year.
        let night = try ledger(["timeline", "--format", "svg", "--hospital", "440000289", "--as-of", "2024-01-16 03:00"] + d)
        let ticks = try NSRegularExpression(pattern: "<text class=\"tick\"[^>]*>([0-9]{2}:00)</text>")
        let found = ticks.numberOfMatches(in: night.stdout, range: NSRange(night.stdout.startIndex..., in: night.stdout))
        #expect(found >= 3, "\(night.stdout)")
        #expect(night.stdout.contains(">15 Jan 2024</text>") && night.stdout.contains(">16 Jan</text>"), "\(night.stdout)")
    }
}

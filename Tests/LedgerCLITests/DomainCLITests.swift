import EventStore
import Foundation
import LedgerTestSupport
import Testing

private func ledger(_ arguments: [String], input: String? = nil) throws -> ProcessOutput {
    try runProduct("ledger", arguments, input: input, environment: ["LEDGER_ACTOR": "analyst@chu-test.example"])
}

@Suite("ledger CLI for people", .serialized)
struct DomainCLITests {
    /// A ledger with an establishment and an incident recorded through `ledger record`.
    func recordedLedger() throws -> TemporaryDirectory {
        let dir = TemporaryDirectory()
        let d = ["--data-dir", dir.path]
        #expect(try ledger(["init"] + d).status == 0)
        let steps: [[String]] = [
            [
                "establishment.registered", "--at", "2024-01-15T08:00:00+01:00", "--source", "FINESS directory",
                "--set", "finess=440000289", "--set", "name=CHU de Nantes", "--set", "city=Nantes", "--set",
                "essentialOperator=true",
            ],
            [
                "incident.opened", "--incident", "incident:nantes", "--at", "2024-01-15 08:00", "--source", "crisis cell",
                "--set", "title=Attack on the CHU de Nantes", "--set", "establishments=440000289",
            ],
            [
                "attack.detected", "--incident", "incident:nantes", "--at", "2024-01-15 01:20", "--source", "night alert",
                "--set", "description=internet cut",
            ],
            [
                "service.degraded", "--incident", "incident:nantes", "--at", "2024-01-15 01:20", "--source", "IT desk",
                "--set", "establishment=440000289", "--set", "service=external_email", "--set", "status=down",
            ],
            [
                "service.restored", "--incident", "incident:nantes", "--at", "2024-01-16", "--source", "IT desk",
                "--set", "establishment=440000289", "--set", "service=external_email", "--set", "extent=partial",
                "--set", "capacityPercent=50",
            ],
            [
                "data.exfiltration_confirmed", "--incident", "incident:nantes", "--at", "2024-01-16", "--source", "DPO",
                "--set", "description=files copied", "--set", "peopleAffected=1200", "--set", "dataCategories=identity,health",
            ],
        ]
        for step in steps {
            let result = try ledger(["record"] + step + d)
            #expect(result.status == 0, "\(step[0]): \(result.stderr)")
        }
        return dir
    }

    @Test func recordStateTimelineDeadlinesAuditAndRebuild() throws {
        let dir = try recordedLedger()
        let d = ["--data-dir", dir.path]
        let state = try ledger(["state"] + d)
        #expect(state.stdout.contains("incident:nantes: Attack on the CHU de Nantes"))
        #expect(state.stdout.contains("phase: recovering"))
        #expect(state.stdout.contains("CHU de Nantes / External email: partially restored (50 %)"))
        let json = try documentList(try ledger(["state", "--format", "json"] + d).stdout, "incidents")
        #expect(json.arrayValue?.first?["peopleAffected"] == .number(JSONNumber(1200)))
        // As of before the restoration, and as known before it was recorded.
        let asOf = try documentList(
            try ledger(["state", "--format", "json", "--as-of", "2024-01-15T12:00:00+01:00"] + d).stdout, "incidents")
        #expect(asOf.arrayValue?.first?["phase"] == .string("detected"))

        let chart = try ledger(["timeline", "--hospital", "440000289", "--as-of", "2024-01-20"] + d)
        #expect(chart.status == 0)
        #expect(chart.stdout.contains("External email"))
        // Detected at 01:20, partly restored some time on the 16th: a range, not the optimistic 22.7 h alone.
        #expect(chart.stdout.contains("time to first partial restoration: between 22.7 h and 46.7 h"))
        let svgPath = dir.path + "/t.svg"
        #expect(try ledger(["timeline", "--hospital", "440000289", "--format", "svg", "--output", svgPath] + d).status == 0)
        #expect(try String(contentsOfFile: svgPath, encoding: .utf8).hasPrefix("<svg"))
        let html = try ledger(["timeline", "--hospital", "440000289", "--format", "html"] + d)
        #expect(html.stdout.hasPrefix("<!DOCTYPE html>"))
        let timelineJSON = try documentList(
            try ledger(["timeline", "--hospital", "440000289", "--format", "json"] + d).stdout, "timelines")
        #expect(timelineJSON.arrayValue?.first?["lanes"]?.arrayValue?.count == 1)

        let deadlines = try ledger(["deadlines", "--format", "json", "--as-of", "2024-01-17"] + d)
        let clocks = try documentList(deadlines.stdout, "clocks").arrayValue ?? []
        let cnil = clocks.first { $0["rule"] == .string("gdpr-33-cnil") }
        #expect(cnil?["status"] == .string("running"))
        #expect(cnil?["deadline"] == .string("2024-01-19T00:00:00+01:00"))
        #expect(clocks.first { $0["rule"] == .string("insurance-complaint") }?["status"] == .string("running"))

        let audit = try ledger(["audit", "--incident", "incident:nantes", "--actor", "analyst@chu-test.example"] + d)
        #expect(audit.stdout.contains("changed phase: detected -> recovering"))
        #expect(audit.stdout.contains("source: DPO"))
        let rebuilt = try ledger(["rebuild"] + d)
        #expect(rebuilt.stdout == "rebuilt the incident index from 6 events: 1 incidents, 1 establishments\n")
        #expect(try ledger(["state"] + d).stdout == state.stdout)
    }

    @Test func aCorrectionIsRecordedWithItsReasonAndShowsInTheAudit() throws {
        let dir = try recordedLedger()
        let d = ["--data-dir", dir.path]
        let events = try ledger(["read", "--type", "data.exfiltration_confirmed", "--format", "ndjson"] + d).stdout
        let id = try #require(try JSONParser.parse(events.trimmingCharacters(in: .newlines))["eventId"]?.stringValue)
        let noReason = try ledger(
            [
                "record", "event.corrected", "--incident", "incident:nantes", "--at", "2024-01-17", "--source", "DPO",
                "--set", "correctedEventId=\(id)", "--set", #"changes={"peopleAffected":1500}"#,
            ] + d)
        #expect(noReason.status == 3)
        #expect(noReason.stderr == "ledger: error: record: $.reason: required for event.corrected: say why\n")
        let corrected = try ledger(
            [
                "record", "event.corrected", "--incident", "incident:nantes", "--at", "2024-01-17", "--source", "DPO",
                "--reason", "recount", "--set", "correctedEventId=\(id)", "--set", #"changes={"peopleAffected":1500}"#,
            ] + d)
        #expect(corrected.status == 0, "\(corrected.stderr)")
        let audit = try ledger(["audit", "--incident", "incident:nantes"] + d)
        #expect(audit.stdout.contains("reason: recount"))
        #expect(audit.stdout.contains("changed people affected: 1200 -> 1500"))
        #expect(audit.stdout.contains("later corrected by analyst@chu-test.example"))
        let badChange = try ledger(
            [
                "record", "event.corrected", "--incident", "incident:nantes", "--at", "2024-01-17", "--source", "DPO",
                "--reason", "x", "--set", "correctedEventId=\(id)", "--set", #"changes={"peopleAffected":-3}"#,
            ] + d)
        #expect(badChange.status == 3)
        #expect(badChange.stderr.contains("$.payload.changes.peopleAffected: expected an integer >= 0"))
    }

    @Test(arguments: [
        (
            ["record", "attack.spotted", "--incident", "incident:nantes", "--at", "2024-01-15", "--source", "s"], 2,
            "attack.spotted: unknown event type"
        ),
        (
            ["record", "note.added", "--incident", "incident:nantes", "--at", "tomorrow", "--source", "s", "--set", "text=x"], 3,
            "--at: \"tomorrow\" is not a time"
        ),
        (
            [
                "record", "note.added", "--incident", "incident:nantes", "--at", "2024-01-15", "--source", "s", "--set",
                "mood=grim",
            ], 3, "--set mood: unknown field for note.added"
        ),
        (
            [
                "record", "service.degraded", "--incident", "incident:nantes", "--at", "2024-01-15", "--source", "s", "--set",
                "establishment=12345", "--set", "service=telephony", "--set", "status=down",
            ], 3, "$.payload.establishment: \"12345\" is not a FINESS number"
        ),
        (
            [
                "record", "service.degraded", "--incident", "incident:nantes", "--at", "2024-01-15", "--source", "s", "--set",
                "establishment=440000289", "--set", "service=telephony",
            ], 3, "$.payload.status: required for service.degraded"
        ),
        (
            [
                "record", "note.added", "--incident", "establishment:440000289", "--at", "2024-01-15", "--source", "s", "--set",
                "text=x",
            ], 3, "$.streamId: note.added belongs in a stream incident:…"
        ),
        (
            [
                "record", "event.retracted", "--incident", "incident:nantes", "--at", "2024-01-15", "--source", "s", "--reason",
                "r", "--set", "retractedEventId=6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b",
            ], 3, "no earlier event has id"
        ),
        (["timeline", "--hospital", "44"], 3, "--hospital: \"44\" is not a FINESS number"),
        (["state", "--as-of", "soon"], 3, "--as-of: \"soon\" is not a time"),
    ])
    func badRecordsAndQueriesAreRefusedAndWriteNothing(arguments: [String], status: Int32, message: String) throws {
        let dir = try recordedLedger()
        let before = try ledger(["stats", "--json", "--data-dir", dir.path]).stdout
        let result = try ledger(arguments + ["--data-dir", dir.path])
        #expect(result.status == status)
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(
            try JSONParser.parse(try ledger(["stats", "--json", "--data-dir", dir.path]).stdout)["headHash"]
                == JSONParser.parse(before)["headHash"])
    }

    @Test func appendRefusesDomainErrorsByLineAndPath() throws {
        let dir = try recordedLedger()
        let input = """
            {"streamId":"incident:nantes","eventType":"note.added","occurredAt":{"precision":"day","at":"2024-01-16T00:00:00+01:00"},"source":"s","payload":{"text":"fine"}}
            {"streamId":"incident:nantes","eventType":"ransom.demanded","occurredAt":{"precision":"day","at":"2024-01-16T00:00:00+01:00"},"source":"s","payload":{"currency":"euro"}}
            """
        let result = try ledger(["append", "--data-dir", dir.path], input: input)
        #expect(result.status == 3)
        #expect(
            result.stderr
                == "ledger: error: standard input line 2: $.payload.currency: \"euro\" is not a 3-letter currency code\n")
        #expect(try ledger(["read", "--type", "note.added", "--data-dir", dir.path]).stdout == "no events\n")
    }

    @Test func theDemoLoadsTheDatasetAndShowsEveryView() throws {
        let dir = TemporaryDirectory()
        let result = try runProduct("ledger", ["demo", "--data-dir", dir.path], currentDirectory: packageRoot())
        #expect(result.status == 0, "\(result.stderr)")
        for section in [
            "== Loaded 77 events", "== Current state of every incident", "== Recovery timeline of", "== Replay:",
            "== As of", "== Audit of the corrections", "== Regulatory clocks", "== Verify: 77 events",
        ] {
            #expect(result.stdout.contains(section), "missing \(section)")
        }
        #expect(result.stdout.contains("peopleAffected = 1000000"))
        #expect(result.stdout.contains("peopleAffected = 1400000"))
        let again = try runProduct("ledger", ["demo", "--data-dir", dir.path], currentDirectory: packageRoot())
        #expect(again.status == 5)
        // The demo ledger is an ordinary ledger: the other commands read it.
        let state = try runProduct(
            "ledger", ["state", "--data-dir", dir.path, "--incident", "incident:aphp-2021-09", "--known-at", "2021-09-15"])
        #expect(state.stdout.contains("1000000 people"))
    }
}

@Suite("ledger import", .serialized)
struct ImportTests {
    @Test func aLargeFileImportsInBatchesAndBadLinesWriteNothing() throws {
        let dir = TemporaryDirectory()
        #expect(try ledger(["init", "--data-dir", dir.path]).status == 0)
        let file = dir.path + "-events.ndjson"
        defer { try? FileManager.default.removeItem(atPath: file) }
        var lines = [
            #"{"streamId":"establishment:440000289","eventType":"establishment.registered","occurredAt":{"precision":"day","at":"2024-01-15T00:00:00+01:00"},"source":"FINESS","payload":{"finess":"440000289","name":"CHU de Nantes","city":"Nantes"}}"#
        ]
        let target = UUID().uuidString.lowercased()
        lines.append(
            #"{"eventId":"\#(target)","streamId":"incident:big","eventType":"incident.opened","occurredAt":{"precision":"day","at":"2024-01-15T00:00:00+01:00"},"source":"cell","payload":{"title":"Big","establishments":["440000289"]}}"#
        )
        for i in 0..<2500 {
            lines.append(
                #"{"streamId":"incident:big","eventType":"note.added","occurredAt":{"precision":"day","at":"2024-01-16T00:00:00+01:00"},"source":"cell","payload":{"text":"note \#(i)"}}"#
            )
        }
        lines.append(
            #"{"streamId":"incident:big","eventType":"event.corrected","occurredAt":{"precision":"day","at":"2024-01-17T00:00:00+01:00"},"source":"cell","reason":"renamed","payload":{"correctedEventId":"\#(target)","changes":{"title":"Bigger"}}}"#
        )
        // A bad last line: nothing at all must be written, not even the good lines before it.
        try
            (lines + [
                #"{"streamId":"incident:big","eventType":"note.added","occurredAt":{"precision":"day","at":"2024-01-16T00:00:00+01:00"},"source":"cell","payload":{}}"#
            ]).joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let bad = try ledger(["import", "--data-dir", dir.path, "--file", file, "--batch-size", "1000"])
        #expect(bad.status == 3)
        #expect(bad.stderr == "ledger: error: \(file) line 2504: $.payload.text: required for note.added\n")
        #expect(
            try JSONParser.parse(try ledger(["stats", "--json", "--data-dir", dir.path]).stdout)["events"]
                == .number(JSONNumber(0)))

        try lines.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let good = try ledger(["import", "--data-dir", dir.path, "--file", file, "--batch-size", "1000"])
        #expect(good.status == 0, "\(good.stderr)")
        #expect(good.stdout == "imported 2503 events in 3 batches: positions 1-2503\n")
        #expect(try ledger(["verify", "--data-dir", dir.path]).status == 0)
        let state = try ledger(["state", "--data-dir", dir.path])
        #expect(state.stdout.contains("incident:big: Bigger"))
    }
}

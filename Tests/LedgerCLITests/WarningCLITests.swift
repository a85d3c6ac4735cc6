import EventStore
import Foundation
import LedgerTestSupport
import Testing

private func ledger(_ arguments: [String], input: String? = nil) throws -> ProcessOutput {
    try runProduct("ledger", arguments, input: input, environment: ["LEDGER_ACTOR": "analyst@chu-test.example"])
}

/// Issue 10, point 8: facts that are probably mistakes are stored, and said on stderr after the success line.
@Suite("Warnings of record, append and import", .serialized)
struct WarningCLITests {
    static let finess = "440000289"
    let degradationId = "0190f3a2-7b1c-7d4e-9f00-0000000000d1"

    /// A ledger with the CHU registered, incident:h opened for it, and its external email down since
    /// 2024-01-15 01:20 (degradationId).
    func ledgerWithDegradation() throws -> TemporaryDirectory {
        let dir = TemporaryDirectory()
        let d = ["--data-dir", dir.path]
        #expect(try ledger(["init"] + d).status == 0)
        for step in [
            [
                "establishment.registered", "--at", "2024-01-01", "--source", "FINESS", "--set", "finess=\(Self.finess)",
                "--set", "name=CHU", "--set", "city=Nantes",
            ],
            [
                "incident.opened", "--incident", "incident:h", "--at", "2024-01-15 08:00", "--source", "s", "--set", "title=H",
                "--set", "establishments=\(Self.finess)",
            ],
            [
                "service.degraded", "--incident", "incident:h", "--at", "2024-01-15 01:20", "--source", "s", "--set",
                "establishment=\(Self.finess)", "--set", "service=external_email", "--set", "status=down", "--event-id",
                degradationId,
            ],
        ] {
            let result = try ledger(["record"] + step + d)
            #expect(result.status == 0 && result.stderr.isEmpty, "\(step[0]): \(result.stderr)")
        }
        return dir
    }

    func events(_ dir: TemporaryDirectory) throws -> Int { try EventStore.open(at: dir.path).allEvents().count }

    /// Records one fact; it must succeed and be stored whatever it warns.
    func record(_ dir: TemporaryDirectory, _ arguments: [String], incident: String? = "incident:h") throws -> String {
        let before = try events(dir)
        let result = try ledger(
            ["record"] + arguments + (incident.map { ["--incident", $0] } ?? []) + ["--source", "s", "--data-dir", dir.path])
        #expect(result.status == 0, "\(arguments): \(result.stderr)")
        #expect(result.stdout.hasPrefix("recorded "), "\(result.stdout)")
        #expect(try events(dir) == before + 1, "the event is stored")
        return result.stderr
    }

    @Test func cleanFactsGetNoWarning() throws {
        let dir = try ledgerWithDegradation()
        for arguments in [
            [
                "service.restored", "--at", "2024-01-16 07:00", "--set", "establishment=\(Self.finess)", "--set",
                "service=external_email", "--set", "extent=partial", "--set", "capacityPercent=50",
            ],
            ["note.added", "--at", "2024-01-16", "--set", "text=calls by phone"],
            [
                "event.corrected", "--at", "2024-01-17", "--reason", "was degraded, not down", "--set",
                "correctedEventId=\(degradationId)", "--set", #"changes={"status":"degraded"}"#,
            ],
            [
                "service.degraded", "--at", "2024-01-16", "--set", "establishment=\(Self.finess)", "--set",
                "service=telephony", "--set", "status=degraded",
            ],
        ] {
            let stderr = try record(dir, arguments)
            #expect(stderr.isEmpty, "\(arguments[0]): \(stderr)")
        }
    }

    @Test(arguments: [
        (
            [
                "service.restored", "--at", "2024-01-16", "--set", "establishment=440000289", "--set", "service=telephony",
                "--set", "extent=full",
            ],
            "warning: --set service: no event of incident:h degraded telephony at 440000289: a restoration of a service never degraded\n"
        ),
        (
            [
                "service.restored", "--at", "2024-01-16", "--set", "establishment=440000289", "--set", "service=external_emial",
                "--set", "extent=full",
            ],
            "warning: --set service: no event of incident:h degraded external_emial at 440000289: a restoration of a service never degraded (did you mean external_email?)\n"
        ),
        (
            [
                "service.restored", "--at", "2024-01-14 10:00", "--set", "establishment=440000289", "--set",
                "service=external_email", "--set", "extent=full",
            ],
            "warning: --at: the restoration (2024-01-14 10:00 +01:00) is dated before external_email at 440000289 was degraded (2024-01-15 01:20 +01:00)\n"
        ),
        (
            [
                "service.restored", "--at", "2024-01-16", "--set", "establishment=440000289", "--set", "service=external_email",
                "--set", "extent=full", "--set", "capacityPercent=60",
            ],
            "warning: --set capacityPercent: 60 % with extent full: a full restoration is 100 % (partial?)\n"
        ),
        (
            [
                "service.degraded", "--at", "2024-01-16", "--set", "establishment=440000289", "--set", "service=labratory",
                "--set", "status=down",
            ],
            "warning: --set service: labratory is not a standard service id and 440000289 has not used it before (did you mean laboratory?)\n"
        ),
        (
            [
                "service.degraded", "--at", "2024-01-16", "--set", "establishment=200000001", "--set", "service=laboratory",
                "--set", "status=down",
            ],
            "warning: --set establishment: 200000001: département 20 no longer exists (Corsica's FINESS numbers begin 2A or 2B)\n"
        ),
        (
            [
                "service.degraded", "--at", "2024-01-16", "--set", "establishment=440000298", "--set", "service=laboratory",
                "--set", "status=down",
            ],
            "warning: --set establishment: 440000298 is not a registered establishment (a typo, or record its establishment.registered first)\n"
        ),
        (
            ["attack.detected", "--at", "2024-01-16", "--set", "description=d", "--set", "establishments=440000289,440000298"],
            "warning: --set establishments[1]: 440000298 is not a registered establishment (a typo, or record its establishment.registered first)\n"
        ),
        (
            ["note.added", "--at", "1989-06-01", "--set", "text=t"],
            "warning: --at: is before 1990 (1989-06-01 00:00 +02:00), older than any hospital cyberattack this ledger is for (a typo in the year?)\n"
        ),
        (
            ["incident.opened", "--at", "2024-01-16", "--set", "title=again", "--set", "establishments=440000289"],
            "warning: eventType: incident:h is already opened (incident.opened at version 1): to change its title or establishments, correct that event\n"
        ),
    ])
    func eachWarningIsOneLineAfterASuccess(arguments: [String], expected: String) throws {
        let dir = try ledgerWithDegradation()
        #expect(try record(dir, arguments) == expected)
    }

    @Test func aFactYearsAheadWarnsWithTheRecordingTime() throws {
        let dir = try ledgerWithDegradation()
        let stderr = try record(dir, ["note.added", "--at", "2099-01-15", "--set", "text=t"])
        #expect(
            stderr.hasPrefix("warning: --at: begins 2099-01-15 00:00 +01:00, more than a day after it is recorded ("), "\(stderr)"
        )
        #expect(stderr.hasSuffix("): a fact that has not happened yet (a typo in the year?)\n"))
        // Tomorrow is allowed: a shutdown planned tonight, a time typed in the wrong zone.
        let tomorrow = Timestamp(microseconds: Int64(Date().timeIntervalSince1970 * 1_000_000) + 20 * 3_600_000_000).inZone()
        #expect(try record(dir, ["note.added", "--at", tomorrow.rfc3339, "--set", "text=t"]).isEmpty)
    }

    /// `record` refuses an incident the ledger does not hold (issue 12, point 7); begun on purpose with
    /// `--new-incident`, it is said that nobody opened it.
    @Test func anIncidentBegunWithoutOpeningWarnsThatNobodyOpenedIt() throws {
        let dir = try ledgerWithDegradation()
        let refused = try ledger([
            "record", "note.added", "--at", "2024-01-16", "--set", "text=t", "--incident", "incident:typo", "--source", "s",
            "--data-dir", dir.path,
        ])
        #expect(refused.status == 3 && refused.stderr.contains("incident:typo: no such incident"), "\(refused.stderr)")
        var stderr = try record(
            dir, ["note.added", "--at", "2024-01-16", "--set", "text=t", "--new-incident"], incident: "incident:typo")
        #expect(
            stderr
                == "warning: --incident: incident:typo holds no event yet and this one is not incident.opened: it begins an incident nobody opened (a mistyped incident id?)\n"
        )
        stderr = try record(dir, ["note.added", "--at", "2024-01-16", "--set", "text=t"], incident: "incident:typo")
        #expect(
            stderr
                == "warning: --incident: incident:typo has no incident.opened: the incident was never opened (record one, or check the id)\n"
        )
        // Opened late: the warnings stop.
        stderr = try record(
            dir, ["incident.opened", "--at", "2024-01-16", "--set", "title=T", "--set", "establishments=440000289"],
            incident: "incident:typo")
        #expect(stderr.isEmpty, "\(stderr)")
        #expect(try record(dir, ["note.added", "--at", "2024-01-16", "--set", "text=t"], incident: "incident:typo").isEmpty)
    }

    @Test func aCorrectionThatChangesNothingWarns() throws {
        let dir = try ledgerWithDegradation()
        let same = [
            "event.corrected", "--at", "2024-01-17", "--reason", "r", "--set", "correctedEventId=\(degradationId)", "--set",
            #"changes={"status":"down","service":"external_email"}"#,
        ]
        #expect(
            try record(dir, same)
                == "warning: --set changes: every value given is already the corrected event's: the correction changes nothing\n")
        // Judged against the fact as corrected so far: back to "down" after a "degraded" changes something.
        let degraded = [
            "event.corrected", "--at", "2024-01-17", "--reason", "r", "--set", "correctedEventId=\(degradationId)", "--set",
            #"changes={"status":"degraded"}"#,
        ]
        #expect(try record(dir, degraded).isEmpty)
        #expect(try record(dir, same).isEmpty)
        #expect(try record(dir, same).contains("the correction changes nothing"))
        // A restoration after the degradation was retracted: nothing degraded it any more.
        #expect(
            try record(
                dir,
                ["event.retracted", "--at", "2024-01-17", "--reason", "rumour", "--set", "retractedEventId=\(degradationId)"]
            ).isEmpty)
        #expect(
            try record(
                dir,
                [
                    "service.restored", "--at", "2024-01-18", "--set", "establishment=440000289", "--set",
                    "service=external_email", "--set", "extent=full",
                ]
            ).contains("a restoration of a service never degraded"))
    }

    /// An update is judged by what holds at its own time: the updates before it count, those after do not.
    @Test func anUpdateDatedBeforeItsFactOrChangingNothingWarns() throws {
        let dir = try ledgerWithDegradation()
        func update(_ at: String, _ changes: String) throws -> String {
            try record(
                dir, ["event.updated", "--at", at, "--set", "updatedEventId=\(degradationId)", "--set", "changes=\(changes)"])
        }
        #expect(try update("2024-01-16", #"{"status":"degraded"}"#).isEmpty)
        #expect(
            try update("2024-01-17", #"{"status":"degraded"}"#)
                == "warning: --set changes: every value given already holds at the update's time: the update changes nothing\n")
        #expect(try update("2024-01-15 12:00", #"{"status":"degraded"}"#).isEmpty, "down until the 16th's update")
        #expect(
            try update("2024-01-14", #"{"status":"degraded"}"#)
                == "warning: --at: the update (2024-01-14 00:00 +01:00) is dated before the fact it updates (2024-01-15 01:20 +01:00): if the value was wrong from the start, correct it (event.corrected)\n"
        )
    }

    /// `append` locates each warning in its input as an error would be, and judges each event after the
    /// earlier ones of the same input.
    @Test func appendWarnsPerEventOfItsInput() throws {
        let dir = try ledgerWithDegradation()
        func event(_ type: String, _ at: String, _ payload: String) -> String {
            #"{"streamId":"incident:new","eventType":"\#(type)","occurredAt":{"precision":"day","at":"\#(at)T00:00:00+01:00"},"source":"s","payload":\#(payload)}"#
        }
        let input = [
            event("incident.opened", "2024-02-01", #"{"title":"New","establishments":["440000289"]}"#),
            event("service.degraded", "2024-02-01", #"{"establishment":"440000289","service":"telephony","status":"down"}"#),
            event("service.restored", "2024-02-02", #"{"establishment":"440000289","service":"telephony","extent":"full"}"#),
            event("service.restored", "2024-02-02", #"{"establishment":"440000289","service":"pharmacy","extent":"full"}"#),
        ].joined(separator: "\n")
        let result = try ledger(["append", "--data-dir", dir.path], input: input)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "appended 4 event(s) to incident:new: positions 4-7, stream version 4\n")
        #expect(
            result.stderr
                == "warning: standard input line 4: $.payload.service: no event of incident:new degraded pharmacy at 440000289: a restoration of a service never degraded\n"
        )
        #expect(try events(dir) == 7)
    }

    @Test func importCountsItsWarningsAndShowsTheFirstFew() throws {
        let dir = try ledgerWithDegradation()
        let file = dir.path + "-import.ndjson"
        defer { try? FileManager.default.removeItem(atPath: file) }
        let lines = (1...8).map { day in
            #"{"eventId":"0190f3a2-7b1c-7d4e-9f00-00000000010\#(day)","streamId":"incident:h","eventType":"note.added","occurredAt":{"precision":"day","at":"2099-01-0\#(day)T00:00:00+01:00"},"source":"s","payload":{"text":"t"}}"#
        }
        let clean =
            #"{"eventId":"0190f3a2-7b1c-7d4e-9f00-000000000100","streamId":"incident:h","eventType":"note.added","occurredAt":{"precision":"day","at":"2024-01-20T00:00:00+01:00"},"source":"s","payload":{"text":"t"}}"#
        try ([clean] + lines).joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let result = try ledger(["import", "--file", file, "--data-dir", dir.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "imported 9 events in 1 batches: positions 4-12; 8 warnings (the first 5 on stderr)\n")
        let warnings = result.stderr.split(separator: "\n")
        #expect(warnings.count == 5, "\(result.stderr)")
        #expect(warnings[0].hasPrefix("warning: \(file) line 2: $.occurredAt: begins 2099-01-01 00:00 +01:00, more than a day"))
        #expect(warnings[4].hasPrefix("warning: \(file) line 6: $.occurredAt:"))
        #expect(try events(dir) == 12)
        // A second import of the same file stores nothing and warns of nothing: it is a retry.
        let again = try ledger(["import", "--file", file, "--data-dir", dir.path])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.hasPrefix("already stored: all 9 events"), "\(again.stdout)")
        #expect(again.stderr.isEmpty, "\(again.stderr)")
    }

    /// A retraction imported twice is a retry, not a second retraction (the rules judged it against itself).
    @Test func reimportingARetractionIsARetry() throws {
        let dir = try ledgerWithDegradation()
        let file = dir.path + "-retraction.ndjson"
        defer { try? FileManager.default.removeItem(atPath: file) }
        try
            #"{"eventId":"0190f3a2-7b1c-7d4e-9f00-0000000000e1","streamId":"incident:h","eventType":"event.retracted","occurredAt":{"precision":"day","at":"2024-01-17T00:00:00+01:00"},"source":"s","reason":"rumour","payload":{"retractedEventId":"\#(degradationId)"}}"#
            .write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try ledger(["import", "--file", file, "--data-dir", dir.path]).status == 0)
        let again = try ledger(["import", "--file", file, "--data-dir", dir.path])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.hasPrefix("already stored: all 1 events"), "\(again.stdout)")
    }

    /// The demo's dataset is what careful people recorded from the articles: not one warning.
    @Test func theDemoDatasetGetsNoWarning() throws {
        let dir = TemporaryDirectory()
        let result = try ledger(["demo", "--data-dir", dir.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stderr.contains("warning:"), "\(result.stderr)")

        // "The future" is judged by the ledger's clock, here the dataset's recordAt: a fact of 2024-03 recorded
        // in 2024-01 has not happened yet, though it is long past now.
        let dataset = dir.path + "-dataset.ndjson"
        defer { try? FileManager.default.removeItem(atPath: dataset) }
        try [
            #"{"recordAt":"2024-01-15T09:00:00+01:00","event":{"streamId":"incident:d","eventType":"incident.opened","occurredAt":{"precision":"day","at":"2024-01-15T00:00:00+01:00"},"source":"s","payload":{"title":"D","establishments":["440000289"]}}}"#,
            #"{"recordAt":"2024-01-15T10:00:00+01:00","event":{"streamId":"incident:d","eventType":"note.added","occurredAt":{"precision":"day","at":"2024-03-15T00:00:00+01:00"},"source":"s","payload":{"text":"t"}}}"#,
        ].joined(separator: "\n").write(toFile: dataset, atomically: true, encoding: .utf8)
        let own = try ledger(["demo", "--dataset", dataset, "--data-dir", dir.path + "-own"])
        defer { try? FileManager.default.removeItem(atPath: dir.path + "-own") }
        #expect(own.status == 0, "\(own.stderr)")
        #expect(
            own.stderr.contains(
                "warning: \(dataset) line 1: $.event.payload.establishments[0]: 440000289 is not a registered establishment"),
            "\(own.stderr)")
        #expect(
            own.stderr.contains(
                "warning: \(dataset) line 2: $.event.occurredAt: begins 2024-03-15 00:00 +01:00, more than a day after it is recorded (2024-01-15 10:00 +01:00)"
            ), "\(own.stderr)")
    }
}

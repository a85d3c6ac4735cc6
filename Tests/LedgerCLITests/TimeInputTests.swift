import EventStore
import Foundation
import LedgerTestSupport
import Testing

/// Times as a scribe types them (issue 10, point 6): clock changes, intervals with offsets, reversed intervals.
@Suite struct TimeInputTests {
    func record(_ dir: TemporaryDirectory, at: String) throws -> ProcessOutput {
        try runProduct(
            "ledger",
            [
                "record", "note.added", "--data-dir", dir.path, "--incident", "incident:t", "--new-incident", "--at", at,
                "--source", "s", "--set", "text=t",
            ])
    }

    @Test func clockChangesAndIntervalsAreReadOrRefusedWithTheirReason() throws {
        let dir = TemporaryDirectory()
        #expect(try runProduct("ledger", ["init", "--data-dir", dir.path]).status == 0)
        let refusals: [(String, String)] = [
            (
                "2021-03-28 02:30",
                "does not exist in Paris (the hour skipped when clocks go forward): give the offset, 2021-03-28T02:30:00+01:00"
            ),
            ("2021-03-28 02", "2021-03-28T02:00:00+02:00 (summer time, which is 01:00 winter time)"),
            ("2022-10-30 02:30", "happens twice in Paris"),
            (
                "2024-01-15 03:00/2024-01-15 01:00",
                "ends before it starts: give the earlier time first (2024-01-15 01:00/2024-01-15 03:00)"
            ),
            ("2024-01-15 01:00/2024-01-15 01:00", "ends before it starts"),
            ("2024-01-15 25:00/2024-01-16", "interval \"2024-01-15 25:00/2024-01-16\": \"2024-01-15 25:00\" is not a time"),
        ]
        for (text, reason) in refusals {
            let result = try record(dir, at: text)
            #expect(result.status == 3 && result.stderr.contains(reason), "\(text): \(result.stderr)")
        }
        let store = try EventStore.open(at: dir.path, readOnly: true)
        #expect(try store.lastPosition() == 0, "nothing refused was written")

        let accepted: [(String, JSONValue)] = [
            // An interval of times of day ends where it was typed to end, offsets allowed to the minute.
            (
                "2024-01-15T01:00+01:00/2024-01-15T03:00+01:00",
                .object([
                    "precision": .string("interval"), "from": .string("2024-01-15T01:00:00+01:00"),
                    "to": .string("2024-01-15T03:00:00+01:00"),
                ])
            ),
            (
                "2024-01-15 01:00/2024-01-15 02:00",
                .object([
                    "precision": .string("interval"), "from": .string("2024-01-15T01:00:00+01:00"),
                    "to": .string("2024-01-15T02:00:00+01:00"),
                ])
            ),
            // Days are included whole.
            (
                "2021-06-01/2021-09-12",
                .object([
                    "precision": .string("interval"), "from": .string("2021-06-01T00:00:00+02:00"),
                    "to": .string("2021-09-13T00:00:00+02:00"),
                ])
            ),
            ("2024-01-15 21", .object(["precision": .string("hour"), "at": .string("2024-01-15T21:00:00+01:00")])),
            ("2024-01-15T01:20Z", .object(["precision": .string("minute"), "at": .string("2024-01-15T01:20:00Z")])),
            (
                "2021-03-28T02:30:00+01:00",
                .object(["precision": .string("instant"), "at": .string("2021-03-28T02:30:00+01:00")])
            ),
        ]
        for (text, _) in accepted {
            let result = try record(dir, at: text)
            #expect(result.status == 0, "\(text): \(result.stderr)")
            #expect(result.stdout.contains(", event id "), "record names the event id a correction needs: \(result.stdout)")
        }
        let stored = try EventStore.open(at: dir.path, readOnly: true).events(.log())
        #expect(stored.map(\.occurredAt.json) == accepted.map(\.1))
        // The read table shows an interval as entered: times to the minute, days as first and last day.
        let table = try runProduct("ledger", ["read", "--data-dir", dir.path]).stdout
        #expect(table.contains("2024-01-15 01:00 +01:00..2024-01-15 02:00 +01:00"), "\(table)")
        #expect(table.contains("2021-06-01..2021-09-12 (days)"), "\(table)")
        #expect(table.contains("+01:00  "), "recorded offsets are not cut: \(table)")
        // --help says hour precision and offsets in intervals are accepted.
        let help = try runProduct("ledger", ["record", "--help"]).stdout
        #expect(help.contains("(2024-01-15 21)") && help.contains("offsets allowed"))
    }
}

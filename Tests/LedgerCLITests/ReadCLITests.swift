import EventStore
import Foundation
import LedgerTestSupport
import Testing

private func ledger(_ arguments: [String], input: String? = nil) throws -> ProcessOutput {
    try runProduct("ledger", arguments, input: input, environment: ["LEDGER_ACTOR": "analyst@chu-test.example"])
}

/// Issue 10, point 9: the `read` table shows each event's id, and its filters combine.
@Suite("ledger read: ids and combined filters", .serialized)
struct ReadCLITests {
    /// Two incidents, two actors, notes and degradations on different days.
    func ledgerOfTwoIncidents() throws -> TemporaryDirectory {
        let dir = TemporaryDirectory()
        #expect(try ledger(["init", "--data-dir", dir.path]).status == 0)
        func event(_ stream: String, _ type: String, _ day: Int, _ actor: String, _ payload: String) -> String {
            #"{"streamId":"\#(stream)","eventType":"\#(type)","occurredAt":{"precision":"day","at":"2024-01-1\#(day)T00:00:00+01:00"},"actor":"\#(actor)","source":"s","payload":\#(payload)}"#
        }
        let opened = #"{"title":"T","establishments":["440000289"]}"#
        let down = #"{"establishment":"440000289","service":"telephony","status":"down"}"#
        let input = [
            event("incident:a", "incident.opened", 1, "alice", opened),  // 1
            event("incident:a", "service.degraded", 2, "alice", down),  // 2
            event("incident:a", "service.degraded", 3, "bob", down),  // 3
            event("incident:a", "note.added", 4, "alice", #"{"text":"x"}"#),  // 4
            event("incident:b", "incident.opened", 1, "alice", opened),  // 5
            event("incident:b", "service.degraded", 2, "alice", down),  // 6
            event("incident:b", "note.added", 5, "bob", #"{"text":"y"}"#),  // 7
        ].joined(separator: "\n")
        let appended = try ledger(["append", "--data-dir", dir.path], input: input)
        #expect(appended.status == 0, "\(appended.stderr)")
        return dir
    }

    /// The positions `read` prints as a table (its first column).
    func positions(_ dir: TemporaryDirectory, _ filters: [String]) throws -> [Int] {
        let result = try ledger(["read", "--data-dir", dir.path] + filters)
        #expect(result.status == 0, "\(filters): \(result.stderr)")
        if result.stdout == "no events\n" { return [] }
        return result.stdout.split(separator: "\n").dropFirst().map { Int($0.split(separator: " ")[0])! }
    }

    @Test func everyGivenFilterApplies() throws {
        let dir = try ledgerOfTwoIncidents()
        #expect(try positions(dir, []) == [1, 2, 3, 4, 5, 6, 7])
        #expect(try positions(dir, ["--stream", "incident:a", "--type", "service.degraded"]) == [2, 3])
        #expect(try positions(dir, ["--stream", "incident:a", "--type", "service.degraded", "--actor", "bob"]) == [3])
        #expect(try positions(dir, ["--type", "service.degraded", "--actor", "alice"]) == [2, 6])
        #expect(try positions(dir, ["--actor", "bob", "--stream", "incident:b"]) == [7])
        #expect(
            try positions(
                dir,
                [
                    "--type", "note.added", "--occurred-from", "2024-01-14T00:00:00+01:00", "--occurred-to",
                    "2024-01-14T23:00:00+01:00",
                ])
                == [4])
        #expect(try positions(dir, ["--occurred-from", "2024-01-12T00:00:00+01:00", "--actor", "alice"]) == [2, 4, 6])
        #expect(
            try positions(dir, ["--stream", "incident:a", "--from-version", "2", "--to-version", "3", "--actor", "alice"]) == [2])
        #expect(try positions(dir, ["--actor", "alice", "--from-position", "3"]) == [4, 5, 6])
        // --limit counts what is printed, after the filters; --backward reverses.
        #expect(try positions(dir, ["--actor", "alice", "--type", "service.degraded", "--backward", "--limit", "1"]) == [6])
        #expect(try positions(dir, ["--stream", "incident:b", "--type", "incident.opened", "--actor", "bob"]) == [])

        // An id and a filter it does not satisfy: nothing.
        let store = try EventStore.open(at: dir.path)
        let seventh = try store.allEvents()[6].eventId.lowercasedString
        #expect(try positions(dir, ["--event-id", seventh, "--stream", "incident:b"]) == [7])
        #expect(try positions(dir, ["--event-id", seventh, "--stream", "incident:a"]) == [])

        let json = try ledger([
            "read", "--data-dir", dir.path, "--type", "service.degraded", "--actor", "alice", "--format", "json",
        ])
        #expect(
            try documentList(json.stdout, "events").arrayValue?.compactMap { $0["position"]?.numberValue?.intValue } == [2, 6])

        let orphan = try ledger(["read", "--data-dir", dir.path, "--from-version", "2"])
        #expect(orphan.status == 2 && orphan.stderr.contains("--from-version and --to-version need --stream"), "\(orphan.stderr)")
    }

    /// The full id, in its own column: what `record event.corrected --set correctedEventId=` takes.
    @Test func theTableShowsTheIdACorrectionNeeds() throws {
        let dir = try ledgerOfTwoIncidents()
        let table = try ledger(["read", "--data-dir", dir.path, "--stream", "incident:a", "--type", "note.added"])
        let lines = table.stdout.split(separator: "\n")
        #expect(lines.count == 2, "\(table.stdout)")
        #expect(lines[0].hasPrefix("POS    EVENT ID                              RECORDED (PARIS)"), "\(lines[0])")
        let id = String(lines[1].split(separator: " ")[1])
        #expect(try EventStore.open(at: dir.path).allEvents()[3].eventId.lowercasedString == id)
        let corrected = try ledger([
            "record", "event.corrected", "--incident", "incident:a", "--at", "2024-01-15", "--source", "s", "--reason", "typo",
            "--set", "correctedEventId=\(id)", "--set", #"changes={"text":"z"}"#, "--data-dir", dir.path,
        ])
        #expect(corrected.status == 0, "\(corrected.stderr)")
    }
}

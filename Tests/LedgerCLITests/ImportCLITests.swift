import EventStore
import Foundation
import LedgerTestSupport
import Testing

private func ledger(_ arguments: [String], input: String? = nil) throws -> ProcessOutput {
    try runProduct("ledger", arguments, input: input, environment: ["LEDGER_ACTOR": "analyst@chu-test.example"])
}

/// `ledger import` checks the whole input before it writes (its spool holds the events as checked): a fault on any
/// line of a file larger than the spool's chunks writes nothing and names its line and field.
@Suite("ledger import of a large file", .serialized)
struct ImportCLITests {
    static let count = 6_000

    /// An incident and its notes, about 330 bytes a line: 6,000 of them are two chunks of the spool and more.
    static func lines() -> [String] {
        let opened =
            #"{"eventId":"0190f3a2-7b1c-7d4e-9f00-000000000001","streamId":"incident:big","eventType":"incident.opened","occurredAt":{"precision":"day","at":"2024-01-15T00:00:00+01:00"},"source":"cell","payload":{"title":"Big","establishments":["440000289"]}}"#
        return [opened]
            + (1..<count).map { i in
                #"{"streamId":"incident:\#(i % 3 == 0 ? "big" : "other-\(i % 7)")","eventType":"note.added","occurredAt":{"precision":"minute","at":"2024-01-16T0\#(i % 10):\#(10 + i % 50):00+01:00"},"source":"cell call \#(i)","payload":{"text":"note \#(i): the crisis cell confirmed the outage with the IT department on the phone, \"again\" — café"}}"#
            }
    }

    func write(_ lines: [String]) throws -> String {
        let file = NSTemporaryDirectory() + "import-\(UUID().uuidString).ndjson"
        try lines.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    func events(in dir: TemporaryDirectory) throws -> UInt64 {
        try EventStore.open(at: dir.path, readOnly: true).statistics().events
    }

    @Test func aBadLineAnywhereWritesNothingAndIsNamedByLineAndField() throws {
        let dir = TemporaryDirectory()
        #expect(try ledger(["init", "--data-dir", dir.path]).status == 0)
        let good = Self.lines()
        let faults: [(line: Int, text: String, status: Int32, message: String)] = [
            (1, "{", 3, "line 1: invalid JSON at byte 1"),
            (2, good[1].replacingOccurrences(of: #""source":"cell call 1","#, with: ""), 3, "line 2: $.source: required"),
            (
                3_000, good[2_999].replacingOccurrences(of: #""text":"#, with: #""txt":"#), 3,
                "line 3000: $.payload.txt: unknown field for note.added"
            ),
            (
                4_500, good[4_499].replacingOccurrences(of: "incident:", with: "establishment:"), 3,
                "line 4500: $.streamId: note.added belongs in a stream incident:…"
            ),
            (
                Self.count, good[Self.count - 1].replacingOccurrences(of: "2024-01-16T0", with: "2024-13-16T0"), 3,
                "line \(Self.count): $.occurredAt.at: expected an RFC 3339 timestamp"
            ),
            (
                5_000, good[4_999].replacingOccurrences(of: #"{"streamId""#, with: #"{"position":5,"streamId""#), 3,
                "line 5000: $.position: assigned by the ledger"
            ),
        ]
        for fault in faults {
            var lines = good
            lines[fault.line - 1] = fault.text
            let file = try write(lines)
            defer { try? FileManager.default.removeItem(atPath: file) }
            let result = try ledger(["import", "--data-dir", dir.path, "--file", file, "--batch-size", "500"])
            #expect(result.status == fault.status, "\(fault.line): \(result.stderr)")
            #expect(result.stderr.hasPrefix("ledger: error: \(file) \(fault.message)"), "\(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
            #expect(try events(in: dir) == 0, "\(fault.line)")
        }
    }

    @Test func anIdTwiceInTheInputOrStoredWithOtherContentWritesNothing() throws {
        let dir = TemporaryDirectory()
        #expect(try ledger(["init", "--data-dir", dir.path]).status == 0)
        var lines = Self.lines()
        let id = "0190f3a2-7b1c-7d4e-9f00-0000000000d1"
        lines[10] = lines[10].replacingOccurrences(of: #"{"streamId""#, with: #"{"eventId":"\#(id)","streamId""#)
        var twice = lines
        twice[4_000] = twice[4_000].replacingOccurrences(of: #"{"streamId""#, with: #"{"eventId":"\#(id)","streamId""#)
        let file = try write(twice)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let result = try ledger(["import", "--data-dir", dir.path, "--file", file])
        #expect(result.status == 4, "\(result.stderr)")
        #expect(result.stderr.contains("line 4001: $.eventId: \(id) appears twice in the input"), "\(result.stderr)")
        #expect(try events(in: dir) == 0)

        // The good file imports whole; again, it is a retry of every event with an id and new events for the others.
        let goodFile = try write(lines)
        defer { try? FileManager.default.removeItem(atPath: goodFile) }
        let imported = try ledger(["import", "--data-dir", dir.path, "--file", goodFile, "--batch-size", "1000"])
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(
            imported.stdout.hasPrefix("imported \(Self.count) events in 6 batches: positions 1-\(Self.count)"),
            "\(imported.stdout)")
        #expect(try ledger(["verify", "--data-dir", dir.path]).status == 0)
        let store = try EventStore.open(at: dir.path, readOnly: true)
        let stored = try store.allEvents()
        #expect(stored.count == Self.count)
        #expect(stored[10].eventId.uuidString.lowercased() == id)
        #expect(stored[5].source == "cell call 5" && stored[5].streamId == "incident:other-5")
        #expect(stored[5].payload["text"]?.stringValue?.hasSuffix("\"again\" — café") == true)
        #expect(try store.streamVersion(of: "incident:big") == 2_000)

        // Other content under a stored id: a conflict found before anything is written.
        var clash = [lines[10].replacingOccurrences(of: "note 10:", with: "note ten:")]
        clash.insert(contentsOf: lines[100..<200], at: 0)
        let clashFile = try write(clash)
        defer { try? FileManager.default.removeItem(atPath: clashFile) }
        let refused = try ledger(["import", "--data-dir", dir.path, "--file", clashFile])
        #expect(refused.status == 4, "\(refused.stderr)")
        #expect(
            refused.stderr.contains("line 101: $.eventId: \(id) is already stored at position 11 with a different payload"),
            "\(refused.stderr)")
        #expect(try events(in: dir) == Self.count)
    }
}

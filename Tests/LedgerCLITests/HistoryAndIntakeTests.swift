import EventStore
import Foundation
import LedgerTestSupport
import Testing

private func ledger(
    _ arguments: [String], input: String? = nil, actor: String = "analyst@chu-test.example", in folder: String? = nil
)
    throws -> ProcessOutput
{
    try runProduct("ledger", arguments, input: input, environment: ["LEDGER_ACTOR": actor], currentDirectory: folder)
}

/// Issue 14's history rules, actor rule, retries, import and demo, through the CLI.
@Suite("History rules, actors, retries, import and demo", .serialized)
struct HistoryAndIntakeTests {
    let noteId = "0190f3a2-7b1c-7d4e-9f00-00000000000a"

    /// A ledger with incident:h opened and a note (noteId) in it.
    func ledgerWithNote() throws -> TemporaryDirectory {
        let dir = TemporaryDirectory()
        let d = ["--data-dir", dir.path]
        #expect(try ledger(["init"] + d).status == 0)
        for step in [
            [
                "incident.opened", "--incident", "incident:h", "--at", "2024-01-15", "--source", "s", "--set", "title=H", "--set",
                "establishments=440000289",
            ],
            [
                "note.added", "--incident", "incident:h", "--at", "2024-01-15", "--source", "s", "--set", "text=first",
                "--event-id", noteId,
            ],
        ] {
            let result = try ledger(["record"] + step + d)
            #expect(result.status == 0, "\(result.stderr)")
        }
        return dir
    }

    func record(_ dir: TemporaryDirectory, _ arguments: [String]) throws -> ProcessOutput {
        try ledger(
            ["record"] + arguments + ["--incident", "incident:h", "--at", "2024-01-15", "--source", "s", "--data-dir", dir.path])
    }

    func eventId(at position: Int, _ dir: TemporaryDirectory) throws -> String {
        try EventStore.open(at: dir.path).allEvents()[position - 1].eventId.lowercasedString
    }

    @Test func revisionsActOnFactsAndARetractedFactStaysWithdrawn() throws {
        let dir = try ledgerWithNote()
        let correct = [
            "event.corrected", "--reason", "typo", "--set", "correctedEventId=\(noteId)", "--set", #"changes={"text":"second"}"#,
        ]
        #expect(try record(dir, correct).status == 0)
        let correction = try eventId(at: 3, dir)
        // A fact may be corrected again; a correction is not corrected or retracted.
        #expect(try record(dir, correct).status == 0)
        var result = try record(
            dir,
            ["event.corrected", "--reason", "r", "--set", "correctedEventId=\(correction)", "--set", #"changes={"text":"x"}"#])
        #expect(
            result.status == 3 && result.stderr.contains("correct the original event, not a event.corrected"), "\(result.stderr)")
        result = try record(dir, ["event.retracted", "--reason", "r", "--set", "retractedEventId=\(correction)"])
        #expect(result.status == 3 && result.stderr.contains("a event.corrected cannot be retracted"), "\(result.stderr)")

        #expect(try record(dir, ["event.retracted", "--reason", "rumour", "--set", "retractedEventId=\(noteId)"]).status == 0)
        let retraction = try eventId(at: 5, dir)
        let before = try EventStore.open(at: dir.path).statistics().headHash
        for (arguments, message) in [
            (["event.retracted", "--reason", "again", "--set", "retractedEventId=\(noteId)"], "is already retracted"),
            (
                ["event.retracted", "--reason", "undo", "--set", "retractedEventId=\(retraction)"],
                "a event.retracted cannot be retracted"
            ),
            (
                ["event.corrected", "--reason", "r", "--set", "correctedEventId=\(noteId)", "--set", #"changes={"text":"y"}"#],
                "a retracted fact cannot be corrected"
            ),
        ] {
            result = try record(dir, arguments)
            #expect(result.status == 3, "\(arguments)")
            #expect(result.stderr.contains(message), "\(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1)
        }
        #expect(try EventStore.open(at: dir.path).statistics().headHash == before)

        // Within one input too: a retraction then a correction of the same fact is refused whole.
        let other = try ledgerWithNote()
        let batch = [
            #"{"streamId":"incident:h","eventType":"event.retracted","occurredAt":{"precision":"day","at":"2024-01-15T00:00:00+01:00"},"source":"s","reason":"r","payload":{"retractedEventId":"\#(noteId)"}}"#,
            #"{"streamId":"incident:h","eventType":"event.corrected","occurredAt":{"precision":"day","at":"2024-01-15T00:00:00+01:00"},"source":"s","reason":"r","payload":{"correctedEventId":"\#(noteId)","changes":{"text":"z"}}}"#,
        ].joined(separator: "\n")
        result = try ledger(["append", "--data-dir", other.path], input: batch)
        #expect(result.status == 3 && result.stderr.contains("line 2") && result.stderr.contains("retracted"), "\(result.stderr)")
        #expect(try EventStore.open(at: other.path).statistics().events == 2)
    }

    /// Events that break the rules but were stored by an older build (or the library, which knows no domain)
    /// are listed by the audit with why they change nothing.
    @Test func theAuditListsEveryEventWhateverItsKind() async throws {
        let dir = try ledgerWithNote()
        let store = try EventStore.open(at: dir.path)
        let at = OccurredAt(precision: .day, start: Timestamp(rfc3339: "2024-01-15T00:00:00+01:00")!)!
        func revision(_ type: String, _ key: String, _ target: String) -> ProposedEvent {
            ProposedEvent(
                eventType: type, occurredAt: at, actor: "old-build", source: "s", reason: "r",
                payload: .object([key: .string(target)]))
        }
        let first = try await store.append([revision("event.retracted", "retractedEventId", noteId)], to: "incident:h")
        let retraction = try store.allEvents()[Int(first.positions[0]) - 1].eventId.lowercasedString
        _ = try await store.append(
            [
                revision("event.retracted", "retractedEventId", retraction),
                revision("event.retracted", "retractedEventId", noteId),
                ProposedEvent(eventType: "no.such_type", occurredAt: at, actor: "old-build", source: "s"),
            ], to: "incident:h")
        for format in ["text", "json"] {
            let audit = try ledger(["audit", "--incident", "incident:h", "--format", format, "--data-dir", dir.path])
            #expect(audit.status == 0, "\(audit.stderr)")
            #expect(audit.stdout.contains("retracts no fact of this stream"), "\(format): \(audit.stdout)")
            #expect(audit.stdout.contains("retracts a fact already retracted"), "\(format)")
            #expect(audit.stdout.contains("no.such_type"), "\(format)")
        }
        let json = try documentList(
            try ledger(["audit", "--incident", "incident:h", "--format", "json", "--data-dir", dir.path]).stdout, "entries")
        #expect(json.arrayValue?.count == 6, "every event of the stream, whatever its kind")
    }

    @Test func anExplicitActorIsThePrincipal() throws {
        let dir = try ledgerWithNote()
        let event =
            #"{"streamId":"incident:h","eventType":"note.added","occurredAt":{"precision":"day","at":"2024-01-15T00:00:00+01:00"},"source":"s","actor":"someone-else","payload":{"text":"t"}}"#
        var result = try ledger(["append", "--actor", "dpo@chu.fr", "--data-dir", dir.path], input: event)
        #expect(
            result.status == 3
                && result.stderr.contains("$.actor: \"someone-else\" differs from the recording principal \"dpo@chu.fr\""),
            "\(result.stderr)")
        // Without --actor the event's own actor stands (a dataset's), else $LEDGER_ACTOR.
        result = try ledger(["append", "--data-dir", dir.path], input: event)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try EventStore.open(at: dir.path).allEvents().last?.actor == "someone-else")
        result = try ledger(
            ["append", "--actor", "dpo@chu.fr", "--data-dir", dir.path],
            input: event.replacingOccurrences(of: #""actor":"someone-else","#, with: ""))
        #expect(result.status == 0)
        #expect(try EventStore.open(at: dir.path).allEvents().last?.actor == "dpo@chu.fr")
    }

    @Test func aRetryIsSaidToBeOneAndNormalisationIsNoRetry() throws {
        let dir = try ledgerWithNote()
        let id = "0190f3a2-7b1c-7d4e-9f00-0000000000bb"
        let args = ["note.added", "--set", "text=café", "--event-id", id]
        #expect(try record(dir, args).stdout.hasPrefix("recorded note.added at position 3"))
        let again = try record(dir, args)
        #expect(again.status == 0)
        #expect(again.stdout.hasPrefix("already stored: note.added \(id) is at position 3; nothing written"), "\(again.stdout)")
        // The same text in another Unicode normalisation is other bytes, so another event: a conflict.
        let decomposed = try record(dir, ["note.added", "--set", "text=cafe\u{301}", "--event-id", id])
        #expect(decomposed.status == 4, "\(decomposed.stdout)")
        #expect(decomposed.stderr.contains("already stored at position 3 with a different payload"), "\(decomposed.stderr)")
    }

    @Test func importReadsAPipeOnceAndFindsConflictsBeforeWriting() throws {
        let dir = try ledgerWithNote()
        let line = { (id: String, text: String) in
            #"{"streamId":"incident:h","eventId":"\#(id)","eventType":"note.added","occurredAt":{"precision":"day","at":"2024-01-15T00:00:00+01:00"},"source":"s","payload":{"text":"\#(text)"}}"#
        }
        let ids = (1...30).map { String(format: "0190f3a2-7b1c-7d4e-9f00-%012d", 100 + $0) }
        let good = ids.map { line($0, "n \($0)") }.joined(separator: "\n") + "\n"
        var result = try ledger(["import", "--file", "-", "--batch-size", "7", "--data-dir", dir.path], input: good)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("imported 30 events in 5 batches: positions 3-32"), "\(result.stdout)")
        // The same input again writes nothing and says so.
        result = try ledger(["import", "--file", "-", "--data-dir", dir.path], input: good)
        #expect(result.stdout.contains("already stored: all 30 events"), "\(result.stdout)")
        // A later line reusing a stored id with other content: found in the checking pass, nothing written.
        let clash =
            (1...20).map { line(String(format: "0190f3a2-7b1c-7d4e-9f00-%012d", 500 + $0), "new") }
            + [line(ids[0], "other text")]
        result = try ledger(
            ["import", "--file", "-", "--batch-size", "1", "--data-dir", dir.path], input: clash.joined(separator: "\n"))
        #expect(result.status == 4, "\(result.stdout)")
        #expect(result.stderr.contains("standard input line 21: $.eventId"), "\(result.stderr)")
        #expect(try EventStore.open(at: dir.path).statistics().events == 32)
        // A line longer than any event (an endless one) is refused before it takes the memory.
        result = try ledger(
            ["import", "--file", "-", "--data-dir", dir.path], input: good + String(repeating: "x", count: 5 << 20) + "\n")
        #expect(result.status == 3 && result.stderr.contains("standard input line 31: longer than 4 MiB"), "\(result.stderr)")
        #expect(try EventStore.open(at: dir.path).statistics().events == 32)
        // An empty pipe holds no event: an error, not "imported 0".
        result = try ledger(["import", "--file", "-", "--data-dir", dir.path], input: "")
        #expect(result.status == 3 && result.stderr.contains("standard input: holds no event"))
    }

    /// An import keeps of each earlier line only what the rules read (its stream, type, the fields its type's
    /// rules between fields name, its revisions): a correction is still judged on the fact as earlier lines
    /// left it.
    @Test func importJudgesACorrectionOnTheFactAsEarlierLinesLeftIt() throws {
        let dir = try ledgerWithNote()
        let demand = "0190f3a2-7b1c-7d4e-9f00-0000000000d1"
        let line = { (id: String, type: String, payload: String) in
            #"{"streamId":"incident:h","eventId":"\#(id)","eventType":"\#(type)","occurredAt":{"precision":"day","at":"2024-01-16T00:00:00+01:00"},"source":"s","reason":"r","payload":\#(payload)}"#
        }
        let demanded = line(
            demand, "ransom.demanded", #"{"amountMin":5,"amountMax":10,"currency":"EUR","description":"by mail"}"#)
        let correction = { (n: Int, changes: String) in
            line(
                String(format: "0190f3a2-7b1c-7d4e-9f00-%012d", 900 + n), "event.corrected",
                #"{"correctedEventId":"\#(demand)","changes":\#(changes)}"#)
        }
        func importing(_ lines: [String]) throws -> ProcessOutput {
            try ledger(["import", "--file", "-", "--data-dir", dir.path], input: lines.joined(separator: "\n"))
        }
        // A low end above the high end, and an exact amount beside the range: refused on the line, nothing written.
        var result = try importing([demanded, correction(1, #"{"amountMin":50}"#)])
        #expect(result.status == 3, "\(result.stdout)")
        #expect(
            result.stderr.contains("standard input line 2: $.payload.changes.amountMax: 10 is below amountMin 50"),
            "\(result.stderr)")
        result = try importing([demanded, correction(1, #"{"amount":7}"#)])
        #expect(
            result.stderr.contains("line 2: $.payload.changes.amountMin: give either amount or amountMin/amountMax"),
            "\(result.stderr)")
        // The second correction is judged on the first one's result: 55 is fine below 60, 70 is not.
        result = try importing([demanded, correction(1, #"{"amountMax":60}"#), correction(2, #"{"amountMin":70}"#)])
        #expect(result.stderr.contains("line 3: $.payload.changes.amountMax: 60 is below amountMin 70"), "\(result.stderr)")
        #expect(try EventStore.open(at: dir.path).statistics().events == 2)
        result = try importing([demanded, correction(1, #"{"amountMax":60}"#), correction(2, #"{"amountMin":55}"#)])
        #expect(result.status == 0 && result.stdout.contains("imported 3 events"), "\(result.stderr)")
        // A fact of the input retracted earlier in the input is not corrected later in it; an id met twice is
        // refused even when its first line was a retry of a stored event.
        let fact = "0190f3a2-7b1c-7d4e-9f00-0000000000d2"
        result = try importing([
            line(fact, "note.added", #"{"text":"t"}"#),
            line("0190f3a2-7b1c-7d4e-9f00-0000000000d3", "event.retracted", #"{"retractedEventId":"\#(fact)"}"#),
            line(
                "0190f3a2-7b1c-7d4e-9f00-0000000000d4", "event.corrected",
                #"{"correctedEventId":"\#(fact)","changes":{"text":"u"}}"#),
        ])
        #expect(result.stderr.contains("line 3: $.payload.correctedEventId: event \(fact) was retracted"), "\(result.stderr)")
        result = try importing([demanded, demanded])
        #expect(result.status == 4, "\(result.stdout)")
        #expect(result.stderr.contains("line 2: $.eventId: \(demand) appears twice in the input"), "\(result.stderr)")
        #expect(try EventStore.open(at: dir.path).statistics().events == 5)
    }

    @Test func theDemoRunsAnywhereIntoANewDirectoryAndItsClockIsMarked() throws {
        let folder = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: folder.path, withIntermediateDirectories: true)
        let target = folder.path + "/demo-ledger"
        let demo = try ledger(["demo", "--data-dir", target], in: folder.path)
        #expect(demo.status == 0, "\(demo.stderr)")
        #expect(demo.stdout.contains("== Verify: 77 events"))
        // Never into a directory that exists, even an empty one.
        let again = try ledger(["demo", "--data-dir", target], in: folder.path)
        #expect(again.status == 5 && again.stderr.contains("already exists"), "\(again.stderr)")
        let empty = folder.path + "/empty"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        #expect(try ledger(["demo", "--data-dir", empty]).status == 5)
        // The ledger says for ever that a dataset set its clock, and appending with the system clock keeps it so.
        let stats = try JSONParser.parse(try ledger(["stats", "--json", "--data-dir", target]).stdout)
        #expect(stats["recordedAtSetBy"]?.stringValue?.contains("the dataset of `ledger demo`") == true)
        let verify = try ledger(["verify", "--data-dir", target])
        #expect(verify.stdout.contains("recordedAt times were set by the dataset"))
        let state = try ledger(["state", "--data-dir", target])
        #expect(state.stderr.contains("ledger: note:") && state.stderr.contains("not by the ledger's clock"))
        let note = try ledger(
            [
                "record", "note.added", "--incident", "incident:chu-nantes-2024-01", "--at", "2024-01-20", "--source", "s",
                "--set", "text=t", "--data-dir", target,
            ])
        #expect(note.status == 0, "\(note.stderr)")
        #expect(try ledger(["stats", "--json", "--data-dir", target]).stdout.contains("the dataset of `ledger demo`"))
        // A ledger the system clock alone wrote carries no marker.
        let plain = try ledgerWithNote()
        let plainStats = try JSONParser.parse(try ledger(["stats", "--json", "--data-dir", plain.path]).stdout)
        #expect(plainStats["recordedAtSetBy"] == .string("the ledger's clock"))
        #expect(try ledger(["state", "--data-dir", plain.path]).stderr.isEmpty)
    }

    @Test func aFailedDemoLeavesNothingBehind() throws {
        let folder = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: folder.path, withIntermediateDirectories: true)
        let dataset = folder.path + "/bad.ndjson"
        try Data(
            #"{"recordAt":"2024-01-15T00:00:00Z","event":{"streamId":"incident:x","eventType":"no.such","occurredAt":{"precision":"day","at":"2024-01-15T00:00:00+01:00"},"source":"s","payload":{}}}"#
                .utf8
        ).write(to: URL(fileURLWithPath: dataset))
        let target = folder.path + "/demo"
        let result = try ledger(["demo", "--data-dir", target, "--dataset", dataset])
        #expect(result.status == 3, "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: target))
    }
}

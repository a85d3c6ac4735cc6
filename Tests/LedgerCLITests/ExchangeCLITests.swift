import EventStore
import Foundation
import LedgerTestSupport
import Testing

private func ledger(_ arguments: [String], input: String? = nil) throws -> ProcessOutput {
    try runProduct("ledger", arguments, input: input, environment: ["LEDGER_ACTOR": "analyst@chu-test.example"])
}

/// Bundles through the CLI: round trips that keep every byte, merges that write once, and bad bundles refused
/// with nothing written.
@Suite("Bundles: export, restore, backup, merge", .serialized)
struct ExchangeCLITests {
    let work = TemporaryDirectory()
    init() throws { try FileManager.default.createDirectory(atPath: work.path, withIntermediateDirectories: true) }
    func path(_ name: String) -> String { work.path + "/" + name }

    func ndjson(_ dir: String) throws -> String { try ledger(["read", "--format", "ndjson", "--data-dir", dir]).stdout }

    /// A key for `dir`'s ledger, and its verifier key.
    func key(_ dir: String, _ name: String) throws -> (file: String, verifier: String) {
        let made = try ledger(["key", "init", "--data-dir", dir, "--output", path(name)])
        #expect(made.status == 0, "\(made.stderr)")
        return (path(name), made.stdout.trimmingCharacters(in: .newlines))
    }

    func notes(_ ids: ClosedRange<Int>, stream: String = "incident:offline") -> String {
        ids.map { i in
            #"{"streamId":"\#(stream)","eventId":"\#(String(format: "0190f3a2-7b1c-7d4e-9f00-%012d", i))","eventType":"note.added","occurredAt":{"precision":"day","at":"2024-01-15T00:00:00+01:00"},"source":"crisis room","payload":{"text":"noted offline \#(i)"}}"#
        }.joined(separator: "\n")
    }

    @Test func exportRestoreAndBackupKeepEveryByte() throws {
        let origin = path("demo")
        #expect(try ledger(["demo", "--data-dir", origin]).status == 0)
        let (keyFile, verifier) = try key(origin, "demo.key")
        let exported = try ledger(["export", "--data-dir", origin, "--output", path("all.bundle"), "--key", keyFile])
        #expect(exported.status == 0, "\(exported.stderr)")
        #expect(exported.stdout.contains("exported 77 events (positions 1-77)"))
        #expect(try ledger(["check-bundle", path("all.bundle"), "--trust", verifier]).status == 0)

        let replica = path("replica")
        let restored = try ledger(["restore", path("all.bundle"), "--data-dir", replica, "--trust", verifier])
        #expect(restored.status == 0, "\(restored.stderr)")
        // Byte-identical: every event, position, recordedAt and hash; the head, the checkpoint, the dataset marker.
        #expect(try ndjson(replica) == ndjson(origin))
        #expect(try ledger(["verify", "--data-dir", replica]).status == 0)
        #expect(
            try ledger(["checkpoint", "show", "--data-dir", replica]).stdout
                == ledger(["checkpoint", "show", "--data-dir", origin]).stdout)
        let stats = try JSONParser.parse(try ledger(["stats", "--json", "--data-dir", replica]).stdout)
        #expect(stats["recordedAtSetBy"]?.stringValue?.contains("ledger demo") == true)
        #expect(
            try ledger(["state", "--incident", "incident:aphp-2021-09", "--known-at", "2021-09-15", "--data-dir", replica]).stdout
                == ledger(["state", "--incident", "incident:aphp-2021-09", "--known-at", "2021-09-15", "--data-dir", origin])
                .stdout)
        // Into a directory that exists: refused. A trailing slash names the same directory.
        #expect(try ledger(["restore", path("all.bundle"), "--data-dir", replica]).status == 5)
        let slashed = try ledger(["restore", path("all.bundle"), "--data-dir", path("slashed") + "/", "--trust", verifier])
        #expect(slashed.status == 0, "\(slashed.stderr)")
        #expect(try ndjson(path("slashed")) == ndjson(origin))

        let backup = try ledger(["backup", "--data-dir", origin, "--output", path("backup")])
        #expect(backup.status == 0, "\(backup.stderr)")
        #expect(try ndjson(path("backup")) == ndjson(origin))

        // A suffix and one stream verify on their own; neither restores a whole ledger.
        #expect(try ledger(["export", "--data-dir", origin, "--output", path("tail.bundle"), "--from", "40"]).status == 0)
        #expect(
            try ledger(["check-bundle", path("tail.bundle"), "--trust", verifier]).stdout.contains("38 events (positions 40-77)"))
        #expect(
            try ledger(["export", "--data-dir", origin, "--output", path("one.bundle"), "--stream", "incident:aphp-2021-09"])
                .status == 0)
        #expect(try ledger(["check-bundle", path("one.bundle"), "--trust", verifier]).status == 0)
        // One event dropped from the stream's bundle, with its proof and the count: the versions tell.
        let dropped = try python(
            """
            import json, sys
            lines = [json.loads(l) for l in sys.stdin.buffer if l.strip()]
            header, events, trailer = lines[0], lines[1:-1], lines[-1]
            gone = events.pop(4)
            trailer["inclusion"] = [p for p in trailer["inclusion"] if p["position"] != gone["position"]]
            header["events"] -= 1
            for line in [header] + events + [trailer]:
                print(json.dumps(line, ensure_ascii=False))
            """, input: try String(contentsOfFile: path("one.bundle"), encoding: .utf8))
        try Data(dropped.utf8).write(to: URL(fileURLWithPath: path("dropped.bundle")))
        let gap = try ledger(["check-bundle", path("dropped.bundle"), "--trust", verifier])
        #expect(gap.status == 3 && gap.stderr.contains("version 6) is not the next event"), "\(gap.stderr)")
        for partial in ["tail.bundle", "one.bundle"] {
            let refused = try ledger(["restore", path(partial), "--data-dir", path("partial")])
            #expect(refused.status == 3 && refused.stderr.contains("a restore needs a whole ledger"), "\(refused.stderr)")
            #expect(!FileManager.default.fileExists(atPath: path("partial")))
        }
        // CloudEvents, read by an independent implementation (PyPI cloudevents).
        #expect(
            try ledger(["export", "--data-dir", origin, "--output", path("events.ce"), "--format", "cloudevents"]).status == 0)
        let script = """
            import sys, json
            from cloudevents.v1.http import from_json
            n = 0
            for line in sys.stdin.buffer:
                event = from_json(line)
                assert event["specversion"] == "1.0" and event["type"].startswith("org.incidentledger.")
                assert event["ledgerposition"] == n + 1 and len(event["hash"]) == 64
                n += 1
            print(n)
            """
        let count = try python(script, input: try String(contentsOfFile: path("events.ce"), encoding: .utf8))
        #expect(count.trimmingCharacters(in: .newlines) == "77")
    }

    @Test func badBundlesAreRefusedWithNothingWritten() throws {
        let origin = path("source")
        #expect(try ledger(["init", "--origin", "chu-test.example/source", "--data-dir", origin]).status == 0)
        #expect(try ledger(["append", "--data-dir", origin], input: notes(1...12)).status == 0)
        let (keyFile, verifier) = try key(origin, "source.key")
        #expect(try ledger(["export", "--data-dir", origin, "--output", path("good.bundle"), "--key", keyFile]).status == 0)
        let stranger = try ledger(["key", "init", "--name", "stranger.example", "--output", path("stranger.key")]).stdout
            .trimmingCharacters(in: .newlines)
        let lines = try String(contentsOfFile: path("good.bundle"), encoding: .utf8).split(separator: "\n").map(String.init)
        var bad: [(String, String, [String])] = [
            ("truncated", lines.dropLast().joined(separator: "\n") + "\n", []),
            ("cut mid-line", String(lines.joined(separator: "\n").prefix(2000)), []),
            ("reordered", ([lines[0], lines[2], lines[1]] + lines.dropFirst(3)).joined(separator: "\n") + "\n", []),
            (
                "a changed byte",
                lines.joined(separator: "\n").replacingOccurrences(of: "noted offline 5", with: "noted offline 6") + "\n", []
            ),
            ("an event dropped", (lines.prefix(5) + lines.dropFirst(6)).joined(separator: "\n") + "\n", []),
            ("the wrong key", lines.joined(separator: "\n") + "\n", ["--trust", stranger]),
            ("not a bundle", "{\"hello\":1}\n", []),
            (
                "a foreign origin",
                ([lines[0].replacingOccurrences(of: "chu-test.example/source", with: "chu-test.example/elsewhere")]
                    + lines.dropFirst())
                    .joined(separator: "\n") + "\n", []
            ),
        ]
        bad.append(("empty", "", []))
        let target = path("target")
        #expect(try ledger(["init", "--origin", "chu-test.example/target", "--data-dir", target]).status == 0)
        let before = try ndjson(target)
        for (name, text, trust) in bad {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path("bad.bundle")))
            let restore = try ledger(["restore", path("bad.bundle"), "--data-dir", path("restored")] + trust)
            #expect(restore.status == 3, "\(name): \(restore.stdout)")
            #expect(restore.stderr.split(separator: "\n").count == 1, "\(name): \(restore.stderr)")
            #expect(!FileManager.default.fileExists(atPath: path("restored")), "\(name)")
            let merge = try ledger(
                ["merge", path("bad.bundle"), "--data-dir", target] + (trust.isEmpty ? ["--trust", verifier] : trust))
            #expect(merge.status == 3, "\(name): \(merge.stdout)")
            #expect(try ndjson(target) == before, "\(name) wrote something")
        }
        // A merge without the reader's own key is refused: the keys a bundle states are the sender's word.
        let unpinned = try ledger(["merge", path("good.bundle"), "--data-dir", target])
        #expect(unpinned.status == 2 && unpinned.stderr.contains("--trust: required"), "\(unpinned.stderr)")
        // A header whose positions do not match its events (the merge state would pair a position with
        // another event's hash) is refused.
        let shifted = lines[0].replacingOccurrences(of: #""toPosition":12"#, with: #""toPosition":10"#)
        try Data(([shifted] + lines.dropFirst()).joined(separator: "\n").utf8).write(
            to: URL(fileURLWithPath: path("shifted.bundle")))
        let mismatch = try ledger(["merge", path("shifted.bundle"), "--data-dir", target, "--trust", verifier])
        #expect(mismatch.status == 3 && mismatch.stderr.contains("its header says 12 up to 10"), "\(mismatch.stderr)")
        #expect(try ndjson(target) == before)
        // And the good one merges once, pinned to the source's key.
        #expect(try ledger(["merge", path("good.bundle"), "--data-dir", target, "--trust", verifier]).status == 0)
    }

    /// The crisis room's laptop: it merges the hospital's ledger, records offline (a correction of a hospital
    /// fact too), and its records come back with their provenance, once.
    @Test func anOfflineLaptopsRecordsMergeOnceWithTheirProvenance() throws {
        let hospital = path("hospital")
        let laptop = path("laptop")
        #expect(try ledger(["init", "--origin", "chu-test.example/ledger", "--data-dir", hospital]).status == 0)
        #expect(try ledger(["init", "--origin", "chu-test.example/laptop-1", "--data-dir", laptop]).status == 0)
        #expect(try ledger(["append", "--data-dir", hospital], input: notes(1...5, stream: "incident:h")).status == 0)
        let (hospitalKey, hospitalVerifier) = try key(hospital, "hospital.key")
        let (laptopKey, laptopVerifier) = try key(laptop, "laptop.key")
        #expect(try ledger(["export", "--data-dir", hospital, "--output", path("h.bundle"), "--key", hospitalKey]).status == 0)
        var merged = try ledger(["merge", path("h.bundle"), "--data-dir", laptop, "--trust", hospitalVerifier])
        #expect(merged.stdout.contains("merged 5 events of chu-test.example/ledger at positions 1-5"), "\(merged.stderr)")

        // Offline: three notes and a correction of a hospital note.
        #expect(try ledger(["append", "--data-dir", laptop, "--actor", "scribe@crisis-room"], input: notes(6...8)).status == 0)
        let correction =
            #"{"streamId":"incident:h","eventType":"event.corrected","occurredAt":{"precision":"day","at":"2024-01-16T00:00:00+01:00"},"source":"crisis room","reason":"typo","payload":{"correctedEventId":"0190f3a2-7b1c-7d4e-9f00-000000000002","changes":{"text":"corrected offline"}}}"#
        #expect(try ledger(["append", "--data-dir", laptop, "--actor", "scribe@crisis-room"], input: correction).status == 0)
        #expect(try ledger(["export", "--data-dir", laptop, "--output", path("l.bundle"), "--key", laptopKey]).status == 0)

        merged = try ledger(["merge", path("l.bundle"), "--data-dir", hospital, "--trust", laptopVerifier])
        #expect(merged.status == 0, "\(merged.stderr)")
        #expect(
            merged.stdout.contains("merged 4 events of chu-test.example/laptop-1 at positions 6-9 (5 already here)"),
            "\(merged.stdout)")
        let events = try EventStore.open(at: hospital).allEvents()
        let offline = try #require(events.last)
        #expect(offline.eventType == "event.corrected" && offline.actor == "scribe@crisis-room")
        #expect(offline.origin?.ledger == "chu-test.example/laptop-1" && offline.origin?.position == 9)
        #expect(try ledger(["verify", "--data-dir", hospital]).status == 0)
        // The correction applies: the hospital's state shows the corrected note through the audit.
        #expect(try ledger(["audit", "--incident", "incident:h", "--data-dir", hospital]).stdout.contains("corrected offline"))

        // Again: nothing. Then two more records, exported as a suffix: just those.
        merged = try ledger(["merge", path("l.bundle"), "--data-dir", hospital, "--trust", laptopVerifier])
        #expect(
            merged.stdout.contains("nothing new from chu-test.example/laptop-1: 9 merged before; nothing written"),
            "\(merged.stdout)")
        #expect(try ledger(["append", "--data-dir", laptop], input: notes(10...11)).status == 0)
        #expect(
            try ledger(["export", "--data-dir", laptop, "--output", path("l2.bundle"), "--from", "10", "--key", laptopKey]).status
                == 0)
        merged = try ledger(["merge", path("l2.bundle"), "--data-dir", hospital, "--trust", laptopVerifier])
        #expect(merged.stdout.contains("merged 2 events of chu-test.example/laptop-1 at positions 10-11"), "\(merged.stdout)")

        // A laptop that forked (its history rewritten from position 7, re-signed with its own key) is refused,
        // naming the first event that differs; so is a suffix that skips what was never merged.
        let forked = path("forked")
        #expect(try ledger(["init", "--origin", "chu-test.example/laptop-1", "--data-dir", forked]).status == 0)
        #expect(try ledger(["merge", path("h.bundle"), "--data-dir", forked, "--trust", hospitalVerifier]).status == 0)
        #expect(try ledger(["append", "--data-dir", forked], input: notes(6...6) + "\n" + notes(20...24)).status == 0)
        let forkKey = path("laptop.key")
        #expect(try ledger(["export", "--data-dir", forked, "--output", path("f.bundle"), "--key", forkKey]).status == 0)
        let before = try ndjson(hospital)
        let refused = try ledger(["merge", path("f.bundle"), "--data-dir", hospital, "--trust", laptopVerifier])
        #expect(refused.status == 3, "\(refused.stdout)")
        #expect(refused.stderr.contains("does not extend what was merged from chu-test.example/laptop-1"), "\(refused.stderr)")
        #expect(try ndjson(hospital) == before)
        #expect(try ledger(["append", "--data-dir", laptop], input: notes(12...14)).status == 0)
        #expect(
            try ledger(["export", "--data-dir", laptop, "--output", path("gap.bundle"), "--from", "14", "--key", laptopKey])
                .status == 0)
        let gap = try ledger(["merge", path("gap.bundle"), "--data-dir", hospital, "--trust", laptopVerifier])
        #expect(gap.status == 3 && gap.stderr.contains("export from 12"), "\(gap.stderr)")
        // A bundle of this very ledger is refused.
        #expect(
            try ledger(["export", "--data-dir", hospital, "--output", path("self.bundle"), "--key", hospitalKey]).status == 0)
        #expect(
            try ledger(["merge", path("self.bundle"), "--data-dir", hospital, "--trust", hospitalVerifier]).stderr.contains(
                "this very ledger"))
        // A first merge of an origin must start at its position 1: a suffix would skip the rest for good.
        let fresh = path("fresh")
        #expect(try ledger(["init", "--data-dir", fresh]).status == 0)
        let suffix = try ledger(["merge", path("l2.bundle"), "--data-dir", fresh, "--trust", laptopVerifier])
        #expect(suffix.status == 3 && suffix.stderr.contains("never merged here: export it from position 1"), "\(suffix.stderr)")
    }
}

import EventStore
import Foundation
import LedgerTestSupport
import Testing

private func ledger(_ arguments: [String], input: String? = nil, environment: [String: String] = [:]) throws
    -> ProcessOutput
{
    try runProduct(
        "ledger", arguments, input: input,
        environment: ["LEDGER_ACTOR": "scribe@chu-test.example"].merging(environment) { _, given in given })
}

private func microsecondsNow() -> Int64 { Int64(Date().timeIntervalSince1970 * 1_000_000) }

/// The start of the minute `microseconds` falls in.
private func minute(_ microseconds: Int64) -> Int64 { microseconds - microseconds % 60_000_000 }

/// Issue 12, point 6: what an investigator types all day (relative times, the version, help that fits the
/// screen, the read table, events named by position or prefix, case and typos, shell completion) and point 7
/// (a fact for an incident never opened).
@Suite("ledger CLI: typing", .serialized)
struct TypingCLITests {
    func initialized() throws -> TemporaryDirectory {
        let dir = TemporaryDirectory()
        #expect(try ledger(["init", "--data-dir", dir.path]).status == 0)
        return dir
    }

    /// Records one fact; the arguments after the event type, without the data directory.
    @discardableResult
    func record(_ dir: TemporaryDirectory, _ arguments: [String], status: Int32 = 0) throws -> ProcessOutput {
        let result = try ledger(["record"] + arguments + ["--data-dir", dir.path])
        #expect(result.status == status, "\(arguments): \(result.stderr)")
        return result
    }

    func opened(_ dir: TemporaryDirectory, _ incident: String) throws {
        try record(
            dir,
            [
                "incident.opened", "--incident", incident, "--at", "2024-01-15 08:00", "--source", "crisis cell", "--set",
                "title=T", "--set", "establishments=440000289",
            ])
    }

    func events(_ dir: TemporaryDirectory) throws -> [RecordedEvent] {
        try EventStore.open(at: dir.path, readOnly: true).allEvents()
    }

    // MARK: - Relative times

    @Test func whenItHappenedCanBeNowOrRelativeToNow() throws {
        let dir = try initialized()
        let before = microsecondsNow()
        try record(
            dir,
            [
                "incident.opened", "--incident", "incident:t", "--at", "now", "--source", "s", "--set", "title=T", "--set",
                "establishments=440000289",
            ])
        let offsets: [(String, Int64)] = [
            ("-10m", -600_000_000), ("-2h", -7_200_000_000), ("-3d", -259_200_000_000), ("-1h30m", -5_400_000_000),
            ("now-5m", -300_000_000), ("+2h", 7_200_000_000), ("NOW", 0),
        ]
        for (text, _) in offsets {
            try record(dir, ["note.added", "--incident", "incident:t", "--at", text, "--source", "s", "--set", "text=\(text)"])
        }
        let after = microsecondsNow()
        let stored = try events(dir)
        #expect(stored.count == offsets.count + 1)
        for (event, offset) in zip(stored, [("now", Int64(0))] + offsets) {
            // The minute it falls in, in Paris.
            #expect(event.occurredAt.precision == .minute, "\(offset.0): \(event.occurredAt)")
            let at = event.occurredAt.start.microseconds
            #expect(
                (minute(before + offset.1)...minute(after + offset.1)).contains(at),
                "\(offset.0): \(event.occurredAt.start.rfc3339) not within a minute of now \(offset.1 / 60_000_000) min")
            #expect(event.occurredAt.start.offsetSeconds == 3600 || event.occurredAt.start.offsetSeconds == 7200)
        }
        // A relative time two days ahead gets the warning of any fact in the future.
        let ahead = try record(
            dir, ["note.added", "--incident", "incident:t", "--at", "+2d", "--source", "s", "--set", "text=x"])
        #expect(ahead.stderr.hasPrefix("warning: --at: begins "), "\(ahead.stderr)")

        for bad in ["-10x", "-2", "now+", "-1000000d", "-5w", "+-2h", "-2h3"] {
            let refused = try record(
                dir, ["note.added", "--incident", "incident:t", "--at", bad, "--source", "s", "--set", "text=x"], status: 3)
            #expect(
                refused.stderr == "ledger: error: --at: \"\(bad)\" is not a relative time: now, or a sign then amounts "
                    + "with m, h or d (-10m, -2h, -3d, -1h30m, +2h)\n", "\(bad): \(refused.stderr)")
        }
        #expect(try events(dir).count == offsets.count + 2, "nothing refused was written")
    }

    @Test func queriesTakeNowAndRelativeTimes() throws {
        let dir = try initialized()
        try opened(dir, "incident:t")
        let d = ["--data-dir", dir.path]
        // Recorded just now: known now, not an hour ago.
        let now = try ledger(["state", "--known-at", "now"] + d)
        #expect(now.status == 0 && now.stdout.contains("incident:t: T"), "\(now.stdout)\(now.stderr)")
        let lines = now.stdout.split(separator: "\n")
        #expect(lines.first?.hasPrefix("(as known at now = 20") == true, "the header says which instant: \(now.stdout)")
        let hourAgo = try ledger(["state", "--known-at", "-1h"] + d)
        #expect(hourAgo.status == 0 && !hourAgo.stdout.contains("incident:t"), "\(hourAgo.stdout)")
        // As of a time ahead: the clocks as they will stand.
        let tomorrow = try ledger(["deadlines", "--as-of", "+1d", "--format", "json"] + d)
        #expect(tomorrow.status == 0, "\(tomorrow.stderr)")
        #expect(try ledger(["audit", "--since", "-3d"] + d).status == 0)

        let refusals: [([String], String)] = [
            (
                ["state", "--known-at", "+1h"],
                "--known-at: \"+1h\" is ahead of now: the ledger can only have recorded what has been recorded (try now or -2h)"
            ),
            (["state", "--as-of", "-5y"], "--as-of: \"-5y\" is not a relative time"),
            (["audit", "--since", "+2h"], "--since: \"+2h\" is ahead of now: nothing is recorded yet then (try -2h or -3d)"),
            (["timeline", "--hospital", "440000289", "--as-of", "-2"], "--as-of: \"-2\" is not a relative time"),
        ]
        for (arguments, message) in refusals {
            let result = try ledger(arguments + d)
            #expect(result.status == 3, "\(arguments): \(result.stderr)")
            #expect(result.stderr.hasPrefix("ledger: error: \(message)"), "\(arguments): \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1)
        }
    }

    // MARK: - Version

    @Test func theVersionIsOneConstantThatStatsReportsToo() throws {
        let version = try ledger(["--version"])
        #expect(version.status == 0, "\(version.stderr)")
        let text = version.stdout.trimmingCharacters(in: .newlines)
        #expect(text == LedgerVersion.current)
        #expect(text.split(separator: ".").count == 3 && text.split(separator: ".").allSatisfy { Int($0) != nil }, "\(text)")
        let dir = try initialized()
        let stats = try ledger(["stats", "--json", "--data-dir", dir.path])
        #expect(try JSONParser.parse(stats.stdout)["ledgerVersion"]?.stringValue == text, "\(stats.stdout)")
        #expect(try ledger(["stats", "--data-dir", dir.path]).stdout.contains("ledgerVersion   \(text)\n"))
    }

    // MARK: - Help

    /// Every value list of the catalogue as `record --help` prints it (`down|degraded`): the enums of
    /// schemas/events/, which the catalogue tests hold equal to the Swift catalogue.
    static func valueLists() throws -> [String] {
        var lists: Set<String> = []
        func walk(_ value: JSONValue) {
            if let members = value.objectValue {
                for (key, member) in members {
                    if key == "enum", let items = member.arrayValue?.compactMap(\.stringValue), items.count > 1 {
                        lists.insert(items.joined(separator: "|"))
                    } else {
                        walk(member)
                    }
                }
            } else if let items = value.arrayValue {
                items.forEach(walk)
            }
        }
        let folder = packageRoot() + "/schemas/events"
        for file in try FileManager.default.contentsOfDirectory(atPath: folder) where file.hasSuffix(".schema.json") {
            walk(try JSONParser.parse(try Data(contentsOf: URL(fileURLWithPath: folder + "/" + file))))
        }
        return lists.sorted()
    }

    @Test(arguments: [nil, "100", "60"])
    func helpFitsTheScreenAndBreaksOnlyBetweenWords(columns: String?) throws {
        let screen = Int(columns ?? "80")!
        let environment = columns.map { ["COLUMNS": $0] } ?? [:]
        let root = try ledger(["--help"], environment: environment)
        let record = try ledger(["record", "--help"], environment: environment)
        #expect(root.status == 0 && record.status == 0)
        for (name, help) in [("ledger --help", root.stdout), ("record --help", record.stdout)] {
            for line in help.split(separator: "\n", omittingEmptySubsequences: false) {
                // Within the screen, and within 80 columns for what the ledger lays out itself.
                #expect(line.count <= min(screen, 80) || (screen > 80 && line.count <= screen), "\(name): \(line)")
            }
        }
        // Each exit code begins its own line, its text continued under it.
        for code in 0...6 {
            #expect(root.stdout.contains("\n  \(code) "), "exit code \(code): \(root.stdout)")
        }
        let lines = record.stdout.split(separator: "\n").map(String.init)
        let lists = try Self.valueLists()
        #expect(lists.count >= 10, "\(lists)")
        // A list continues on the next line only after one of its bars.
        let rejoined = record.stdout.replacingOccurrences(of: "\\|\\n +", with: "|", options: .regularExpression)
        for list in lists {
            #expect(rejoined.contains(": \(list)\n"), "\(list) is split: \(record.stdout)")
            // One that fits beside its field is on one line.
            if list.count + 30 <= min(screen, 80) {
                #expect(lines.contains { $0.hasSuffix(": \(list)") }, "\(list) fits on a line but is split")
            }
        }
        // Field lines keep their indentation: no catalogue line starts at the margin.
        let catalogue = record.stdout.split(separator: "\n", omittingEmptySubsequences: false).drop {
            !$0.hasPrefix("Event types and their fields")
        }.dropFirst().prefix { !$0.isEmpty }
        #expect(catalogue.count > 100)
        #expect(catalogue.allSatisfy { $0.hasPrefix("  ") }, "\(catalogue.filter { !$0.hasPrefix("  ") })")
    }

    // MARK: - The read table

    @Test func theReadTableShowsOffsetsAndIdsWhole() throws {
        let dir = try initialized()
        let long = "incident:centre-hospitalier-universitaire-de-nantes-2024-01"
        try opened(dir, long)
        try record(
            dir,
            [
                "note.added", "--incident", long, "--at", "2024-01-15T01:20:30+01:00/2024-01-15T03:00:15+01:00", "--source",
                "s", "--set", "text=x",
            ])
        let table = try ledger(["read", "--data-dir", dir.path]).stdout
        #expect(table.contains("2024-01-15 01:20:30 +01:00..2024-01-15 03:00:15 +01:00 "), "\(table)")
        #expect(table.contains("\(long)@2 "), "\(table)")
        #expect(!table.contains("…"), "\(table)")
    }

    // MARK: - Events named by position or prefix

    static let first = "aaaaaaaa-0000-7000-8000-000000000001"
    static let second = "aaaaaaaa-0000-7000-8000-000000000002"
    static let third = "bbbbbbbb-0000-7000-8000-000000000003"
    static let elsewhere = "dddddddd-0000-7000-8000-000000000004"

    /// incident:a (opened at 1) holds notes at 2, 3, 4 with chosen ids; incident:b (opened at 5) one at 6.
    func ledgerWithChosenIds() throws -> TemporaryDirectory {
        let dir = try initialized()
        try opened(dir, "incident:a")
        for (id, text) in [(Self.first, "one"), (Self.second, "two"), (Self.third, "three")] {
            try record(
                dir,
                [
                    "note.added", "--incident", "incident:a", "--at", "2024-01-15", "--source", "s", "--set", "text=\(text)",
                    "--event-id", id,
                ])
        }
        try opened(dir, "incident:b")
        try record(
            dir,
            [
                "note.added", "--incident", "incident:b", "--at", "2024-01-15", "--source", "s", "--set", "text=b",
                "--event-id", Self.elsewhere,
            ])
        return dir
    }

    func correct(_ dir: TemporaryDirectory, _ reference: String, status: Int32 = 0) throws -> ProcessOutput {
        try record(
            dir,
            [
                "event.corrected", "--incident", "incident:a", "--at", "2024-01-16", "--source", "s", "--reason", "typo", "--set",
                "correctedEventId=\(reference)", "--set", #"changes={"text":"fixed \#(reference)"}"#,
            ], status: status)
    }

    @Test func aCorrectionNamesItsTargetByPositionOrUniquePrefix() throws {
        let dir = try ledgerWithChosenIds()
        for (reference, target) in [
            ("#2", Self.first), ("3", Self.second), ("bbbbbbbb", Self.third), ("BBBBBBBB-00", Self.third),
            ("aaaaaaaa00007000800000000000000", nil), ("aaaaaaaa-0000-7000-8000-000000000002", Self.second),
        ] {
            guard let target else { continue }
            _ = try correct(dir, reference)
            let stored = try events(dir).last!
            #expect(stored.payload["correctedEventId"]?.stringValue == target, "\(reference): \(stored.payload)")
        }
        let count = try events(dir).count
        let refusals: [(String, String)] = [
            (
                "aaaaaaaa",
                "--set correctedEventId=aaaaaaaa: 2 events have an id beginning aaaaaaaa: #2 \(Self.first) (note.added), "
                    + "#3 \(Self.second) (note.added); give more digits or the position"
            ),
            ("cccccccc", "--set correctedEventId=cccccccc: no event of incident:a has an id beginning cccccccc"),
            (
                "bbbb",
                "--set correctedEventId=bbbb: \"bbbb\" is too short a prefix of an event id: give at least 8 hex digits, "
                    + "or the position (#25)"
            ),
            ("#99", "--set correctedEventId=#99: no event of incident:a is at position 99"),
            (
                "zzzzzzzzzz",
                "--set correctedEventId=zzzzzzzzzz: \"zzzzzzzzzz\" is not an event id, a position (#25) or a prefix of an id "
                    + "(at least 8 hex digits)"
            ),
            // Found, but in another incident: the rules say where it is.
            ("#6", "record: $.payload.correctedEventId: event \(Self.elsewhere) belongs to incident:b, not incident:a"),
            ("dddddddd", "record: $.payload.correctedEventId: event \(Self.elsewhere) belongs to incident:b, not incident:a"),
        ]
        for (reference, message) in refusals {
            let refused = try correct(dir, reference, status: 3)
            #expect(refused.stderr == "ledger: error: \(message)\n", "\(reference): \(refused.stderr)")
        }
        #expect(try events(dir).count == count, "nothing refused was written")

        // Retractions and updates take the same forms.
        try record(
            dir,
            [
                "event.updated", "--incident", "incident:a", "--at", "2024-01-17", "--source", "s", "--reason", "later",
                "--set", "updatedEventId=bbbbbbbb", "--set", #"changes={"text":"three, later"}"#,
            ])
        #expect(try events(dir).last!.payload["updatedEventId"]?.stringValue == Self.third)
        try record(
            dir,
            [
                "event.retracted", "--incident", "incident:a", "--at", "2024-01-17", "--source", "s", "--reason", "wrong",
                "--set", "retractedEventId=#3",
            ])
        #expect(try events(dir).last!.payload["retractedEventId"]?.stringValue == Self.second)
    }

    @Test func readAndProveTakeTheSameForms() throws {
        let dir = try ledgerWithChosenIds()
        func read(_ reference: String) throws -> ProcessOutput {
            try ledger(["read", "--event-id", reference, "--format", "ndjson", "--data-dir", dir.path])
        }
        for (reference, id) in [("#3", Self.second), ("bbbbbbbb", Self.third), ("dddddddd-0000", Self.elsewhere)] {
            let result = try read(reference)
            #expect(result.status == 0, "\(reference): \(result.stderr)")
            #expect(try JSONParser.parse(result.stdout)["eventId"]?.stringValue == id, "\(reference): \(result.stdout)")
        }
        let ambiguous = try read("aaaaaaaa")
        #expect(ambiguous.status == 3 && ambiguous.stderr.hasPrefix("ledger: error: --event-id: 2 events have an id"))
        #expect(try read("bbb").status == 3)

        let key = dir.path + "/signer.key"
        #expect(try ledger(["key", "init", "--data-dir", dir.path, "--output", key]).status == 0)
        let checkpoint = dir.path + "/cp.txt"
        #expect(try ledger(["checkpoint", "--key", key, "--data-dir", dir.path, "--output", checkpoint]).status == 0)
        for reference in ["4", "#4", "bbbbbbbb"] {
            let proof = try ledger(["prove", reference, "--checkpoint", checkpoint, "--data-dir", dir.path])
            #expect(proof.status == 0, "\(reference): \(proof.stderr)")
            #expect(try JSONParser.parse(proof.stdout)["leafIndex"]?.numberValue?.intValue == 3, "\(reference)")
        }
    }

    // MARK: - Case and typos

    @Test func enumeratedValuesTypesAndFieldsIgnoreCaseAndSuggestTheNearest() throws {
        let dir = try initialized()
        try opened(dir, "incident:a")
        try record(
            dir,
            [
                "complaint.filed", "--incident", "incident:a", "--at", "2024-01-16", "--source", "s", "--set", "FiledWith=Police",
            ])
        #expect(try events(dir).last!.payload["filedWith"]?.stringValue == "police")
        let note = try record(
            dir, ["Note.Added", "--incident", "incident:a", "--at", "2024-01-16", "--source", "s", "--set", "TEXT=x"])
        #expect(note.stdout.hasPrefix("recorded note.added at position 3"), "\(note.stdout)")
        #expect(try events(dir).last!.eventType == "note.added")

        let refusals: [([String], Int32, String)] = [
            (
                ["complaint.filed", "--set", "filedWith=polise"], 3,
                "record: $.payload.filedWith: \"polise\" is not one of police, gendarmerie, prosecutor (did you mean police?)"
            ),
            (["note.aded", "--set", "text=x"], 2, "note.aded: unknown event type (did you mean note.added?)"),
            (["note.added", "--set", "txt=x"], 3, "--set txt: unknown field for note.added (did you mean text?)"),
        ]
        for (arguments, status, message) in refusals {
            let refused = try record(
                dir, [arguments[0], "--incident", "incident:a", "--at", "2024-01-16", "--source", "s"] + arguments.dropFirst(),
                status: status)
            #expect(refused.stderr == "ledger: error: \(message)\n", "\(arguments): \(refused.stderr)")
        }
        // JSON is taken as written, and told the same.
        let appended = try ledger(
            ["append", "--data-dir", dir.path],
            input:
                #"{"streamId":"incident:a","eventType":"complaint.filed","occurredAt":{"precision":"day","at":"2024-01-16T00:00:00+01:00"},"source":"s","payload":{"filedWith":"Police"}}"#
        )
        #expect(appended.status == 3)
        #expect(appended.stderr.contains("\"Police\" is not one of police, gendarmerie, prosecutor (did you mean police?)"))
    }

    @Test func optionWordsIgnoreCaseAndUnknownOnesAreRefused() throws {
        let dir = try initialized()
        try opened(dir, "incident:a")
        let upper = try ledger(["state", "--data-dir", dir.path, "--format", "JSON"])
        let lower = try ledger(["state", "--data-dir", dir.path, "--format", "json"])
        #expect(upper.status == 0, "\(upper.stderr)")
        #expect(upper.stdout == lower.stdout && upper.stdout.hasPrefix("{"), "\(upper.stdout)")
        let table = try ledger(["read", "--data-dir", dir.path, "--format", "NDJSON"])
        #expect(table.status == 0 && table.stdout.split(separator: "\n").count == 1, "\(table.stdout)")
        let overdue = try ledger(["deadlines", "--data-dir", dir.path, "--status", "Running", "--format", "Json"])
        #expect(overdue.status == 0, "\(overdue.stderr)")
        let refused = try ledger(["state", "--data-dir", dir.path, "--format", "jsn"])
        #expect(refused.status == 2, "\(refused.status)")
        #expect(refused.stderr.contains("'jsn'") && refused.stderr.contains("json"), "\(refused.stderr)")
    }

    // MARK: - An incident never opened

    @Test func aFactForAnIncidentNeverOpenedIsRefusedWithTheIdMeant() throws {
        let dir = TemporaryDirectory()
        let demo = try ledger(["demo", "--data-dir", dir.path])
        #expect(demo.status == 0, "\(demo.stderr)")
        let count = try events(dir).count
        let note = ["note.added", "--at", "2024-01-16", "--source", "s", "--set", "text=x"]
        let typo = try record(dir, note + ["--incident", "incident:aphp-2021-9"], status: 3)
        #expect(
            typo.stderr
                == "ledger: error: --incident: incident:aphp-2021-9: no such incident (did you mean incident:aphp-2021-09?); "
                + "a new incident's first event is incident.opened (or give --new-incident)\n")
        let far = try record(dir, note + ["--incident", "incident:zzz"], status: 3)
        #expect(
            far.stderr.hasPrefix("ledger: error: --incident: incident:zzz: no such incident; a new incident's"), "\(far.stderr)")
        #expect(try events(dir).count == count, "nothing written")
        // Said on purpose, or opened: recorded.
        let begun = try record(dir, note + ["--incident", "incident:begun", "--new-incident"])
        #expect(begun.stderr.contains("warning: --incident: incident:begun holds no event yet"), "\(begun.stderr)")
        try record(dir, note + ["--incident", "incident:begun"])
        try opened(dir, "incident:new")
        try record(dir, note + ["--incident", "incident:new"])
        #expect(try events(dir).count == count + 4)
    }

    // MARK: - Completion

    /// What the completion script gets for `words`, the last being completed up to the cursor.
    func complete(_ command: String, _ option: String, _ words: [String], environment: [String: String] = [:]) throws
        -> [String]
    {
        let result = try ledger(
            ["---completion", command, "--", option, String(words.count - 1), String(words.last!.count)] + words,
            environment: environment)
        #expect(result.status == 0, "\(words): \(result.stderr)")
        return result.stdout.split(separator: "\n").map(String.init)
    }

    @Test func completionOffersTheCatalogueAndTheLedgersIds() throws {
        let dir = TemporaryDirectory()
        #expect(try ledger(["demo", "--data-dir", dir.path]).status == 0)
        let d = ["--data-dir", dir.path]
        #expect(try complete("record", "positional@0", ["ledger", "record", "service.re"]) == ["service.restored"])
        #expect(try complete("record", "positional@0", ["ledger", "record", ""]).count > 30)
        let incidents = try complete(
            "record", "--incident", ["ledger", "record", "note.added"] + d + ["--incident", "incident:a"])
        #expect(incidents == ["incident:aphp-2021-09"], "\(incidents)")
        // $LEDGER_DATA_DIR as for every command.
        let fromEnvironment = try complete(
            "state", "--incident", ["ledger", "state", "--incident", "incident:"], environment: ["LEDGER_DATA_DIR": dir.path])
        #expect(fromEnvironment.count == 5, "\(fromEnvironment)")
        #expect(try complete("timeline", "--hospital", ["ledger", "timeline"] + d + ["--hospital", "44"]).contains("440000289"))
        // --set: the fields of the type on the line, then their values.
        let fields = try complete("record", "--set", ["ledger", "record", "service.degraded"] + d + ["--set", "s"])
        #expect(fields == ["service=", "status="], "\(fields)")
        #expect(
            try complete("record", "--set", ["ledger", "record", "service.degraded", "--set", "status="])
                == ["status=down", "status=degraded"])
        let services = try complete("record", "--set", ["ledger", "record", "service.degraded"] + d + ["--set", "service=ext"])
        #expect(services == ["service=external_email"], "\(services)")
        let sites = try complete(
            "record", "--set", ["ledger", "record", "incident.opened"] + d + ["--set", "establishments=440000289,44"])
        #expect(sites.allSatisfy { $0.hasPrefix("establishments=440000289,44") } && !sites.isEmpty, "\(sites)")

        // No ledger there: nothing of its own, and none created.
        let empty = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: empty.path, withIntermediateDirectories: true)
        let missing = empty.path + "/nothing"
        #expect(try complete("record", "--incident", ["ledger", "record", "--data-dir", missing, "--incident", ""]).isEmpty)
        // Nor in the current directory, whose ./ledger-data is the default.
        let none = try runProduct(
            "ledger", ["---completion", "state", "--", "--incident", "3", "0", "ledger", "state", "--incident", ""],
            currentDirectory: empty.path)
        #expect(none.status == 0 && none.stdout.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: missing))
        #expect(try FileManager.default.contentsOfDirectory(atPath: empty.path).isEmpty)
        // The ledger read is not written: its files are as they were.
        let before = try FileManager.default.attributesOfItem(atPath: dir.path + "/data.mdb")[.modificationDate] as? Date
        _ = try complete("record", "--incident", ["ledger", "record"] + d + ["--incident", ""])
        let after = try FileManager.default.attributesOfItem(atPath: dir.path + "/data.mdb")[.modificationDate] as? Date
        #expect(before == after)
    }
}

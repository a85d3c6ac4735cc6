import EventStore
import Foundation
import LedgerTestSupport
import Testing

private func ledger(_ arguments: [String], input: String? = nil) throws -> ProcessOutput {
    try runProduct("ledger", arguments, input: input, environment: ["LEDGER_ACTOR": "analyst@chu-test.example"])
}

/// One hostile value, spelled for each way in: `ledger record` flags and the JSON of an input event.
struct HostileCase: Sendable, CustomTestStringConvertible {
    let name: String
    /// `ledger record` arguments (without --data-dir); nil when flags cannot carry the value.
    let record: [String]?
    /// The input event as JSON text, without streamId; nil when JSON cannot carry it.
    let json: String?
    /// True when the ledger must refuse it; false when it may store it (and every read must still work).
    let refused: Bool
    var testDescription: String { name }

    static let stream = "incident:h"
    static let at = #""occurredAt":{"precision":"day","at":"2024-01-15T00:00:00+01:00"},"source":"s""#

    static func ransom(_ name: String, amount: String, refused: Bool = true) -> HostileCase {
        HostileCase(
            name: name,
            record: [
                "ransom.demanded", "--incident", stream, "--at", "2024-01-15", "--source", "s", "--set", "amount=\(amount)",
            ],
            json: #"{"eventType":"ransom.demanded",\#(at),"payload":{"amount":\#(amount)}}"#, refused: refused)
    }

    static func figure(_ name: String, type: String, field: String, value: String, extra: [(String, String)]) -> HostileCase {
        HostileCase(
            name: name,
            record: ["\(type)", "--incident", stream, "--at", "2024-01-15", "--source", "s", "--set", "\(field)=\(value)"]
                + extra.flatMap { ["--set", "\($0.0)=\($0.1)"] },
            json:
                #"{"eventType":"\#(type)",\#(at),"payload":{"\#(field)":\#(value)\#(extra.map { #","\#($0.0)":"\#($0.1)""# }.joined())}}"#,
            refused: true)
    }

    static func note(_ name: String, text: String?, jsonText: String, source: String = "s", jsonSource: String = "s")
        -> HostileCase
    {
        HostileCase(
            name: name,
            record: text.map {
                ["note.added", "--incident", stream, "--at", "2024-01-15", "--source", source, "--set", "text=\($0)"]
            },
            json:
                #"{"eventType":"note.added","occurredAt":{"precision":"day","at":"2024-01-15T00:00:00+01:00"},"source":"\#(jsonSource)","payload":{"text":"\#(jsonText)"}}"#,
            refused: true)
    }

    static func time(_ name: String, at: String?, occurredAt: String?) -> HostileCase {
        HostileCase(
            name: name,
            record: at.map { ["note.added", "--incident", stream, "--at", $0, "--source", "s", "--set", "text=t"] },
            json: occurredAt.map { #"{"eventType":"note.added","occurredAt":\#($0),"source":"s","payload":{"text":"t"}}"# },
            refused: true)
    }

    static let all: [HostileCase] = [
        ransom("amount inf", amount: "inf"), ransom("amount +1", amount: "+1"), ransom("amount infinity", amount: "infinity"),
        ransom("amount NaN", amount: "NaN"), ransom("amount 1e19", amount: "1e19"), ransom("amount 1e308", amount: "1e308"),
        ransom("amount 1e999", amount: "1e999"), ransom("amount -5", amount: "-5"),
        ransom("amount of 400 digits", amount: String(repeating: "9", count: 400)),
        ransom("amount of 5000 digits", amount: "1" + String(repeating: "0", count: 4999)),
        ransom("amount 0x10", amount: "0x10"), ransom("amount 1.", amount: "1."),
        ransom("amount -0.0 (stored as 0.0)", amount: "-0.0", refused: false),
        figure(
            "count +5", type: "care.impact_reported", field: "count", value: "+5",
            extra: [("establishment", "440000289"), ("kind", "operations_postponed"), ("description", "d")]),
        figure(
            "count 2^53", type: "care.impact_reported", field: "count", value: "9007199254740992",
            extra: [("establishment", "440000289"), ("kind", "operations_postponed"), ("description", "d")]),
        figure(
            "capacityPercent +50", type: "service.restored", field: "capacityPercent", value: "+50",
            extra: [("establishment", "440000289"), ("service", "telephony"), ("extent", "partial")]),
        figure(
            "peopleAffected +7", type: "data.exfiltration_confirmed", field: "peopleAffected", value: "+7",
            extra: [("description", "d")]),
        figure(
            "FINESS starting 99", type: "service.degraded", field: "status", value: "\"down\"",
            extra: [("establishment", "990000001"), ("service", "telephony")]),
        note("text U+0000", text: nil, jsonText: #"\u0000"#),
        note("text U+0001", text: "\u{01}", jsonText: #"\u0001"#),
        note("text of spaces", text: "   ", jsonText: "   "),
        note("text of U+200B", text: "\u{200B}", jsonText: #"\u200b"#),
        note("source U+00A0", text: "t", jsonText: "t", source: "\u{A0}", jsonSource: #"\u00a0"#),
        note("source U+3000", text: "t", jsonText: "t", source: "\u{3000}\u{3000}", jsonSource: #"\u3000"#),
        note("source with a C1 control", text: "t", jsonText: "t", source: "a\u{85}", jsonSource: #"a\u0085"#),
        time(
            "year 0001 at +14:00", at: "0001-01-01T00:00:00+14:00",
            occurredAt: #"{"precision":"instant","at":"0001-01-01T00:00:00+14:00"}"#),
        time(
            "year 9999 at -23:59", at: "9999-12-31T23:59:59-23:59",
            occurredAt: #"{"precision":"instant","at":"9999-12-31T23:59:59-23:59"}"#),
        time(
            "interval 0001..9999", at: "0001-01-01T00:00:00Z/9999-12-31T23:59:59Z",
            occurredAt: #"{"precision":"interval","from":"0001-01-01T00:00:00Z","to":"9999-12-31T23:59:59Z"}"#),
        time("the month 9999-12", at: "9999-12", occurredAt: #"{"precision":"month","at":"9999-12-01T00:00:00+01:00"}"#),
        time(
            "Arabic-Indic digits", at: "2024-01-١٥",
            occurredAt: #"{"precision":"day","at":"2024-01-١٥T00:00:00+01:00"}"#),
        time("an ambiguous autumn hour", at: "2024-10-27 02:30", occurredAt: nil),
        time("a day of 400 digits", at: "2024-01-" + String(repeating: "1", count: 400), occurredAt: nil),
        HostileCase(
            name: "actor U+3000",
            record: [
                "note.added", "--incident", stream, "--at", "2024-01-15", "--source", "s", "--set", "text=t", "--actor",
                "\u{3000}",
            ],
            json: #"{"eventType":"note.added",\#(at),"actor":"\u3000","payload":{"text":"t"}}"#, refused: true),
        HostileCase(
            name: "a field set twice",
            record: [
                "note.added", "--incident", stream, "--at", "2024-01-15", "--source", "s", "--set", "text=a", "--set", "text=b",
            ],
            json: #"{"eventType":"note.added",\#(at),"payload":{"text":"a","text":"b"}}"#, refused: true),
    ]
}

/// Issue 14's hostile values, through every way in (record, append, import from a file and from a pipe, a
/// demo dataset): each is refused with one line and nothing written, or stored so that every read still works.
@Suite("Hostile input, every write path", .serialized)
struct HostileInputTests {
    /// A ledger with the CHU de Nantes registered and incident:h opened.
    func seededLedger() throws -> TemporaryDirectory {
        let dir = TemporaryDirectory()
        let d = ["--data-dir", dir.path]
        #expect(try ledger(["init"] + d).status == 0)
        for step in [
            [
                "establishment.registered", "--at", "2024-01-15", "--source", "FINESS", "--set", "finess=440000289", "--set",
                "name=CHU de Nantes", "--set", "city=Nantes",
            ],
            [
                "incident.opened", "--incident", HostileCase.stream, "--at", "2024-01-15", "--source", "s", "--set", "title=H",
                "--set", "establishments=440000289",
            ],
        ] {
            let result = try ledger(["record"] + step + d)
            #expect(result.status == 0, "\(result.stderr)")
        }
        return dir
    }

    func head(_ dir: TemporaryDirectory) throws -> String { try EventStore.open(at: dir.path).statistics().headHash }

    /// Every reading command and `verify` exit 0 on the ledger as it is.
    func everyReadWorks(_ dir: TemporaryDirectory, _ context: String) throws {
        let d = ["--data-dir", dir.path]
        let reads: [[String]] = [
            ["verify"], ["stats"], ["read"], ["read", "--format", "json"], ["state"], ["state", "--format", "json"],
            ["state", "--as-of", "2024-01-15"], ["timeline", "--hospital", "440000289"],
            ["timeline", "--hospital", "440000289", "--format", "json"],
            ["timeline", "--hospital", "440000289", "--format", "svg"],
            ["timeline", "--hospital", "440000289", "--format", "html"], ["deadlines"], ["deadlines", "--format", "json"],
            ["audit"], ["audit", "--format", "json"],
        ]
        for read in reads {
            let result = try ledger(read + d)
            #expect(result.status == 0, "\(context): ledger \(read.joined(separator: " ")): \(result.stderr)")
        }
    }

    func check(_ result: ProcessOutput, _ hostile: HostileCase, path: String, dir: TemporaryDirectory, before: String) throws {
        let context = "\(hostile.name) through \(path)"
        if hostile.refused {
            #expect(result.status == 3 || result.status == 4, "\(context): exit \(result.status) \(result.stdout)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(context): \(result.stderr)")
            #expect(try head(dir) == before, "\(context) wrote something")
        } else {
            #expect(result.status == 0, "\(context): \(result.stderr)")
            try everyReadWorks(dir, context)
        }
    }

    @Test(arguments: HostileCase.all.filter { $0.record != nil })
    func throughRecord(_ hostile: HostileCase) throws {
        let dir = try seededLedger()
        let before = try head(dir)
        try check(
            try ledger(["record"] + hostile.record! + ["--data-dir", dir.path]), hostile, path: "record", dir: dir, before: before
        )
    }

    @Test(arguments: HostileCase.all.filter { $0.json != nil })
    func throughAppendImportAndDemo(_ hostile: HostileCase) throws {
        let dir = try seededLedger()
        let event = hostile.json!.replacingOccurrences(of: #"{"eventType""#, with: #"{"streamId":"incident:h","eventType""#)
        var before = try head(dir)
        try check(
            try ledger(["append", "--data-dir", dir.path], input: event), hostile, path: "append", dir: dir, before: before)

        // Import from a pipe, then from a file: a second ledger, so the first import's outcome does not matter.
        let other = try seededLedger()
        before = try head(other)
        let piped = try ledger(["import", "--file", "-", "--data-dir", other.path], input: event + "\n")
        try check(piped, hostile, path: "import from a pipe", dir: other, before: before)
        let third = try seededLedger()
        let file = third.path + "-events.ndjson"
        defer { try? FileManager.default.removeItem(atPath: file) }
        try Data((event + "\n").utf8).write(to: URL(fileURLWithPath: file))
        before = try head(third)
        try check(
            try ledger(["import", "--file", file, "--data-dir", third.path]), hostile, path: "import", dir: third, before: before)

        // A demo dataset: the registration, the opening, then the hostile event.
        let demoDir = TemporaryDirectory()
        let dataset = demoDir.path + "-dataset.ndjson"
        defer { try? FileManager.default.removeItem(atPath: dataset) }
        let lines = [
            #"{"streamId":"establishment:440000289","eventType":"establishment.registered",\#(HostileCase.at),"payload":{"finess":"440000289","name":"CHU de Nantes","city":"Nantes"}}"#,
            #"{"streamId":"incident:h","eventType":"incident.opened",\#(HostileCase.at),"payload":{"title":"H","establishments":["440000289"]}}"#,
            event,
        ].map { #"{"recordAt":"2024-01-16T10:00:00+01:00","event":\#($0)}"# }
        try Data(lines.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: dataset))
        let demo = try ledger(["demo", "--data-dir", demoDir.path, "--dataset", dataset])
        if hostile.refused {
            #expect(demo.status == 3 || demo.status == 4, "\(hostile.name) through demo: \(demo.stdout)")
            #expect(demo.stderr.split(separator: "\n").count == 1, "\(hostile.name) through demo: \(demo.stderr)")
            #expect(!FileManager.default.fileExists(atPath: demoDir.path), "a failed demo left its directory behind")
        } else {
            #expect(demo.status == 0, "\(hostile.name) through demo: \(demo.stderr)")
            try everyReadWorks(demoDir, "\(hostile.name) through demo")
        }
    }

    /// Negative zero is one value with zero: stored as 0.0.
    @Test func negativeZeroIsStoredAsZero() throws {
        let dir = try seededLedger()
        let result = try ledger(
            [
                "record", "ransom.demanded", "--incident", "incident:h", "--at", "2024-01-15", "--source", "s", "--set",
                "amount=-0.0",
            ]
                + ["--data-dir", dir.path])
        #expect(result.status == 0, "\(result.stderr)")
        let last = try #require(try EventStore.open(at: dir.path).allEvents().last)
        #expect(last.payload["amount"] == .number(JSONNumber(lexeme: "0.0")!))
    }

    /// Invalid UTF-8 in an argument is refused, not stored as U+FFFD.
    @Test func invalidUTF8ArgumentsAreRefused() throws {
        let dir = try seededLedger()
        let before = try head(dir)
        let ledgerPath = productsDirectory().appendingPathComponent("ledger").path
        let process = Process()
        process.environment = childEnvironment()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = [
            "-c",
            #""$0" record note.added --incident incident:h --at 2024-01-15 --source "$(printf 'caf\351')" --set text=t --data-dir "$1""#,
            ledgerPath, dir.path,
        ]
        let stderr = Pipe()
        process.standardError = stderr
        process.standardOutput = Pipe()
        try process.run()
        let message = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 3)
        #expect(message.contains("is not valid UTF-8"), "\(message)")
        #expect(try head(dir) == before)
    }
}

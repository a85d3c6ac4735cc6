import EventStore
import Foundation
import LedgerTestSupport
import Testing

/// Runs `ledger` end to end, as a person or a script would.
private func ledger(_ arguments: String..., input: String? = nil, actor: String? = nil) throws -> ProcessOutput {
    try runProduct("ledger", arguments, input: input, environment: actor.map { ["LEDGER_ACTOR": $0] } ?? [:])
}

private let detected = #"""
    {"streamId":"incident:nantes","eventType":"attack.detected","occurredAt":{"precision":"minute","at":"2024-01-15T01:20:00+01:00"},"source":"Ouest-France","payload":{"description":"night alert"}}
    """#
private let degraded = #"""
    {"streamId":"incident:nantes","eventType":"service.degraded","occurredAt":{"precision":"day","at":"2024-01-15T00:00:00+01:00"},"source":"Ouest-France","payload":{"establishment":"440000289","service":"external_email","status":"down"}}
    """#

@Suite("ledger CLI", .serialized)
struct CLITests {
    @Test func initAppendReadVerifyAndStats() throws {
        let dir = TemporaryDirectory()
        let created = try ledger("init", "--data-dir", dir.path)
        #expect(created.status == 0)
        let appended = try ledger(
            "append", "--data-dir", dir.path, input: detected + "\n" + degraded + "\n", actor: "cell@chu-nantes.fr")
        #expect(appended.status == 0, "\(appended.stderr)")
        #expect(appended.stdout == "appended 2 event(s) to incident:nantes: positions 1-2, stream version 2\n")

        let ndjson = try ledger("read", "--data-dir", dir.path, "--format", "ndjson")
        let lines = ndjson.stdout.split(separator: "\n")
        #expect(lines.count == 2)
        let first = try JSONParser.parse(String(lines[0]))
        #expect(first["actor"] == .string("cell@chu-nantes.fr"))
        #expect(first["position"] == .number(JSONNumber(1)))
        #expect(first["hash"]?.stringValue?.count == 64)

        let table = try ledger("read", "--data-dir", dir.path, "--stream", "incident:nantes", "--backward")
        #expect(table.stdout.contains("incident:nantes@2"))
        #expect(table.stdout.split(separator: "\n")[1].contains("service.degraded"))
        let json = try ledger("read", "--data-dir", dir.path, "--type", "attack.detected", "--format", "json")
        #expect(try documentList(json.stdout, "events").arrayValue?.count == 1)

        let verified = try ledger("verify", "--data-dir", dir.path)
        #expect(verified.status == 0)
        // Two entries an event (id, stream): the secondary indexes and the subtrees wait for 128 events
        // (DeferredIndexes.swift).
        #expect(verified.stdout.hasPrefix("verified 2 events, 4 index entries and 0 Merkle subtrees"))
        let stats = try ledger("stats", "--data-dir", dir.path, "--json")
        let figures = try JSONParser.parse(stats.stdout)
        #expect(figures["events"] == .number(JSONNumber(2)))
        #expect(figures["lmdbVersion"]?.stringValue?.hasPrefix("LMDB 0.9") == true)
    }

    @Test func aJSONArrayFileAppendsAtomicallyWithAnExpectedVersion() throws {
        let dir = TemporaryDirectory()
        _ = try ledger("init", "--data-dir", dir.path)
        let file = dir.path + "/events.json"
        try "[\(detected),\(degraded)]".write(toFile: file, atomically: true, encoding: .utf8)
        let first = try ledger("append", "--data-dir", dir.path, "--file", file, "--expected-version", "no-stream")
        #expect(first.status == 0, "\(first.stderr)")
        let second = try ledger("append", "--data-dir", dir.path, "--file", file, "--expected-version", "no-stream")
        #expect(second.status == 4)
        #expect(second.stderr == "ledger: error: incident:nantes: expected version no-stream, but the stream is at 2\n")
        let third = try ledger("append", "--data-dir", dir.path, "--file", file, "--expected-version", "2")
        #expect(third.status == 0)
        #expect(third.stdout.contains("positions 3-4, stream version 4"))
    }

    /// Every bad input: one line naming the file or field and the reason, a non-zero exit, nothing written.
    @Test(arguments: [
        ("{\"eventType\": ", "standard input line 1: invalid JSON at byte 14: unexpected end of input", Int32(3)),
        (detected + "\nnot json\n", "standard input line 2: invalid JSON at byte 0: expected 'null'", 3),
        (detected.replacingOccurrences(of: "\"source\"", with: "\"sauce\""), "standard input: $.sauce: unknown field", 3),
        (
            detected.replacingOccurrences(of: "\"streamId\"", with: "\"position\":9,\"streamId\""),
            "standard input: $.position: assigned by the ledger; must not be supplied", 3
        ),
        (
            detected.replacingOccurrences(of: "01:20:00+01:00", with: "01:20:00"),
            "standard input: $.occurredAt.at: expected an RFC 3339 timestamp with an offset, like 2024-01-15T01:20:00+01:00", 3
        ),
        (
            detected.replacingOccurrences(of: "\"payload\":{", with: "\"schemaVersion\":\"one\",\"payload\":{"),
            "standard input: $.schemaVersion: expected an integer, got string", 3
        ),
        (
            detected + "\n"
                + degraded.replacingOccurrences(of: "\"minute\"", with: "\"fortnight\"").replacingOccurrences(
                    of: "\"day\"", with: "\"fortnight\""),
            "standard input line 2: $.occurredAt.precision: \"fortnight\" is not one of instant, minute, hour, day, month, interval",
            3
        ),
        ("", "standard input: holds no event", 3),
    ])
    func badInputIsRefusedWholeWithOneLine(input: String, message: String, status: Int32) throws {
        let dir = TemporaryDirectory()
        _ = try ledger("init", "--data-dir", dir.path)
        let before = try ledger("stats", "--data-dir", dir.path, "--json").stdout
        let result = try ledger("append", "--data-dir", dir.path, input: input)
        #expect(result.status == status)
        #expect(result.stderr == "ledger: error: \(message)\n")
        #expect(result.stdout.isEmpty)
        let after = try ledger("stats", "--data-dir", dir.path, "--json").stdout
        #expect(try JSONParser.parse(after)["events"] == .number(JSONNumber(0)))
        #expect(try JSONParser.parse(after)["headHash"] == JSONParser.parse(before)["headHash"])
    }

    @Test func badDirectoriesAndFilesAreNamed() throws {
        let dir = TemporaryDirectory()
        let missing = try ledger("read", "--data-dir", dir.path)
        #expect(missing.status == 5)
        #expect(missing.stderr == "ledger: error: \(dir.path): no such directory (create a ledger with `ledger init`)\n")

        try FileManager.default.createDirectory(atPath: dir.path, withIntermediateDirectories: true)
        let empty = try ledger("verify", "--data-dir", dir.path)
        #expect(empty.status == 5)
        #expect(empty.stderr.contains("holds no ledger"))

        try Data(repeating: 0x42, count: 8192).write(to: URL(fileURLWithPath: dir.path + "/data.mdb"))
        let corrupt = try ledger("stats", "--data-dir", dir.path)
        #expect(corrupt.status == 5)
        #expect(corrupt.stderr.hasPrefix("ledger: error: \(dir.path)/data.mdb: is not a readable LMDB file"))

        let unwritable = try ledger("init", "--data-dir", "/proc/ledger-cannot-live-here")
        #expect(unwritable.status == 6)
        #expect(unwritable.stderr.hasPrefix("ledger: error: /proc/ledger-cannot-live-here: cannot create the directory"))

        let good = TemporaryDirectory()
        _ = try ledger("init", "--data-dir", good.path)
        let again = try ledger("init", "--data-dir", good.path)
        #expect(again.status == 5)
        let noFile = try ledger("append", "--data-dir", good.path, "--file", good.path + "/nope.ndjson")
        #expect(noFile.status == 3)
        #expect(noFile.stderr == "ledger: error: \(good.path)/nope.ndjson: no such file\n")
        let badVersion = try ledger("append", "--data-dir", good.path, "--expected-version", "soon", input: detected)
        #expect(badVersion.status == 2)
        #expect(badVersion.stderr.contains("--expected-version"))
        let usage = try ledger("read", "--data-dir", good.path, "--format", "xml")
        #expect(usage.status == 2)
        #expect(usage.stderr.split(separator: "\n").count == 1)
    }

    @Test func verifyExitsOneAndNamesTheTamperedPosition() throws {
        let dir = TemporaryDirectory()
        _ = try ledger("init", "--data-dir", dir.path)
        let marked = detected.replacingOccurrences(of: "night alert", with: "night alert MARK-ME")
        _ = try ledger("append", "--data-dir", dir.path, input: degraded + "\n" + marked + "\n" + degraded)
        let file = URL(fileURLWithPath: dir.path + "/data.mdb")
        var bytes = try Data(contentsOf: file)
        var searchStart = bytes.startIndex
        while let range = bytes.range(of: Data("MARK-ME".utf8), in: searchStart..<bytes.endIndex) {
            bytes[range.lowerBound] = UInt8(ascii: "W")
            searchStart = range.upperBound
        }
        try bytes.write(to: file)
        let result = try ledger("verify", "--data-dir", dir.path)
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("ledger: error: verification failed: \(dir.path)/data.mdb: position 2: hash mismatch"))
    }

    /// The CLI in another process appends to the ledger this process has open and is appending to.
    @Test func aSecondProcessAppendsToTheSameLedger() async throws {
        let dir = TemporaryDirectory()
        let store = try EventStore.create(at: dir.path)
        let mine = Task {
            for i in 0..<100 { _ = try await store.append([note("in-process \(i)")], to: "incident:server") }
        }
        var cliAppends = 0
        for i in 0..<10 {
            let line = detected.replacingOccurrences(of: "night alert", with: "cli \(i)")
            let result = try ledger("append", "--data-dir", dir.path, input: line)
            #expect(result.status == 0, "\(result.stderr)")
            cliAppends += 1
        }
        try await mine.value
        #expect(try store.lastPosition() == UInt64(100 + cliAppends))
        #expect(try store.verify().isValid)
        #expect(try store.events(.stream("incident:nantes")).count == cliAppends)
        let verified = try ledger("verify", "--data-dir", dir.path)
        #expect(verified.status == 0)
    }
}

import EventStore
import Foundation
import LedgerTestSupport
import Testing

/// tools/verify_chain.py: a third party's check of an export, with no code of ours. It passes a real export
/// and fails, naming the line or position, on each kind of damage, even when the attacker re-chained the hashes.
@Suite("The standalone chain verifier")
struct ExternalVerifierTests {
    func export() throws -> String {
        let dir = TemporaryDirectory()
        #expect(try runProduct("ledger", ["init", "--data-dir", dir.path]).status == 0)
        let events = (1...4).map { i in
            #"{"streamId":"incident:v\#(i % 2)","eventType":"note.added","occurredAt":{"precision":"day","at":"2024-01-1\#(i)T00:00:00+01:00"},"source":"s","payload":{"text":"note \#(i) ☃ \u2028 😀"}}"#
        }
        let appended = try runProduct(
            "ledger", ["append", "--data-dir", dir.path, "--actor", "a"], input: events.joined(separator: "\n"))
        #expect(appended.status == 0, "\(appended.stderr)")
        return try runProduct("ledger", ["read", "--format", "ndjson", "--data-dir", dir.path]).stdout
    }

    /// Runs the verifier on `input` (bytes), with a locale that is not UTF-8.
    func verify(_ input: [UInt8]) throws -> (status: Int32, output: String) {
        // Bytes that are not UTF-8 cannot travel in a String: the input goes through a file.
        let file = NSTemporaryDirectory() + "verify-chain-\(UUID().uuidString).ndjson"
        defer { try? FileManager.default.removeItem(atPath: file) }
        try Data(input).write(to: URL(fileURLWithPath: file))
        let run = try runExecutable(
            "/bin/sh", ["-c", #"exec python3 "$0" < "$1""#, packageRoot() + "/tools/verify_chain.py", file],
            environment: ["LC_ALL": "C", "PYTHONIOENCODING": "ascii"])
        return (run.status, run.stdout + run.stderr)
    }

    /// Rewrites the export with `edit` applied to the parsed events, then recomputes every hash and
    /// previousHash with rfc8785, as an attacker who knows the format would.
    func rechained(_ ndjson: String, _ edit: String) throws -> [UInt8] {
        let script = """
            import hashlib, json, sys, rfc8785
            events = [json.loads(l) for l in sys.stdin.buffer if l.strip()]
            \(edit)
            previous = "0" * 64
            for e in events:
                e.pop("hash", None)
                e["previousHash"] = previous
                previous = hashlib.sha256(rfc8785.dumps(e)).hexdigest()
                e["hash"] = previous
                sys.stdout.buffer.write(rfc8785.dumps(e) + b"\\n")
            """
        return Array(try python(script, input: ndjson).utf8)
    }

    @Test func aRealExportVerifiesWhateverTheLocale() throws {
        let result = try verify(Array(try export().utf8))
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("chain of 4 events verified"))
    }

    @Test func eachKindOfDamageFailsByName() throws {
        let ndjson = try export()
        var lines = ndjson.split(separator: "\n").map(String.init)
        // A duplicate key: JSON readers disagree on which value counts.
        lines[1] = lines[1].replacingOccurrences(of: #""source":"s""#, with: #""source":"s","source":"forged""#)
        var result = try verify(Array(lines.joined(separator: "\n").utf8))
        #expect(result.status != 0 && result.output.contains("duplicate key"), "\(result.output)")

        // Bytes that are not UTF-8.
        var bytes = Array(ndjson.utf8)
        bytes[bytes.firstIndex(of: "☃".utf8.first!)!] = 0xFF
        result = try verify(bytes)
        #expect(result.status != 0 && result.output.contains("line 1"), "\(result.output)")

        // A changed figure, hashes left alone.
        result = try verify(Array(ndjson.replacingOccurrences(of: "note 2", with: "note 9").utf8))
        #expect(result.status != 0 && result.output.contains("position 2: hash"), "\(result.output)")

        // Re-chained by an attacker: recordedAt moved back, a stream version skipped, an event dropped.
        result = try verify(try rechained(ndjson, #"events[2]["recordedAt"] = "2000-01-01T00:00:00.000000Z""#))
        #expect(result.status != 0 && result.output.contains("position 3: recordedAt"), "\(result.output)")
        result = try verify(try rechained(ndjson, #"events[3]["streamVersion"] = 5"#))
        #expect(result.status != 0 && result.output.contains("position 4: incident:v0 version 5 where 2"), "\(result.output)")
        result = try verify(try rechained(ndjson, "del events[1]"))
        #expect(result.status != 0 && result.output.contains("position 3 where 2 was expected"), "\(result.output)")
        // A faithful re-chain of the untouched export is the export itself.
        #expect(try rechained(ndjson, "pass") == Array(ndjson.utf8))
    }
}

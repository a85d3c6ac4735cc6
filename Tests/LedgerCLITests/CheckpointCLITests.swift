import EventStore
import Foundation
import LedgerTestSupport
import Testing

private func ledger(_ arguments: [String], input: String? = nil) throws -> ProcessOutput {
    try runProduct("ledger", arguments, input: input, environment: ["LEDGER_ACTOR": "analyst@chu-test.example"])
}

/// Runs tools/verify_proofs.py, the regulator's offline check, with no code of ours.
private func verifyProofs(_ arguments: [String]) throws -> (status: Int32, output: String) {
    let run = try runExecutable("/usr/bin/env", ["python3", packageRoot() + "/tools/verify_proofs.py"] + arguments)
    return (run.status, run.stdout + run.stderr)
}

/// Signed checkpoints, proofs and the attacks a checkpoint exists to catch, through the CLI.
@Suite("Checkpoints and proofs", .serialized)
struct CheckpointCLITests {
    let work = TemporaryDirectory()

    init() throws { try FileManager.default.createDirectory(atPath: work.path, withIntermediateDirectories: true) }

    func path(_ name: String) -> String { work.path + "/" + name }

    func notes(_ range: ClosedRange<Int>) -> String {
        range.map { i in
            #"{"streamId":"incident:c\#(i % 3)","eventId":"\#(String(format: "0190f3a2-7b1c-7d4e-9f00-%012d", i))","eventType":"note.added","occurredAt":{"precision":"day","at":"2024-01-15T00:00:00+01:00"},"source":"s","payload":{"text":"note \#(i)"}}"#
        }.joined(separator: "\n")
    }

    /// A ledger of `count` notes, its signing key, and the key's verifier key.
    func signedLedger(count: Int) throws -> (dir: String, key: String, verifier: String) {
        let dir = path("ledger")
        #expect(try ledger(["init", "--origin", "chu-test.example/incidents", "--data-dir", dir]).status == 0)
        #expect(try ledger(["append", "--data-dir", dir], input: notes(1...count)).status == 0)
        let made = try ledger(["key", "init", "--data-dir", dir, "--output", path("signer.key")])
        #expect(made.status == 0, "\(made.stderr)")
        return (dir, path("signer.key"), made.stdout.trimmingCharacters(in: .newlines))
    }

    @Test func keysAreFilesOfTheirOwnAndCheckpointsAreSignedStoredAndCosigned() throws {
        let (dir, key, verifier) = try signedLedger(count: 7)
        var st = stat()
        #expect(stat(key, &st) == 0 && st.st_mode & 0o777 == 0o600)
        #expect(verifier.hasPrefix("chu-test.example/incidents+"))
        // Never replaced; refused when others may read it.
        let again = try ledger(["key", "init", "--data-dir", dir, "--output", key])
        #expect(again.status == 3 && again.stderr.contains("already exists"))
        chmod(key, 0o644)
        #expect(try ledger(["checkpoint", "--key", key, "--data-dir", dir]).stderr.contains("readable by others"))
        chmod(key, 0o600)

        let signed = try ledger(["checkpoint", "--key", key, "--data-dir", dir, "--output", path("cp.txt")])
        #expect(signed.status == 0, "\(signed.stderr)")
        #expect(signed.stdout.hasPrefix("chu-test.example/incidents\n7\n"))
        #expect(try ledger(["checkpoint", "show", "--data-dir", dir]).stdout == signed.stdout)
        #expect(try verifyProofs(["checkpoint", "--key", verifier, path("cp.txt")]).status == 0)

        // The regulator cosigns after checking the hospital's signature and its own copy of the ledger.
        let regulator = try ledger(["key", "init", "--name", "cnil.example/witness", "--output", path("cnil.key")])
        let cnil = regulator.stdout.trimmingCharacters(in: .newlines)
        let cosigned = try ledger(
            ["checkpoint", "cosign", "--key", path("cnil.key"), path("cp.txt"), "--trust", verifier, "--data-dir", dir, "--output", path("cp2.txt")])
        #expect(cosigned.status == 0, "\(cosigned.stderr)")
        for trusted in [[verifier], [cnil], [verifier, cnil]] {
            let verify = try ledger(["verify", "--data-dir", dir, "--checkpoint", path("cp2.txt")] + trusted.flatMap { ["--trust", $0] })
            #expect(verify.status == 0, "\(verify.stderr)")
            #expect(try verifyProofs(["checkpoint"] + trusted.flatMap { ["--key", $0] } + [path("cp2.txt")]).status == 0)
        }
        // An endless file is no checkpoint, and is not read whole.
        let endless = try ledger(["verify", "--data-dir", dir, "--checkpoint", "/dev/zero", "--trust", verifier])
        #expect(endless.status == 3 && endless.stderr.contains("too large for a signed checkpoint"), "\(endless.stderr)")
        // Someone else's key proves nothing.
        let stranger = try ledger(["key", "init", "--name", "stranger.example", "--output", path("s.key")]).stdout
            .trimmingCharacters(in: .newlines)
        var verify = try ledger(["verify", "--data-dir", dir, "--checkpoint", path("cp2.txt"), "--trust", stranger])
        #expect(verify.status == 1 && verify.stderr.split(separator: "\n").count == 1, "\(verify.stderr)")
        #expect(try verifyProofs(["checkpoint", "--key", stranger, path("cp2.txt")]).status == 1)

        // Each tamper of the checkpoint text is caught, by the ledger and by the standalone verifier.
        let text = try String(contentsOfFile: path("cp2.txt"), encoding: .utf8)
        let tampers = [
            text.replacingOccurrences(of: "\n7\n", with: "\n6\n"),
            text.replacingOccurrences(of: "chu-test.example/incidents\n", with: "chu-test.example/other\n"),
            String(text.prefix(60)) + (text.dropFirst(60).first == "A" ? "B" : "A") + String(text.dropFirst(61)),
            text.replacingOccurrences(of: "— cnil.example/witness ", with: "— cnil.example/witness A"),
            String(text.dropLast(5)) + "\n",
        ]
        for (i, tampered) in tampers.enumerated() {
            try Data(tampered.utf8).write(to: URL(fileURLWithPath: path("t\(i).txt")))
            verify = try ledger(["verify", "--data-dir", dir, "--checkpoint", path("t\(i).txt"), "--trust", verifier, "--trust", cnil])
            #expect(verify.status == 1 || verify.status == 3, "tamper \(i): \(verify.stdout)")
            #expect(verify.stderr.split(separator: "\n").count == 1, "tamper \(i): \(verify.stderr)")
            #expect(try verifyProofs(["checkpoint", "--key", verifier, "--key", cnil, path("t\(i).txt")]).status != 0, "tamper \(i)")
        }
    }

    @Test func proofsCheckOfflineAndATamperedProofFails() throws {
        let (dir, key, verifier) = try signedLedger(count: 5)
        #expect(try ledger(["checkpoint", "--key", key, "--data-dir", dir, "--output", path("old.txt")]).status == 0)
        #expect(try ledger(["append", "--data-dir", dir], input: notes(6...13)).status == 0)
        #expect(try ledger(["checkpoint", "--key", key, "--data-dir", dir, "--output", path("new.txt")]).status == 0)

        for position in ["1", "5", "13", "0190f3a2-7b1c-7d4e-9f00-000000000009"] {
            let proof = try ledger(["prove", position, "--checkpoint", path("new.txt"), "--data-dir", dir])
            #expect(proof.status == 0, "\(proof.stderr)")
            try Data(proof.stdout.utf8).write(to: URL(fileURLWithPath: path("p.json")))
            let checked = try verifyProofs(["inclusion", "--key", verifier, path("p.json")])
            #expect(checked.status == 0, "\(position): \(checked.output)")
            // The event as exported is the proof's leaf; another event is not.
            let lines = try ledger(["read", "--format", "ndjson", "--data-dir", dir]).stdout.split(separator: "\n")
            let index = Int(try JSONParser.parse(proof.stdout)["leafIndex"]!.numberValue!.intValue!)
            try Data(lines[index].utf8).write(to: URL(fileURLWithPath: path("event.ndjson")))
            #expect(try verifyProofs(["inclusion", "--key", verifier, "--event", path("event.ndjson"), path("p.json")]).status == 0)
            try Data(lines[(index + 1) % lines.count].utf8).write(to: URL(fileURLWithPath: path("event.ndjson")))
            #expect(try verifyProofs(["inclusion", "--key", verifier, "--event", path("event.ndjson"), path("p.json")]).status == 1)
            // One hash of the path changed: the proof no longer reaches the root.
            let json = try JSONParser.parse(proof.stdout)
            var members = json.objectValue!
            var hashes = members["hashes"]!.arrayValue!
            hashes[0] = .string(hashes[0].stringValue!.hasPrefix("A") ? "B" + hashes[0].stringValue!.dropFirst() : "A" + hashes[0].stringValue!.dropFirst())
            members["hashes"] = .array(hashes)
            try Data(CanonicalJSON.encode(.object(members))).write(to: URL(fileURLWithPath: path("bad.json")))
            #expect(try verifyProofs(["inclusion", "--key", verifier, path("bad.json")]).status == 1, "\(position)")
        }
        let consistency = try ledger(["prove", "--from", path("old.txt"), "--to", path("new.txt"), "--data-dir", dir])
        #expect(consistency.status == 0, "\(consistency.stderr)")
        try Data(consistency.stdout.utf8).write(to: URL(fileURLWithPath: path("c.json")))
        let checked = try verifyProofs(["consistency", "--key", verifier, path("c.json")])
        #expect(checked.status == 0, "\(checked.output)")
        #expect(checked.output.contains("at size 13 extends size 5"))
        // After the checkpoint: no proof against it; a position that does not exist: refused.
        #expect(try ledger(["prove", "13", "--checkpoint", path("old.txt"), "--data-dir", dir]).status == 3)
        #expect(try ledger(["prove", "99", "--checkpoint", path("new.txt"), "--data-dir", dir]).status == 3)
        #expect(try ledger(["prove", "--from", path("new.txt"), "--to", path("old.txt"), "--data-dir", dir]).status == 3)
    }

    /// The attacks a checkpoint exists to catch: both pass `ledger verify`, neither passes `verify --checkpoint`.
    @Test func truncationAndARechainedSuffixFailAgainstTheCheckpoint() async throws {
        let (dir, key, verifier) = try signedLedger(count: 10)
        #expect(try ledger(["checkpoint", "--key", key, "--data-dir", dir, "--output", path("cp.txt")]).status == 0)
        let original = try EventStore.open(at: dir).allEvents()
        let origin = try EventStore.open(at: dir).origin()
        // Replays the log with the same ids, actors and recordedAt: byte for byte the same events, except
        // where `change` edits one, and re-chained from there.
        func forged(_ name: String, keep: Int, change: Int? = nil) async throws -> String {
            let clock = ManualClock(0)
            var configuration = EventStoreConfiguration()
            configuration.clock = clock
            configuration.origin = origin
            let forgery = try EventStore.create(at: path(name), configuration: configuration)
            for event in original.prefix(keep) {
                clock.set(event.recordedAt.microseconds)
                var payload = event.payload
                if let change, event.position == UInt64(change) { payload = .object(["text": .string("a changed figure")]) }
                let proposed = ProposedEvent(
                    eventId: event.eventId, eventType: event.eventType, schemaVersion: event.schemaVersion,
                    occurredAt: event.occurredAt, actor: event.actor, source: event.source, reason: event.reason,
                    payload: payload, metadata: event.metadata)
                _ = try await forgery.append([proposed], to: event.streamId)
            }
            return path(name)
        }
        let exact = try await forged("exact", keep: 10)
        let truncated = try await forged("truncated", keep: 7)
        let rewritten = try await forged("rewritten", keep: 10, change: 6)
        for (forgery, expected) in [(truncated, "truncated: "), (rewritten, "rewritten or forked: ")] {
            #expect(try ledger(["verify", "--data-dir", forgery]).status == 0, "the chain alone cannot tell")
            let verify = try ledger(["verify", "--data-dir", forgery, "--checkpoint", path("cp.txt"), "--trust", verifier])
            #expect(verify.status == 1)
            #expect(verify.stderr.contains(expected), "\(verify.stderr)")
        }
        // A faithful copy extends it (the replay is exact), and a ledger of another origin is another ledger.
        #expect(try ledger(["verify", "--data-dir", exact, "--checkpoint", path("cp.txt"), "--trust", verifier]).status == 0)
        let other = path("other")
        #expect(try ledger(["init", "--data-dir", other]).status == 0)
        let foreign = try ledger(["verify", "--data-dir", other, "--checkpoint", path("cp.txt"), "--trust", verifier])
        #expect(foreign.status == 1 && foreign.stderr.contains("not of this ledger"), "\(foreign.stderr)")
    }
}

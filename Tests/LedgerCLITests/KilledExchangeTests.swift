import EventStore
import Foundation
import LedgerTestSupport
import Testing

/// Restores and merges killed with SIGKILL at random moments (the whole process group: the supervisor and
/// its child): a restore leaves either nothing at its target or a whole, verified replica; a merge leaves the
/// ledger as it was or with every event of the bundle, never part of them.
@Suite("Killed restores and merges", .serialized)
struct KilledExchangeTests {
    let work = TemporaryDirectory()
    init() throws { try FileManager.default.createDirectory(atPath: work.path, withIntermediateDirectories: true) }
    func path(_ name: String) -> String { work.path + "/" + name }

    func ledger(_ arguments: [String], input: String? = nil) throws -> ProcessOutput {
        try runProduct("ledger", arguments, input: input, environment: ["LEDGER_ACTOR": "a"])
    }

    /// Starts `ledger arguments` in a process group of its own, kills the group after `delay` µs, and waits.
    func killed(_ arguments: [String], after delay: UInt32) throws {
        let ledgerPath = productsDirectory().appendingPathComponent("ledger").path
        let process = Process()
        process.environment = childEnvironment()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setsid")
        process.arguments = [ledgerPath] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        usleep(delay)
        kill(-process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        // The group is gone, the child with it; give the kernel a moment to reap it before the next look.
        usleep(20_000)
    }

    func notes(_ range: ClosedRange<Int>, stream: String) -> String {
        range.map { i in
            #"{"streamId":"\#(stream)","eventType":"note.added","occurredAt":{"precision":"day","at":"2024-01-15T00:00:00+01:00"},"source":"s","payload":{"text":"note \#(i)"}}"#
        }.joined(separator: "\n")
    }

    @Test func aKilledRestoreLeavesNothingOrAWholeReplica() throws {
        let source = path("source")
        #expect(try ledger(["init", "--origin", "kill.example/source", "--data-dir", source]).status == 0)
        #expect(
            try ledger(["import", "--file", "-", "--data-dir", source], input: notes(1...6_000, stream: "incident:k")).status == 0
        )
        let verifier = try ledger(["key", "init", "--data-dir", source, "--output", path("k.key")]).stdout
            .trimmingCharacters(in: .newlines)
        #expect(try ledger(["export", "--data-dir", source, "--output", path("b.bundle"), "--key", path("k.key")]).status == 0)
        let expected = try ledger(["read", "--format", "ndjson", "--data-dir", source]).stdout
        var outcomes: [String: Int] = [:]
        for round in 0..<6 {
            let target = path("replica-\(round)")
            try killed(
                ["restore", path("b.bundle"), "--data-dir", target, "--trust", verifier], after: UInt32(30_000 + round * 90_000))
            if FileManager.default.fileExists(atPath: target) {
                #expect(try ledger(["verify", "--data-dir", target]).status == 0, "round \(round)")
                #expect(try ledger(["read", "--format", "ndjson", "--data-dir", target]).stdout == expected, "round \(round)")
                outcomes["whole", default: 0] += 1
            } else {
                outcomes["nothing", default: 0] += 1
            }
        }
        #expect(outcomes.values.reduce(0, +) == 6)
    }

    @Test func aKilledMergeWritesAllOrNothing() throws {
        let laptop = path("laptop")
        #expect(try ledger(["init", "--origin", "kill.example/laptop", "--data-dir", laptop]).status == 0)
        #expect(
            try ledger(["import", "--file", "-", "--data-dir", laptop], input: notes(1...2_000, stream: "incident:l")).status == 0
        )
        let verifier = try ledger(["key", "init", "--data-dir", laptop, "--output", path("l.key")]).stdout
            .trimmingCharacters(in: .newlines)
        #expect(try ledger(["export", "--data-dir", laptop, "--output", path("l.bundle"), "--key", path("l.key")]).status == 0)
        for round in 0..<4 {
            let hospital = path("hospital-\(round)")
            #expect(try ledger(["init", "--origin", "kill.example/hospital-\(round)", "--data-dir", hospital]).status == 0)
            try killed(
                ["merge", path("l.bundle"), "--data-dir", hospital, "--trust", verifier], after: UInt32(20_000 + round * 100_000))
            #expect(try ledger(["verify", "--data-dir", hospital]).status == 0, "round \(round)")
            let events = try EventStore.open(at: hospital).statistics().events
            #expect(events == 0 || events == 2_000, "round \(round): \(events) events")
            // Whatever the kill left, merging again completes it exactly once.
            #expect(try ledger(["merge", path("l.bundle"), "--data-dir", hospital, "--trust", verifier]).status == 0)
            #expect(try EventStore.open(at: hospital).statistics().events == 2_000)
        }
    }
}

import EventStore
import Foundation
import LedgerTestSupport
import Testing

/// A SIGKILL leaves the page cache intact, so it cannot tell a store that syncs its commits from one that does not.
/// These tests lose what a power cut would: a child appends under a recorder of its writes and syncs
/// (Tests/PowerCut/powercut.c), is killed, and the ledger is rebuilt from the file it started with and the writes the
/// log says reached the disk (SQLite's test VFS and the ALICE/CrashMonkey studies do the same).
@Suite("Power cut", .serialized)
struct CrashSimulatorTests {
    /// Whatever a power cut does to the writes after the last sync (all lost, all kept, or each lost, kept or torn at
    /// random), every acknowledged append is in the ledger at its position and the ledger verifies: the child killed
    /// at a random moment, or by the recorder itself right after a page write, before the sync that would cover it.
    @Test(arguments: KillMoment.allCases)
    func everyAcknowledgedAppendSurvivesAPowerCut(killed moment: KillMoment) throws {
        let run = try PowerCutRun(durable: true, killed: moment)
        #expect(run.acknowledged.count >= moment.leastAcknowledged)
        if moment == .afterAPageWrite { #expect(!run.log.unsynced.isEmpty, "killed after a write no sync covers") }
        #expect(run.log.syncs > 0, "a durable commit syncs data.mdb")
        #expect(run.log.durableWrites > 0, "LMDB writes its meta page through its O_DSYNC descriptor")
        #expect(!run.log.records.contains(.writableMap), "writes through a writable map would escape the recorder")
        let seed = UInt64.random(in: 0..<(1 << 32))
        let cuts = [PowerCut.allLost(run.log), .allKept(run.log)] + (0..<5).map { .random(run.log, seed: seed + UInt64($0)) }
        for cut in cuts {
            let outcome = try run.check(cut)
            print("power cut, durable store, killed \(moment.rawValue): \(run.summary); \(cut): \(outcome)")
            #expect(outcome.failure == nil, "\(cut): \(outcome.failure ?? "")")
            #expect(outcome.verification == "valid", "\(cut): \(outcome.verification ?? "no verification")")
            #expect(outcome.missing.isEmpty, "\(cut): acknowledged positions missing: \(outcome.missing.prefix(10))")
            #expect(outcome.found >= run.acknowledged.count + PowerCutRun.eventsBefore, "\(cut): \(outcome.found) events")
        }
        // The command a hospital would run after the outage agrees, on the harshest of them.
        let image = try run.writeImage(.allLost(run.log))
        let cli = try runProduct("ledger", ["verify", "--data-dir", image])
        #expect(cli.status == 0 && cli.stdout.hasPrefix("verified "), "\(cli.stdout)\(cli.stderr)")
    }

    /// The same run with commits that skip the sync (`MDB_NOSYNC`, `environment.durable = false`) loses acknowledged
    /// appends when the unsynced writes are lost: the simulator catches a store that is not durable.
    @Test func aStoreThatDoesNotSyncLosesAcknowledgedAppendsInAPowerCut() throws {
        let run = try PowerCutRun(durable: false, killed: .atARandomMoment)
        #expect(run.acknowledged.count >= KillMoment.atARandomMoment.leastAcknowledged)
        #expect(run.log.syncs == 0 && run.log.durableWrites == 0, "\(run.summary)")
        #expect(run.log.writes > 0, "the recorder saw the child's writes")
        let outcome = try run.check(.allLost(run.log))
        print("power cut, store without sync: \(run.summary); \(PowerCut.allLost(run.log)): \(outcome)")
        #expect(
            !outcome.missing.isEmpty || outcome.failure != nil || outcome.verification != "valid",
            "a store that does not sync kept every acknowledged append through a power cut: \(outcome)")
        // The other cuts, for the record: any of them may or may not lose something.
        let seed = UInt64.random(in: 0..<(1 << 32))
        for cut in (0..<3).map({ PowerCut.random(run.log, seed: seed + UInt64($0)) }) {
            print("power cut, store without sync: \(cut): \(try run.check(cut))")
        }
    }
}

/// When the appending child dies.
enum KillMoment: String, CaseIterable, CustomTestStringConvertible {
    /// SIGKILL from the test, a random while after 30 acknowledgements.
    case atARandomMoment = "at a random moment"
    /// SIGKILL from the recorder, once the child has made a random number (60 to 250) of page writes: the last one
    /// is not synced yet.
    case afterAPageWrite = "after a page write"

    var leastAcknowledged: Int { self == .atARandomMoment ? 30 : 1 }
    var testDescription: String { rawValue }
}

/// A ledger of ``eventsBefore`` events appended to by a `CrashChild append` under the recorder, then killed.
struct PowerCutRun {
    static let eventsBefore = 3

    let ledger = TemporaryDirectory()
    /// Holds the log and the rebuilt ledgers.
    let work = TemporaryDirectory()
    /// `data.mdb` as the child found it.
    let initial: Data
    let log: PowerCutLog
    let acknowledged: [(position: UInt64, id: UUID)]

    init(durable: Bool, killed moment: KillMoment) throws {
        do {
            let store = try EventStore.create(at: ledger.path)
            for i in 1...Self.eventsBefore {
                _ = try store.appendAtomically([AppendRequest(streamId: "incident:before", events: [note("before \(i)")])])
            }
        }
        // Its commits were synced and the store is closed: this is what the disk holds.
        initial = try Data(contentsOf: URL(fileURLWithPath: ledger.path + "/data.mdb"))
        try FileManager.default.createDirectory(atPath: work.path, withIntermediateDirectories: true)
        let logPath = work.path + "/writes.log"
        var environment = [
            "LD_PRELOAD": try PowerCutShim.path(), "POWERCUT_FILE": ledger.path + "/data.mdb", "POWERCUT_LOG": logPath,
        ]
        if moment == .afterAPageWrite { environment["POWERCUT_KILL_AT_WRITE"] = String(Int.random(in: 60...250)) }
        let child = try ChildProcess(["append"] + (durable ? [] : ["--not-durable"]) + [ledger.path], environment: environment)
        let ready = child.waitForLine(startingWith: "READY")
        guard ready == "READY \(durable ? "durable" : "not-durable")" else {
            throw PowerCutError("CrashChild printed \(ready.map { "\"\($0)\"" } ?? "no READY line"): \(child.stderr)")
        }
        if moment == .atARandomMoment {
            guard child.waitFor({ $0.count > moment.leastAcknowledged }) else {
                throw PowerCutError("CrashChild acknowledged too little: \(child.lines.count - 1) lines; \(child.stderr)")
            }
            // Somewhere in its next commits.
            usleep(UInt32.random(in: 0...100_000))
            child.kill()
        }
        guard child.waitForExit(), child.wasKilled else {
            throw PowerCutError("CrashChild was not killed (exit \(child.exitStatus)): \(child.stderr)")
        }
        acknowledged = child.lines.filter { $0.hasPrefix("ACK ") }.map { line in
            let parts = line.split(separator: " ")
            return (UInt64(parts[1])!, UUID(uuidString: String(parts[2]))!)
        }
        log = try PowerCutLog(contentsOf: logPath)
    }

    var summary: String {
        "\(acknowledged.count) appends acknowledged; the recorder saw \(log.writes) writes (\(log.durableWrites) O_DSYNC) "
            + "and \(log.syncs) syncs, \(log.unsynced.count) writes no sync covers"
    }

    /// Writes the ledger `cut` leaves into a new directory; returns its path.
    func writeImage(_ cut: PowerCut) throws -> String {
        let directory = work.path + "/image-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        try log.image(from: initial, after: cut).write(to: URL(fileURLWithPath: directory + "/data.mdb"))
        return directory
    }

    /// What a fresh process finds in the ledger `cut` leaves (`CrashChild check`, so that a damaged file that made
    /// LMDB fault would fail one check, not the test run).
    func check(_ cut: PowerCut) throws -> PowerCutOutcome {
        let directory = try writeImage(cut)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let child = try ChildProcess(["check", directory])
        let exited = child.waitForExit(timeout: 60)
        var events: [UInt64: UUID] = [:]
        var verification: String?
        for line in child.lines {
            let parts = line.split(separator: " ", maxSplits: 2)
            if parts.first == "EVENT", parts.count == 3, let position = UInt64(parts[1]) {
                events[position] = UUID(uuidString: String(parts[2]))
            } else if parts.first == "VERIFY", parts.count >= 2 {
                verification = parts.dropFirst().joined(separator: " ")
                if verification?.hasPrefix("valid ") == true { verification = "valid" }
            }
        }
        let failure: String? =
            !exited
            ? "the check hung"
            : child.wasKilled
                ? "the check crashed (signal \(child.exitStatus))"
                : child.exitStatus != 0 ? child.stderr.trimmingCharacters(in: .whitespacesAndNewlines) : nil
        return PowerCutOutcome(
            found: events.count, missing: acknowledged.filter { events[$0.position] != $0.id }.map(\.position),
            verification: verification, failure: failure, dropped: cut.dropped)
    }
}

/// What a check of a rebuilt ledger found.
struct PowerCutOutcome: CustomStringConvertible {
    let found: Int
    /// Acknowledged positions holding no event, or another one.
    let missing: [UInt64]
    /// "valid", or "invalid <problem>"; nil when the ledger did not open.
    let verification: String?
    let failure: String?
    let dropped: Int

    var description: String {
        "\(dropped) writes dropped or torn, \(found) events found, \(missing.count) acknowledged missing, "
            + (failure.map { "failed: \($0)" } ?? "verify \(verification ?? "not run")")
    }
}

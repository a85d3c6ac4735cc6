import EventStore
import Foundation
import LMDB
import LedgerTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Runs `ledger` on a ledger directory.
private func ledger(_ arguments: String..., input: String? = nil) throws -> ProcessOutput {
    try runProduct("ledger", arguments, input: input)
}

/// Runs a system tool.
@discardableResult
private func tool(_ arguments: String...) throws -> ProcessOutput {
    try runExecutable("/usr/bin/env", arguments)
}

private let note = #"""
    {"streamId":"incident:damage","eventType":"note.added","occurredAt":{"precision":"minute","at":"2024-01-15T01:20:00+01:00"},"source":"test","payload":{"text":"after the damage"}}
    """#

/// The demo dataset loaded through the library, and its incident index saved by one `ledger state`.
private func demoLedger() throws -> TemporaryDirectory {
    let dir = TemporaryDirectory()
    do {
        let (store, clock) = try ledgerWithManualClock(dir)
        try load(try demoDataset(), into: store, clock: clock)
    }
    let state = try ledger("state", "--data-dir", dir.path)
    #expect(state.status == 0, "\(state.stderr)")
    return dir
}

/// A copy of `source`'s data.mdb in a fresh directory, changed by `damage`.
private func damagedCopy(of source: TemporaryDirectory, _ damage: (FileHandle) throws -> Void) throws -> TemporaryDirectory {
    let copy = TemporaryDirectory()
    try FileManager.default.createDirectory(atPath: copy.path, withIntermediateDirectories: true)
    try FileManager.default.copyItem(atPath: source.path + "/data.mdb", toPath: copy.path + "/data.mdb")
    let handle = try FileHandle(forUpdating: URL(fileURLWithPath: copy.path + "/data.mdb"))
    try damage(handle)
    try handle.close()
    return copy
}

private func fileSize(_ path: String) throws -> Int {
    try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
}

/// A failure the ledger reported itself: a documented exit code and exactly one line on stderr naming the
/// ledger file. A process killed by a signal has no such line.
private func expectReported(_ out: ProcessOutput, _ codes: Set<Int32>, naming file: String, _ what: String) {
    #expect(codes.contains(out.status), "\(what): exit \(out.status), \(out.stderr)")
    let lines = out.stderr.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
    #expect(lines.count == 1 && out.stderr.hasSuffix("\n"), "\(what): stderr is not one line: \(out.stderr)")
    #expect(out.stderr.contains(file), "\(what): \(out.stderr) does not name \(file)")
}

/// Whether this machine lets the tests mount (root in a namespace that allows it): a read-only bind mount
/// and a tiny tmpfs bind root too, where permission bits do not.
private let canMount: Bool = {
    let dir = TemporaryDirectory()
    try? FileManager.default.createDirectory(atPath: dir.path, withIntermediateDirectories: true)
    guard (try? tool("mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", dir.path))?.status == 0 else { return false }
    _ = try? tool("umount", dir.path)
    return true
}()

/// Whether `setpriv` can run a command as `nobody`, for checks that permission bits stop another user.
private let canDropPrivileges: Bool =
    (try? runExecutable("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "true"]))?.status == 0

/// Runs `ledger` as the user nobody.
private func ledgerAsNobody(_ arguments: String..., input: String? = nil) throws -> ProcessOutput {
    try runExecutable(
        "/usr/bin/setpriv",
        ["--reuid=65534", "--regid=65534", "--clear-groups", productsDirectory().appendingPathComponent("ledger").path]
            + arguments,
        input: input)
}

@Suite("damaged, read-only and full ledgers", .serialized)
struct DamageTests {
    @Test func aTruncatedOrEmptyDataFileIsRefusedBeforeItIsMapped() throws {
        let base = try demoLedger()
        let size = try fileSize(base.path + "/data.mdb")
        #expect(size > 100_000)
        for truncated in [0, 4096, 8192, 100_000, size - 4096, size - 1] {
            let copy = try damagedCopy(of: base) { try $0.truncate(atOffset: UInt64(truncated)) }
            let file = copy.path + "/data.mdb"
            for command in ["verify", "read", "stats", "state"] {
                expectReported(
                    try ledger(command, "--data-dir", copy.path), [5], naming: file, "\(command) at \(truncated) bytes")
            }
            expectReported(
                try ledger("append", "--data-dir", copy.path, input: note), [5], naming: file, "append at \(truncated)")
            let verify = try ledger("verify", "--data-dir", copy.path)
            #expect(verify.stderr.contains(truncated == 0 ? "is empty (0 bytes)" : "truncated"), "\(verify.stderr)")
            // Refused, never rewritten: an empty data.mdb used to be initialised to 32,768 bytes by verify.
            #expect(try fileSize(file) == truncated)
        }
    }

    @Test func zeroedPagesAreReportedAndVerifyFindsWhatReadTripsOn() throws {
        let base = try demoLedger()
        let pages = try fileSize(base.path + "/data.mdb") / 4096
        var verifyFailures = 0
        var pageReports = 0
        for page in 2..<pages {
            let readToo = page % 2 == 0
            let copy = try damagedCopy(of: base) { handle in
                try handle.seek(toOffset: UInt64(page * 4096))
                handle.write(Data(count: 4096))
            }
            let file = copy.path + "/data.mdb"
            let verify = try ledger("verify", "--data-dir", copy.path)
            if verify.status != 0 {
                expectReported(verify, [1, 5], naming: file, "verify, page \(page) zeroed")
                verifyFailures += 1
                if verify.stderr.contains("at byte \(page * 4096): damaged page \(page)") { pageReports += 1 }
            }
            guard readToo else { continue }
            let read = try ledger("read", "--data-dir", copy.path, "--format", "ndjson")
            if read.status != 0 {
                expectReported(read, [5], naming: file, "read, page \(page) zeroed")
                #expect(verify.status != 0, "read failed on zeroed page \(page) but verify passed")
            }
        }
        // Most pages are in use: zeroing one is damage that verify names by its page and offset.
        #expect(verifyFailures > (pages - 2) / 2)
        #expect(pageReports > 0)
    }

    @Test func flippedBytesNeverKillTheReaders() throws {
        let base = try demoLedger()
        let size = try fileSize(base.path + "/data.mdb")
        var verifyFailures = 0
        for (i, offset) in stride(from: 17, to: size, by: size / 50).enumerated() {
            let copy = try damagedCopy(of: base) { handle in
                try handle.seek(toOffset: UInt64(offset))
                let byte = try handle.read(upToCount: 1)![0]
                try handle.seek(toOffset: UInt64(offset))
                handle.write(Data([byte ^ 0xFF]))
            }
            let file = copy.path + "/data.mdb"
            let verify = try ledger("verify", "--data-dir", copy.path)
            if verify.status != 0 {
                expectReported(verify, [1, 5], naming: file, "verify, byte \(offset) flipped")
                verifyFailures += 1
            }
            // Every fourth flip is also read and queried: a damaged page must never end them with a signal.
            guard i % 4 == 0 else { continue }
            for command in ["read", "state", "stats"] {
                let out = try ledger(command, "--data-dir", copy.path)
                if out.status != 0 {
                    expectReported(out, [5], naming: file, "\(command), byte \(offset) flipped")
                    #expect(verify.status != 0, "\(command) failed on byte \(offset) but verify passed")
                }
            }
        }
        #expect(verifyFailures > 10)
    }

    @Test func aCommandStoppedByAFaultSignalIsOneLineAndExit5() throws {
        // A real SIGSEGV delivered to the child running the command, as a wild page pointer would.
        for (signal, name) in [(SIGSEGV, "SIGSEGV"), (SIGBUS, "SIGBUS"), (SIGKILL, "SIGKILL")] {
            let process = Process()
            process.environment = childEnvironment()
            process.executableURL = productsDirectory().appendingPathComponent("ledger")
            process.arguments = ["append", "--data-dir", "/nonexistent-ledger"]
            let stdin = Pipe()
            let stderr = Pipe()
            process.standardInput = stdin
            process.standardError = stderr
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            // The child is the supervising parent's only child; wait (without a deadline) for it to exist.
            let children = "/proc/\(process.processIdentifier)/task/\(process.processIdentifier)/children"
            var child: pid_t = 0
            while child == 0 {
                child =
                    (try? String(contentsOfFile: children, encoding: .utf8))
                    .flatMap { $0.split(separator: " ").first.flatMap { pid_t($0) } } ?? 0
                if child == 0 { usleep(1000) }
            }
            kill(child, signal)
            try stdin.fileHandleForWriting.close()
            let message = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            if signal == SIGKILL {
                // Not a fault (killed from outside, or out of memory): the parent ends by the same signal.
                #expect(process.terminationReason == .uncaughtSignal)
                #expect(process.terminationStatus == SIGKILL)
                #expect(message.isEmpty, "\(message)")
                continue
            }
            #expect(process.terminationReason == .exit)
            #expect(process.terminationStatus == 5)
            #expect(message.hasPrefix("ledger: error: stopped with \(name) ("), "\(message)")
            #expect(message.split(separator: "\n").count == 1)
        }
    }

    @Test(.enabled(if: canMount, "needs mount (root): a read-only bind mount binds root too"))
    func anArchivedCopyOnAReadOnlyMountIsVerifiedAndQueriedInPlace() throws {
        let base = try demoLedger()
        let expectedState = try ledger("state", "--data-dir", base.path).stdout
        let expectedRead = try ledger("read", "--data-dir", base.path, "--format", "ndjson").stdout
        let archive = TemporaryDirectory()
        try tool("cp", "-a", base.path, archive.path)
        try tool("chmod", "-R", "a-w", archive.path)
        let mountPoint = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: mountPoint.path, withIntermediateDirectories: true)
        #expect(try tool("mount", "--bind", archive.path, mountPoint.path).status == 0)
        defer { _ = try? tool("umount", mountPoint.path) }
        #expect(try tool("mount", "-o", "remount,bind,ro", mountPoint.path).status == 0)
        #expect(try tool("touch", mountPoint.path + "/probe").stderr.contains("Read-only file system"))
        let dir = mountPoint.path
        let verify = try ledger("verify", "--data-dir", dir)
        #expect(verify.status == 0, "\(verify.stderr)")
        #expect(verify.stdout.hasPrefix("verified 77 events"))
        #expect(try ledger("read", "--data-dir", dir, "--format", "ndjson").stdout == expectedRead)
        #expect(try ledger("stats", "--data-dir", dir).status == 0)
        let state = try ledger("state", "--data-dir", dir)
        #expect(state.status == 0, "\(state.stderr)")
        #expect(state.stdout == expectedState)
        let timeline = try ledger("timeline", "--data-dir", dir, "--hospital", "750712184")
        #expect(timeline.status == 0, "\(timeline.stderr)")
        // A writer is refused with the mount's reason, naming the ledger.
        expectReported(try ledger("append", "--data-dir", dir, input: note), [6], naming: dir, "append on a read-only mount")
    }

    @Test(.enabled(if: canDropPrivileges, "needs setpriv to run as nobody (tests run as root, whom modes do not stop)"))
    func anotherUserIsToldPermissionDeniedAndCanReadAWorldReadableArchive() throws {
        let base = try demoLedger()
        // The ledger directory is 0700: nobody may not even look inside.
        for command in ["verify", "read", "state"] {
            let out = try ledgerAsNobody(command, "--data-dir", base.path)
            expectReported(out, [5], naming: base.path, "\(command) as nobody on a 0700 ledger")
            #expect(out.stderr.contains("permission denied"), "\(out.stderr)")
        }
        // A world-readable archive nobody may not write: read-only, without a lock file, nothing written.
        let archive = TemporaryDirectory()
        try tool("cp", "-a", base.path, archive.path)
        try tool("chmod", "-R", "a+rX,a-w", archive.path)
        let lockBefore = try Data(contentsOf: URL(fileURLWithPath: archive.path + "/lock.mdb"))
        let verify = try ledgerAsNobody("verify", "--data-dir", archive.path)
        #expect(verify.status == 0, "\(verify.stderr)")
        #expect(verify.stdout.hasPrefix("verified 77 events"))
        for command in ["read", "stats", "state"] {
            let out = try ledgerAsNobody(command, "--data-dir", archive.path)
            #expect(out.status == 0, "\(command): \(out.stderr)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: archive.path + "/lock.mdb")) == lockBefore)
        let append = try ledgerAsNobody("append", "--data-dir", archive.path, input: note)
        expectReported(append, [5], naming: archive.path, "append by nobody")
        #expect(append.stderr.contains("permission denied"), "\(append.stderr)")
    }

    @Test(.enabled(if: canMount, "needs mount (root) for a tiny tmpfs"))
    func aFullFileSystemIsAnErrorNamingTheLedgerAndLeavesNothingHalfWritten() throws {
        let mountPoint = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: mountPoint.path, withIntermediateDirectories: true)
        #expect(try tool("mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", mountPoint.path).status == 0)
        defer { _ = try? tool("umount", mountPoint.path) }
        let dir = mountPoint.path + "/ledger"
        #expect(try ledger("init", "--data-dir", dir).status == 0)
        let big = (0..<40).map { i in
            note.replacingOccurrences(of: "after the damage", with: "\(i) " + String(repeating: "x", count: 3000))
        }.joined(separator: "\n")
        #expect(try ledger("append", "--data-dir", dir, input: big).status == 0)
        let before = try ledger("read", "--data-dir", dir, "--format", "ndjson").stdout
        try tool("dd", "if=/dev/zero", "of=\(mountPoint.path)/fill", "bs=4k")
        let full = try ledger("append", "--data-dir", dir, input: big)
        expectReported(full, [6], naming: dir + "/data.mdb", "append on a full disk")
        #expect(full.stderr.contains("No space left on device"), "\(full.stderr)")
        #expect(try ledger("read", "--data-dir", dir, "--format", "ndjson").stdout == before)
        #expect(try ledger("verify", "--data-dir", dir).status == 0)

        // init on the full file system: an error, and no lock.mdb or directory left behind.
        let fresh = mountPoint.path + "/fresh"
        let initialised = try ledger("init", "--data-dir", fresh)
        expectReported(initialised, [6], naming: fresh, "init on a full disk")
        #expect(!FileManager.default.fileExists(atPath: fresh))
    }

    @Test func aTamperedIncidentIndexFailsVerifyAndIsNeverAnsweredFrom() throws {
        let base = try demoLedger()
        let incident = "incident:aphp-2021-09"
        let expected = try ledger("state", "--data-dir", base.path, "--incident", incident).stdout
        #expect(expected.hasPrefix("\(incident): "))
        #expect(try ledger("verify", "--data-dir", base.path).status == 0)
        /// Removes the index entry of the incident behind the store's back; `legacy` also drops the seal,
        /// as a ledger saved before seals existed has none.
        func tamper(legacy: Bool) throws {
            let env = try Environment(directory: base.path)
            let entries = try env.openDatabase("projection-entries")
            let checkpoints = try env.openDatabase("projection-checkpoints")
            try env.write { txn in
                #expect(try txn.delete(entries, key: Array("incident-index\u{0}i:\(incident)".utf8)))
                if legacy {
                    let record = try txn.get(checkpoints, key: Array("incident-index".utf8))!
                    try txn.put(checkpoints, key: Array("incident-index".utf8), value: Array(record.prefix(8)))
                }
            }
        }
        for legacy in [false, true] {
            try tamper(legacy: legacy)
            let verify = try ledger("verify", "--data-dir", base.path)
            expectReported(verify, [1], naming: "incident-index", "verify of a tampered index (legacy: \(legacy))")
            #expect(
                verify.stderr.contains(legacy ? "lacks i:\(incident)" : "do not match the digest"), "\(verify.stderr)")
            // A read-only copy answers from a fold of the log in memory.
            if canMount {
                let mountPoint = TemporaryDirectory()
                try FileManager.default.createDirectory(atPath: mountPoint.path, withIntermediateDirectories: true)
                #expect(try tool("mount", "--bind", base.path, mountPoint.path).status == 0)
                #expect(try tool("mount", "-o", "remount,bind,ro", mountPoint.path).status == 0)
                let state = try ledger("state", "--data-dir", mountPoint.path, "--incident", incident)
                _ = try tool("umount", mountPoint.path)
                #expect(state.status == 0, "\(state.stderr)")
                #expect(state.stdout == expected)
            }
            // A writable ledger folds the index again, and then verifies.
            let state = try ledger("state", "--data-dir", base.path, "--incident", incident)
            #expect(state.status == 0, "\(state.stderr)")
            #expect(state.stdout == expected)
            #expect(try ledger("verify", "--data-dir", base.path).status == 0)
        }
    }
}

@Suite("readers and writers")
struct ReaderWriterTests {
    @Test func readersFinishWhileAnotherProcessHoldsTheWriteLock() throws {
        let base = try demoLedger()
        let env = try Environment(directory: base.path)
        let meta = try env.openDatabase("meta")
        let holding = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let writerDone = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            // A write transaction left open, as an import between two batches of its long commit.
            try? env.write { txn in
                try txn.put(meta, key: Array("probe".utf8), value: [1])
                holding.signal()
                release.wait()
                throw CancellationError()
            }
            writerDone.signal()
        }
        holding.wait()
        defer {
            release.signal()
            writerDone.wait()
        }
        for command in [["read", "--format", "ndjson"], ["verify"], ["stats"]] {
            let process = Process()
            process.environment = childEnvironment()
            process.executableURL = productsDirectory().appendingPathComponent("ledger")
            process.arguments = command + ["--data-dir", base.path]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            let finished = DispatchSemaphore(value: 0)
            process.terminationHandler = { _ in finished.signal() }
            try process.run()
            // Not a timing: a reader that waited for the writer would wait forever; the minute only ends the test.
            let ended = finished.wait(timeout: .now() + 60) == .success
            if !ended { process.terminate() }
            #expect(ended, "\(command[0]) waited for the writer")
            #expect(!ended || process.terminationStatus == 0, "\(command[0]) exited \(process.terminationStatus)")
        }
    }
}

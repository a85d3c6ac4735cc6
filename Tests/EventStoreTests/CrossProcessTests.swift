import EventStore
import Foundation
import LedgerTestSupport
import Testing

/// Two processes on one ledger: the map grown by one and adopted by the other (`MDB_MAP_RESIZED`), and the reader
/// table full (`MDB_READERS_FULL`), by live readers and by the stale slots of killed ones.
@Suite("Across processes", .serialized)
struct CrossProcessTests {
    static let smallMap = 1 << 20
    static let grownMap = 4 << 20

    /// Another process grows the map past the size this one opened with (two doublings); this one adopts the new size
    /// and goes on, whether its first transaction afterwards reads (here while the other is still growing it) or
    /// appends.
    @Test(arguments: ["reads", "appends"])
    func aMapGrownByAnotherProcessIsAdopted(firstAfterTheGrowth: String) async throws {
        let dir = TemporaryDirectory()
        var configuration = EventStoreConfiguration()
        configuration.environment.initialMapSize = Self.smallMap
        let store = try EventStore.create(at: dir.path, configuration: configuration)
        _ = try await store.append([note("before the growth")], to: "incident:here")
        #expect(try store.statistics().mapSize == Self.smallMap)

        let grower = try ChildProcess(["grow", dir.path, String(Self.smallMap), String(Self.grownMap)])
        var seen: UInt64 = 1
        if firstAfterTheGrowth == "reads" {
            // Each doubling in the other process is adopted here at the next read; the log only ever grows.
            // Bounded: a grower that hangs fails this test instead of hanging the run.
            let deadline = Date().addingTimeInterval(60)
            while grower.isRunning, Date() < deadline {
                let last = try store.lastPosition()
                #expect(last >= seen, "the log went back from \(seen) to \(last)")
                seen = last
                usleep(1_000)
            }
        }
        #expect(grower.waitForExit(), "the growing process hung")
        #expect(grower.exitStatus == 0 && !grower.wasKilled, "\(grower.stderr)")
        let grew = try #require(grower.lines.first { $0.hasPrefix("GREW ") }?.split(separator: " "), "\(grower.stdout)")
        let (grownSize, grownLast) = (Int(grew[1])!, UInt64(grew[2])!)
        #expect(grownSize >= Self.grownMap && grownLast > 10)

        if firstAfterTheGrowth == "appends" {
            let result = try await store.append([note("after the growth")], to: "incident:here")
            #expect(result.positions == [grownLast + 1])
        } else {
            #expect(try store.lastPosition() == grownLast)
            _ = try await store.append([note("after the growth")], to: "incident:here")
        }
        // This process now maps what the other one grew to, and reads every event either process wrote. A reader
        // adopts a grown map when the data reaches past its own (LMDB's MDB_MAP_RESIZED), so one that read all
        // along may still map the size before the last doubling, if the last pages fit in it.
        let mapped = try store.statistics().mapSize
        if firstAfterTheGrowth == "appends" {
            #expect(mapped == grownSize, "grown to \(grownSize), mapped here \(mapped)")
        } else {
            #expect(mapped > Self.smallMap && mapped <= grownSize, "grown to \(grownSize), mapped here \(mapped)")
        }
        let events = try store.allEvents()
        #expect(events.count == Int(grownLast) + 1)
        #expect(events.filter { $0.streamId == "incident:grow" }.count == Int(grownLast) - 1)
        let report = try store.verify()
        #expect(report.isValid, "\(report.problem?.description ?? "")")
    }

    /// With every reader slot taken by other processes, a read here and an open elsewhere fail at once with one line
    /// naming the limit; once the readers are killed (their slots left taken), the slots are cleared and reads work
    /// again, in this process and in a new one.
    @Test func readersBeyondTheLimitAreRefusedAndSlotsOfKilledReadersAreCleared() throws {
        let dir = TemporaryDirectory()
        var configuration = EventStoreConfiguration()
        configuration.environment.maximumReaders = 3
        let store = try EventStore.create(at: dir.path, configuration: configuration)
        _ = try store.appendAtomically([AppendRequest(streamId: "incident:readers", events: [note("one")])])
        #expect(try store.statistics().maximumReaders == 3)

        let holders = try (0..<3).map { _ in try ChildProcess(["hold", dir.path]) }
        for holder in holders {
            #expect(holder.waitForLine(startingWith: "READING") != nil, "\(holder.stderr)")
        }
        // Full: a read in this process fails, it does not wait for a slot.
        let full = #expect(throws: EventStoreError.self) { try store.lastPosition() }
        print("reader table full, a read here: \(full.map { "\($0)" } ?? "no error")")
        #expect(full?.code == .storage, "\(String(describing: full))")
        #expect(full.map { !"\($0)".contains("\n") && "\($0)".contains("maximumReaders") } == true, "\(String(describing: full))")
        // A new process cannot even open the ledger, and says why in one line.
        let late = try ChildProcess(["hold", dir.path])
        #expect(late.waitForExit(), "a reader beyond the limit hung")
        let complaint = late.stderr.split(separator: "\n")
        print("reader table full, a new process (exit \(late.exitStatus)): \(late.stderr)", terminator: "")
        #expect(!late.wasKilled && late.exitStatus == 1 && complaint.count == 1, "\(late.stderr)")
        #expect(complaint.first?.contains("maximumReaders") == true, "\(late.stderr)")

        // Killed while reading, the holders leave their slots taken (LMDB only marks a slot free when its reader
        // ends); the next read here finds the table full, clears the slots of dead processes and goes on.
        for holder in holders {
            holder.kill()
            holder.waitForExit()
            #expect(holder.wasKilled)
        }
        #expect(try store.lastPosition() == 1)
        let fresh = try ChildProcess(["hold", dir.path])
        #expect(fresh.waitForLine(startingWith: "READING") != nil, "\(fresh.stderr)")
    }
}

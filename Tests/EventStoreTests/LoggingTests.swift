import EventStore
import Foundation
import LedgerTestSupport
import Logging
import Synchronization
import Testing

/// Every record a logger made, kept for a test to look at.
final class LogRecords: Sendable {
    struct Record: Sendable {
        let level: Logger.Level
        let message: String
        /// The logger's metadata and the record's own.
        let metadata: Logger.Metadata

        func integer(_ key: String) -> Int? { metadata[key].flatMap { Int("\($0)") } }
    }

    private let records = Mutex<[Record]>([])

    var all: [Record] { records.withLock { $0 } }
    func named(_ message: String) -> [Record] { all.filter { $0.message == message } }

    /// A logger that reports here, from `level` up.
    func logger(level: Logger.Level) -> Logger {
        var logger = Logger(label: "test") { _ in Handler(sink: self) }
        logger.logLevel = level
        return logger
    }

    struct Handler: LogHandler {
        let sink: LogRecords
        var logLevel: Logger.Level = .trace
        var metadata: Logger.Metadata = [:]

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let record = Record(
                level: event.level, message: event.message.description,
                metadata: metadata.merging(event.metadata ?? [:]) { $1 })
            sink.records.withLock { $0.append(record) }
        }
    }
}

/// The store logs what it does on its own through the configuration's logger (issue 11): the rare events at info
/// and notice, each group commit's figures at debug.
@Suite("Logging")
struct LoggingTests {
    func configuration(_ records: LogRecords, level: Logger.Level, initialMapSize: Int? = nil) -> EventStoreConfiguration {
        var configuration = EventStoreConfiguration()
        configuration.logger = records.logger(level: level)
        if let initialMapSize { configuration.environment.initialMapSize = initialMapSize }
        return configuration
    }

    @Test func aMapThatMustGrowLogsEachGrowthAtInfo() throws {
        let records = LogRecords()
        let dir = TemporaryDirectory()
        let store = try EventStore.create(
            at: dir.path, configuration: configuration(records, level: .info, initialMapSize: 256 << 10))
        _ = try store.appendAtomically([AppendRequest(streamId: "incident:small", events: [note("fits")])])
        #expect(records.named("map grown").isEmpty, "a ledger that fits its map logs no growth")

        // About 1.6 MiB of payloads in one transaction: the 256 KiB map must double at least twice.
        let text = String(repeating: "é", count: 100_000)
        _ = try store.appendAtomically(
            (0..<8).map { AppendRequest(streamId: "incident:big", events: [note(text + "\($0)")]) })
        let growths = records.named("map grown")
        #expect(growths.count >= 2, "\(records.all.map(\.message))")
        var size = 256 << 10
        for growth in growths {
            #expect(growth.level == .info)
            #expect(growth.integer("fromBytes") == size && growth.integer("toBytes") == 2 * size, "\(growth.metadata)")
            #expect(growth.metadata["ledger"] == "\(dir.path)")
            size *= 2
        }
        #expect(try store.statistics().mapSize == size)
        #expect(records.all.allSatisfy { $0.level >= .info })
    }

    @Test func eachGroupCommitLogsItsSizeAtDebugOnly() async throws {
        let records = LogRecords()
        let dir = TemporaryDirectory()
        let store = try EventStore.create(at: dir.path, configuration: configuration(records, level: .debug))
        let retried = note("sent twice", stream: "incident:retry", id: UUID())
        _ = try await store.append([retried], to: "incident:retry")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<24 {
                group.addTask { _ = try await store.append([note("append \(i)")], to: "incident:group-\(i % 4)") }
            }
            group.addTask {
                await #expect(throws: EventStoreError.self) {
                    try await store.append([note("refused")], to: "incident:group-0", expectedVersion: .exactly(99))
                }
            }
            group.addTask { _ = try await store.append([retried], to: "incident:retry") }
            try await group.waitForAll()
        }
        let groups = records.named("group commit")
        #expect(groups.allSatisfy { $0.level == .debug })
        #expect(groups.allSatisfy { $0.metadata["ledger"] == "\(dir.path)" && $0.integer("microseconds") != nil })
        func total(_ key: String) -> Int { groups.reduce(0) { $0 + ($1.integer(key) ?? 0) } }
        // 1 + 24 + 1 + 1 requests: 25 events written, one refused, one retry of a stored batch.
        #expect(total("requests") == 27, "\(groups.map(\.metadata))")
        #expect(total("events") == 25)
        #expect(total("refused") == 1)
        #expect(total("retries") == 1)
        #expect(try store.statistics().events == 25)

        // Above debug, nothing per group.
        let quiet = LogRecords()
        let other = TemporaryDirectory()
        let infoStore = try EventStore.create(at: other.path, configuration: configuration(quiet, level: .info))
        async let first = infoStore.append([note("one")], to: "incident:a")
        async let second = infoStore.append([note("two")], to: "incident:b")
        _ = try await (first, second)
        #expect(quiet.all.isEmpty, "\(quiet.all.map(\.message))")
    }

    /// The reader slot of a killed reader (CrashChild `hold`) is cleared with a notice when this process opens the
    /// ledger while another still has it open (the first process to open one resets the reader table).
    @Test func aReaderSlotOfAKilledProcessIsClearedAtOpenWithANotice() throws {
        let dir = TemporaryDirectory()
        _ = try EventStore.create(at: dir.path)
            .appendAtomically([AppendRequest(streamId: "incident:readers", events: [note("one")])])
        let alive = try ChildProcess(["hold", dir.path])
        let killed = try ChildProcess(["hold", dir.path])
        for holder in [alive, killed] {
            try #require(holder.waitForLine(startingWith: "READING") != nil, "\(holder.stderr)")
        }
        killed.kill()
        killed.waitForExit()

        let records = LogRecords()
        _ = try EventStore.open(at: dir.path, configuration: configuration(records, level: .info))
        let cleared = records.named("reader slots of dead processes cleared")
        #expect(cleared.count == 1, "\(records.all.map(\.message))")
        #expect(cleared.first?.level == .notice)
        #expect(cleared.first?.integer("slots") == 1)
        #expect(cleared.first?.metadata["ledger"] == "\(dir.path)")

        alive.kill()
        alive.waitForExit()
    }

    /// A read that finds every reader slot taken by killed readers clears them with a notice and goes on. The store
    /// stays open meanwhile: the first process to open a ledger sizes the reader table, and it must stay at three.
    @Test func aFullReaderTableOfKilledReadersIsClearedWithANotice() throws {
        let dir = TemporaryDirectory()
        let records = LogRecords()
        var limited = configuration(records, level: .info)
        limited.environment.maximumReaders = 3
        let store = try EventStore.create(at: dir.path, configuration: limited)
        _ = try store.appendAtomically([AppendRequest(streamId: "incident:readers", events: [note("one")])])
        // Killed together: a process that opens clears the slots of readers already dead.
        let holders = try (0..<3).map { _ in try ChildProcess(["hold", dir.path]) }
        for holder in holders {
            try #require(holder.waitForLine(startingWith: "READING") != nil, "\(holder.stderr)")
        }
        for holder in holders {
            holder.kill()
            holder.waitForExit()
        }
        #expect(records.named("reader slots of dead processes cleared").isEmpty)
        #expect(try store.lastPosition() == 1)
        let cleared = records.named("reader slots of dead processes cleared")
        #expect(cleared.count == 1 && cleared.first?.integer("slots") == 3, "\(cleared.map(\.metadata))")
        #expect(cleared.first?.level == .notice)
    }

    @Test func aMapGrownByAnotherProcessIsAdoptedWithAnInfoLine() async throws {
        let records = LogRecords()
        let dir = TemporaryDirectory()
        let small = 1 << 20
        let store = try EventStore.create(
            at: dir.path, configuration: configuration(records, level: .info, initialMapSize: small))
        _ = try await store.append([note("before")], to: "incident:resize")
        let grower = try ChildProcess(["grow", dir.path, String(small), String(4 << 20)])
        #expect(grower.waitForExit(), "the growing process hung")
        let grew = try #require(grower.lines.first { $0.hasPrefix("GREW ") }?.split(separator: " "), "\(grower.stderr)")
        let grownSize = try #require(Int(grew[1]))

        // The next transaction meets MDB_MAP_RESIZED, adopts the size the other process wrote and goes on.
        _ = try store.allEvents()
        _ = try await store.append([note("after")], to: "incident:resize")
        let adopted = records.named("map size adopted from another process")
        #expect(adopted.count == 1, "\(records.all.map(\.message))")
        #expect(adopted.first?.level == .info)
        #expect(adopted.first?.integer("fromBytes") == small)
        #expect(adopted.first?.integer("toBytes") == grownSize)
        #expect(try store.statistics().mapSize == grownSize)
        #expect(records.named("map grown").isEmpty, "this process grew nothing itself")
    }
}

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

/// The LMDB layer through python3's ctypes, as another process would use it: the tests need a second process
/// that grows the map, holds the environment open, or dies holding a reader slot.
private let lmdbFromPython = """
    import ctypes, os, sys
    lib = ctypes.CDLL("liblmdb.so.0")
    lib.mdb_strerror.restype = ctypes.c_char_p
    class Val(ctypes.Structure):
        _fields_ = [("size", ctypes.c_size_t), ("data", ctypes.c_void_p)]
    def ok(rc, what):
        if rc != 0:
            sys.exit(what + ": " + lib.mdb_strerror(rc).decode())
    def open_env(path, flags, mapsize=0):
        env = ctypes.c_void_p()
        ok(lib.mdb_env_create(ctypes.byref(env)), "mdb_env_create")
        ok(lib.mdb_env_set_maxdbs(env, 32), "mdb_env_set_maxdbs")
        if mapsize:
            ok(lib.mdb_env_set_mapsize(env, ctypes.c_size_t(mapsize)), "mdb_env_set_mapsize")
        ok(lib.mdb_env_open(env, path.encode(), flags, 0o600), "mdb_env_open")
        return env
    RDONLY, CREATE = 0x20000, 0x40000
    role, path = sys.argv[1], sys.argv[2]
    if role == "hold":
        # Keeps the environment open, so that LMDB does not reset the reader table when the next process opens it.
        env = open_env(path, 0)
        print("open", flush=True)
        sys.stdin.readline()
    elif role == "die-reading":
        env = open_env(path, RDONLY)
        txn = ctypes.c_void_p()
        ok(lib.mdb_txn_begin(env, None, RDONLY, ctypes.byref(txn)), "mdb_txn_begin")
        os._exit(0)  # no mdb_txn_abort, no mdb_env_close: the slot stays, naming a dead process
    elif role == "grow":
        # 8 MiB of map and 1 MiB written into a table of its own: the file outgrows the other process's map.
        env = open_env(path, 0, 8 << 20)
        txn, dbi = ctypes.c_void_p(), ctypes.c_uint()
        ok(lib.mdb_txn_begin(env, None, 0, ctypes.byref(txn)), "mdb_txn_begin")
        ok(lib.mdb_dbi_open(txn, b"python-grew-the-map", CREATE, ctypes.byref(dbi)), "mdb_dbi_open")
        value = ctypes.create_string_buffer(16 << 10)
        for i in range(64):
            key = ctypes.create_string_buffer(b"%08d" % i, 8)
            ok(lib.mdb_put(txn, dbi, ctypes.byref(Val(8, ctypes.addressof(key))),
                ctypes.byref(Val(16 << 10, ctypes.addressof(value))), 0), "mdb_put")
        ok(lib.mdb_txn_commit(txn), "mdb_txn_commit")
        print("grew", flush=True)
    """

/// Runs one role of ``lmdbFromPython`` to its end; what it printed, or why it failed.
private func runPython(_ role: String, _ directory: String) throws -> String {
    let run = try runExecutable("/usr/bin/env", ["python3", "-c", lmdbFromPython, role, directory])
    try #require(run.status == 0, "python3 \(role) exited \(run.status): \(run.stderr)")
    return run.stdout
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

    @Test func aReaderSlotLeftByADeadProcessIsClearedWithANotice() throws {
        let dir = TemporaryDirectory()
        _ = try EventStore.create(at: dir.path)
        // While another process holds the environment open, a third one dies in a read transaction.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        holder.arguments = ["python3", "-c", lmdbFromPython, "hold", dir.path]
        let input = Pipe()
        let output = Pipe()
        holder.standardInput = input
        holder.standardOutput = output
        try holder.run()
        defer {
            try? input.fileHandleForWriting.close()
            holder.waitUntilExit()
        }
        let ready = String(decoding: output.fileHandleForReading.readData(ofLength: 5), as: UTF8.self)
        try #require(ready == "open\n", "the holder said \(ready)")
        _ = try runPython("die-reading", dir.path)

        let records = LogRecords()
        _ = try EventStore.open(at: dir.path, configuration: configuration(records, level: .info))
        let cleared = records.named("reader slots of dead processes cleared")
        #expect(cleared.count == 1, "\(records.all.map(\.message))")
        #expect(cleared.first?.level == .notice)
        #expect(cleared.first?.integer("slots") == 1)
        #expect(cleared.first?.metadata["ledger"] == "\(dir.path)")

        // The slot is free now: opening again finds nothing to clear.
        let again = LogRecords()
        _ = try EventStore.open(at: dir.path, configuration: configuration(again, level: .info))
        #expect(again.named("reader slots of dead processes cleared").isEmpty)
    }

    @Test func aMapGrownByAnotherProcessIsAdoptedWithAnInfoLine() async throws {
        let records = LogRecords()
        let dir = TemporaryDirectory()
        let store = try EventStore.create(
            at: dir.path, configuration: configuration(records, level: .info, initialMapSize: 256 << 10))
        _ = try await store.append([note("before")], to: "incident:resize")
        #expect(try runPython("grow", dir.path) == "grew\n")

        // The next transaction meets MDB_MAP_RESIZED, adopts the size the other process wrote and goes on.
        #expect(try store.allEvents().count == 1)
        _ = try await store.append([note("after")], to: "incident:resize")
        let adopted = records.named("map size adopted from another process")
        #expect(adopted.count == 1, "\(records.all.map(\.message))")
        #expect(adopted.first?.level == .info)
        #expect(adopted.first?.integer("fromBytes") == 256 << 10)
        #expect(adopted.first?.integer("toBytes") == 8 << 20)
        #expect(try store.statistics().mapSize == 8 << 20)
        #expect(records.named("map grown").isEmpty, "this process grew nothing itself")
    }
}

import Foundation
import Testing

@testable import LMDB

/// A fresh directory for one environment.
private func freshDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "lmdb-test-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

private func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

/// Every key of `database`, as text, in order.
private func keys(in database: Database, of env: Environment) throws -> [String] {
    try env.read { txn in
        try txn.withCursor(database) { cursor in
            var keys: [String] = []
            try cursor.forEach { key, _ in
                keys.append(key.withUnsafeBytes { String(decoding: $0, as: UTF8.self) })
                return true
            }
            return keys
        }
    }
}

@Suite("LMDB layer")
struct LMDBTests {
    @Test func writesAreVisibleToLaterReadsAndFilesAreOwnerOnly() throws {
        let dir = try freshDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let env = try Environment(directory: dir)
        let db = try env.openDatabase("things")
        try env.write { txn in try txn.put(db, key: bytes("a"), value: bytes("1")) }
        let value = try env.read { txn in try txn.get(db, key: bytes("a")) }
        #expect(value == bytes("1"))
        let mode = try FileManager.default.attributesOfItem(atPath: dir + "/data.mdb")[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    #if os(Linux)
        /// Resident kilobytes of this process's mapping of `file`, from /proc/self/smaps (other tests' files
        /// running alongside do not count).
        private func residentKilobytes(ofMapping file: String) throws -> Int {
            // Read to the end: /proc files report a size of 0.
            let handle = try #require(FileHandle(forReadingAtPath: "/proc/self/smaps"))
            defer { try? handle.close() }
            let smaps = String(decoding: try handle.readToEnd() ?? Data(), as: UTF8.self)
            var inMapping = false
            for line in smaps.split(separator: "\n") {
                if let first = line.first, first.isHexDigit, line.contains("-") {
                    inMapping = line.hasSuffix(file)
                } else if inMapping, line.hasPrefix("Rss:") {
                    return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? -1
                }
            }
            return -1
        }

        @Test func releasingResidentPagesDropsTheMappedPagesAndKeepsTheData() throws {
            let dir = try freshDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let env = try Environment(directory: dir)
            let db = try env.openDatabase("pages")
            try env.write { txn in
                for i in 0..<2000 {
                    try txn.put(
                        db, key: Array(String(format: "%06d", i).utf8), value: [UInt8](repeating: UInt8(i % 251), count: 4000))
                }
            }
            func readAll() throws -> Int {
                try env.read { txn in
                    try txn.withCursor(db) { cursor in
                        var sum = 0
                        try cursor.forEach { _, value in
                            sum += Int(value.unsafeLoad(fromByteOffset: 100, as: UInt8.self))
                            return true
                        }
                        return sum
                    }
                }
            }
            let file = URL(fileURLWithPath: dir + "/data.mdb").resolvingSymlinksInPath().path
            let sum = try readAll()
            let touched = try residentKilobytes(ofMapping: file)
            #expect(touched >= 4000, "reading 2,000 values of 4,000 bytes maps at least 4 MB")
            env.releaseResidentPages()
            let released = try residentKilobytes(ofMapping: file)
            #expect(released >= 0 && released < touched / 4)
            #expect(try readAll() == sum)
        }
    #endif

    @Test func theMapGrowsWhenAWriteFillsIt() throws {
        let dir = try freshDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var configuration = EnvironmentConfiguration()
        configuration.initialMapSize = 256 << 10
        let env = try Environment(directory: dir, configuration: configuration)
        let db = try env.openDatabase("big")
        let value = [UInt8](repeating: 7, count: 4096)
        // 2 MiB in one transaction: the body reruns after each growth and the whole batch lands.
        try env.write { txn in
            for i in 0..<512 { try txn.put(db, key: Array(String(format: "%06d", i).utf8), value: value) }
        }
        #expect(env.mapSize > 256 << 10)
        let count = try env.read { txn in try txn.count(db) }
        #expect(count == 512)
    }

    @Test func aFullMapAtItsMaximumIsAnErrorNotACrash() throws {
        let dir = try freshDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var configuration = EnvironmentConfiguration()
        configuration.initialMapSize = 128 << 10
        configuration.maximumMapSize = 256 << 10
        let env = try Environment(directory: dir, configuration: configuration)
        let db = try env.openDatabase("big")
        let value = [UInt8](repeating: 1, count: 8192)
        let error = #expect(throws: LMDBError.self) {
            try env.write { txn in
                for i in 0..<200 { try txn.put(db, key: Array(String(i).utf8), value: value) }
            }
        }
        #expect(error?.code == .mapFull)
        #expect(error?.operation == "grow map")
        // Nothing of the failed transaction is there.
        #expect(try env.read { txn in try txn.count(db) } == 0)
    }

    @Test func errorsCarryCodeMessageAndOperation() throws {
        let missing = NSTemporaryDirectory() + "no-such-dir-" + UUID().uuidString
        let error = #expect(throws: LMDBError.self) { try Environment(directory: missing) }
        #expect(error?.code == .noSuchFile)
        #expect(error?.operation == "mdb_env_open")
        #expect(error?.context == missing)
        #expect(error?.description.contains("No such file or directory") == true)
    }

    @Test func aReadOnlyEnvironmentRefusesWrites() throws {
        let dir = try freshDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            let env = try Environment(directory: dir)
            _ = try env.openDatabase("things")
        }
        var configuration = EnvironmentConfiguration()
        configuration.readOnly = true
        let env = try Environment(directory: dir, configuration: configuration)
        let db = try env.openDatabase("things")
        let error = #expect(throws: LMDBError.self) {
            try env.write { txn in try txn.put(db, key: bytes("k"), value: bytes("v")) }
        }
        #expect(error?.code == .permissionDenied)
    }

    @Test func aThrowingBodyAbortsItsTransaction() throws {
        struct Stop: Error {}
        let dir = try freshDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let env = try Environment(directory: dir)
        let db = try env.openDatabase("things")
        #expect(throws: Stop.self) {
            try env.write { txn in
                try txn.put(db, key: bytes("a"), value: bytes("1"))
                throw Stop()
            }
        }
        #expect(try env.read { txn in try txn.count(db) } == 0)
    }

    @Test func aFailedNestedTransactionLeavesItsParentIntact() throws {
        struct Stop: Error {}
        let dir = try freshDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let env = try Environment(directory: dir)
        let db = try env.openDatabase("things")
        try env.write { txn in
            try txn.put(db, key: bytes("kept"), value: bytes("1"))
            do {
                try txn.nested { child in
                    try child.put(db, key: bytes("dropped"), value: bytes("2"))
                    throw Stop()
                }
            } catch is Stop {}
            try txn.nested { child in try child.put(db, key: bytes("also-kept"), value: bytes("3")) }
        }
        #expect(try keys(in: db, of: env) == ["also-kept", "kept"])
    }

    @Test func aParentTransactionRefusesWorkWhileItsChildRuns() throws {
        let dir = try freshDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let env = try Environment(directory: dir)
        let db = try env.openDatabase("things")
        try env.write { txn in
            try txn.put(db, key: bytes("a"), value: bytes("1"))
            try txn.withCursor(db) { cursor in
                try txn.nested { child in
                    try child.put(db, key: bytes("b"), value: bytes("2"))
                    // The parent is still in scope, but LMDB refuses it: no interleaving.
                    #expect(throws: LMDBError.self) { try txn.put(db, key: bytes("c"), value: bytes("3")) }
                    #expect(throws: LMDBError.self) { try txn.get(db, key: bytes("a")) }
                    // Its cursor LMDB moved into the child when the child began: it reads what the child sees.
                    var seen = 0
                    try cursor.forEach { _, _ in
                        seen += 1
                        return true
                    }
                    #expect(seen == 2)
                }
            }
        }
        #expect(try keys(in: db, of: env) == ["a", "b"])
    }

    @Test func cursorsWalkRangesForwardBackwardAndByPrefix() throws {
        let dir = try freshDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let env = try Environment(directory: dir)
        let db = try env.openDatabase("keys")
        let keys = ["a", "b", "ba", "bb", "c", "d"]
        try env.write { txn in
            for key in keys { try txn.put(db, key: bytes(key), value: bytes(key.uppercased())) }
        }
        /// The keys a walk visits, stopping after `limit` of them.
        func walk(
            from lower: [UInt8]? = nil, upTo upper: [UInt8]? = nil, withPrefix prefix: [UInt8]? = nil, reverse: Bool = false,
            limit: Int = .max
        ) throws -> [String] {
            try env.read { txn in
                try txn.withCursor(db) { cursor in
                    var seen: [String] = []
                    let visit = { (key: RawSpan, _: RawSpan) -> Bool in
                        seen.append(key.withUnsafeBytes { String(decoding: $0, as: UTF8.self) })
                        return seen.count < limit
                    }
                    if let prefix {
                        try cursor.forEach(withPrefix: prefix, reverse: reverse, visit)
                    } else {
                        try cursor.forEach(from: lower, upTo: upper, reverse: reverse, visit)
                    }
                    return seen
                }
            }
        }
        #expect(try walk() == keys)
        #expect(try walk(reverse: true) == keys.reversed())
        #expect(try walk(from: bytes("b"), upTo: bytes("c")) == ["b", "ba", "bb"])
        #expect(try walk(from: bytes("b"), upTo: bytes("c"), reverse: true) == ["bb", "ba", "b"])
        #expect(try walk(from: bytes("bz")) == ["c", "d"])
        #expect(try walk(upTo: bytes("zz"), reverse: true) == keys.reversed())
        #expect(try walk(withPrefix: bytes("b")) == ["b", "ba", "bb"])
        #expect(try walk(withPrefix: bytes("x")) == [])
        // The body's false ends the walk at once.
        #expect(try walk(limit: 2) == ["a", "b"])
        #expect(try walk(withPrefix: bytes("b"), reverse: true, limit: 1) == ["bb"])
        let (value, last, missing) = try env.read { txn in
            (
                try txn.withValue(db, key: bytes("c")) { $0.withUnsafeBytes { Array($0) } },
                try txn.withCursor(db) { cursor in try cursor.withLast { key, value in [key.byteCount, value.byteCount] } },
                try txn.withValue(db, key: bytes("x")) { _ in Issue.record("no value under x") }
            )
        }
        #expect(value == bytes("C"))
        #expect(last == [1, 1])
        #expect(missing == nil)
        #expect(Cursor.successor(ofPrefix: [0x61, 0xFF]) == [0x62])
        #expect(Cursor.successor(ofPrefix: [0xFF]) == nil)
    }

    @Test func readersSeeASnapshotWhileAWriterCommits() throws {
        let dir = try freshDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let env = try Environment(directory: dir)
        let db = try env.openDatabase("things")
        try env.write { txn in try txn.put(db, key: bytes("k"), value: bytes("old")) }
        let seen = try env.read { txn -> [UInt8]? in
            // A write commits while this snapshot is open; the snapshot keeps the old value.
            let writer = Thread {
                try? env.write { w in try w.put(db, key: bytes("k"), value: bytes("new")) }
            }
            writer.start()
            while !writer.isFinished { usleep(1000) }
            return try txn.get(db, key: bytes("k"))
        }
        #expect(seen == bytes("old"))
        #expect(try env.read { txn in try txn.get(db, key: bytes("k")) } == bytes("new"))
        #expect(Environment.libraryVersion.hasPrefix("LMDB 0.9"))
    }
}

@Suite("LMDB files checked before mapping")
struct DataFileTests {
    private func populated() throws -> (String, Environment) {
        let dir = NSTemporaryDirectory() + "lmdb-datafile-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let env = try Environment(directory: dir)
        let db = try env.openDatabase("things")
        try env.write { txn in
            for i in 0..<2000 {
                try txn.put(db, key: Array("key-\(i)".utf8), value: Array(repeating: UInt8(i % 251), count: 100))
            }
            // A value larger than a page lives in overflow pages, which the walk checks too.
            try txn.put(db, key: Array("big".utf8), value: Array(repeating: 7, count: 20000))
        }
        return (dir, env)
    }

    @Test func aHealthyFileWalksCleanlyAndItsLockFileIsAllocatedAtLMDBsSize() throws {
        let (dir, env) = try populated()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let report = try env.checkPages()
        #expect(report.databases["things"] == 2001)
        #expect(report.pagesChecked > 10)
        let meta = try DataFile.checkSize(dir + "/data.mdb")
        #expect(meta.requiredSize == env.info.usedBytes)
        // LMDB kept the lock file allocated for it (it grows a smaller one with ftruncate, a sparse file).
        var st = stat()
        #expect(stat(dir + "/lock.mdb", &st) == 0)
        #expect(st.st_size == 16384)
        #expect(Int(st.st_blocks) * 512 >= 16384, "lock.mdb is sparse: a full disk would fault in LMDB's map of it")
    }

    @Test func readOnlyEnvironmentsKeepTheirDatabaseHandlesAndRefuseAMissingFile() throws {
        let (dir, writer) = try populated()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = writer
        var configuration = EnvironmentConfiguration()
        configuration.readOnly = true
        let env = try Environment(directory: dir, configuration: configuration)
        let db = try env.openDatabase("things")
        // The handle was opened in a read transaction: it must survive that transaction's end.
        #expect(try env.read { txn in try txn.get(db, key: Array("key-7".utf8)) } == Array(repeating: 7, count: 100))
        let missing = NSTemporaryDirectory() + "lmdb-missing-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: missing, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: missing) }
        #expect(throws: LMDBError.self) { try Environment(directory: missing, configuration: configuration) }
        #expect(!FileManager.default.fileExists(atPath: missing + "/data.mdb"))
    }

    @Test func aShortFileOrABrokenPageIsAProblemNamingTheFileAndOffset() throws {
        let (dir, env) = try populated()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/data.mdb"
        let used = env.info.usedBytes
        let copy = dir + "/copy"
        try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true)
        let original = try Data(contentsOf: URL(fileURLWithPath: file))
        try original.prefix(used - 4096).write(to: URL(fileURLWithPath: copy + "/data.mdb"))
        let short = #expect(throws: DataFileProblem.self) { try Environment(directory: copy) }
        #expect(short?.file == copy + "/data.mdb")
        #expect(short?.reason.contains("\(used - 4096) bytes") == true)
        #expect(short?.reason.contains("\(used) bytes") == true)
        // Page 3's header says it is another page: the walk stops there, at its offset.
        var broken = original
        broken[3 * 4096] ^= 0x01
        try broken.write(to: URL(fileURLWithPath: copy + "/data.mdb"))
        let walked = #expect(throws: DataFileProblem.self) { try DataFile.walk(copy + "/data.mdb") }
        #expect(walked?.offset == 3 * 4096)
        #expect(walked?.reason.contains("page 3") == true)
    }
}

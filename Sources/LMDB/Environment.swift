import CLMDB

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// How an ``Environment`` is opened. A value type with safe defaults: durable commits, files readable
/// by their owner only, and a map that starts small and grows by itself.
public struct EnvironmentConfiguration: Sendable, Hashable {
    /// The map size at first open, in bytes. The map grows by doubling when a write fills it.
    public var initialMapSize: Int = 64 << 20
    /// The map never grows past this size; a write that still does not fit fails with `MDB_MAP_FULL`.
    public var maximumMapSize: Int = 1 << 40
    /// How many named databases the environment may hold.
    package var maximumDatabases: UInt32 = 32
    /// How many read transactions may be open at once, across every process.
    public var maximumReaders: UInt32 = 254
    /// The mode of `data.mdb` and `lock.mdb` when LMDB creates them.
    public var fileMode: mode_t = 0o600
    /// Opens the files read-only: every write transaction then fails with `EACCES`, a missing or empty
    /// `data.mdb` is refused rather than created, and when `lock.mdb` cannot be written (an archived copy, a
    /// read-only mount) the environment is opened without locks (`MDB_NOLOCK`).
    public var readOnly: Bool = false
    /// Refuses a missing or empty `data.mdb` instead of creating one (always so when ``readOnly``).
    package var mustExist: Bool = false
    /// When false, commits skip `fsync` (`MDB_NOSYNC`): faster and not durable. Only for throwaway data.
    public var durable: Bool = true

    public init() {}
}

/// What LMDB reports about an open environment (`mdb_env_info` and `mdb_env_stat`).
package struct EnvironmentInfo: Sendable, Hashable {
    package let mapSize: Int
    package let lastPageNumber: Int
    package let lastTransactionId: Int
    package let maximumReaders: Int
    package let readersInUse: Int
    package let pageSize: Int
    /// Bytes of the map in use: `(lastPageNumber + 1) * pageSize`.
    package var usedBytes: Int { (lastPageNumber + 1) * pageSize }
}

/// Something an ``Environment`` did on its own that its owner may want to record: the layer reports it and
/// keeps no policy (no log levels, no wording); the event store logs it.
package enum EnvironmentEvent: Sendable, Hashable {
    /// A write filled the map, which this process doubled (sizes in bytes).
    case mapGrown(from: Int, to: Int)
    /// Another process had grown the map (`MDB_MAP_RESIZED`); this one adopted its size.
    case mapResizeAdopted(from: Int, to: Int)
    /// Opening, or a read that found every reader slot taken, cleared this many slots left by processes that died
    /// while reading (`mdb_reader_check`).
    case staleReadersCleared(Int)
}

/// An open named database inside an ``Environment``. The handle is valid for the environment's lifetime.
package struct Database: Sendable, Hashable {
    let dbi: MDB_dbi
    /// The name it was opened with.
    package let name: String
}

/// An LMDB environment: one directory holding `data.mdb` and `lock.mdb`.
///
/// Thread-safe: many threads may read at once while one writes. Transactions exist only inside the
/// closures of ``read(_:)`` and ``write(_:)``, which commit or abort them exactly once, so none can leak
/// or outlive its scope. Transaction bodies are synchronous: a transaction never spans an `await`.
/// Opened with `MDB_NOTLS`, so a read transaction is not tied to its thread's slot.
package final class Environment: @unchecked Sendable {
    // @unchecked: LMDB's environment is thread-safe with MDB_NOTLS; the map size is changed only under
    // the exclusive side of `gate`, which every transaction holds shared.
    let handle: OpaquePointer
    private let gate = ResizeGate()
    /// The directory this environment lives in.
    package let path: String
    package let configuration: EnvironmentConfiguration
    /// The absolute path of `data.mdb`, as /proc/self/maps names it: resolved once, it does not move.
    private let dataFile: String
    /// Told of map growth, resize adoption and stale reader slots cleared, on the thread that saw them.
    private let observer: (@Sendable (EnvironmentEvent) -> Void)?

    /// The version of the LMDB library linked in, e.g. `LMDB 0.9.24: (July 24, 2019)`.
    package static var libraryVersion: String { String(cString: mdb_version(nil, nil, nil)) }

    /// Whether this environment was opened without a lock file (`MDB_NOLOCK`): nothing coordinates it
    /// with writers in other processes, which is why it is only done for read-only opens of files this
    /// process cannot write.
    package let lockless: Bool

    /// Opens (creating the files if needed) the environment in an existing directory.
    ///
    /// An existing `data.mdb` is checked first with ordinary reads (``DataFile/checkSize(_:)``): a file
    /// shorter than its meta page says would make the map fault with SIGBUS on the first page past its end.
    /// - Parameters:
    ///   - directory: an existing directory; `data.mdb` and `lock.mdb` are created in it unless they exist.
    ///   - configuration: the map size, limits, modes and durability.
    ///   - observer: told of what the environment does on its own (``EnvironmentEvent``), from the thread that
    ///     did it; it must not open a transaction of this environment.
    /// - Throws: ``DataFileProblem`` for a damaged, truncated or (with ``EnvironmentConfiguration/mustExist``)
    ///   empty `data.mdb`; ``LMDBError`` otherwise.
    package init(
        directory: String, configuration: EnvironmentConfiguration = .init(),
        observer: (@Sendable (EnvironmentEvent) -> Void)? = nil
    ) throws {
        let dataPath = directory + "/data.mdb"
        let lockPath = directory + "/lock.mdb"
        var st = stat()
        if stat(dataPath, &st) == 0 {
            if st.st_size > 0 || configuration.readOnly || configuration.mustExist { try DataFile.checkSize(dataPath) }
        } else if errno != ENOENT || configuration.readOnly || configuration.mustExist {
            throw LMDBError(code: errno, operation: "stat", context: dataPath)
        }
        // A reader that cannot write the lock file (nor create it) opens without one, instead of failing
        // with EACCES or EROFS.
        let lockless =
            configuration.readOnly
            && (access(lockPath, F_OK) == 0 ? access(lockPath, W_OK) != 0 : access(directory, W_OK) != 0)
        if !configuration.readOnly, access(lockPath, F_OK) != 0, access(directory, W_OK) == 0 {
            try Self.preallocateLockFile(lockPath, readers: configuration.maximumReaders, mode: configuration.fileMode)
        }
        var env: OpaquePointer?
        var dead: Int32 = 0
        try check(mdb_env_create(&env), "mdb_env_create")
        guard let env else { throw LMDBError(code: MDB_PANIC, operation: "mdb_env_create") }
        do {
            try check(mdb_env_set_mapsize(env, configuration.initialMapSize), "mdb_env_set_mapsize")
            try check(mdb_env_set_maxdbs(env, configuration.maximumDatabases), "mdb_env_set_maxdbs")
            try check(mdb_env_set_maxreaders(env, configuration.maximumReaders), "mdb_env_set_maxreaders")
            var flags = UInt32(MDB_NOTLS)
            if configuration.readOnly { flags |= UInt32(MDB_RDONLY) }
            if lockless { flags |= UInt32(MDB_NOLOCK) }
            if !configuration.durable { flags |= UInt32(MDB_NOSYNC) }
            try check(mdb_env_open(env, directory, flags, configuration.fileMode), "mdb_env_open", directory)
            // Free the reader slots of processes that died while reading (a killed CLI, a crashed server).
            _ = mdb_reader_check(env, &dead)
        } catch {
            mdb_env_close(env)
            throw error
        }
        self.handle = env
        self.lockless = lockless
        self.path = directory
        self.configuration = configuration
        self.dataFile = Self.resolvedPath(directory + "/data.mdb")
        self.observer = observer
        if dead > 0 { observer?(.staleReadersCleared(Int(dead))) }
    }

    deinit {
        mdb_env_close(handle)
    }

    /// Opens a named database, creating it unless the environment is read-only.
    /// - Throws: ``LMDBError`` with `.notFound` when it does not exist and cannot be created.
    package func openDatabase(_ name: String) throws -> Database {
        try openDatabases([name])[0]
    }

    /// Opens named databases, creating the missing ones unless the environment is read-only.
    ///
    /// Those that exist are opened in a read transaction, which never waits for a writer (a write
    /// transaction would queue behind an import in another process); it ends with a commit, because an
    /// abort would close the handles it opened. Only missing databases need a write transaction.
    /// - Throws: ``LMDBError`` with `.notFound` when one does not exist and cannot be created.
    package func openDatabases(_ names: [String]) throws -> [Database] {
        var found: [String: Database] = [:]
        try gate.shared {
            let txn = try beginRead()
            for name in names {
                var dbi: MDB_dbi = 0
                let result = mdb_dbi_open(txn.pointer, name, 0, &dbi)
                if result == MDB_NOTFOUND { continue }
                try check(result, "mdb_dbi_open", name)
                found[name] = Database(dbi: dbi, name: name)
            }
            try txn.commit()
        }
        let missing = names.filter { found[$0] == nil }
        if let first = missing.first {
            guard !configuration.readOnly else { throw LMDBError(code: MDB_NOTFOUND, operation: "mdb_dbi_open", context: first) }
            try write { txn in
                for name in missing {
                    var dbi: MDB_dbi = 0
                    try check(mdb_dbi_open(txn.pointer, name, UInt32(MDB_CREATE), &dbi), "mdb_dbi_open", name)
                    found[name] = Database(dbi: dbi, name: name)
                }
            }
        }
        return names.map { found[$0]! }
    }

    /// Walks every B-tree of `data.mdb` with ordinary reads, checking each page before following it, in the
    /// snapshot of a read transaction held meanwhile (so that no writer reuses the pages walked).
    /// - Throws: ``DataFileProblem`` at the first damaged page.
    package func checkPages() throws -> PageWalkReport {
        try read { txn in try DataFile.walk(path + "/data.mdb", transactionId: txn.id) }
    }

    /// The size of `lock.mdb` LMDB 0.9 gives `readers` slots on 64-bit Linux: a 192-byte header (two
    /// cache lines and the first slot) and 64 bytes per further slot.
    static func lockFileSize(readers: UInt32) -> Int { 192 + 64 * (Int(max(readers, 1)) - 1) }

    /// Creates `lock.mdb` with its blocks allocated. LMDB would make it with `ftruncate` (a sparse file) and
    /// write it through a shared map: on a full file system that write dies with SIGBUS. Allocated here,
    /// a full disk is an ordinary ENOSPC error, and the file is removed again.
    private static func preallocateLockFile(_ path: String, readers: UInt32, mode: mode_t) throws {
        let fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else {
            if errno == EEXIST { return }
            throw LMDBError(code: errno, operation: "create lock file", context: path)
        }
        let result = posix_fallocate(fd, 0, off_t(lockFileSize(readers: readers)))
        close(fd)
        if result != 0 {
            unlink(path)
            throw LMDBError(code: result, operation: "allocate lock file", context: path)
        }
    }

    /// Runs `body` inside a read-only transaction over a consistent snapshot, then ends it.
    ///
    /// Values are lent to closures as `RawSpan`s into the map, which cannot leave them: copy what must outlive one.
    package func read<T>(_ body: (borrowing ReadTransaction) throws -> T) throws -> T {
        while true {
            do {
                return try gate.shared {
                    let txn = try beginRead()
                    return try body(txn)
                }
            } catch let error as LMDBError where error.code == .mapResized {
                try adoptGrownMap()
            }
        }
    }

    /// Begins a read transaction. When every reader slot is taken, frees those of processes that died while reading
    /// (LMDB frees a slot when its reader ends, so a killed reader's stays taken, and `mdb_env_open` clears them only
    /// in a process that opens after the death) and tries once more; still full, the error names the limit.
    private func beginRead() throws -> ReadTransaction {
        do {
            return try ReadTransaction(beginIn: handle)
        } catch let error as LMDBError where error.code == .readersFull {
            var dead: Int32 = 0
            let checked = mdb_reader_check(handle, &dead)
            // A failed check is its own error: "in use by live readers" would then be a guess.
            guard checked == 0 else { throw LMDBError(code: checked, operation: "mdb_reader_check") }
            if dead > 0 {
                observer?(.staleReadersCleared(Int(dead)))
                do {
                    return try ReadTransaction(beginIn: handle)
                } catch let again as LMDBError where again.code == .readersFull {}
            }
            throw LMDBError(
                code: MDB_READERS_FULL, operation: error.operation,
                context: "maximumReaders: all \(info.maximumReaders) reader slots are in use by live readers")
        }
    }

    /// Runs `body` inside a write transaction and commits it when `body` returns; aborts it when `body` throws.
    ///
    /// Writers are serialised by LMDB, across processes too. When the map is full the transaction is
    /// aborted, the map grows, and `body` runs again from the start: it must not have effects outside
    /// the transaction.
    package func write<T>(_ body: (borrowing WriteTransaction) throws -> T) throws -> T {
        while true {
            let observedSize = mapSize
            do {
                return try gate.shared {
                    let txn = try WriteTransaction(beginIn: handle, parent: nil)
                    let result = try body(txn)
                    try txn.commit()
                    return result
                }
            } catch let error as LMDBError where error.code == .mapFull {
                try growMap(from: observedSize)
            } catch let error as LMDBError where error.code == .mapResized {
                try adoptGrownMap()
            }
        }
    }

    /// Whether every commit reaches the disk before it returns, as LMDB itself reports the environment's
    /// flags (not as the configuration asked): none of `MDB_NOSYNC`, `MDB_NOMETASYNC` or `MDB_MAPASYNC`, which
    /// each trade durability for speed. A read-only environment commits nothing and counts as durable.
    package var commitsAreDurable: Bool {
        var flags: UInt32 = 0
        guard mdb_env_get_flags(handle, &flags) == 0 else { return false }
        return flags & UInt32(MDB_NOSYNC | MDB_NOMETASYNC | MDB_MAPASYNC) == 0
    }

    /// The current size of the memory map in bytes.
    package var mapSize: Int {
        var info = MDB_envinfo()
        mdb_env_info(handle, &info)
        return info.me_mapsize
    }

    /// LMDB's figures for this environment.
    package var info: EnvironmentInfo {
        var info = MDB_envinfo()
        var stat = MDB_stat()
        mdb_env_info(handle, &info)
        mdb_env_stat(handle, &stat)
        return EnvironmentInfo(
            mapSize: info.me_mapsize, lastPageNumber: info.me_last_pgno, lastTransactionId: info.me_last_txnid,
            maximumReaders: Int(info.me_maxreaders), readersInUse: Int(info.me_numreaders),
            pageSize: Int(stat.ms_psize))
    }

    /// Drops the map's pages from this process's resident set; they stay in the page cache and fault back
    /// in on the next read.
    ///
    /// A long scan or import touches every page of the file once: without this, all of them stay counted in
    /// the process's RSS until it exits. The map is shared, read-only and file-backed (no MDB_WRITEMAP), so
    /// `MADV_DONTNEED` discards nothing: views held by open transactions stay valid and re-read the file.
    package func releaseResidentPages() {
        #if os(Linux)
            gate.shared {
                // mdb_env_info reports no map address without MDB_FIXEDMAP: find the mapping of data.mdb.
                guard let (start, length) = Self.mapping(ofFile: dataFile) else { return }
                // Advice only: a failure leaves the pages resident, which is harmless.
                _ = madvise(start, length, MADV_DONTNEED)
            }
        #endif
    }

    /// Drops the map's pages from `start` through `end` (addresses of bytes read from the map, in either
    /// order) from this process's resident set, as ``releaseResidentPages()`` does for the whole map: for a
    /// scan that lets go of what it has read as it goes, on its own thread, without reading /proc.
    ///
    /// Call it only inside a transaction of this environment: the transaction holds the map in place (no
    /// resize can move it meanwhile), so the range is still the map's and the advice cannot reach other memory.
    package func releaseResidentPages(from start: UnsafeRawPointer, through end: UnsafeRawPointer) {
        #if os(Linux)
            let page = Int(sysconf(Int32(_SC_PAGESIZE)))
            let low = Int(bitPattern: min(start, end)) & ~(page - 1)
            let high = Int(bitPattern: max(start, end))
            guard high >= low, let first = UnsafeMutableRawPointer(bitPattern: low) else { return }
            // Advice only: a failure leaves the pages resident, which is harmless.
            _ = madvise(first, high - low + 1, MADV_DONTNEED)
        #endif
    }

    private static func resolvedPath(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The read-only shared mapping of `file` in /proc/self/maps (the map LMDB made of it), or nil.
    private static func mapping(ofFile file: String) -> (UnsafeMutableRawPointer, Int)? {
        guard let maps = fopen("/proc/self/maps", "r") else { return nil }
        defer { fclose(maps) }
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        let name = Array(file.utf8)
        // An import calls this every 500 events and a process maps a few hundred files: each line is looked at
        // as bytes, and only the one naming the file is split into fields.
        while case let read = getline(&line, &capacity, maps), read > 0, let line {
            // "start-end perms offset dev inode path"
            let bytes = UnsafeRawBufferPointer(start: line, count: read)
            let end = bytes[read - 1] == 0x0A ? read - 1 : read
            guard end > name.count, bytes[end - name.count - 1] == 0x20,
                UnsafeRawBufferPointer(rebasing: bytes[(end - name.count)..<end]).elementsEqual(name)
            else { continue }
            let fields = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[..<end]), as: UTF8.self)
                .split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, fields[1] == "r--s", fields[5...].joined(separator: " ") == file else { continue }
            let bounds = fields[0].split(separator: "-")
            guard bounds.count == 2, let start = UInt(bounds[0], radix: 16), let end = UInt(bounds[1], radix: 16), end > start,
                let pointer = UnsafeMutableRawPointer(bitPattern: start)
            else { return nil }
            return (pointer, Int(end - start))
        }
        return nil
    }

    /// Doubles the map, unless another thread already grew it past `observedSize`.
    private func growMap(from observedSize: Int) throws {
        let grew: (Int, Int)? = try gate.exclusive {
            let current = mapSize
            guard current <= observedSize else { return nil }
            guard current < configuration.maximumMapSize else {
                throw LMDBError(
                    code: MDB_MAP_FULL, operation: "grow map",
                    context: "\(path): already at the maximum of \(configuration.maximumMapSize) bytes")
            }
            let grown = min(current * 2, configuration.maximumMapSize)
            try check(mdb_env_set_mapsize(handle, grown), "mdb_env_set_mapsize", path)
            return (current, grown)
        }
        if let (from, to) = grew { observer?(.mapGrown(from: from, to: to)) }
    }

    /// Another process grew the map: passing 0 adopts the size it wrote.
    private func adoptGrownMap() throws {
        let (from, to) = try gate.exclusive {
            let before = mapSize
            try check(mdb_env_set_mapsize(handle, 0), "mdb_env_set_mapsize", path)
            return (before, mapSize)
        }
        // Threads that met MDB_MAP_RESIZED together all come here; only the first one changes the size.
        if to != from { observer?(.mapResizeAdopted(from: from, to: to)) }
    }
}

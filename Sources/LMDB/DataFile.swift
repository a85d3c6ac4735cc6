#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Damage found in `data.mdb` by reading it with `pread`, before LMDB maps it.
///
/// LMDB keeps no page checksums and trusts every page it follows: a file shorter than its meta page says
/// makes the map fault (SIGBUS), a zeroed or flipped page makes it abort or follow a wild pointer. These
/// checks read the file through ordinary reads, so damage becomes this error instead of a signal.
package struct DataFileProblem: Error, Sendable, Hashable, CustomStringConvertible {
    /// The path of `data.mdb`.
    package let file: String
    /// The byte offset in the file where the damage lies, when one can be named.
    package let offset: Int?
    /// What is wrong, in a few words.
    package let reason: String

    package init(file: String, offset: Int?, reason: String) {
        self.file = file
        self.offset = offset
        self.reason = reason
    }

    package var description: String {
        "\(file): \(offset.map { "at byte \($0): " } ?? "")\(reason)"
    }
}

/// What the valid meta page with the highest transaction id says (LMDB 0.9's layout, `MDB_meta`).
package struct DataFileMeta: Sendable, Hashable {
    package let pageSize: Int
    package let lastPage: UInt64
    package let transactionId: UInt64
    /// Root page of the free list and of the main database (the one naming the others); nil when empty.
    let freeRoot: UInt64?
    let mainRoot: UInt64?
    let freeDepth: Int
    let mainDepth: Int
    /// The file size this meta page needs: every page up to the last one used.
    package var requiredSize: Int { Int(lastPage + 1) * pageSize }
}

/// Reads and checks `data.mdb` without mapping it.
package enum DataFile {
    static let magic: UInt32 = 0xBEEF_C0DE
    static let version: UInt32 = 1
    static let pageHeaderSize = 16
    /// Offsets inside the meta page (after the page header): see `MDB_meta` in mdb.c.
    static let metaFreeDB = 24, metaMainDB = 72, metaLastPage = 120, metaTxnId = 128
    static let invalidPage = UInt64.max
    static let branchFlag: UInt16 = 0x01, leafFlag: UInt16 = 0x02, overflowFlag: UInt16 = 0x04, metaFlag: UInt16 = 0x08
    static let leaf2Flag: UInt16 = 0x20
    static let bigData: UInt16 = 0x01, subData: UInt16 = 0x02, dupData: UInt16 = 0x04

    /// Checks that `path` is an LMDB file with a valid meta page and is at least as long as that meta says.
    /// - Throws: ``DataFileProblem`` naming the file and both sizes; `LMDBError` when it cannot be read.
    @discardableResult
    package static func checkSize(_ path: String) throws -> DataFileMeta {
        let fd = try openForReading(path)
        defer { close(fd) }
        return try readMeta(fd, path: path)
    }

    static func openForReading(_ path: String) throws -> Int32 {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw LMDBError(code: errno, operation: "open", context: path) }
        return fd
    }

    static func fileSize(_ fd: Int32, path: String) throws -> Int {
        var st = stat()
        if fstat(fd, &st) != 0 { throw LMDBError(code: errno, operation: "fstat", context: path) }
        return Int(st.st_size)
    }

    /// Reads exactly `count` bytes at `offset`; fewer means the file ends there.
    static func readBytes(_ fd: Int32, at offset: Int, count: Int, path: String) throws -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset + done)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw LMDBError(code: errno, operation: "pread", context: path)
            }
            if n == 0 { return nil }
            done += n
        }
        return buffer
    }

    static func readMeta(_ fd: Int32, path: String) throws -> DataFileMeta {
        // Meta 0 opens the file; meta 1 follows at one page size (meta 0's, else the OS page size LMDB uses).
        let first = try readBytes(fd, at: 0, count: 4096, path: path).flatMap(parseMeta)
        let secondOffset = first?.pageSize ?? Int(sysconf(Int32(_SC_PAGESIZE)))
        let second = try readBytes(fd, at: secondOffset, count: 4096, path: path).flatMap(parseMeta)
        // Read the size after the metas: LMDB writes a commit's pages before its meta, so the file is at least
        // as long as any meta just read says.
        let size = try fileSize(fd, path: path)
        if size == 0 { throw DataFileProblem(file: path, offset: nil, reason: "is empty (0 bytes): not an LMDB file") }
        let metas = [first, second].compactMap { $0 }.filter { $0.pageSize == (first ?? second)!.pageSize }
        guard let meta = metas.max(by: { $0.transactionId < $1.transactionId }) else {
            throw DataFileProblem(
                file: path, offset: nil,
                reason:
                    "is not a readable LMDB file: neither meta page is valid (\(size) bytes; magic 0xBEEFC0DE, version 1 expected)"
            )
        }
        guard size >= meta.requiredSize else {
            throw DataFileProblem(
                file: path, offset: size,
                reason:
                    "truncated: the file has \(size) bytes but its meta page (transaction \(meta.transactionId)) uses \(meta.lastPage + 1) pages of \(meta.pageSize) bytes, \(meta.requiredSize) bytes"
            )
        }
        return meta
    }

    static func parseMeta(_ page: [UInt8]) -> DataFileMeta? {
        let h = pageHeaderSize
        guard page.count >= h + metaTxnId + 8, u16(page, 10) & metaFlag != 0, u32(page, h) == magic, u32(page, h + 4) == version
        else { return nil }
        let pageSize = Int(u32(page, h + metaFreeDB))
        guard pageSize >= 512, pageSize <= 65536, pageSize & (pageSize - 1) == 0 else { return nil }
        let lastPage = u64(page, h + metaLastPage)
        guard lastPage >= 1, lastPage < UInt64(Int.max) / UInt64(pageSize) else { return nil }
        func root(_ at: Int) -> UInt64? {
            let r = u64(page, h + at + 40)
            return r == invalidPage ? nil : r
        }
        return DataFileMeta(
            pageSize: pageSize, lastPage: lastPage, transactionId: u64(page, h + metaTxnId), freeRoot: root(metaFreeDB),
            mainRoot: root(metaMainDB), freeDepth: Int(u16(page, h + metaFreeDB + 6)),
            mainDepth: Int(u16(page, h + metaMainDB + 6)))
    }

    static func u16(_ b: [UInt8], _ at: Int) -> UInt16 { UInt16(b[at]) | UInt16(b[at + 1]) << 8 }
    static func u32(_ b: [UInt8], _ at: Int) -> UInt32 { UInt32(u16(b, at)) | UInt32(u16(b, at + 2)) << 16 }
    static func u64(_ b: [UInt8], _ at: Int) -> UInt64 { UInt64(u32(b, at)) | UInt64(u32(b, at + 4)) << 32 }
}

/// What a page walk saw.
package struct PageWalkReport: Sendable, Hashable {
    package let pagesChecked: Int
    /// The named databases found, with their entry counts as their leaves hold them.
    package let databases: [String: Int]
}

extension DataFile {
    /// Walks every B-tree of `path` from the meta page of transaction `transactionId` (or the newest) with
    /// `pread`, checking each page's header before following it: its number, kind, bounds, node offsets,
    /// key order, child and overflow page numbers, and that no page is reached twice.
    ///
    /// Run it inside a read transaction of that id, so that a writer cannot reuse the pages it walks.
    /// - Throws: ``DataFileProblem`` at the first damaged page; `LMDBError` when the file cannot be read.
    package static func walk(_ path: String, transactionId: UInt64? = nil) throws -> PageWalkReport {
        let fd = try openForReading(path)
        defer { close(fd) }
        let meta = try readMeta(fd, path: path)
        var walker = PageWalker(fd: fd, path: path, meta: meta)
        if let transactionId, transactionId != meta.transactionId {
            // The reader's snapshot is the other meta page's: walk from that one.
            let other = try readBytes(fd, at: meta.pageSize * Int(1 - meta.transactionId % 2), count: 4096, path: path)
                .flatMap(parseMeta)
            guard let other, other.transactionId == transactionId else {
                throw LMDBError(
                    code: MDB_BAD_TXN_CODE, operation: "page walk", context: "\(path): the ledger changed during the check")
            }
            walker = PageWalker(fd: fd, path: path, meta: other)
        }
        try walker.run()
        return PageWalkReport(pagesChecked: walker.pagesChecked, databases: walker.databases)
    }

    /// `MDB_BAD_TXN`: the snapshot to check is gone.
    static let MDB_BAD_TXN_CODE: Int32 = -30782
}

private struct PageWalker {
    let fd: Int32
    let path: String
    let meta: DataFileMeta
    var seen: [UInt8]
    var pagesChecked = 0
    var databases: [String: Int] = [:]

    init(fd: Int32, path: String, meta: DataFileMeta) {
        self.fd = fd
        self.path = path
        self.meta = meta
        seen = [UInt8](repeating: 0, count: Int(meta.lastPage / 8 + 1))
    }

    func fail(_ page: UInt64, _ database: String, _ reason: String) -> DataFileProblem {
        // A wild page number has no offset in the file.
        let offset = page <= meta.lastPage ? Int(page) * meta.pageSize : nil
        return DataFileProblem(file: path, offset: offset, reason: "damaged page \(page) (database \(database)): \(reason)")
    }

    static let freeListName = "(free list)"

    mutating func run() throws {
        if let root = meta.freeRoot { _ = try walkTree(root, depth: meta.freeDepth, database: Self.freeListName, named: false) }
        if let root = meta.mainRoot { _ = try walkTree(root, depth: meta.mainDepth, database: "(main)", named: true) }
    }

    /// Walks one tree; returns its entry count. `named`: the main database, whose leaves describe the others.
    /// `parent`: the main database's leaf that describes this tree (nil for the trees the meta page names).
    mutating func walkTree(_ root: UInt64, depth: Int, database: String, named: Bool, from parent: UInt64? = nil) throws -> Int {
        guard depth >= 1, depth <= 64 else { throw fail(parent ?? root, database, "the tree claims a depth of \(depth)") }
        return try walkPage(root, level: 1, depth: depth, database: database, named: named, from: parent)
    }

    /// `parent`: the branch page pointing here, which is where a wild pointer is (nil for a tree's root).
    mutating func walkPage(_ number: UInt64, level: Int, depth: Int, database: String, named: Bool, from parent: UInt64?) throws
        -> Int
    {
        guard number >= 2, number <= meta.lastPage else {
            throw fail(parent ?? number, database, "a pointer to page \(number), outside pages 2...\(meta.lastPage)")
        }
        try mark(number, database)
        let psize = meta.pageSize
        guard let page = try DataFile.readBytes(fd, at: Int(number) * psize, count: psize, path: path) else {
            throw fail(number, database, "the file ends inside it")
        }
        pagesChecked += 1
        let stored = DataFile.u64(page, 0)
        guard stored == number else { throw fail(number, database, "its header says it is page \(stored)") }
        let flags = DataFile.u16(page, 10)
        let isLeaf = flags & DataFile.leafFlag != 0
        let isBranch = flags & DataFile.branchFlag != 0
        guard isLeaf != isBranch, flags & (DataFile.overflowFlag | DataFile.metaFlag | DataFile.leaf2Flag) == 0 else {
            throw fail(number, database, "its kind (flags 0x\(String(flags, radix: 16))) is neither branch nor leaf")
        }
        guard isLeaf == (level == depth) else {
            throw fail(number, database, "a \(isLeaf ? "leaf" : "branch") at level \(level) of a tree \(depth) deep")
        }
        let lower = Int(DataFile.u16(page, 12))
        let upper = Int(DataFile.u16(page, 14))
        guard lower >= DataFile.pageHeaderSize, lower <= upper, upper <= psize, (lower - DataFile.pageHeaderSize) % 2 == 0 else {
            throw fail(number, database, "free-space bounds \(lower)...\(upper) do not fit a page of \(psize) bytes")
        }
        let count = (lower - DataFile.pageHeaderSize) / 2
        guard count > 0 else { throw fail(number, database, "it holds no entries") }
        var entries = 0
        var previousKey: ArraySlice<UInt8>?
        for i in 0..<count {
            let node = Int(DataFile.u16(page, DataFile.pageHeaderSize + 2 * i))
            guard node >= upper, node + 8 <= psize else {
                throw fail(number, database, "entry \(i) starts at \(node), outside \(upper)..<\(psize)")
            }
            let lo = UInt64(DataFile.u16(page, node)), hi = UInt64(DataFile.u16(page, node + 2))
            let nodeFlags = DataFile.u16(page, node + 4)
            let keySize = Int(DataFile.u16(page, node + 6))
            guard node + 8 + keySize <= psize else { throw fail(number, database, "entry \(i)'s key runs past the page") }
            let key = page[(node + 8)..<(node + 8 + keySize)]
            // Keys ascend within a page (bytewise, LMDB's default order; the free list's keys are transaction
            // ids, MDB_INTEGERKEY, in native byte order); a branch's first key is empty.
            if !(isBranch && i == 0) {
                if let previousKey,
                    !(database == Self.freeListName
                        ? previousKey.count == 8 && key.count == 8
                            && DataFile.u64(Array(previousKey), 0) < DataFile.u64(Array(key), 0)
                        : previousKey.lexicographicallyPrecedes(key))
                {
                    throw fail(number, database, "entry \(i)'s key is not above the one before it")
                }
                previousKey = key
            }
            if isBranch {
                let child = lo | hi << 16 | UInt64(nodeFlags) << 32
                entries += try walkPage(child, level: level + 1, depth: depth, database: database, named: named, from: number)
                continue
            }
            entries += 1
            let dataSize = Int(lo | hi << 16)
            let dataStart = node + 8 + keySize
            if nodeFlags & DataFile.bigData != 0 {
                guard dataStart + 8 <= psize else {
                    throw fail(number, database, "entry \(i)'s overflow pointer runs past the page")
                }
                try checkOverflow(DataFile.u64(page, dataStart), size: dataSize, database: database, from: number)
                continue
            }
            guard dataStart + dataSize <= psize else { throw fail(number, database, "entry \(i)'s value runs past the page") }
            guard nodeFlags & DataFile.dupData == 0 else { throw fail(number, database, "entry \(i) is a duplicate list") }
            if named, nodeFlags & DataFile.subData != 0 {
                guard dataSize == 48 else { throw fail(number, database, "entry \(i) describes a database in \(dataSize) bytes") }
                let name = String(decoding: key, as: UTF8.self)
                let db = Array(page[dataStart..<(dataStart + 48)])
                let root = DataFile.u64(db, 40)
                databases[name] =
                    root == DataFile.invalidPage
                    ? 0 : try walkTree(root, depth: Int(DataFile.u16(db, 6)), database: name, named: false, from: number)
            }
        }
        return entries
    }

    mutating func checkOverflow(_ first: UInt64, size: Int, database: String, from leaf: UInt64) throws {
        let psize = meta.pageSize
        guard first >= 2, first <= meta.lastPage else {
            throw fail(leaf, database, "a pointer to overflow page \(first), outside pages 2...\(meta.lastPage)")
        }
        guard let header = try DataFile.readBytes(fd, at: Int(first) * psize, count: DataFile.pageHeaderSize, path: path) else {
            throw fail(first, database, "the file ends inside it")
        }
        pagesChecked += 1
        let stored = DataFile.u64(header, 0)
        guard stored == first else { throw fail(first, database, "its header says it is page \(stored)") }
        guard DataFile.u16(header, 10) & DataFile.overflowFlag != 0 else { throw fail(first, database, "not an overflow page") }
        let pages = UInt64(DataFile.u32(header, 12))
        guard pages >= 1, first + pages - 1 <= meta.lastPage, Int(pages) * psize - DataFile.pageHeaderSize >= size else {
            throw fail(first, database, "an overflow of \(pages) pages cannot hold \(size) bytes within the file")
        }
        for p in first..<(first + pages) { try mark(p, database) }
    }

    mutating func mark(_ page: UInt64, _ database: String) throws {
        let byte = Int(page / 8), bit = UInt8(1) << UInt8(page % 8)
        guard seen[byte] & bit == 0 else { throw fail(page, database, "reached twice (a loop or a shared page)") }
        seen[byte] |= bit
    }
}

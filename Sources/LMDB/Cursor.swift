import CLMDB

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One key and its value, as views into the map: valid until the transaction ends or moves on.
public struct CursorEntry {
    public let key: UnsafeRawBufferPointer
    public let value: UnsafeRawBufferPointer
}

/// A position in a database, ordered by key (bytewise). Exists only inside
/// ``ReadableTransaction/withCursor(_:_:)``, which closes it.
public struct Cursor: ~Copyable {
    let pointer: OpaquePointer
    let database: Database

    init(transaction: OpaquePointer, database: Database) throws {
        var cursor: OpaquePointer?
        try check(mdb_cursor_open(transaction, database.dbi, &cursor), "mdb_cursor_open", database.name)
        self.pointer = cursor!
        self.database = database
    }

    deinit {
        mdb_cursor_close(pointer)
    }

    /// The entries whose keys lie in `lower ..< upper` (either bound may be nil), in key order or, with
    /// `reverse`, from the highest key down. The sequence reads lazily and lives only as long as the cursor.
    public func entries(from lower: [UInt8]? = nil, upTo upper: [UInt8]? = nil, reverse: Bool = false) -> CursorSequence {
        CursorSequence(cursor: pointer, database: database, lower: lower, upper: upper, reverse: reverse)
    }

    /// The entries whose keys start with `prefix`, in key order or reversed.
    public func entries(withPrefix prefix: [UInt8], reverse: Bool = false) -> CursorSequence {
        entries(from: prefix, upTo: Self.successor(ofPrefix: prefix), reverse: reverse)
    }

    /// The last entry of the database, or nil when it is empty.
    public func last() throws -> CursorEntry? {
        try move(pointer, MDB_LAST, key: nil, database: database)
    }

    /// The smallest key greater than every key that starts with `prefix` (nil: no such key, scan to the end).
    public static func successor(ofPrefix prefix: [UInt8]) -> [UInt8]? {
        var bytes = prefix
        while let last = bytes.last {
            if last < 0xFF {
                bytes[bytes.count - 1] = last + 1
                return bytes
            }
            bytes.removeLast()
        }
        return nil
    }
}

/// Moves `cursor`; nil when there is no entry there.
func move(_ cursor: OpaquePointer, _ op: MDB_cursor_op, key: UnsafeRawBufferPointer?, database: Database) throws -> CursorEntry? {
    var keyVal = MDB_val(mv_size: key?.count ?? 0, mv_data: UnsafeMutableRawPointer(mutating: key?.baseAddress))
    var value = MDB_val()
    let result = mdb_cursor_get(cursor, &keyVal, &value, op)
    if result == MDB_NOTFOUND { return nil }
    try check(result, "cursor get", database.name)
    return CursorEntry(
        key: UnsafeRawBufferPointer(start: keyVal.mv_data, count: keyVal.mv_size),
        value: UnsafeRawBufferPointer(start: value.mv_data, count: value.mv_size))
}

/// Keys compare bytewise, shorter first on a common prefix: LMDB's default order.
func compareKeys(_ a: UnsafeRawBufferPointer, _ b: [UInt8]) -> Int {
    b.withUnsafeBytes { b in
        let common = min(a.count, b.count)
        if common > 0 {
            let c = memcmp(a.baseAddress!, b.baseAddress!, common)
            if c != 0 { return Int(c) }
        }
        return a.count - b.count
    }
}

/// A lazy walk over a key range. Errors while moving end the walk and are kept in ``CursorIterator/error``;
/// the store layer checks them, so a read never silently stops short.
public struct CursorSequence: Sequence {
    let cursor: OpaquePointer
    let database: Database
    let lower: [UInt8]?
    let upper: [UInt8]?
    let reverse: Bool

    public func makeIterator() -> CursorIterator {
        CursorIterator(sequence: self)
    }
}

/// Iterator of ``CursorSequence``.
public struct CursorIterator: IteratorProtocol {
    let sequence: CursorSequence
    var started = false
    var finished = false
    /// The LMDB error that ended the walk early, if any.
    public private(set) var error: LMDBError?

    init(sequence: CursorSequence) { self.sequence = sequence }

    public mutating func next() -> CursorEntry? {
        guard !finished else { return nil }
        do {
            let entry = try started ? step() : start()
            started = true
            guard let entry, inBounds(entry) else {
                finished = true
                return nil
            }
            return entry
        } catch let error as LMDBError {
            self.error = error
            finished = true
            return nil
        } catch {
            finished = true
            return nil
        }
    }

    private func inBounds(_ entry: CursorEntry) -> Bool {
        if let lower = sequence.lower, compareKeys(entry.key, lower) < 0 { return false }
        if let upper = sequence.upper, compareKeys(entry.key, upper) >= 0 { return false }
        return true
    }

    private func start() throws -> CursorEntry? {
        let s = sequence
        if !s.reverse {
            guard let lower = s.lower else { return try move(s.cursor, MDB_FIRST, key: nil, database: s.database) }
            return try lower.withUnsafeBytes { try move(s.cursor, MDB_SET_RANGE, key: $0, database: s.database) }
        }
        guard let upper = s.upper else { return try move(s.cursor, MDB_LAST, key: nil, database: s.database) }
        // Land on the first key >= upper, then step back once; with none, the last key is the start.
        let atOrAbove = try upper.withUnsafeBytes { try move(s.cursor, MDB_SET_RANGE, key: $0, database: s.database) }
        if atOrAbove == nil { return try move(s.cursor, MDB_LAST, key: nil, database: s.database) }
        return try move(s.cursor, MDB_PREV, key: nil, database: s.database)
    }

    private func step() throws -> CursorEntry? {
        try move(sequence.cursor, sequence.reverse ? MDB_PREV : MDB_NEXT, key: nil, database: sequence.database)
    }
}

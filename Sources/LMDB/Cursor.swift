import CLMDB

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A position in a database, ordered by key (bytewise). Exists only inside
/// ``ReadableTransaction/withCursor(_:_:)``, which lends it to its body and closes it afterwards: being
/// non-copyable and only borrowed, it cannot be kept past that body, hence not past its transaction.
///
/// Entries are handed to closures as `RawSpan` views into the map, which cannot escape the call; there is
/// no iterator object to keep.
package struct Cursor: ~Copyable {
    private let pointer: OpaquePointer
    private let database: Database

    init(transaction: OpaquePointer, database: Database) throws {
        var cursor: OpaquePointer?
        try check(mdb_cursor_open(transaction, database.dbi, &cursor), "mdb_cursor_open", database.name)
        self.pointer = cursor!
        self.database = database
    }

    deinit {
        mdb_cursor_close(pointer)
    }

    /// Calls `body` with each entry whose key lies in `lower ..< upper` (either bound may be nil), in key
    /// order or, with `reverse`, from the highest key down, until `body` returns false.
    /// - Throws: ``LMDBError`` when LMDB fails while moving, so that a walk never silently stops short; or
    ///   what `body` throws.
    package func forEach(
        from lower: [UInt8]? = nil, upTo upper: [UInt8]? = nil, reverse: Bool = false,
        _ body: (_ key: RawSpan, _ value: RawSpan) throws -> Bool
    ) throws {
        var entry = try start(lower: lower, upper: upper, reverse: reverse)
        while let (key, value) = entry {
            if let lower, compareKeys(key, lower) < 0 { return }
            if let upper, compareKeys(key, upper) >= 0 { return }
            guard try body(RawSpan(_unsafeBytes: key), RawSpan(_unsafeBytes: value)) else { return }
            entry = try move(reverse ? MDB_PREV : MDB_NEXT)
        }
    }

    /// Calls `body` with each entry whose key starts with `prefix`, in key order or reversed, until `body`
    /// returns false.
    package func forEach(
        withPrefix prefix: [UInt8], reverse: Bool = false, _ body: (_ key: RawSpan, _ value: RawSpan) throws -> Bool
    ) throws {
        try forEach(from: prefix, upTo: Self.successor(ofPrefix: prefix), reverse: reverse, body)
    }

    /// Runs `body` on the last entry of the database; nil, without calling it, when the database is empty.
    package func withLast<T>(_ body: (_ key: RawSpan, _ value: RawSpan) throws -> T) throws -> T? {
        guard let (key, value) = try move(MDB_LAST) else { return nil }
        return try body(RawSpan(_unsafeBytes: key), RawSpan(_unsafeBytes: value))
    }

    /// The smallest key greater than every key that starts with `prefix` (nil: no such key, scan to the end).
    package static func successor(ofPrefix prefix: [UInt8]) -> [UInt8]? {
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

    /// The first entry of a walk: the lowest key >= `lower` going forward; going back, the highest key
    /// below `upper`.
    private func start(lower: [UInt8]?, upper: [UInt8]?, reverse: Bool) throws -> RawEntry? {
        if !reverse {
            guard let lower else { return try move(MDB_FIRST) }
            return try lower.withUnsafeBytes { try move(MDB_SET_RANGE, key: $0) }
        }
        guard let upper else { return try move(MDB_LAST) }
        // Land on the first key >= upper, then step back once; with none, the last key is the start.
        let atOrAbove = try upper.withUnsafeBytes { try move(MDB_SET_RANGE, key: $0) }
        if atOrAbove == nil { return try move(MDB_LAST) }
        return try move(MDB_PREV)
    }

    /// A key and its value as pointers into the map: never handed out of this type but as spans.
    private typealias RawEntry = (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)

    /// Moves the cursor; nil when there is no entry there.
    private func move(_ op: MDB_cursor_op, key: UnsafeRawBufferPointer? = nil) throws -> RawEntry? {
        var keyVal = MDB_val(mv_size: key?.count ?? 0, mv_data: UnsafeMutableRawPointer(mutating: key?.baseAddress))
        var value = MDB_val()
        let result = mdb_cursor_get(pointer, &keyVal, &value, op)
        if result == MDB_NOTFOUND { return nil }
        try check(result, "cursor get", database.name)
        return (
            UnsafeRawBufferPointer(start: keyVal.mv_data, count: keyVal.mv_size),
            UnsafeRawBufferPointer(start: value.mv_data, count: value.mv_size)
        )
    }
}

/// Keys compare bytewise, shorter first on a common prefix: LMDB's default order.
private func compareKeys(_ a: UnsafeRawBufferPointer, _ b: [UInt8]) -> Int {
    b.withUnsafeBytes { b in
        let common = min(a.count, b.count)
        if common > 0 {
            let c = memcmp(a.baseAddress!, b.baseAddress!, common)
            if c != 0 { return Int(c) }
        }
        return a.count - b.count
    }
}

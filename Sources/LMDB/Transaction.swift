import CLMDB

/// Operations every transaction offers: reading keys and walking cursors.
///
/// Keys and values are byte buffers. A value returned by `get` or a cursor points into the map and is
/// valid until the transaction ends or, in a write transaction, until the next write.
public protocol ReadableTransaction: ~Copyable {
    /// The raw `MDB_txn`, for this module's types only.
    var pointer: OpaquePointer { get }
}

extension ReadableTransaction where Self: ~Copyable {
    /// The value stored under `key`, or nil.
    public func get(_ database: Database, key: UnsafeRawBufferPointer) throws -> UnsafeRawBufferPointer? {
        var keyVal = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var value = MDB_val()
        let result = mdb_get(pointer, database.dbi, &keyVal, &value)
        if result == MDB_NOTFOUND { return nil }
        try check(result, "get", database.name)
        return UnsafeRawBufferPointer(start: value.mv_data, count: value.mv_size)
    }

    /// The value stored under `key`, copied out, or nil.
    public func get(_ database: Database, key: some Sequence<UInt8>) throws -> [UInt8]? {
        let keyBytes = Array(key)
        return try keyBytes.withUnsafeBytes { try get(database, key: $0).map { Array($0) } }
    }

    /// Opens a cursor on `database` for the duration of `body`, then closes it.
    public func withCursor<T>(_ database: Database, _ body: (borrowing Cursor) throws -> T) throws -> T {
        let cursor = try Cursor(transaction: pointer, database: database)
        return try body(cursor)
    }

    /// How many entries `database` holds.
    public func count(_ database: Database) throws -> Int {
        var stat = MDB_stat()
        try check(mdb_stat(pointer, database.dbi, &stat), "mdb_stat", database.name)
        return stat.ms_entries
    }
}

/// A read-only transaction: a consistent snapshot of the environment. Exists only inside
/// ``Environment/read(_:)``; it has no write methods.
public struct ReadTransaction: ~Copyable, ReadableTransaction {
    public let pointer: OpaquePointer

    init(beginIn env: OpaquePointer) throws {
        var txn: OpaquePointer?
        try check(mdb_txn_begin(env, nil, UInt32(MDB_RDONLY), &txn), "mdb_txn_begin (read)")
        pointer = txn!
    }

    /// The id of the snapshot: the transaction id of the commit it sees.
    public var id: UInt64 { UInt64(mdb_txn_id(pointer)) }

    /// Ends the transaction keeping the database handles opened in it (an abort would close them).
    consuming func commit() throws {
        let result = mdb_txn_commit(pointer)
        discard self
        try check(result, "commit (read)")
    }

    deinit {
        // A read transaction has nothing to keep: aborting releases its snapshot.
        mdb_txn_abort(pointer)
    }
}

/// Flags for ``WriteTransaction/put(_:key:value:flags:)``.
public struct PutFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Fail with `.keyExists` instead of overwriting.
    public static let noOverwrite = PutFlags(rawValue: UInt32(MDB_NOOVERWRITE))
    /// The key sorts after every key present: LMDB skips the search. Fails with `.keyExists` otherwise.
    public static let append = PutFlags(rawValue: UInt32(MDB_APPEND))
}

/// A read-write transaction. Exists only inside ``Environment/write(_:)`` (or ``nested(_:)``), which
/// commits it once when the body returns and aborts it when the body throws.
public struct WriteTransaction: ~Copyable, ReadableTransaction {
    public let pointer: OpaquePointer

    init(beginIn env: OpaquePointer, parent: OpaquePointer?) throws {
        var txn: OpaquePointer?
        try check(mdb_txn_begin(env, parent, 0, &txn), parent == nil ? "mdb_txn_begin (write)" : "mdb_txn_begin (nested)")
        pointer = txn!
    }

    /// Commits. LMDB frees the transaction whether or not the commit succeeds, so the aborting
    /// `deinit` must not run afterwards: `discard self` makes a second free impossible.
    consuming func commit() throws {
        let result = mdb_txn_commit(pointer)
        discard self
        try check(result, "commit")
    }

    deinit {
        mdb_txn_abort(pointer)
    }

    /// Stores `value` under `key`.
    public func put(
        _ database: Database, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, flags: PutFlags = []
    ) throws {
        var keyVal = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var valueVal = MDB_val(mv_size: value.count, mv_data: UnsafeMutableRawPointer(mutating: value.baseAddress))
        try check(mdb_put(pointer, database.dbi, &keyVal, &valueVal, flags.rawValue), "put", database.name)
    }

    /// Stores `value` under `key`, both as byte arrays.
    public func put(_ database: Database, key: [UInt8], value: [UInt8], flags: PutFlags = []) throws {
        try key.withUnsafeBytes { k in
            try value.withUnsafeBytes { v in try put(database, key: k, value: v, flags: flags) }
        }
    }

    /// Removes `key`; returns false when it was not there.
    @discardableResult
    public func delete(_ database: Database, key: [UInt8]) throws -> Bool {
        try key.withUnsafeBytes { k in
            var keyVal = MDB_val(mv_size: k.count, mv_data: UnsafeMutableRawPointer(mutating: k.baseAddress))
            let result = mdb_del(pointer, database.dbi, &keyVal, nil)
            if result == MDB_NOTFOUND { return false }
            try check(result, "delete", database.name)
            return true
        }
    }

    /// Removes every entry of `database`, keeping the database.
    public func clear(_ database: Database) throws {
        try check(mdb_drop(pointer, database.dbi, 0), "clear", database.name)
    }

    /// Runs `body` in a child transaction: its writes become part of this one when `body` returns, and
    /// vanish alone when it throws, leaving this transaction as it was.
    public func nested<T>(_ body: (borrowing WriteTransaction) throws -> T) throws -> T {
        let child = try WriteTransaction(beginIn: mdb_txn_env(pointer), parent: pointer)
        let result = try body(child)
        try child.commit()
        return result
    }
}

import CLMDB

/// The `MDB_txn` of a transaction, opaque outside this module.
///
/// Non-copyable and without an initializer outside this module: code above this layer can neither keep a
/// transaction's handle past the transaction (it can only borrow it) nor make one, so it cannot conform a
/// type of its own to ``ReadableTransaction`` around a handle that was freed.
package struct TransactionHandle: ~Copyable {
    let pointer: OpaquePointer
}

/// Operations every transaction offers: reading keys and walking cursors.
///
/// A value read in place is handed to a closure as a `RawSpan` over the map: a non-escapable view that the
/// compiler does not let out of the closure (neither returned nor stored), so no caller can hold bytes of a
/// transaction that ended or of a page a later write reused. The copying accessors return arrays.
package protocol ReadableTransaction: ~Copyable {
    /// The transaction's handle, which only this module can open.
    var handle: TransactionHandle { get }
}

extension ReadableTransaction where Self: ~Copyable {
    /// Runs `body` on the value stored under `key`, a view into the map valid only during the call; nil,
    /// without calling `body`, when there is no such key.
    package func withValue<T>(_ database: Database, key: [UInt8], _ body: (_ value: RawSpan) throws -> T) throws -> T? {
        let pointer = handle.pointer
        return try key.withUnsafeBytes { key in
            var keyVal = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
            var value = MDB_val()
            let result = mdb_get(pointer, database.dbi, &keyVal, &value)
            if result == MDB_NOTFOUND { return nil }
            try check(result, "get", database.name)
            let bytes = UnsafeRawBufferPointer(start: value.mv_data, count: value.mv_size)
            return try body(RawSpan(_unsafeBytes: bytes))
        }
    }

    /// The value stored under `key`, copied out, or nil.
    package func get(_ database: Database, key: some Sequence<UInt8>) throws -> [UInt8]? {
        try withValue(database, key: Array(key)) { value in value.withUnsafeBytes { Array($0) } }
    }

    /// Opens a cursor on `database` for the duration of `body`, then closes it. The cursor is borrowed by
    /// `body` and closed before this returns, so it cannot outlive the transaction.
    package func withCursor<T>(_ database: Database, _ body: (borrowing Cursor) throws -> T) throws -> T {
        let cursor = try Cursor(transaction: handle.pointer, database: database)
        return try body(cursor)
    }

    /// How many entries `database` holds.
    package func count(_ database: Database) throws -> Int {
        var stat = MDB_stat()
        try check(mdb_stat(handle.pointer, database.dbi, &stat), "mdb_stat", database.name)
        return stat.ms_entries
    }
}

/// A read-only transaction: a consistent snapshot of the environment. Exists only inside
/// ``Environment/read(_:)``; it has no write methods.
package struct ReadTransaction: ~Copyable, ReadableTransaction {
    /// The raw `MDB_txn`, for this module only.
    let pointer: OpaquePointer
    /// Lent, never given: a caller can use it only while it borrows the transaction.
    package var handle: TransactionHandle { _read { yield TransactionHandle(pointer: pointer) } }

    init(beginIn env: OpaquePointer) throws {
        var txn: OpaquePointer?
        try check(mdb_txn_begin(env, nil, UInt32(MDB_RDONLY), &txn), "mdb_txn_begin (read)")
        pointer = txn!
    }

    /// The id of the snapshot: the transaction id of the commit it sees.
    package var id: UInt64 { UInt64(mdb_txn_id(pointer)) }

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
package struct PutFlags: OptionSet, Sendable {
    package let rawValue: UInt32
    package init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Fail with `.keyExists` instead of overwriting.
    package static let noOverwrite = PutFlags(rawValue: UInt32(MDB_NOOVERWRITE))
    /// The key sorts after every key present: LMDB skips the search. Fails with `.keyExists` otherwise.
    package static let append = PutFlags(rawValue: UInt32(MDB_APPEND))
}

/// A read-write transaction. Exists only inside ``Environment/write(_:)`` (or ``nested(_:)``), which
/// commits it once when the body returns and aborts it when the body throws.
package struct WriteTransaction: ~Copyable, ReadableTransaction {
    /// The raw `MDB_txn`, for this module only.
    let pointer: OpaquePointer
    /// Lent, never given: a caller can use it only while it borrows the transaction.
    package var handle: TransactionHandle { _read { yield TransactionHandle(pointer: pointer) } }

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
    package func put(_ database: Database, key: [UInt8], value: [UInt8], flags: PutFlags = []) throws {
        try key.withUnsafeBytes { key in
            try value.withUnsafeBytes { value in
                var keyVal = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
                var valueVal = MDB_val(mv_size: value.count, mv_data: UnsafeMutableRawPointer(mutating: value.baseAddress))
                try check(mdb_put(pointer, database.dbi, &keyVal, &valueVal, flags.rawValue), "put", database.name)
            }
        }
    }

    /// Removes `key`; returns false when it was not there.
    @discardableResult
    package func delete(_ database: Database, key: [UInt8]) throws -> Bool {
        try key.withUnsafeBytes { k in
            var keyVal = MDB_val(mv_size: k.count, mv_data: UnsafeMutableRawPointer(mutating: k.baseAddress))
            let result = mdb_del(pointer, database.dbi, &keyVal, nil)
            if result == MDB_NOTFOUND { return false }
            try check(result, "delete", database.name)
            return true
        }
    }

    /// Removes every entry of `database`, keeping the database.
    package func clear(_ database: Database) throws {
        try check(mdb_drop(pointer, database.dbi, 0), "clear", database.name)
    }

    /// Runs `body` in a child transaction: its writes become part of this one when `body` returns, and
    /// vanish alone when it throws, leaving this transaction as it was. While the child runs, LMDB refuses
    /// every operation on this transaction (`MDB_BAD_TXN`), so the two cannot interleave; cursors opened on
    /// this one are moved into the child by LMDB and read what it sees.
    package func nested<T>(_ body: (borrowing WriteTransaction) throws -> T) throws -> T {
        let child = try WriteTransaction(beginIn: mdb_txn_env(pointer), parent: pointer)
        let result = try body(child)
        try child.commit()
        return result
    }
}

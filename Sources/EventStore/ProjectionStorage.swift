import Foundation
import LMDB

/// Where projectors keep their state between runs: named entries per projection and a checkpoint (the
/// last position folded in), in the ledger's own environment. The event store knows nothing of what the
/// bytes mean; `verify` does not read them, and `ledger rebuild` may drop them at any time.
extension EventStore {
    /// A projection's saved entries and checkpoint (0 and no entries when it was never saved).
    public struct ProjectionSnapshot: Sendable, Hashable {
        public let checkpoint: UInt64
        public let entries: [String: [UInt8]]
    }

    /// The saved state of projection `name`: its checkpoint and the entries named in `keys`, or else every
    /// entry whose key starts with `prefix` (all of them by default).
    public func loadProjection(_ name: String, keys: Set<String>? = nil, prefix keyPrefix: String = "") throws
        -> ProjectionSnapshot
    {
        try readTransaction { txn in
            let tables = try projectionTables()
            let checkpoint =
                try txn.get(tables.checkpoints, key: Array(name.utf8)).map { bytes in
                    bytes.withUnsafeBytes { Keys.readBigEndian($0) }
                } ?? 0
            var entries: [String: [UInt8]] = [:]
            if let keys {
                for key in keys {
                    if let value = try txn.get(tables.entries, key: Keys.text(name) + Array(key.utf8)) { entries[key] = value }
                }
            } else {
                let namePrefix = Keys.text(name)
                try txn.withCursor(tables.entries) { cursor in
                    var iterator = cursor.entries(withPrefix: namePrefix + Array(keyPrefix.utf8)).makeIterator()
                    while let entry = iterator.next() {
                        let key = String(decoding: entry.key[namePrefix.count...], as: UTF8.self)
                        entries[key] = Array(entry.value)
                    }
                    if let error = iterator.error { throw EventStoreError.storage(error) }
                }
            }
            return ProjectionSnapshot(checkpoint: checkpoint, entries: entries)
        }
    }

    /// Saves changed entries and moves the checkpoint from `expected` to `checkpoint`, atomically. Returns
    /// false, saving nothing, when another writer moved the checkpoint meanwhile: the caller's state is
    /// then not the saved one's successor, and it simply does not save.
    @discardableResult
    public func saveProjection(_ name: String, from expected: UInt64, to checkpoint: UInt64, changed: [String: [UInt8]]) throws
        -> Bool
    {
        try writeTransaction { txn in
            let tables = try projectionTables()
            let current =
                try txn.get(tables.checkpoints, key: Array(name.utf8)).map { bytes in
                    bytes.withUnsafeBytes { Keys.readBigEndian($0) }
                } ?? 0
            guard current == expected else { return false }
            for (key, value) in changed { try txn.put(tables.entries, key: Keys.text(name) + Array(key.utf8), value: value) }
            try txn.put(tables.checkpoints, key: Array(name.utf8), value: Keys.bigEndian(checkpoint))
            return true
        }
    }

    /// Drops projection `name` whole, so that it is rebuilt from position 1.
    public func clearProjection(_ name: String) throws {
        try writeTransaction { txn in
            let tables = try projectionTables()
            var keys: [[UInt8]] = []
            try txn.withCursor(tables.entries) { cursor in
                for entry in cursor.entries(withPrefix: Keys.text(name)) { keys.append(Array(entry.key)) }
            }
            for key in keys { try txn.delete(tables.entries, key: key) }
            try txn.delete(tables.checkpoints, key: Array(name.utf8))
        }
    }

    func projectionTables() throws -> ProjectionTables { tables.projections }
}

/// The two databases of projection state.
struct ProjectionTables: Sendable {
    /// projection name, 0, entry key → bytes
    let entries: Database
    /// projection name → checkpoint position
    let checkpoints: Database

    init(_ env: Environment) throws {
        entries = try env.openDatabase("projection-entries")
        checkpoints = try env.openDatabase("projection-checkpoints")
    }
}

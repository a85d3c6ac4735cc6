import Foundation
import LMDB

/// Where projectors keep their state between runs: named entries per projection and a checkpoint (the
/// last position folded in), in the ledger's own environment. The event store knows nothing of what the
/// bytes mean, and `ledger rebuild` may drop them at any time.
///
/// Each save seals the projection: beside the checkpoint it keeps the chain hash of the event at the
/// checkpoint and an order-independent digest of every entry (the sum, modulo 2^256, of SHA-256 over each
/// key and value), updated from the entries a save changes. ``checkProjection(_:)`` recomputes both, so a
/// saved projection edited behind the store's back, or left from another log, is found out.
extension EventStore {
    /// A projection's saved entries and checkpoint (0 and no entries when it was never saved).
    package struct ProjectionSnapshot: Sendable, Hashable {
        package let checkpoint: UInt64
        package let entries: [String: [UInt8]]
    }

    /// What ``checkProjection(_:)`` found.
    package enum ProjectionIntegrity: Sendable, Hashable {
        /// Nothing saved.
        case neverSaved
        /// The entries match the digest of the last save, and the event at the checkpoint is the one it saw.
        case sound(checkpoint: UInt64)
        /// Saved by a build that kept no seal: nothing to check it against but the log.
        case unsealed(checkpoint: UInt64)
        /// The saved state is not what the last save left: it must not be answered from.
        case mismatch(String)
    }

    /// The saved state of projection `name`: its checkpoint and the entries named in `keys`, or else every
    /// entry whose key starts with `prefix` (all of them by default).
    package func loadProjection(_ name: String, keys: Set<String>? = nil, prefix keyPrefix: String = "") throws
        -> ProjectionSnapshot
    {
        try readTransaction { txn in
            let tables = try projectionTables()
            let checkpoint = try txn.get(tables.checkpoints, key: Array(name.utf8)).flatMap(ProjectionSeal.init)?.checkpoint ?? 0
            var entries: [String: [UInt8]] = [:]
            if let keys {
                for key in keys {
                    if let value = try txn.get(tables.entries, key: Keys.text(name) + Array(key.utf8)) { entries[key] = value }
                }
            } else {
                let namePrefix = Keys.text(name)
                try txn.withCursor(tables.entries) { cursor in
                    try cursor.forEach(withPrefix: namePrefix + Array(keyPrefix.utf8)) { key, value in
                        let key = key.withUnsafeBytes { String(decoding: $0[namePrefix.count...], as: UTF8.self) }
                        entries[key] = value.copiedBytes
                        return true
                    }
                }
            }
            return ProjectionSnapshot(checkpoint: checkpoint, entries: entries)
        }
    }

    /// Saves changed entries and moves the checkpoint from `expected` to `checkpoint`, atomically, resealing
    /// the projection. Returns false, saving nothing, when another writer moved the checkpoint meanwhile:
    /// the caller's state is then not the saved one's successor, and it simply does not save.
    @discardableResult
    package func saveProjection(_ name: String, from expected: UInt64, to checkpoint: UInt64, changed: [String: [UInt8]]) throws
        -> Bool
    {
        try writeTransaction { txn in
            let tables = try projectionTables()
            let record = try txn.get(tables.checkpoints, key: Array(name.utf8)).flatMap(ProjectionSeal.init)
            guard (record?.checkpoint ?? 0) == expected else { return false }
            // A projection saved before seals existed gets its digest computed once, from all its entries.
            var digest = try record?.digest ?? projectionDigest(name, in: txn)
            let namePrefix = Keys.text(name)
            for (key, value) in changed {
                let fullKey = namePrefix + Array(key.utf8)
                if let old = try txn.get(tables.entries, key: fullKey) {
                    digest.subtract(ProjectionDigest.entryHash(key: Array(key.utf8), value: old))
                }
                digest.add(ProjectionDigest.entryHash(key: Array(key.utf8), value: value))
                try txn.put(tables.entries, key: fullKey, value: value)
            }
            let seal = ProjectionSeal(checkpoint: checkpoint, chainHash: try chainHash(at: checkpoint, in: txn), digest: digest)
            try txn.put(tables.checkpoints, key: Array(name.utf8), value: seal.bytes)
            return true
        }
    }

    /// Whether projection `name` as saved is what its last save left (see ``ProjectionIntegrity``).
    package func checkProjection(_ name: String) throws -> ProjectionIntegrity {
        try readTransaction { txn in
            let tables = try projectionTables()
            let digest = try projectionDigest(name, in: txn)
            guard let bytes = try txn.get(tables.checkpoints, key: Array(name.utf8)) else {
                return digest == ProjectionDigest() ? .neverSaved : .mismatch("holds entries but no checkpoint")
            }
            guard let seal = ProjectionSeal(bytes) else {
                return .mismatch("its checkpoint record has \(bytes.count) bytes, not 8 or 72")
            }
            let head = try head(in: txn).position
            guard seal.checkpoint <= head else {
                return .mismatch("its checkpoint \(seal.checkpoint) lies past the log's last position \(head)")
            }
            guard let chainHash = seal.chainHash, let sealed = seal.digest else { return .unsealed(checkpoint: seal.checkpoint) }
            guard try self.chainHash(at: seal.checkpoint, in: txn) == chainHash else {
                return .mismatch("it was saved at position \(seal.checkpoint) of another log (the event there has another hash)")
            }
            guard sealed == digest else { return .mismatch("its entries do not match the digest of its last save") }
            return .sound(checkpoint: seal.checkpoint)
        }
    }

    /// The names of every saved projection.
    package func projectionNames() throws -> [String] {
        try readTransaction { txn in
            try txn.withCursor(try projectionTables().checkpoints) { cursor in
                var names: [String] = []
                try cursor.forEach { key, _ in
                    names.append(key.withUnsafeBytes { String(decoding: $0, as: UTF8.self) })
                    return true
                }
                return names
            }
        }
    }

    private func chainHash(at position: UInt64, in txn: borrowing some ReadableTransaction & ~Copyable) throws -> [UInt8] {
        guard position > 0 else { return [UInt8](repeating: 0, count: EventCodec.hashSize) }
        guard let stored = try txn.get(tables.events, key: Keys.position(position)), stored.count >= EventCodec.hashSize else {
            throw EventStoreError(.corrupted, field: "position \(position)", "a projection's checkpoint names a missing event")
        }
        return Array(stored.prefix(EventCodec.hashSize))
    }

    /// The digest of every saved entry of `name`, recomputed.
    private func projectionDigest(_ name: String, in txn: borrowing some ReadableTransaction & ~Copyable) throws
        -> ProjectionDigest
    {
        let namePrefix = Keys.text(name)
        return try txn.withCursor(try projectionTables().entries) { cursor in
            var digest = ProjectionDigest()
            try cursor.forEach(withPrefix: namePrefix) { key, value in
                let key = key.withUnsafeBytes { Array($0[namePrefix.count...]) }
                digest.add(ProjectionDigest.entryHash(key: key, value: value.copiedBytes))
                return true
            }
            return digest
        }
    }

    /// Drops projection `name` whole, so that it is rebuilt from position 1.
    package func clearProjection(_ name: String) throws {
        try writeTransaction { txn in
            let tables = try projectionTables()
            var keys: [[UInt8]] = []
            try txn.withCursor(tables.entries) { cursor in
                try cursor.forEach(withPrefix: Keys.text(name)) { key, _ in
                    keys.append(key.copiedBytes)
                    return true
                }
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

}

/// A projection's checkpoint record: the checkpoint (8 bytes, big-endian), then, since seals exist, the
/// chain hash of the event at it and the digest of the entries (32 bytes each).
struct ProjectionSeal {
    let checkpoint: UInt64
    let chainHash: [UInt8]?
    let digest: ProjectionDigest?

    init(checkpoint: UInt64, chainHash: [UInt8], digest: ProjectionDigest) {
        self.checkpoint = checkpoint
        self.chainHash = chainHash
        self.digest = digest
    }

    init?(_ bytes: [UInt8]) {
        guard bytes.count == 8 || bytes.count == 72 else { return nil }
        checkpoint = bytes.withUnsafeBytes { Keys.readBigEndian(UnsafeRawBufferPointer(rebasing: $0[0..<8])) }
        chainHash = bytes.count == 72 ? Array(bytes[8..<40]) : nil
        digest = bytes.count == 72 ? ProjectionDigest(Array(bytes[40..<72])) : nil
    }

    var bytes: [UInt8] { Keys.bigEndian(checkpoint) + (chainHash ?? []) + (digest?.bytes ?? []) }
}

/// A sum of 256-bit values modulo 2^256: adding and removing entries in any order gives the same digest.
struct ProjectionDigest: Hashable {
    /// Little-endian 64-bit limbs.
    private var limbs: [UInt64] = [0, 0, 0, 0]

    init() {}

    init(_ bytes: [UInt8]) {
        for i in 0..<4 {
            limbs[i] = bytes[(i * 8)..<(i * 8 + 8)].reversed().reduce(0) { $0 << 8 | UInt64($1) }
        }
    }

    var bytes: [UInt8] { limbs.flatMap { limb in (0..<8).map { UInt8(truncatingIfNeeded: limb >> (8 * $0)) } } }

    /// SHA-256 of the key's length (4 bytes), the key and the value: no two entries share one by shifting
    /// bytes between key and value.
    static func entryHash(key: [UInt8], value: [UInt8]) -> ProjectionDigest {
        let length = UInt32(key.count).bigEndian
        let input = withUnsafeBytes(of: length) { Array($0) } + key + value
        return ProjectionDigest(input.withUnsafeBytes { EventCodec.digest($0) })
    }

    mutating func add(_ other: ProjectionDigest) {
        var carry: UInt64 = 0
        for i in 0..<4 {
            let (a, o1) = limbs[i].addingReportingOverflow(other.limbs[i])
            let (b, o2) = a.addingReportingOverflow(carry)
            limbs[i] = b
            carry = (o1 ? 1 : 0) + (o2 ? 1 : 0)
        }
    }

    mutating func subtract(_ other: ProjectionDigest) {
        var borrow: UInt64 = 0
        for i in 0..<4 {
            let (a, o1) = limbs[i].subtractingReportingOverflow(other.limbs[i])
            let (b, o2) = a.subtractingReportingOverflow(borrow)
            limbs[i] = b
            borrow = (o1 ? 1 : 0) + (o2 ? 1 : 0)
        }
    }
}

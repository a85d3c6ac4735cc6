import Crypto
import LMDB
import LedgerProofs

/// The Merkle tree over the log (RFC 9162 §2.1), kept in the `merkle` database beside the events.
///
/// A leaf is an event's canonical bytes, the ones its chain hash covers. The database holds the hash of every
/// complete, aligned subtree (`level` byte ‖ big-endian `index` → 32 bytes) whose last leaf is at or before
/// `indexed-through`: the subtrees an event completes (two on average) are written behind the commit, with the
/// secondary indexes (DeferredIndexes.swift). A subtree that ends after `indexed-through` (at most
/// ``indexLag`` events) is computed from the log's events, so that the root at any size, an inclusion proof and
/// a consistency proof each read O(log n) stored subtrees and at most that tail. The hash chain still orders the
/// log; the tree gives short proofs that a checkpoint signed today covers what was signed before.
extension EventStore {
    /// The subtrees on the tree's right edge for `size` leaves, by address: the left siblings that the next
    /// appends combine with. Read once per commit (O(log n) gets, and the log's events after what the stored
    /// subtrees cover), not per event.
    func treeFrontier(ofSize size: UInt64, in txn: borrowing some ReadableTransaction & ~Copyable) throws -> [SubtreeAddress:
        MerkleHash]
    {
        let stored = min(size, try indexedThrough(in: txn))
        var frontier = try storedFrontier(ofSize: stored, in: txn)
        if stored < size {
            for position in (stored + 1)...size {
                _ = try withStoredEvent(at: position, in: txn) { _, canonical in
                    try Self.subtreesCompleted(by: canonical, at: position, frontier: &frontier)
                }
            }
        }
        return frontier
    }

    /// The right edge for `size` leaves, every subtree of which is stored (`size` is at most `indexed-through`).
    func storedFrontier(ofSize size: UInt64, in txn: borrowing some ReadableTransaction & ~Copyable) throws -> [SubtreeAddress:
        MerkleHash]
    {
        var frontier: [SubtreeAddress: MerkleHash] = [:]
        for address in MerkleTree.rootSubtrees(ofSize: size) {
            guard let hash = try storedSubtreeHash(address, in: txn) else {
                throw EventStoreError(.corrupted, field: "merkle", "the tree lacks \(address)")
            }
            frontier[address] = hash
        }
        return frontier
    }

    /// One subtree's hash: stored, or computed from the log when it ends after `indexed-through` (its subtrees
    /// are not written yet). A missing one that should be stored, or a malformed one, is damage, named.
    func subtreeHash(_ address: SubtreeAddress, in txn: borrowing some ReadableTransaction & ~Copyable) throws -> MerkleHash {
        try subtreeHash(address, after: try indexedThrough(in: txn), head: try head(in: txn).position, in: txn)
    }

    private func subtreeHash(
        _ address: SubtreeAddress, after indexed: UInt64, head: UInt64, in txn: borrowing some ReadableTransaction & ~Copyable
    ) throws -> MerkleHash {
        if let stored = try storedSubtreeHash(address, in: txn) { return stored }
        // The subtree's leaves are positions index·2^level + 1 through (index + 1)·2^level.
        guard address.level < 64, address.index < UInt64.max >> address.level,
            case let last = (address.index + 1) << address.level, last > indexed, last <= head
        else { throw EventStoreError(.corrupted, field: "merkle", "the tree lacks \(address)") }
        guard address.level > 0 else {
            return try withStoredEvent(at: last, in: txn) { _, canonical in Self.leafHash(canonical) }
        }
        let left = SubtreeAddress(level: address.level - 1, index: address.index << 1)
        let right = SubtreeAddress(level: address.level - 1, index: address.index << 1 | 1)
        return Self.nodeHash(
            try subtreeHash(left, after: indexed, head: head, in: txn),
            try subtreeHash(right, after: indexed, head: head, in: txn))
    }

    /// Calls `body` with the stored bytes of the event at `position` (hash, then canonical bytes) and its canonical
    /// bytes alone, the leaf; a missing or truncated event is damage, named.
    func withStoredEvent<T>(
        at position: UInt64, in txn: borrowing some ReadableTransaction & ~Copyable,
        _ body: (_ stored: UnsafeRawBufferPointer, _ canonical: UnsafeRawBufferPointer) throws -> T
    ) throws -> T {
        let result = try txn.withValue(tables.events, key: Keys.position(position)) { value in
            try value.withUnsafeBytes { stored in
                guard stored.count > EventCodec.hashSize else {
                    throw EventStoreError(
                        .corrupted, field: "position \(position)", "stored event is truncated (\(stored.count) bytes)")
                }
                return try body(stored, UnsafeRawBufferPointer(rebasing: stored[EventCodec.hashSize...]))
            }
        }
        guard let result else {
            throw EventStoreError(.corrupted, field: "position \(position)", "the log lacks an event before its head")
        }
        return result
    }

    /// The stored hash of one subtree, nil when it is not stored; a malformed one is damage, named.
    private func storedSubtreeHash(_ address: SubtreeAddress, in txn: borrowing some ReadableTransaction & ~Copyable) throws
        -> MerkleHash?
    {
        guard let bytes = try txn.get(tables.merkle, key: address.storageKey) else { return nil }
        guard let hash = MerkleHash(bytes: bytes) else {
            throw EventStoreError(.corrupted, field: "merkle", "\(address) holds \(bytes.count) bytes, not 32")
        }
        return hash
    }

    /// The subtrees the event at `position` completes, given the right edge before it; `frontier` becomes the
    /// right edge after it. Pure: the append writes these, `verify` compares them with what is stored.
    ///
    /// What ``MerkleTree/subtreesCompleted(byAppending:at:from:)`` computes, edited in place: leaf `n` (the size
    /// before) combines with the edge's blocks of `n`'s trailing one bits, and the edge of `n + 1` is the edge of
    /// `n` without them, with the largest subtree completed. No dictionary is built per event.
    static func subtreesCompleted(
        by canonical: UnsafeRawBufferPointer, at position: UInt64, frontier: inout [SubtreeAddress: MerkleHash]
    ) throws -> [Subtree] {
        var address = SubtreeAddress(level: 0, index: position - 1)
        var hash = leafHash(canonical)
        var completed: [Subtree] = []
        completed.reserveCapacity((~(position - 1)).trailingZeroBitCount + 1)
        while true {
            completed.append(Subtree(address: address, hash: hash))
            // A right child (odd index) completes its parent; a left child waits for its sibling.
            guard address.index & 1 == 1 else { break }
            let leftAddress = SubtreeAddress(level: address.level, index: address.index - 1)
            guard let left = frontier[leftAddress] else {
                throw EventStoreError(.corrupted, field: "merkle", "the tree's right edge lacks \(leftAddress)")
            }
            hash = nodeHash(left, hash)
            address = SubtreeAddress(level: address.level + 1, index: address.index >> 1)
        }
        for subtree in completed.dropLast() {
            frontier[SubtreeAddress(level: subtree.address.level, index: subtree.address.index - 1)] = nil
        }
        frontier[address] = hash
        return completed
    }

    /// ``MerkleTree/leafHash(_:)`` hashing the bytes where they are: `SHA-256(0x00 ‖ leaf)`.
    static func leafHash(_ leaf: UnsafeRawBufferPointer) -> MerkleHash {
        var hasher = SHA256()
        withUnsafeBytes(of: UInt8(0x00)) { hasher.update(bufferPointer: $0) }
        hasher.update(bufferPointer: leaf)
        return hasher.finalize().withUnsafeBytes { MerkleHash(bytes: $0)! }
    }

    /// ``MerkleTree/nodeHash(_:_:)``: `SHA-256(0x01 ‖ left ‖ right)`.
    static func nodeHash(_ left: MerkleHash, _ right: MerkleHash) -> MerkleHash {
        var hasher = SHA256()
        withUnsafeBytes(of: UInt8(0x01)) { hasher.update(bufferPointer: $0) }
        left.bytes.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        right.bytes.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        return hasher.finalize().withUnsafeBytes { MerkleHash(bytes: $0)! }
    }

    static func subtreesCompleted(by canonical: [UInt8], at position: UInt64, frontier: inout [SubtreeAddress: MerkleHash])
        throws -> [Subtree]
    {
        try canonical.withUnsafeBytes { try subtreesCompleted(by: $0, at: position, frontier: &frontier) }
    }

    /// How many subtrees a tree of `size` leaves stores: ⌊size/2^k⌋ at each level k, that is 2·size − popcount(size).
    static func storedSubtreeCount(ofSize size: UInt64) -> UInt64 { 2 * size - UInt64(size.nonzeroBitCount) }

    /// Runs `body` with the stored subtrees of one read transaction as a ``SubtreeHashSource``.
    func withStoredTree<T>(_ body: (_ size: UInt64, _ source: SubtreeHashReader) throws -> T) throws -> T {
        guard keepsTree else { throw Self.noTree(directory) }
        return try readTransaction { txn in
            let size = try head(in: txn).position
            // The algorithms ask for a handful of subtrees: gather them from this transaction, then answer.
            var recorded: [SubtreeAddress: MerkleHash] = [:]
            let probe = SubtreeHashReader { address in
                recorded[address] = MerkleTree.emptyRoot
                return MerkleTree.emptyRoot
            }
            _ = try? body(size, probe)
            for address in recorded.keys { recorded[address] = try subtreeHash(address, in: txn) }
            return try body(
                size,
                SubtreeHashReader { address in
                    guard let hash = recorded[address] else {
                        throw EventStoreError(.corrupted, field: "merkle", "the tree lacks \(address)")
                    }
                    return hash
                })
        }
    }

    /// What roots, proofs, checkpoints and bundles of a ledger created without its tree throw.
    static func noTree(_ directory: String) -> EventStoreError {
        EventStoreError(
            .invalidEvent, field: directory,
            "was written without its Merkle tree (a benchmark ledger): it has no roots, proofs or checkpoints")
    }

    /// The root of the tree of the first `size` events (the whole log when nil).
    public func treeRoot(size: UInt64? = nil) throws -> (size: UInt64, root: MerkleHash) {
        try withStoredTree { logSize, source in
            let size = size ?? logSize
            guard size <= logSize else {
                throw EventStoreError(.invalidEvent, field: "size", "the ledger holds \(logSize) events, not \(size)")
            }
            return (size, try MerkleTree.root(ofSize: size, in: source))
        }
    }

    /// The inclusion proof of the event at `position` in the tree of `size` events (RFC 9162 §2.1.3).
    public func inclusionProof(position: UInt64, size: UInt64) throws -> [MerkleHash] {
        try withStoredTree { logSize, source in
            guard size <= logSize, (1...max(size, 1)).contains(position), size > 0 else {
                throw EventStoreError(
                    .invalidEvent, field: "position",
                    "event \(position) is not in a tree of \(size) events (the ledger holds \(logSize))")
            }
            return try MerkleTree.inclusionProof(leafIndex: position - 1, treeSize: size, in: source)
        }
    }

    /// The consistency proof from the tree of `oldSize` events to the tree of `newSize` (RFC 9162 §2.1.4).
    public func consistencyProof(from oldSize: UInt64, to newSize: UInt64) throws -> [MerkleHash] {
        try withStoredTree { logSize, source in
            guard oldSize <= newSize, newSize <= logSize else {
                throw EventStoreError(
                    .invalidEvent, field: "size",
                    "no consistency from \(oldSize) to \(newSize) events (the ledger holds \(logSize))")
            }
            return try MerkleTree.consistencyProof(from: oldSize, to: newSize, in: source)
        }
    }
}

/// The right edge of the tree as a ``SubtreeHashSource``: all an append reads.
struct FrontierSource: SubtreeHashSource {
    let frontier: [SubtreeAddress: MerkleHash]
    func hash(of subtree: SubtreeAddress) throws -> MerkleHash {
        guard let hash = frontier[subtree] else {
            throw EventStoreError(.corrupted, field: "merkle", "the tree's right edge lacks \(subtree)")
        }
        return hash
    }
}

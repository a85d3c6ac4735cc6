import Crypto
import Foundation

/// A complete, aligned subtree of the log's Merkle tree: the `2^level` leaves
/// `[index·2^level, (index+1)·2^level)`.
///
/// Every hash a root or a proof needs is a fold of a few of these, and once the log holds all of a
/// subtree's leaves its hash never changes: that is what a store keeps, one record per address.
public struct SubtreeAddress: Hashable, Sendable, CustomStringConvertible {
    /// The height above the leaves: 0 for a leaf, k for a block of 2^k leaves.
    public let level: Int
    /// The block's number among the blocks of its level, counted from the log's start.
    public let index: UInt64

    public init(level: Int, index: UInt64) {
        precondition((0..<64).contains(level), "a subtree of 2^\(level) leaves cannot exist in a log of UInt64 size")
        self.level = level
        self.index = index
    }

    /// The index of the subtree's first leaf.
    public var firstLeaf: UInt64 { index << UInt64(level) }

    /// How many leaves it covers.
    public var leafCount: UInt64 { 1 << UInt64(level) }

    public var description: String { "subtree \(index) at level \(level)" }

    /// A 9-byte key for a store: the level, then the index big-endian. Keys sort by level, then by index,
    /// so each level grows at its end as the log does.
    public var storageKey: [UInt8] {
        [UInt8(level)] + (0..<8).reversed().map { UInt8(truncatingIfNeeded: index >> (8 * UInt64($0))) }
    }

    /// The address a ``storageKey`` spells; nil for any other bytes.
    public init?(storageKey: some Collection<UInt8>) {
        let bytes = Array(storageKey)
        guard bytes.count == 9, bytes[0] < 64 else { return nil }
        self.init(level: Int(bytes[0]), index: bytes.dropFirst().reduce(0) { $0 << 8 | UInt64($1) })
    }
}

/// A subtree and its hash: what an append gives to store.
public struct Subtree: Hashable, Sendable {
    public let address: SubtreeAddress
    public let hash: MerkleHash

    public init(address: SubtreeAddress, hash: MerkleHash) {
        self.address = address
        self.hash = hash
    }
}

/// Where the tree algorithms read stored subtree hashes: an LMDB database, a dictionary in a test.
///
/// The algorithms only ask for subtrees whose leaves are all in the tree they work on, so a source that
/// stored what ``MerkleTree/subtreesCompleted(byAppending:at:from:)`` returned for every leaf can answer.
public protocol SubtreeHashSource {
    /// The stored hash of `subtree`: the RFC 9162 hash of its leaves. Throws when it is not stored.
    func hash(of subtree: SubtreeAddress) throws -> MerkleHash
}

/// A ``SubtreeHashSource`` made of a closure, for a store that reads inside its own transaction.
public struct SubtreeHashReader: SubtreeHashSource {
    private let read: (SubtreeAddress) throws -> MerkleHash

    public init(_ read: @escaping (SubtreeAddress) throws -> MerkleHash) { self.read = read }

    public func hash(of subtree: SubtreeAddress) throws -> MerkleHash { try read(subtree) }
}

/// Why a tree computation could not be made.
public enum MerkleTreeError: Error, Equatable, CustomStringConvertible {
    /// An inclusion proof was asked for a leaf the tree does not have.
    case leafIndexOutOfRange(leafIndex: UInt64, treeSize: UInt64)
    /// A consistency proof was asked from a larger tree to a smaller one.
    case sizesOutOfOrder(oldSize: UInt64, newSize: UInt64)
    /// A source did not hold a subtree the computation needed.
    case missingSubtree(SubtreeAddress)

    public var description: String {
        switch self {
        case .leafIndexOutOfRange(let leafIndex, let treeSize):
            "leaf index \(leafIndex) is not in a tree of size \(treeSize)"
        case .sizesOutOfOrder(let oldSize, let newSize):
            "no consistency proof from size \(oldSize) to the smaller size \(newSize)"
        case .missingSubtree(let address): "\(address) is not stored"
        }
    }
}

/// The Merkle tree of RFC 9162 §2.1 over the log, computed from stored aligned subtrees.
///
/// Leaf `i` is the canonical bytes of the event at position `i + 1`. Every function that reads a source
/// reads O(log n) subtrees: a root is the fold of the blocks of its size's binary decomposition, and a
/// proof is made of complete subtrees plus at most one or two such folds along the tree's ragged edge.
public enum MerkleTree {
    /// The root of the empty tree: SHA-256 of the empty string.
    public static let emptyRoot = MerkleHash(digest: SHA256.hash(data: [UInt8]()))

    /// `SHA-256(0x00 ‖ leaf)`.
    public static func leafHash(_ leaf: some DataProtocol) -> MerkleHash {
        var hasher = SHA256()
        hasher.update(data: [0x00])
        hasher.update(data: leaf)
        return MerkleHash(digest: hasher.finalize())
    }

    /// `SHA-256(0x01 ‖ left ‖ right)`.
    public static func nodeHash(_ left: MerkleHash, _ right: MerkleHash) -> MerkleHash {
        var hasher = SHA256()
        hasher.update(data: [0x01])
        hasher.update(data: left.bytes)
        hasher.update(data: right.bytes)
        return MerkleHash(digest: hasher.finalize())
    }

    /// RFC 9162's MTH by its recursive definition, over all the leaf hashes in memory: the reference the
    /// stored computation is checked against, not the way the ledger computes roots.
    public static func referenceRoot(ofLeafHashes leafHashes: [MerkleHash]) -> MerkleHash {
        referenceRoot(leafHashes[...])
    }

    /// ``referenceRoot(ofLeafHashes:)`` of the leaves themselves.
    public static func referenceRoot(ofLeaves leaves: [[UInt8]]) -> MerkleHash {
        referenceRoot(ofLeafHashes: leaves.map { leafHash($0) })
    }

    private static func referenceRoot(_ leafHashes: ArraySlice<MerkleHash>) -> MerkleHash {
        switch leafHashes.count {
        case 0: return emptyRoot
        case 1: return leafHashes.first!
        default:
            let split = leafHashes.startIndex + Int(largestPowerOfTwo(below: UInt64(leafHashes.count)))
            return nodeHash(referenceRoot(leafHashes[..<split]), referenceRoot(leafHashes[split...]))
        }
    }

    // MARK: Appending

    /// The subtrees that appending the leaf with hash `leafHash` at `index` (the tree's size before the
    /// append) completes: the leaf itself, then each ancestor whose right edge it closes. Reads the
    /// left siblings from `source`. On average two subtrees to write per leaf.
    public static func subtreesCompleted(
        byAppending leafHash: MerkleHash, at index: UInt64, from source: some SubtreeHashSource
    ) throws -> [Subtree] {
        try subtreesCompleted(byAppending: [leafHash], startingAt: index, from: source)
    }

    /// ``subtreesCompleted(byAppending:at:from:)`` for a batch of leaves appended together from
    /// `firstIndex` on: siblings completed inside the batch are taken from the batch, not the source,
    /// which has not stored them yet.
    public static func subtreesCompleted(
        byAppending leafHashes: [MerkleHash], startingAt firstIndex: UInt64, from source: some SubtreeHashSource
    ) throws -> [Subtree] {
        var completed: [Subtree] = []
        var inBatch: [SubtreeAddress: MerkleHash] = [:]
        for (offset, leafHash) in leafHashes.enumerated() {
            var address = SubtreeAddress(level: 0, index: firstIndex + UInt64(offset))
            var hash = leafHash
            while true {
                completed.append(Subtree(address: address, hash: hash))
                inBatch[address] = hash
                // A right child (odd index) completes its parent; a left child waits for its sibling.
                guard address.index & 1 == 1 else { break }
                let leftAddress = SubtreeAddress(level: address.level, index: address.index - 1)
                let left = try inBatch[leftAddress] ?? source.hash(of: leftAddress)
                hash = nodeHash(left, hash)
                address = SubtreeAddress(level: address.level + 1, index: address.index >> 1)
            }
        }
        return completed
    }

    // MARK: Roots

    /// The aligned subtrees that tile the tree of `size` leaves, largest first: one per set bit of `size`.
    public static func rootSubtrees(ofSize size: UInt64) -> [SubtreeAddress] {
        blocks(start: 0, count: size)
    }

    /// The root of the tree of the log's first `size` leaves.
    public static func root(ofSize size: UInt64, in source: some SubtreeHashSource) throws -> MerkleHash {
        size == 0 ? emptyRoot : try rangeHash(start: 0, count: size, in: source)
    }

    // MARK: Proofs

    /// RFC 9162 §2.1.3.1 PATH(m, D[n]): the inclusion proof of leaf `leafIndex` in the tree of
    /// `treeSize` leaves, the sibling nearest the leaf first.
    public static func inclusionProof(
        leafIndex: UInt64, treeSize: UInt64, in source: some SubtreeHashSource
    ) throws -> [MerkleHash] {
        guard leafIndex < treeSize else { throw MerkleTreeError.leafIndexOutOfRange(leafIndex: leafIndex, treeSize: treeSize) }
        // Walk down from the root; each step's other half is a sibling on the path.
        var low: UInt64 = 0
        var high = treeSize
        var siblings: [MerkleHash] = []
        while high - low > 1 {
            let split = largestPowerOfTwo(below: high - low)
            if leafIndex - low < split {
                siblings.append(try rangeHash(start: low + split, count: high - low - split, in: source))
                high = low + split
            } else {
                siblings.append(try rangeHash(start: low, count: split, in: source))
                low += split
            }
        }
        return siblings.reversed()
    }

    /// RFC 9162 §2.1.4.1 PROOF(m, D[n]): the consistency proof from the tree of `oldSize` leaves to the
    /// tree of `newSize`. Empty when `oldSize` is 0 or equals `newSize`.
    public static func consistencyProof(
        from oldSize: UInt64, to newSize: UInt64, in source: some SubtreeHashSource
    ) throws -> [MerkleHash] {
        guard oldSize <= newSize else { throw MerkleTreeError.sizesOutOfOrder(oldSize: oldSize, newSize: newSize) }
        guard oldSize > 0, oldSize < newSize else { return [] }
        // SUBPROOF(m, D[low:high], isWholeOldTree), unrolled: the old tree's remaining part is `old` leaves.
        var low: UInt64 = 0
        var high = newSize
        var old = oldSize
        var isWholeOldTree = true
        var nodes: [MerkleHash] = []
        while old != high - low {
            let split = largestPowerOfTwo(below: high - low)
            if old <= split {
                nodes.append(try rangeHash(start: low + split, count: high - low - split, in: source))
                high = low + split
            } else {
                nodes.append(try rangeHash(start: low, count: split, in: source))
                low += split
                old -= split
                isWholeOldTree = false
            }
        }
        // The verifier knows the old root itself; any other old subtree has to be given.
        if !isWholeOldTree { nodes.append(try rangeHash(start: low, count: old, in: source)) }
        return nodes.reversed()
    }

    /// How many hashes the inclusion proof of a leaf at `leafIndex` in a tree of `treeSize` has.
    public static func inclusionProofLength(leafIndex: UInt64, treeSize: UInt64) -> Int {
        guard leafIndex < treeSize else { return 0 }
        // Below the level where the leaf's path and the last leaf's path meet, every sibling is a full
        // subtree; above it, the path has a sibling for each left block of the tree's ragged edge.
        let last = treeSize - 1
        let meetingLevel = 64 - (leafIndex ^ last).leadingZeroBitCount
        return meetingLevel + (last >> UInt64(meetingLevel)).nonzeroBitCount
    }

    /// How many hashes the consistency proof from `oldSize` to `newSize` has.
    public static func consistencyProofLength(from oldSize: UInt64, to newSize: UInt64) -> Int {
        guard oldSize > 0, oldSize < newSize else { return 0 }
        var low: UInt64 = 0
        var high = newSize
        var old = oldSize
        var isWholeOldTree = true
        var count = 0
        while old != high - low {
            let split = largestPowerOfTwo(below: high - low)
            count += 1
            if old <= split {
                high = low + split
            } else {
                low += split
                old -= split
                isWholeOldTree = false
            }
        }
        return count + (isWholeOldTree ? 0 : 1)
    }

    // MARK: Ranges

    /// The hash of leaves `[start, start+count)`, where `start` is a multiple of a power of two at least
    /// `count` (every range a root or a proof needs is one): the fold, right to left, of the aligned
    /// blocks of `count`'s binary decomposition placed from `start`.
    static func rangeHash(start: UInt64, count: UInt64, in source: some SubtreeHashSource) throws -> MerkleHash {
        let parts = blocks(start: start, count: count)
        var hash = try source.hash(of: parts.last!)
        for part in parts.dropLast().reversed() {
            hash = nodeHash(try source.hash(of: part), hash)
        }
        return hash
    }

    /// The aligned blocks tiling `[start, start+count)`, largest first.
    static func blocks(start: UInt64, count: UInt64) -> [SubtreeAddress] {
        var parts: [SubtreeAddress] = []
        var offset = start
        for level in stride(from: 63, through: 0, by: -1) where count >> UInt64(level) & 1 == 1 {
            precondition(offset % (1 << UInt64(level)) == 0, "[\(start), +\(count)) is not a prefix of an aligned subtree")
            parts.append(SubtreeAddress(level: level, index: offset >> UInt64(level)))
            offset += 1 << UInt64(level)
        }
        return parts
    }

    /// The largest power of two strictly below `n` (n ≥ 2): RFC 9162's split point k.
    static func largestPowerOfTwo(below n: UInt64) -> UInt64 {
        1 << UInt64(63 - (n - 1).leadingZeroBitCount)
    }
}

extension MerkleHash {
    init(digest: SHA256.Digest) {
        self.init(bytes: Array(digest))!
    }
}

/// The subtree hashes of a log held in memory: what a persistent store keeps, in a dictionary.
///
/// It appends exactly as a store must (the subtrees ``MerkleTree/subtreesCompleted(byAppending:at:from:)``
/// returns, and nothing else), so the tests check the algorithms against the same contract the LMDB
/// store fulfils, and a small tool can build proofs without a ledger.
public struct MemorySubtreeStore: SubtreeHashSource, Sendable {
    /// How many leaves have been appended.
    public private(set) var size: UInt64 = 0
    private var hashes: [SubtreeAddress: MerkleHash] = [:]

    public init() {}

    /// A store holding `leaves`, in order.
    public init(leaves: [[UInt8]]) {
        for leaf in leaves { append(leaf: leaf) }
    }

    /// Appends the leaf whose bytes are `leaf`.
    public mutating func append(leaf: [UInt8]) {
        append(leafHash: MerkleTree.leafHash(leaf))
    }

    /// Appends the leaf whose hash is `leafHash`.
    public mutating func append(leafHash: MerkleHash) {
        // The store holds every subtree an append reads, so this cannot fail.
        let completed = try! MerkleTree.subtreesCompleted(byAppending: leafHash, at: size, from: self)
        for subtree in completed { hashes[subtree.address] = subtree.hash }
        size += 1
    }

    /// Stores subtrees computed elsewhere, as a store applies a batch; `newSize` is the size after them.
    public mutating func store(_ subtrees: [Subtree], newSize: UInt64) {
        for subtree in subtrees { hashes[subtree.address] = subtree.hash }
        size = newSize
    }

    /// How many subtree hashes are stored (about two per leaf).
    public var storedSubtreeCount: Int { hashes.count }

    public func hash(of subtree: SubtreeAddress) throws -> MerkleHash {
        guard let hash = hashes[subtree] else { throw MerkleTreeError.missingSubtree(subtree) }
        return hash
    }
}

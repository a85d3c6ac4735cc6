/// Why a Merkle proof did not verify, in words a person checking the ledger can act on.
public enum ProofFailure: Error, Equatable, CustomStringConvertible {
    case leafIndexOutOfRange(leafIndex: UInt64, treeSize: UInt64)
    case oldSizeExceedsNewSize(oldSize: UInt64, newSize: UInt64)
    /// The proof has a different number of hashes than the sizes call for.
    case wrongProofLength(found: Int, expected: Int)
    /// The inclusion proof leads to another root than the one stated.
    case rootMismatch(computed: MerkleHash, stated: MerkleHash)
    /// The consistency proof does not rebuild the old tree's root.
    case oldRootMismatch(computed: MerkleHash, stated: MerkleHash)
    /// The consistency proof does not rebuild the new tree's root.
    case newRootMismatch(computed: MerkleHash, stated: MerkleHash)
    /// Two trees of the same size with different roots: they hold different logs.
    case differentRootsAtSameSize(size: UInt64)
    /// A tree of size 0 stated with a root other than SHA-256 of the empty string.
    case wrongEmptyTreeRoot(stated: MerkleHash)
    /// The log holds fewer leaves than the checkpoint it should extend: it lost some.
    case logShorterThanCheckpoint(logSize: UInt64, checkpointSize: UInt64)
    /// The log's first leaves do not hash to the checkpoint's root: they were changed since.
    case logRootDiffers(checkpointSize: UInt64, logRoot: MerkleHash, checkpointRoot: MerkleHash)

    public var description: String {
        switch self {
        case .leafIndexOutOfRange(let leafIndex, let treeSize):
            "leaf index \(leafIndex) is not in a tree of size \(treeSize)"
        case .oldSizeExceedsNewSize(let oldSize, let newSize):
            "the old size \(oldSize) is larger than the new size \(newSize)"
        case .wrongProofLength(let found, let expected):
            "the proof has \(found) hashes where these sizes need \(expected)"
        case .rootMismatch(let computed, let stated):
            "the proof leads to root \(computed.base64), not the stated \(stated.base64)"
        case .oldRootMismatch(let computed, let stated):
            "the proof rebuilds the old root as \(computed.base64), not the stated \(stated.base64)"
        case .newRootMismatch(let computed, let stated):
            "the proof rebuilds the new root as \(computed.base64), not the stated \(stated.base64)"
        case .differentRootsAtSameSize(let size):
            "two different roots for the same size \(size)"
        case .wrongEmptyTreeRoot(let stated):
            "the empty tree's root is SHA-256 of nothing, not \(stated.base64)"
        case .logShorterThanCheckpoint(let logSize, let checkpointSize):
            "the log has \(logSize) leaves, fewer than the checkpoint's \(checkpointSize): it is no extension of it"
        case .logRootDiffers(let checkpointSize, let logRoot, let checkpointRoot):
            "the log's first \(checkpointSize) leaves hash to \(logRoot.base64), not the checkpoint's root "
                + "\(checkpointRoot.base64): they changed since it was signed"
        }
    }
}

extension MerkleTree {
    /// RFC 9162 §2.1.3.2: checks that the leaf with `leafHash` is at `leafIndex` in the tree of
    /// `treeSize` leaves whose root is `root`. Throws the reason when it is not so.
    public static func verifyInclusion(
        leafHash: MerkleHash, leafIndex: UInt64, treeSize: UInt64, proof: [MerkleHash], root: MerkleHash
    ) throws(ProofFailure) {
        guard leafIndex < treeSize else { throw .leafIndexOutOfRange(leafIndex: leafIndex, treeSize: treeSize) }
        let expectedLength = inclusionProofLength(leafIndex: leafIndex, treeSize: treeSize)
        guard proof.count == expectedLength else { throw .wrongProofLength(found: proof.count, expected: expectedLength) }
        var fn = leafIndex
        var sn = treeSize - 1
        var r = leafHash
        for p in proof {
            guard sn != 0 else { throw .wrongProofLength(found: proof.count, expected: expectedLength) }
            if fn & 1 == 1 || fn == sn {
                r = nodeHash(p, r)
                // Skip the levels where this node is the last one, with no right sibling.
                while fn & 1 == 0 && fn != 0 {
                    fn >>= 1
                    sn >>= 1
                }
            } else {
                r = nodeHash(r, p)
            }
            fn >>= 1
            sn >>= 1
        }
        guard sn == 0 else { throw .wrongProofLength(found: proof.count, expected: expectedLength) }
        guard r == root else { throw .rootMismatch(computed: r, stated: root) }
    }

    /// RFC 9162 §2.1.4.2: checks that the tree of `newSize` leaves with root `newRoot` extends the tree
    /// of `oldSize` leaves with root `oldRoot`. An empty old tree and equal sizes take an empty proof.
    public static func verifyConsistency(
        oldSize: UInt64, newSize: UInt64, oldRoot: MerkleHash, newRoot: MerkleHash, proof: [MerkleHash]
    ) throws(ProofFailure) {
        guard oldSize <= newSize else { throw .oldSizeExceedsNewSize(oldSize: oldSize, newSize: newSize) }
        let expectedLength = consistencyProofLength(from: oldSize, to: newSize)
        guard proof.count == expectedLength else { throw .wrongProofLength(found: proof.count, expected: expectedLength) }
        if oldSize == 0 {
            guard oldRoot == emptyRoot else { throw .wrongEmptyTreeRoot(stated: oldRoot) }
            return
        }
        if oldSize == newSize {
            guard oldRoot == newRoot else { throw .differentRootsAtSameSize(size: oldSize) }
            return
        }
        // An old tree of 2^k leaves is a node of the new tree: the proof leaves it out, the root is it.
        let path = oldSize & (oldSize - 1) == 0 ? [oldRoot] + proof : proof
        var fn = oldSize - 1
        var sn = newSize - 1
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        var fr = path[0]
        var sr = path[0]
        for c in path.dropFirst() {
            guard sn != 0 else { throw .wrongProofLength(found: proof.count, expected: expectedLength) }
            if fn & 1 == 1 || fn == sn {
                fr = nodeHash(c, fr)
                sr = nodeHash(c, sr)
                while fn & 1 == 0 && fn != 0 {
                    fn >>= 1
                    sn >>= 1
                }
            } else {
                sr = nodeHash(sr, c)
            }
            fn >>= 1
            sn >>= 1
        }
        guard sn == 0 else { throw .wrongProofLength(found: proof.count, expected: expectedLength) }
        guard fr == oldRoot else { throw .oldRootMismatch(computed: fr, stated: oldRoot) }
        guard sr == newRoot else { throw .newRootMismatch(computed: sr, stated: newRoot) }
    }
}

extension MerkleTree {
    /// Checks that the log of `logSize` leaves in `source` is a consistent extension of `checkpoint`:
    /// it holds at least the checkpoint's leaves, and the first of them still hash to its root. What
    /// `ledger verify --checkpoint` asks of the ledger itself, in O(log n) reads.
    public static func verifyExtension(
        of checkpoint: Checkpoint, logSize: UInt64, in source: some SubtreeHashSource
    ) throws {
        guard checkpoint.size <= logSize else {
            throw ProofFailure.logShorterThanCheckpoint(logSize: logSize, checkpointSize: checkpoint.size)
        }
        let logRoot = try root(ofSize: checkpoint.size, in: source)
        guard logRoot == checkpoint.root else {
            throw ProofFailure.logRootDiffers(
                checkpointSize: checkpoint.size, logRoot: logRoot, checkpointRoot: checkpoint.root)
        }
    }
}

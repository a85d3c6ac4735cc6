import LedgerProofs
import Testing

/// The Certificate Transparency reference tree (RFC 6962's test data, used by RFC 9162 implementations):
/// eight leaves, the roots of every prefix, the hash of every complete subtree, and reference proofs.
@Suite("Merkle tree: RFC 6962 / 9162 reference vectors")
struct MerkleKnownAnswerTests {
    static let leaves: [[UInt8]] = [
        [], [0x00], [0x10], [0x20, 0x21], [0x30, 0x31], [0x40, 0x41, 0x42, 0x43],
        [0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57],
        [0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f],
    ]

    /// Roots at sizes 0 to 8.
    static let roots = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ].map(hash)

    /// The hash of every complete subtree, by level then index.
    static let subtrees: [[MerkleHash]] = [
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
            "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
        ].map(hash),
        [
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        ].map(hash),
        [
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ].map(hash),
        [hash("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")],
    ]

    static let inclusionVectors: [(leafIndex: UInt64, treeSize: UInt64, path: [String])] = [
        (0, 1, []),
        (0, 2, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"]),
        (1, 2, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"]),
        (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
        (
            1, 5,
            [
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ]
        ),
        (
            0, 8,
            [
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ]
        ),
        (
            5, 8,
            [
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ]
        ),
    ]

    static let consistencyVectors: [(oldSize: UInt64, newSize: UInt64, proof: [String])] = [
        (1, 1, []),
        (
            1, 8,
            [
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ]
        ),
        (
            6, 8,
            [
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ]
        ),
        (
            2, 5,
            [
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ]
        ),
        (
            2, 8,
            [
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ]
        ),
    ]

    @Test func theEmptyTreesRootIsTheHashOfNothing() throws {
        #expect(MerkleTree.emptyRoot == Self.roots[0])
        #expect(MerkleTree.referenceRoot(ofLeaves: []) == Self.roots[0])
        #expect(try MerkleTree.root(ofSize: 0, in: MemorySubtreeStore()) == Self.roots[0])
    }

    @Test func rootsOfEveryPrefixMatchByReferenceAndFromStoredSubtrees() throws {
        let store = MemorySubtreeStore(leaves: Self.leaves)
        for size in 0...Self.leaves.count {
            #expect(MerkleTree.referenceRoot(ofLeaves: Array(Self.leaves.prefix(size))) == Self.roots[size], "size \(size)")
            #expect(try MerkleTree.root(ofSize: UInt64(size), in: store) == Self.roots[size], "size \(size)")
        }
    }

    @Test func appendsStoreExactlyTheCompleteSubtreesWithTheirReferenceHashes() throws {
        let store = MemorySubtreeStore(leaves: Self.leaves)
        #expect(store.storedSubtreeCount == Self.subtrees.joined().count)
        for (level, hashes) in Self.subtrees.enumerated() {
            for (index, expected) in hashes.enumerated() {
                #expect(try store.hash(of: SubtreeAddress(level: level, index: UInt64(index))) == expected)
            }
        }
        #expect(throws: MerkleTreeError.missingSubtree(SubtreeAddress(level: 4, index: 0))) {
            try store.hash(of: SubtreeAddress(level: 4, index: 0))
        }
    }

    @Test func inclusionProofsMatchTheReferenceAndVerify() throws {
        let store = MemorySubtreeStore(leaves: Self.leaves)
        for vector in Self.inclusionVectors {
            let proof = try MerkleTree.inclusionProof(leafIndex: vector.leafIndex, treeSize: vector.treeSize, in: store)
            #expect(proof == vector.path.map(hash), "leaf \(vector.leafIndex) of \(vector.treeSize)")
            #expect(MerkleTree.inclusionProofLength(leafIndex: vector.leafIndex, treeSize: vector.treeSize) == proof.count)
            try MerkleTree.verifyInclusion(
                leafHash: MerkleTree.leafHash(Self.leaves[Int(vector.leafIndex)]), leafIndex: vector.leafIndex,
                treeSize: vector.treeSize, proof: vector.path.map(hash), root: Self.roots[Int(vector.treeSize)])
        }
    }

    @Test func consistencyProofsMatchTheReferenceAndVerify() throws {
        let store = MemorySubtreeStore(leaves: Self.leaves)
        for vector in Self.consistencyVectors {
            let proof = try MerkleTree.consistencyProof(from: vector.oldSize, to: vector.newSize, in: store)
            #expect(proof == vector.proof.map(hash), "\(vector.oldSize) to \(vector.newSize)")
            #expect(MerkleTree.consistencyProofLength(from: vector.oldSize, to: vector.newSize) == proof.count)
            try MerkleTree.verifyConsistency(
                oldSize: vector.oldSize, newSize: vector.newSize, oldRoot: Self.roots[Int(vector.oldSize)],
                newRoot: Self.roots[Int(vector.newSize)], proof: vector.proof.map(hash))
        }
    }

    @Test func edgeCasesOfSizesAreAnsweredOrRefusedByName() throws {
        let store = MemorySubtreeStore(leaves: Self.leaves)
        #expect(throws: MerkleTreeError.leafIndexOutOfRange(leafIndex: 8, treeSize: 8)) {
            try MerkleTree.inclusionProof(leafIndex: 8, treeSize: 8, in: store)
        }
        #expect(throws: MerkleTreeError.sizesOutOfOrder(oldSize: 5, newSize: 3)) {
            try MerkleTree.consistencyProof(from: 5, to: 3, in: store)
        }
        #expect(try MerkleTree.consistencyProof(from: 0, to: 8, in: store).isEmpty)
        #expect(try MerkleTree.consistencyProof(from: 8, to: 8, in: store).isEmpty)
        // A size beyond what is stored needs a subtree that is not there.
        #expect(throws: MerkleTreeError.self) { try MerkleTree.root(ofSize: 9, in: store) }

        // From the empty tree anything is an extension, but only the empty tree's root is its root.
        try MerkleTree.verifyConsistency(oldSize: 0, newSize: 8, oldRoot: Self.roots[0], newRoot: Self.roots[8], proof: [])
        #expect(throws: ProofFailure.wrongEmptyTreeRoot(stated: Self.roots[1])) {
            try MerkleTree.verifyConsistency(oldSize: 0, newSize: 8, oldRoot: Self.roots[1], newRoot: Self.roots[8], proof: [])
        }
        #expect(throws: ProofFailure.wrongProofLength(found: 1, expected: 0)) {
            try MerkleTree.verifyConsistency(
                oldSize: 0, newSize: 8, oldRoot: Self.roots[0], newRoot: Self.roots[8], proof: [Self.roots[1]])
        }
        // The same size: the same root, and nothing to prove.
        try MerkleTree.verifyConsistency(oldSize: 4, newSize: 4, oldRoot: Self.roots[4], newRoot: Self.roots[4], proof: [])
        #expect(throws: ProofFailure.differentRootsAtSameSize(size: 4)) {
            try MerkleTree.verifyConsistency(oldSize: 4, newSize: 4, oldRoot: Self.roots[4], newRoot: Self.roots[5], proof: [])
        }
        #expect(throws: ProofFailure.oldSizeExceedsNewSize(oldSize: 5, newSize: 4)) {
            try MerkleTree.verifyConsistency(oldSize: 5, newSize: 4, oldRoot: Self.roots[5], newRoot: Self.roots[4], proof: [])
        }
        // A single leaf is its own root, with an empty path.
        try MerkleTree.verifyInclusion(
            leafHash: MerkleTree.leafHash(Self.leaves[0]), leafIndex: 0, treeSize: 1, proof: [], root: Self.roots[1])
        #expect(throws: ProofFailure.leafIndexOutOfRange(leafIndex: 1, treeSize: 1)) {
            try MerkleTree.verifyInclusion(
                leafHash: MerkleTree.leafHash(Self.leaves[1]), leafIndex: 1, treeSize: 1, proof: [], root: Self.roots[1])
        }
        #expect(throws: ProofFailure.leafIndexOutOfRange(leafIndex: 0, treeSize: 0)) {
            try MerkleTree.verifyInclusion(
                leafHash: MerkleTree.leafHash(Self.leaves[0]), leafIndex: 0, treeSize: 0, proof: [], root: Self.roots[0])
        }
    }

    @Test func tamperedVectorsFailWithTheReason() throws {
        let path = Self.inclusionVectors[6].path.map(hash)
        let leaf5 = MerkleTree.leafHash(Self.leaves[5])
        #expect(throws: ProofFailure.self) {
            try MerkleTree.verifyInclusion(leafHash: leaf5, leafIndex: 4, treeSize: 8, proof: path, root: Self.roots[8])
        }
        #expect(throws: ProofFailure.wrongProofLength(found: 2, expected: 3)) {
            try MerkleTree.verifyInclusion(
                leafHash: leaf5, leafIndex: 5, treeSize: 8, proof: Array(path.dropLast()), root: Self.roots[8])
        }
        let changed = [flipped(path[0])] + path.dropFirst()
        do {
            try MerkleTree.verifyInclusion(leafHash: leaf5, leafIndex: 5, treeSize: 8, proof: changed, root: Self.roots[8])
            Issue.record("a changed path node verified")
        } catch {
            guard case .rootMismatch(_, let stated) = error else { Issue.record("\(error)"); return }
            #expect(stated == Self.roots[8])
            #expect(error.description.contains(Self.roots[8].base64))
        }
        let proof = Self.consistencyVectors[2].proof.map(hash)
        #expect(throws: ProofFailure.self) {
            try MerkleTree.verifyConsistency(oldSize: 6, newSize: 8, oldRoot: Self.roots[5], newRoot: Self.roots[8], proof: proof)
        }
        #expect(throws: ProofFailure.self) {
            try MerkleTree.verifyConsistency(oldSize: 6, newSize: 8, oldRoot: Self.roots[6], newRoot: Self.roots[7], proof: proof)
        }
    }
}

@Suite("Merkle tree: what the store and the CLI build on")
struct MerkleStoreContractTests {
    @Test func storageKeysSortByLevelThenIndexAndReadBack() {
        let addresses = [(0, 0), (0, 1), (0, 255), (0, 256), (0, UInt64.max), (1, 0), (5, 7), (63, 1)].map {
            SubtreeAddress(level: $0.0, index: $0.1)
        }
        for address in addresses {
            #expect(address.storageKey.count == 9)
            #expect(SubtreeAddress(storageKey: address.storageKey) == address)
        }
        let keys = addresses.map(\.storageKey)
        #expect(keys == keys.sorted { $0.lexicographicallyPrecedes($1) })
        #expect(SubtreeAddress(storageKey: [64] + [UInt8](repeating: 0, count: 8)) == nil)
        #expect(SubtreeAddress(storageKey: [0, 1]) == nil)
    }

    @Test func aLogExtendsItsCheckpointsUntilItLosesOrChangesALeaf() throws {
        var leaves = sampleLeaves(30, seed: 4)
        let store = MemorySubtreeStore(leaves: leaves)
        let checkpoint = try Checkpoint(
            origin: "ledger.example/test", size: 21, root: MerkleTree.referenceRoot(ofLeaves: Array(leaves.prefix(21))))
        try MerkleTree.verifyExtension(of: checkpoint, logSize: 30, in: store)
        try MerkleTree.verifyExtension(of: checkpoint, logSize: 21, in: store)
        #expect(throws: ProofFailure.logShorterThanCheckpoint(logSize: 20, checkpointSize: 21)) {
            try MerkleTree.verifyExtension(of: checkpoint, logSize: 20, in: MemorySubtreeStore(leaves: Array(leaves.prefix(20))))
        }
        leaves[20] = Array("{\"changed\":true}".utf8)
        let changed = MemorySubtreeStore(leaves: leaves)
        #expect(
            throws: ProofFailure.logRootDiffers(
                checkpointSize: 21, logRoot: try MerkleTree.root(ofSize: 21, in: changed), checkpointRoot: checkpoint.root)
        ) {
            try MerkleTree.verifyExtension(of: checkpoint, logSize: 30, in: changed)
        }
        // A change after the checkpoint's leaves is the log's own business.
        leaves[20] = sampleLeaves(30, seed: 4)[20]
        leaves[25] = Array("{\"later\":true}".utf8)
        try MerkleTree.verifyExtension(of: checkpoint, logSize: 30, in: MemorySubtreeStore(leaves: leaves))
    }
}

import LedgerProofs
import LedgerTestSupport
import PropertyBased
import Testing

/// Leaves of any bytes, as a log could hold: empty, one byte, leaves that open with RFC 9162's leaf (0x00) and
/// node (0x01) prefixes, 64-byte leaves shaped like a node's two child hashes, UTF-8 text from every plane
/// (accents, CJK, emoji), and random bytes up to 2 KiB. The same seed gives the same leaves, and the first k of
/// n leaves are the k leaves of that seed.
///
/// They are distinct: a proof of a leaf verifies at another index when the two leaves and their neighbours are
/// equal (the tree of [a, b, a, b] is symmetric), which the tests rightly expect to fail.
func awkwardLeaves(_ count: Int, seed: Int) -> [[UInt8]] {
    var random = SeededRandom(seed: UInt64(bitPattern: Int64(seed)))
    func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8.random(in: 0...255, using: &random) } }
    func awkwardLeaf() -> [UInt8] {
        switch Int.random(in: 0..<6, using: &random) {
        case 0: return []
        case 1: return bytes(1)
        case 2: return [0x01] + bytes(64)
        case 3: return [0x00] + bytes(Int.random(in: 0...40, using: &random))
        case 4:
            let blocks: [ClosedRange<UInt32>] = [
                0x20...0x7E, 0xC0...0x17F, 0x4E00...0x9FFF, 0x1F300...0x1FAFF, 0x10000...0x10FFFF,
            ]
            var text = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 1...30, using: &random) {
                text.append(Unicode.Scalar(UInt32.random(in: blocks.randomElement(using: &random)!, using: &random))!)
            }
            return Array(String(text).utf8)
        default: return bytes(Int.random(in: 0...2048, using: &random))
        }
    }
    var seen: Set<[UInt8]> = []
    var leaves: [[UInt8]] = []
    while leaves.count < count {
        let leaf = awkwardLeaf()
        if seen.insert(leaf).inserted { leaves.append(leaf) }
    }
    return leaves
}

/// Random logs of awkward leaves (``awkwardLeaves(_:seed:)``): the stored, O(log n) computation agrees with
/// RFC 9162's recursive definitions, every proof verifies, and every change to a leaf, a proof, a size or a root is
/// caught. Each property runs its default number of cases, or `$LEDGER_PROPERTY_CASES` (`make nightly`).
@Suite("Merkle tree: properties of random logs")
struct MerklePropertyTests {
    @Test func everyProofOfEverySmallTreeIsTheReferenceOneAndVerifies() throws {
        let leaves = awkwardLeaves(40, seed: 7)
        let leafHashes = leaves.map { MerkleTree.leafHash($0) }
        let store = MemorySubtreeStore(leaves: leaves)
        let roots = (0...leaves.count).map { MerkleTree.referenceRoot(ofLeafHashes: Array(leafHashes.prefix($0))) }
        for size in 0...leaves.count {
            #expect(try MerkleTree.root(ofSize: UInt64(size), in: store) == roots[size])
            for index in 0..<size {
                let proof = try MerkleTree.inclusionProof(leafIndex: UInt64(index), treeSize: UInt64(size), in: store)
                #expect(proof == ReferenceProofs.path(index, leafHashes.prefix(size)), "leaf \(index) of \(size)")
                try MerkleTree.verifyInclusion(
                    leafHash: leafHashes[index], leafIndex: UInt64(index), treeSize: UInt64(size), proof: proof,
                    root: roots[size])
            }
            for old in 0...size {
                let proof = try MerkleTree.consistencyProof(from: UInt64(old), to: UInt64(size), in: store)
                #expect(proof == ReferenceProofs.proof(old, Array(leafHashes.prefix(size))), "\(old) to \(size)")
                try MerkleTree.verifyConsistency(
                    oldSize: UInt64(old), newSize: UInt64(size), oldRoot: roots[old], newRoot: roots[size], proof: proof)
            }
        }
    }

    @Test func randomInclusionProofsVerifyInFewReadsAndAnyChangeFails() async {
        await propertyCheck(
            count: propertyCases(60), input: Gen.int(in: 1...300), Gen.int(in: 0...1_000_000), Gen.int(in: 0...31)
        ) {
            size, pick, byte in
            let n = UInt64(size)
            let index = UInt64(pick % size)
            let leaves = awkwardLeaves(size, seed: pick)
            let leafHashes = leaves.map { MerkleTree.leafHash($0) }
            let source = CountingSource(MemorySubtreeStore(leaves: leaves))
            let root = MerkleTree.referenceRoot(ofLeafHashes: leafHashes)

            #expect(try MerkleTree.root(ofSize: n, in: source) == root)
            #expect(source.reads == n.nonzeroBitCount)
            let before = source.reads
            let proof = try MerkleTree.inclusionProof(leafIndex: index, treeSize: n, in: source)
            #expect(source.reads - before <= 2 * bitWidth(n), "\(source.reads - before) reads for leaf \(index) of \(n)")
            #expect(proof == ReferenceProofs.path(Int(index), leafHashes[...]))
            let leafHash = leafHashes[Int(index)]
            try MerkleTree.verifyInclusion(leafHash: leafHash, leafIndex: index, treeSize: n, proof: proof, root: root)

            // A changed leaf.
            #expect(throws: ProofFailure.self) {
                try MerkleTree.verifyInclusion(
                    leafHash: MerkleTree.leafHash(leaves[Int(index)] + [0x20]), leafIndex: index, treeSize: n, proof: proof,
                    root: root)
            }
            // A changed proof node, a proof node dropped, one added.
            if !proof.isEmpty {
                var changed = proof
                changed[pick % proof.count] = flipped(changed[pick % proof.count], byte: byte)
                #expect(throws: ProofFailure.self) {
                    try MerkleTree.verifyInclusion(leafHash: leafHash, leafIndex: index, treeSize: n, proof: changed, root: root)
                }
                #expect(throws: ProofFailure.wrongProofLength(found: proof.count - 1, expected: proof.count)) {
                    try MerkleTree.verifyInclusion(
                        leafHash: leafHash, leafIndex: index, treeSize: n, proof: Array(proof.dropLast()), root: root)
                }
            }
            #expect(throws: ProofFailure.wrongProofLength(found: proof.count + 1, expected: proof.count)) {
                try MerkleTree.verifyInclusion(
                    leafHash: leafHash, leafIndex: index, treeSize: n, proof: proof + [root], root: root)
            }
            // Another leaf's place.
            if n > 1 {
                let other = (index + 1 + UInt64(pick) % (n - 1)) % n
                #expect(throws: ProofFailure.self) {
                    try MerkleTree.verifyInclusion(leafHash: leafHash, leafIndex: other, treeSize: n, proof: proof, root: root)
                }
            }
            // Another tree size, with that tree's true root.
            for otherSize in [n - 1, n + 1] where otherSize > index {
                let otherRoot = MerkleTree.referenceRoot(
                    ofLeafHashes: Array(awkwardLeaves(Int(otherSize), seed: pick).map { MerkleTree.leafHash($0) }))
                #expect(throws: ProofFailure.self) {
                    try MerkleTree.verifyInclusion(
                        leafHash: leafHash, leafIndex: index, treeSize: otherSize, proof: proof, root: otherRoot)
                }
            }
        }
    }

    @Test func randomConsistencyProofsVerifyInFewReadsAndAnyChangeFails() async {
        await propertyCheck(
            count: propertyCases(60), input: Gen.int(in: 1...300), Gen.int(in: 0...1_000_000), Gen.int(in: 0...31)
        ) {
            size, pick, byte in
            let n = UInt64(size)
            let m = UInt64(pick % (size + 1))
            let leaves = awkwardLeaves(size, seed: pick)
            let leafHashes = leaves.map { MerkleTree.leafHash($0) }
            let source = CountingSource(MemorySubtreeStore(leaves: leaves))
            let newRoot = MerkleTree.referenceRoot(ofLeafHashes: leafHashes)
            let oldRoot = MerkleTree.referenceRoot(ofLeafHashes: Array(leafHashes.prefix(Int(m))))

            #expect(try MerkleTree.root(ofSize: m, in: source) == oldRoot)
            let before = source.reads
            let proof = try MerkleTree.consistencyProof(from: m, to: n, in: source)
            #expect(source.reads - before <= 4 * bitWidth(n), "\(source.reads - before) reads from \(m) to \(n)")
            #expect(proof == ReferenceProofs.proof(Int(m), leafHashes))
            try MerkleTree.verifyConsistency(oldSize: m, newSize: n, oldRoot: oldRoot, newRoot: newRoot, proof: proof)

            guard m > 0, m < n else { return }
            // A changed proof node.
            var changed = proof
            changed[pick % proof.count] = flipped(changed[pick % proof.count], byte: byte)
            #expect(throws: ProofFailure.self) {
                try MerkleTree.verifyConsistency(oldSize: m, newSize: n, oldRoot: oldRoot, newRoot: newRoot, proof: changed)
            }
            // A changed root on either side.
            #expect(throws: ProofFailure.self) {
                try MerkleTree.verifyConsistency(
                    oldSize: m, newSize: n, oldRoot: flipped(oldRoot, byte: byte), newRoot: newRoot, proof: proof)
            }
            #expect(throws: ProofFailure.self) {
                try MerkleTree.verifyConsistency(
                    oldSize: m, newSize: n, oldRoot: oldRoot, newRoot: flipped(newRoot, byte: byte), proof: proof)
            }
            // Another old size, with that tree's true root.
            let otherOld = m - 1
            let otherOldRoot = MerkleTree.referenceRoot(ofLeafHashes: Array(leafHashes.prefix(Int(otherOld))))
            #expect(throws: ProofFailure.self) {
                try MerkleTree.verifyConsistency(
                    oldSize: otherOld, newSize: n, oldRoot: otherOldRoot, newRoot: newRoot, proof: proof)
            }
            // A log that rewrote one of the old tree's leaves is no extension of the old tree.
            var rewritten = leaves
            rewritten[pick % Int(m)] += [0x20]
            let rewrittenStore = MemorySubtreeStore(leaves: rewritten)
            let rewrittenProof = try MerkleTree.consistencyProof(from: m, to: n, in: rewrittenStore)
            let rewrittenRoot = try MerkleTree.root(ofSize: n, in: rewrittenStore)
            #expect(throws: ProofFailure.self) {
                try MerkleTree.verifyConsistency(
                    oldSize: m, newSize: n, oldRoot: oldRoot, newRoot: rewrittenRoot, proof: rewrittenProof)
            }
        }
    }

    @Test func batchAppendsStoreWhatSingleAppendsStoreAboutTwoPerLeaf() async {
        await propertyCheck(count: propertyCases(40), input: Gen.int(in: 0...300), Gen.int(in: 1...40).array(of: 1...20)) {
            size, cuts in
            let leafHashes = awkwardLeaves(size, seed: size).map { MerkleTree.leafHash($0) }
            var single = MemorySubtreeStore()
            for hash in leafHashes { single.append(leafHash: hash) }
            // The same leaves in batches of random sizes, each batch computed before any of it is stored.
            var batched = MemorySubtreeStore()
            var start = 0
            var cut = 0
            while start < size {
                let end = min(size, start + cuts[cut % cuts.count])
                let completed = try MerkleTree.subtreesCompleted(
                    byAppending: Array(leafHashes[start..<end]), startingAt: UInt64(start), from: batched)
                batched.store(completed, newSize: UInt64(end))
                start = end
                cut += 1
            }
            // A log of n leaves has 2n - popcount(n) complete aligned subtrees.
            #expect(single.storedSubtreeCount == 2 * size - size.nonzeroBitCount)
            #expect(batched.storedSubtreeCount == single.storedSubtreeCount)
            for level in 0..<bitWidth(UInt64(size)) {
                for index in 0..<(UInt64(size) >> UInt64(level)) {
                    let address = SubtreeAddress(level: level, index: index)
                    #expect(try batched.hash(of: address) == single.hash(of: address))
                }
            }
            #expect(try MerkleTree.root(ofSize: UInt64(size), in: batched) == MerkleTree.referenceRoot(ofLeafHashes: leafHashes))
        }
    }
}

import Foundation
import LedgerProofs

/// Distinct leaves shaped like canonical event bytes (UTF-8 JSON), so the same leaves serve the
/// Python verifier's `leaf` member.
func sampleLeaves(_ count: Int, seed: Int) -> [[UInt8]] {
    (0..<count).map { Array("{\"position\":\($0 + 1),\"seed\":\(seed),\"text\":\"événement \($0)\"}".utf8) }
}

func hash(_ hex: String) -> MerkleHash { MerkleHash(hex: hex)! }

/// A source that counts its reads, to hold the algorithms to O(log n) reads.
final class CountingSource: SubtreeHashSource {
    let base: MemorySubtreeStore
    private(set) var reads = 0

    init(_ base: MemorySubtreeStore) { self.base = base }

    func hash(of subtree: SubtreeAddress) throws -> MerkleHash {
        reads += 1
        return try base.hash(of: subtree)
    }
}

/// The number of bits of `n`: ⌈log2(n+1)⌉, the height bound of a tree of n leaves.
func bitWidth(_ n: UInt64) -> Int { 64 - n.leadingZeroBitCount }

/// RFC 9162 §2.1.3.1 and §2.1.4.1 as written, recursive over all leaf hashes in memory: the oracle the
/// stored, O(log n) computation is compared with.
enum ReferenceProofs {
    static func path(_ m: Int, _ leaves: ArraySlice<MerkleHash>) -> [MerkleHash] {
        let n = leaves.count
        guard n > 1 else { return [] }
        let k = Int(largestPowerOfTwo(below: n))
        let split = leaves.startIndex + k
        if m < k { return path(m, leaves[..<split]) + [MerkleTree.referenceRoot(ofLeafHashes: Array(leaves[split...]))] }
        return path(m - k, leaves[split...]) + [MerkleTree.referenceRoot(ofLeafHashes: Array(leaves[..<split]))]
    }

    static func proof(_ m: Int, _ leaves: [MerkleHash]) -> [MerkleHash] {
        m == 0 || m == leaves.count ? [] : subproof(m, leaves[...], true)
    }

    private static func subproof(_ m: Int, _ leaves: ArraySlice<MerkleHash>, _ b: Bool) -> [MerkleHash] {
        let n = leaves.count
        if m == n { return b ? [] : [MerkleTree.referenceRoot(ofLeafHashes: Array(leaves))] }
        let k = Int(largestPowerOfTwo(below: n))
        let split = leaves.startIndex + k
        if m <= k {
            return subproof(m, leaves[..<split], b) + [MerkleTree.referenceRoot(ofLeafHashes: Array(leaves[split...]))]
        }
        return subproof(m - k, leaves[split...], false) + [MerkleTree.referenceRoot(ofLeafHashes: Array(leaves[..<split]))]
    }

    private static func largestPowerOfTwo(below n: Int) -> Int {
        var k = 1
        while k << 1 < n { k <<= 1 }
        return k
    }
}

/// `hash` with one bit of one byte flipped.
func flipped(_ hash: MerkleHash, byte: Int = 0) -> MerkleHash {
    var bytes = hash.bytes
    bytes[byte % 32] ^= 0x01
    return MerkleHash(bytes: bytes)!
}

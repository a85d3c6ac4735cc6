import Foundation
import LMDB
import LedgerProofs
import LedgerTestSupport
import PropertyBased
import Testing

@testable import EventStore

/// The tree the store keeps, checked against the reference tree of RFC 9162 over the stored canonical bytes.
@Suite("The Merkle tree over the log")
struct MerkleLogTests {
    /// The canonical bytes of every stored event: the leaves.
    func leaves(_ store: EventStore) throws -> [[UInt8]] {
        var leaves: [[UInt8]] = []
        _ = try store.scanLog(fromPosition: 1, limit: Int.max) { _, canonical in leaves.append(Array(canonical)) }
        return leaves
    }

    @Test func randomLogsGiveTheReferenceRootsAndProofsThatVerify() async throws {
        // Batches of random sizes, through the group commit and the atomic path alike.
        await propertyCheck(count: 12, input: Gen.int(in: 1...9).array(of: 1...14)) { batches in
            let dir = TemporaryDirectory()
            let store = try EventStore.create(at: dir.path)
            for (i, size) in batches.enumerated() {
                let events = (0..<size).map { note("batch \(i) event \($0)") }
                if i % 2 == 0 {
                    _ = try await store.append(events, to: "incident:t\(i % 3)")
                } else {
                    _ = try store.appendAtomically([AppendRequest(streamId: "incident:t\(i % 3)", events: events)])
                }
            }
            let leaves = try leaves(store)
            let n = UInt64(leaves.count)
            #expect(try store.verify().isValid)
            for size in 0...n {
                let root = try store.treeRoot(size: size).root
                #expect(root == MerkleTree.referenceRoot(ofLeaves: Array(leaves.prefix(Int(size)))), "root at \(size)")
                for position in stride(from: UInt64(1), through: size, by: max(1, Int(size / 5))) {
                    let proof = try store.inclusionProof(position: position, size: size)
                    try MerkleTree.verifyInclusion(
                        leafHash: MerkleTree.leafHash(leaves[Int(position) - 1]), leafIndex: position - 1, treeSize: size,
                        proof: proof, root: root)
                    // Another leaf does not verify with the same proof.
                    #expect(throws: ProofFailure.self) {
                        try MerkleTree.verifyInclusion(
                            leafHash: MerkleTree.leafHash(leaves[Int(position) - 1] + [0x20]), leafIndex: position - 1,
                            treeSize: size, proof: proof, root: root)
                    }
                }
                let proof = try store.consistencyProof(from: size, to: n)
                try MerkleTree.verifyConsistency(
                    oldSize: size, newSize: n, oldRoot: root, newRoot: try store.treeRoot().root, proof: proof)
            }
        }
    }

    @Test func everyTamperOfTheStoredTreeIsFound() async throws {
        let dir = TemporaryDirectory()
        let store = try EventStore.create(at: dir.path)
        for i in 0..<11 { _ = try await store.append([note("n\(i)")], to: "incident:t") }
        // Eleven single appends leave their subtrees waiting (DeferredIndexes.swift): written here, as the
        // 128th event would have.
        #expect(try store.verify().subtreesChecked == 0)
        try store.writeDeferredEntries()
        #expect(try store.verify().subtreesChecked == 2 * 11 - 3)
        let address = SubtreeAddress(level: 1, index: 2)
        let key = address.storageKey
        let original = try #require(try store.readTransaction { txn in try txn.get(store.tables.merkle, key: key) })
        func tampered(_ change: (borrowing WriteTransaction) throws -> Void) throws -> String? {
            try store.environment.write { txn in try change(txn) }
            defer {
                try? store.environment.write { txn in
                    try txn.put(store.tables.merkle, key: key, value: original)
                    _ = try txn.delete(store.tables.merkle, key: SubtreeAddress(level: 9, index: 0).storageKey)
                }
            }
            return try store.verify().problem?.description
        }
        var flipped = original
        flipped[5] ^= 0x01
        #expect(
            try tampered { try $0.put(store.tables.merkle, key: key, value: flipped) }?.contains(
                "position 6: the Merkle tree's subtree 2 at level 1 does not match") == true)
        #expect(
            try tampered { _ = try $0.delete(store.tables.merkle, key: key) }?.contains(
                "position 6: the Merkle tree lacks subtree 2 at level 1") == true)
        #expect(
            try tampered { try $0.put(store.tables.merkle, key: key, value: Array(original.prefix(31))) }?.contains("position 6")
                == true)
        #expect(
            try tampered { try $0.put(store.tables.merkle, key: SubtreeAddress(level: 9, index: 0).storageKey, value: original) }?
                .contains("the Merkle tree holds 20 subtrees; the events it covers make 19") == true)
        #expect(try store.verify().isValid)
        // A proof read from a tampered tree fails against the true root.
        let root = try store.treeRoot().root
        try store.environment.write { txn in try txn.put(store.tables.merkle, key: key, value: flipped) }
        // Leaf 7's path takes leaves 5-6 as a sibling: the subtree changed.
        let proof = try store.inclusionProof(position: 7, size: 11)
        let leaf = try leaves(store)[6]
        #expect(throws: ProofFailure.self) {
            try MerkleTree.verifyInclusion(
                leafHash: MerkleTree.leafHash(leaf), leafIndex: 6, treeSize: 11, proof: proof, root: root)
        }
    }

    @Test func rootsAndProofsAreTheReferenceOnesWhileTheStoredTreeLagsAndAfterEachCatchUp() async throws {
        // Single appends from two stores on one directory (as the CLI beside a server): the subtrees after
        // indexed-through are computed from the log, those before it read; each catch-up moves the line.
        let dir = TemporaryDirectory()
        let first = try EventStore.create(at: dir.path)
        let second = try EventStore.open(at: dir.path)
        var random = SeededRandom(seed: 20_261_203)
        var leaves: [[UInt8]] = []
        var lines: Set<UInt64> = []
        for i in 0..<(Int(EventStore.indexLag) * 2 + 50) {
            let store = i % 7 == 3 ? second : first
            if i % 2 == 0 {
                _ = try await store.append([note("n\(i)")], to: "incident:t\(i % 4)")
            } else {
                _ = try store.appendAtomically([AppendRequest(streamId: "incident:t\(i % 4)", events: [note("n\(i)")])])
            }
            let indexed = try first.readTransaction { txn in try first.indexedThrough(in: txn) }
            lines.insert(indexed)
            // What is stored is exactly the subtrees of the events the line covers.
            #expect(
                try first.readTransaction { txn in UInt64(try txn.count(first.tables.merkle)) }
                    == EventStore.storedSubtreeCount(ofSize: indexed), "after append \(i)")
            guard i % 11 == 0 || i == Int(EventStore.indexLag) - 1 || i == Int(EventStore.indexLag) else { continue }
            leaves = try self.leaves(first)
            let n = UInt64(leaves.count)
            // Sizes on both sides of the line, and the head.
            let sizes = Set([1, n, indexed, indexed + 1, UInt64(random.next() % n) + 1].filter { $0 >= 1 && $0 <= n })
            for size in sizes {
                let reference = MerkleTree.referenceRoot(ofLeaves: Array(leaves.prefix(Int(size))))
                #expect(try first.treeRoot(size: size).root == reference, "root at \(size) after append \(i)")
                #expect(try second.treeRoot(size: size).root == reference)
                let position = UInt64(random.next() % size) + 1
                try MerkleTree.verifyInclusion(
                    leafHash: MerkleTree.leafHash(leaves[Int(position) - 1]), leafIndex: position - 1, treeSize: size,
                    proof: try second.inclusionProof(position: position, size: size), root: reference)
                try MerkleTree.verifyConsistency(
                    oldSize: size, newSize: n, oldRoot: reference, newRoot: MerkleTree.referenceRoot(ofLeaves: leaves),
                    proof: try first.consistencyProof(from: size, to: n))
            }
        }
        // The line moved twice (0, 128, 256), and the whole ledger checks out, read-only too.
        #expect(lines == [0, EventStore.indexLag, 2 * EventStore.indexLag])
        #expect(try first.verify().isValid)
        let reader = try EventStore.open(at: dir.path, readOnly: true)
        #expect(try reader.treeRoot().root == MerkleTree.referenceRoot(ofLeaves: try self.leaves(first)))
        #expect(try reader.verify().isValid)
    }

    @Test func anotherProcessesAppendsAreFoldedIntoTheTreeToo() async throws {
        // Two stores on one directory (as the CLI beside a server): each commit reads the edge the other left.
        let dir = TemporaryDirectory()
        let first = try EventStore.create(at: dir.path)
        let second = try EventStore.open(at: dir.path)
        for i in 0..<9 {
            _ = try await (i % 3 == 0 ? second : first).append([note("n\(i)")], to: "incident:t")
        }
        #expect(try first.verify().isValid)
        #expect(try first.treeRoot().root == MerkleTree.referenceRoot(ofLeaves: try leaves(first)))
    }

    @Test func theRightEdgeEditedInPlaceIsTheOneRebuiltFromTheTree() throws {
        // The append's step against the library's: the same subtrees and hashes, and the edge of each size.
        var frontier: [SubtreeAddress: MerkleHash] = [:]
        var stored: [SubtreeAddress: MerkleHash] = [:]
        var leaves: [[UInt8]] = []
        var edgeOfSeven: [SubtreeAddress: MerkleHash] = [:]
        for position in UInt64(1)...600 {
            let leaf = Array("leaf \(position) \(String(repeating: "x", count: Int(position % 7)))".utf8)
            leaves.append(leaf)
            let completed = try EventStore.subtreesCompleted(by: leaf, at: position, frontier: &frontier)
            let expected = try MerkleTree.subtreesCompleted(
                byAppending: MerkleTree.leafHash(leaf), at: position - 1,
                from: SubtreeHashReader { address in try #require(stored[address]) })
            #expect(completed == expected)
            for subtree in completed { stored[subtree.address] = subtree.hash }
            let edge = MerkleTree.rootSubtrees(ofSize: position)
            #expect(Set(frontier.keys) == Set(edge))
            for address in edge { #expect(frontier[address] == stored[address]) }
            if position == 7 { edgeOfSeven = frontier }
        }
        #expect(
            try MerkleTree.root(ofSize: 600, in: FrontierSource(frontier: frontier))
                == MerkleTree.referenceRoot(ofLeaves: leaves))
        // A right edge without a sibling the eighth leaf needs is damage, named, and left as it was.
        var damaged = edgeOfSeven
        damaged[SubtreeAddress(level: 1, index: 2)] = nil
        let before = damaged
        #expect(throws: EventStoreError.self) { try EventStore.subtreesCompleted(by: [0x41], at: 8, frontier: &damaged) }
        #expect(damaged == before)
    }
}

extension EventStore {
    /// Writes every deferred entry (secondary indexes, subtrees) now, as the commit that finds
    /// ``indexLag`` events waiting does.
    func writeDeferredEntries() throws {
        let head = try writeTransaction { txn in
            var head = try writingHead(in: txn)
            try catchUpIndexes(in: txn, head: &head, always: true)
            return head
        }
        remember(head)
    }
}

/// A bundle whose every hash and signature is right but whose bytes would not read back once stored.
@Suite("Bundles that would poison the ledger")
struct PoisonBundleTests {
    @Test func aRecordedAtThatLeavesTheYearsInUTCIsRefused() async throws {
        let dir = TemporaryDirectory()
        let store = try EventStore.create(at: dir.path)
        _ = try await store.append([note("one")], to: "incident:p")
        let stored = try #require(try store.allEvents().first)
        // The attacker's event: recordedAt spelled in an offset that puts it in year 0 in UTC, hashed, in a tree
        // of its own, signed with a key the reader is made to trust.
        var members = try #require(stored.json.objectValue)
        members["recordedAt"] = .string("0001-01-01T00:00:00+01:00")
        members.removeValue(forKey: "hash")
        let forged = try EventCodec.decode(json: .object(members), hash: nil, requireHash: false)
        let canonical = EnvelopeWriter.canonical(forged)
        #expect(String(decoding: canonical, as: UTF8.self).contains("0000-12-31T23:00:00.000000Z"))
        let hash = canonical.withUnsafeBytes { EventCodec.hex(EventCodec.digest($0)) }
        members["hash"] = .string(hash)
        let signer = try NoteSignerKey.generate(name: "attacker.example")
        let checkpoint = try Checkpoint(origin: try store.origin(), size: 1, root: MerkleTree.leafHash(canonical))
        let note = try checkpoint.signed(by: [signer])
        let header =
            #"{"bundle":"IncidentLedger bundle 1","events":1,"fromPosition":1,"frontier":[],"origin":"\#(try store.origin())","previousHash":"\#(EventCodec.genesisHash)","toPosition":1,"treeSize":1,"verifierKeys":[]}"#
        let bundle = dir.path + "-poison.bundle"
        defer { try? FileManager.default.removeItem(atPath: bundle) }
        try Data(
            [header, CanonicalJSON.string(.object(members)), CanonicalJSON.string(.object(["checkpoint": .string(note.text)]))]
                .joined(separator: "\n").utf8
        ).write(to: URL(fileURLWithPath: bundle))
        let error = #expect(throws: EventStoreError.self) {
            try EventStore.verifyBundle(at: bundle, trusting: [signer.verifierKey])
        }
        #expect(error?.description.contains("its bytes would not read back") == true, "\(String(describing: error))")
        let target = TemporaryDirectory()
        #expect(throws: EventStoreError.self) {
            try EventStore.restore(bundle: bundle, into: target.path, trusting: [signer.verifierKey])
        }
        #expect(!FileManager.default.fileExists(atPath: target.path))
    }
}

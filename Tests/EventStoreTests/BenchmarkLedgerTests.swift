import EventStore
import Foundation
import LedgerProofs
import LedgerTestSupport
import Testing

/// `keepsMerkleTree = false` exists only for tools/bench to measure what the tree costs: such a ledger must
/// say so for ever and never pass for a record.
@Suite("A benchmark ledger without its Merkle tree")
struct BenchmarkLedgerTests {
    func treeless(_ dir: TemporaryDirectory) throws -> EventStore {
        var configuration = EventStoreConfiguration()
        configuration.keepsMerkleTree = false
        return try EventStore.create(at: dir.path, configuration: configuration)
    }

    @Test func isRefusedByVerifyAndByEveryProofEvenWhenReopenedWithTheDefault() async throws {
        let dir = TemporaryDirectory()
        let store = try treeless(dir)
        _ = try await store.append([note("a")], to: "incident:t")
        _ = try store.appendAtomically([AppendRequest(streamId: "incident:t", events: [note("b"), note("c")])])
        #expect(!store.configuration.keepsMerkleTree)
        for reopened in [store, try EventStore.open(at: dir.path), try EventStore.open(at: dir.path, readOnly: true)] {
            // The default configuration asks for the tree; the ledger's meta table says otherwise and wins.
            #expect(!reopened.configuration.keepsMerkleTree)
            let report = try reopened.verify()
            #expect(report.eventsChecked == 3)
            #expect(report.problem?.description.contains("written without its Merkle tree: a benchmark ledger") == true)
            for attempt: () throws -> Void in [
                { _ = try reopened.treeRoot() }, { _ = try reopened.inclusionProof(position: 1, size: 3) },
                { _ = try reopened.consistencyProof(from: 1, to: 3) }, { _ = try reopened.currentCheckpoint() },
            ] {
                let error = try #require(throws: EventStoreError.self) { try attempt() }
                #expect(error.message.contains("without its Merkle tree"))
                #expect(!error.description.contains("\n"))
            }
        }
        // A later open appends without the tree too: the ledger stays a consistent benchmark ledger.
        let later = try EventStore.open(at: dir.path)
        _ = try await later.append([note("d")], to: "incident:t")
        let report = try later.verify()
        #expect(report.eventsChecked == 4)
        #expect(report.problem?.position == 0)
        #expect(report.problem?.message.contains("benchmark ledger") == true)
    }

    @Test func theDefaultLedgerKeepsItsTree() async throws {
        let dir = TemporaryDirectory()
        let store = try EventStore.create(at: dir.path)
        #expect(store.configuration.keepsMerkleTree)
        for i in 0..<5 { _ = try await store.append([note("n\(i)")], to: "incident:t") }
        // Opening an existing ledger with `false` does not stop its tree: the ledger decides.
        var configuration = EventStoreConfiguration()
        configuration.keepsMerkleTree = false
        let reopened = try EventStore.open(at: dir.path, configuration: configuration)
        #expect(reopened.configuration.keepsMerkleTree)
        _ = try await reopened.append([note("n5")], to: "incident:t")
        try reopened.writeDeferredEntries()
        let report = try reopened.verify()
        #expect(report.isValid)
        #expect(report.subtreesChecked == 2 * 6 - 2)
        #expect(try reopened.treeRoot().size == 6)
        #expect(try reopened.inclusionProof(position: 2, size: 6).count == 3)
        let key = try NoteSignerKey.generate(name: "test")
        try reopened.storeCheckpoint(try reopened.currentCheckpoint().signed(by: [key]))
        #expect(try reopened.storedCheckpoint()?.body.contains("\n6\n") == true)
    }
}

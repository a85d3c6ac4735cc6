import LMDB
import LedgerProofs

/// Signed checkpoints of the log (C2SP tlog-checkpoint in a signed note): the store keeps them and says
/// whether the log is a consistent extension of one. Signing needs a private key, which never enters data.mdb:
/// the caller signs (``LedgerProofs/Checkpoint/signed(by:)``) and hands the note over.
extension EventStore {
    static let originKey = Array("origin".utf8)

    /// The ledger's name: the first line of its checkpoints.
    public func origin() throws -> String {
        try readTransaction { txn in
            guard let bytes = try txn.get(tables.meta, key: Self.originKey) else {
                throw EventStoreError(.corrupted, field: "meta", "the ledger has no origin name")
            }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    /// The unsigned checkpoint of the whole log as it is now.
    public func currentCheckpoint() throws -> Checkpoint {
        let origin = try origin()
        let (size, root) = try treeRoot()
        // A dataset's clock is said inside what is signed: a replica made from it cannot drop the fact.
        let lines =
            try clockProvenance().map { text in
                // A note's line holds no control character: a tab in a dataset's path becomes a space.
                [
                    Checkpoint.recordedAtSetByPrefix
                        + String(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : Character($0) })
                ]
            } ?? []
        do {
            return try Checkpoint(origin: origin, size: size, root: root, extensionLines: lines)
        } catch {
            throw EventStoreError(.corrupted, field: "meta", "the origin name cannot head a checkpoint: \(error)")
        }
    }

    /// Stores a signed checkpoint of this ledger, after checking that it is one: its origin, and its root at
    /// its size. Checkpoints are kept by size; storing one again for a size adds nothing new but its signatures.
    public func storeCheckpoint(_ note: SignedNote) throws {
        let checkpoint: Checkpoint
        do { checkpoint = try Checkpoint(body: note.body) } catch {
            throw EventStoreError(.invalidEvent, field: "checkpoint", error.description)
        }
        if let problem = try consistencyProblem(with: checkpoint) {
            throw EventStoreError(.invalidEvent, field: "checkpoint", problem)
        }
        try writeTransaction { txn in
            try txn.put(tables.checkpoints, key: Keys.bigEndian(checkpoint.size), value: Array(note.text.utf8))
        }
    }

    /// The stored signed checkpoint of `size` events, or the latest one when nil.
    public func storedCheckpoint(size: UInt64? = nil) throws -> SignedNote? {
        let text: [UInt8]? = try readTransaction { txn in
            if let size { return try txn.get(tables.checkpoints, key: Keys.bigEndian(size)) }
            return try txn.withCursor(tables.checkpoints) { cursor in try cursor.withLast { _, value in value.copiedBytes } }
        }
        guard let text else { return nil }
        do { return try SignedNote(parsing: text) } catch {
            throw EventStoreError(.corrupted, field: "checkpoints", "a stored checkpoint does not parse: \(error)")
        }
    }

    /// Why this ledger is not a consistent extension of `checkpoint`, or nil when it is: another ledger's
    /// checkpoint, a log shorter than it (truncated), or another root at its size (rewritten or forked).
    public func consistencyProblem(with checkpoint: Checkpoint) throws -> String? {
        let origin = try origin()
        guard checkpoint.origin == origin else {
            return "the checkpoint is of \(checkpoint.origin), not of this ledger (\(origin))"
        }
        do {
            try withStoredTree { size, source in try MerkleTree.verifyExtension(of: checkpoint, logSize: size, in: source) }
        } catch let failure as ProofFailure {
            switch failure {
            case .logShorterThanCheckpoint: return "truncated: \(failure)"
            default: return "rewritten or forked: \(failure)"
            }
        }
        return nil
    }

    /// Keeps the verifier key of a key that signed a checkpoint here, so that bundles can state it.
    public func rememberVerifierKey(_ key: NoteVerifierKey) throws {
        try writeTransaction { txn in
            try txn.put(tables.meta, key: Array("verifier-key:\(key.name)+\(key.keyID)".utf8), value: Array(key.encoded.utf8))
        }
    }

    /// The verifier keys of `note`'s signers that signed here before.
    public func knownVerifierKeys(of note: SignedNote) throws -> [NoteVerifierKey] {
        try readTransaction { txn in
            try note.signatures.compactMap { signature in
                try txn.get(tables.meta, key: Array("verifier-key:\(signature.keyName)+\(signature.keyID)".utf8)).flatMap {
                    try? NoteVerifierKey(encoded: String(decoding: $0, as: UTF8.self))
                }
            }
        }
    }
}

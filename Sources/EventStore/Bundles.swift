import Foundation
import LMDB
import LedgerProofs

/// A bundle moves events from one ledger to another without losing a hash: `ledger export` writes one,
/// `ledger restore` makes an exact replica from it, `ledger merge` appends another ledger's events here.
///
/// The file is NDJSON, UTF-8. Its first line is the header (``BundleHeader``); then each event as
/// `ledger read --format ndjson` prints it (the stored canonical bytes with `hash` added); the last line is the
/// trailer: `{"checkpoint": <signed note text>}`, plus `"inclusion"` proofs for a one-stream export. A suffix
/// export (`--from POS`) carries the hash before its first event and the tree's right edge before it, so its
/// chain and its checkpoint's root are checked from the events it holds.
public struct BundleHeader: Sendable, Hashable {
    public static let formatName = "IncidentLedger bundle 1"
    /// The origin ledger's name (its checkpoints' origin line).
    public let origin: String
    /// The first and last positions the bundle covers (for a one-stream export, of that stream's events).
    public let fromPosition: UInt64
    public let toPosition: UInt64
    /// The tree size of the checkpoint in the trailer.
    public let treeSize: UInt64
    /// Only that stream's events, each with an inclusion proof.
    public let stream: String?
    public let eventCount: UInt64
    /// The hash of the event before `fromPosition` (64 zeros from position 1); absent for one-stream exports.
    public let previousHash: String?
    /// The tree's right edge for `fromPosition − 1` leaves, largest subtree first (suffix exports).
    public let frontier: [MerkleHash]
    /// The verifier keys of the checkpoint's signers, as the exporting ledger states them: a reader pins its own
    /// (`--trust`); without, the signature is checked against these and the reader is told so.
    public let verifierKeys: [String]

    var json: JSONValue {
        var members: [String: JSONValue] = [
            "bundle": .string(Self.formatName), "origin": .string(origin), "fromPosition": .number(JSONNumber(fromPosition)),
            "toPosition": .number(JSONNumber(toPosition)), "treeSize": .number(JSONNumber(treeSize)),
            "events": .number(JSONNumber(eventCount)), "frontier": .array(frontier.map { .string($0.base64) }),
            "verifierKeys": .array(verifierKeys.map(JSONValue.string)),
        ]
        if let stream { members["stream"] = .string(stream) }
        if let previousHash { members["previousHash"] = .string(previousHash) }
        return .object(members)
    }

    init(
        origin: String, fromPosition: UInt64, toPosition: UInt64, treeSize: UInt64, stream: String?, eventCount: UInt64,
        previousHash: String?, frontier: [MerkleHash], verifierKeys: [String]
    ) {
        (self.origin, self.fromPosition, self.toPosition, self.treeSize) = (origin, fromPosition, toPosition, treeSize)
        (self.stream, self.eventCount, self.previousHash, self.frontier) = (stream, eventCount, previousHash, frontier)
        self.verifierKeys = verifierKeys
    }

    init(json: JSONValue, file: String) throws(EventStoreError) {
        func fail(_ member: String, _ why: String) -> EventStoreError {
            EventStoreError(.invalidEvent, field: "\(file) line 1: $.\(member)", why)
        }
        guard json["bundle"]?.stringValue == Self.formatName else {
            throw fail("bundle", "not an IncidentLedger bundle (expected \"\(Self.formatName)\")")
        }
        func count(_ member: String) throws(EventStoreError) -> UInt64 {
            guard let text = json[member]?.numberValue?.text, let value = UInt64(text) else {
                throw fail(member, "expected a non-negative integer")
            }
            return value
        }
        guard let origin = json["origin"]?.stringValue, !origin.isEmpty else {
            throw fail("origin", "expected the origin's name")
        }
        var frontier: [MerkleHash] = []
        for (i, item) in (json["frontier"]?.arrayValue ?? []).enumerated() {
            guard let text = item.stringValue, let hash = MerkleHash(base64: text) else {
                throw fail("frontier[\(i)]", "expected a base64 SHA-256")
            }
            frontier.append(hash)
        }
        let keys = (json["verifierKeys"]?.arrayValue ?? []).compactMap(\.stringValue)
        self.init(
            origin: origin, fromPosition: try count("fromPosition"), toPosition: try count("toPosition"),
            treeSize: try count("treeSize"), stream: json["stream"]?.stringValue, eventCount: try count("events"),
            previousHash: json["previousHash"]?.stringValue, frontier: frontier, verifierKeys: keys)
        guard fromPosition >= 1, fromPosition <= toPosition || eventCount == 0, toPosition <= treeSize else {
            throw fail("toPosition", "positions \(fromPosition)-\(toPosition) do not fit a tree of \(treeSize)")
        }
    }
}

/// A bundle whose every byte, hash, subtree and signature checked out.
public struct VerifiedBundle: Sendable, Equatable {
    public let header: BundleHeader
    public let checkpoint: Checkpoint
    public let note: SignedNote
    /// The keys whose signatures verified, and whether they were the reader's own (`--trust`).
    public let signers: [NoteVerifierKey]
    public let signersWerePinned: Bool
    /// The hash of the bundle's last event.
    public let lastHash: String
    /// What set the origin ledger's recordedAt when it was not its own clock, from the signed checkpoint.
    public var recordedAtSetBy: String? {
        checkpoint.extensionLines.first { $0.hasPrefix(Checkpoint.recordedAtSetByPrefix) }.map {
            String($0.dropFirst(Checkpoint.recordedAtSetByPrefix.count))
        }
    }
}

extension Checkpoint {
    /// The extension line a checkpoint of a ledger whose clock a dataset set carries: signed with the rest.
    package static let recordedAtSetByPrefix = "recordedAt set by: "
}

extension EventStore {
    // MARK: - Export

    /// Writes a bundle of this ledger up to the tree size of `note` (a signed checkpoint of this ledger): the
    /// events from `fromPosition` on, or only those of `stream`. Returns its header.
    @discardableResult
    public func exportBundle(
        from fromPosition: UInt64 = 1, stream: String? = nil, checkpoint note: SignedNote, verifierKeys: [NoteVerifierKey],
        to output: FileHandle
    ) throws -> BundleHeader {
        let checkpoint: Checkpoint
        do { checkpoint = try Checkpoint(body: note.body) } catch {
            throw EventStoreError(.invalidEvent, field: "checkpoint", error.description)
        }
        if let problem = try consistencyProblem(with: checkpoint) {
            throw EventStoreError(.invalidEvent, field: "checkpoint", problem)
        }
        let size = checkpoint.size
        guard fromPosition >= 1, fromPosition <= max(size, 1) else {
            throw EventStoreError(
                .invalidEvent, field: "--from", "position \(fromPosition) is not in the checkpoint's \(size) events")
        }
        // The events, and for a one-stream export their proofs, in one snapshot.
        var positions: [UInt64] = []
        if let stream {
            try read(.stream(stream)) { event in
                if event.position <= size { positions.append(event.position) }
                return event.position <= size
            }
            guard !positions.isEmpty else {
                throw EventStoreError(.invalidEvent, field: "--stream", "\(stream) has no event in the ledger")
            }
        }
        let first = stream == nil ? fromPosition : positions.first!
        let last = stream == nil ? size : positions.last!
        let previousHash: String? =
            stream != nil ? nil : first == 1 ? EventCodec.genesisHash : try event(at: first - 1).map(\.hash)
        let frontier: [MerkleHash] =
            stream != nil
            ? []
            : try readTransaction { txn in
                try MerkleTree.rootSubtrees(ofSize: first - 1).map { try subtreeHash($0, in: txn) }
            }
        let header = BundleHeader(
            origin: checkpoint.origin, fromPosition: first, toPosition: last, treeSize: size, stream: stream,
            eventCount: stream == nil ? (size == 0 ? 0 : size - first + 1) : UInt64(positions.count),
            previousHash: previousHash, frontier: frontier, verifierKeys: verifierKeys.map(\.encoded))
        var buffer = CanonicalJSON.encode(header.json) + [0x0A]
        func flush(force: Bool = false) throws {
            guard force || buffer.count > 1 << 20 else { return }
            do { try output.write(contentsOf: buffer) } catch {
                throw EventStoreError(.storage, field: "bundle", "cannot be written: \(error.localizedDescription)")
            }
            buffer.removeAll(keepingCapacity: true)
        }
        var inclusion: [JSONValue] = []
        if stream == nil {
            if size > 0 {
                try read(.log(fromPosition: first)) { event in
                    guard event.position <= size else { return false }
                    CanonicalJSON.write(event.json, into: &buffer)
                    buffer.append(0x0A)
                    try flush()
                    return true
                }
            }
        } else {
            for position in positions {
                guard let event = try event(at: position) else { continue }
                CanonicalJSON.write(event.json, into: &buffer)
                buffer.append(0x0A)
                let proof = try inclusionProof(position: position, size: size)
                inclusion.append(
                    .object(["position": .number(JSONNumber(position)), "hashes": .array(proof.map { .string($0.base64) })]))
                try flush()
            }
        }
        var trailer: [String: JSONValue] = ["checkpoint": .string(note.text)]
        if stream != nil { trailer["inclusion"] = .array(inclusion) }
        CanonicalJSON.write(.object(trailer), into: &buffer)
        buffer.append(0x0A)
        try flush(force: true)
        return header
    }

    // MARK: - Reading a bundle

    /// Checks a bundle whole: the header, every event's bytes and hash, the chain, positions and stream versions,
    /// the Merkle root (or each event's inclusion proof) against the trailer's checkpoint, and its signature —
    /// against `trusted` keys when given, else against the keys the bundle names. Calls `each` with every event
    /// once it checked out (nothing is to be written before the whole bundle has). Reads the file once.
    public static func verifyBundle(
        at path: String, trusting trusted: [NoteVerifierKey], _ each: (RecordedEvent) throws -> Void = { _ in }
    ) throws -> VerifiedBundle {
        var header: BundleHeader?
        var trailer: JSONValue?
        var lineNumber = 0
        var expectedPosition: UInt64 = 0
        var previous = ""
        var lastRecordedAt = Int64.min
        var versions: [String: UInt64] = [:]
        var frontier: [SubtreeAddress: MerkleHash] = [:]
        var leaves: [UInt64: MerkleHash] = [:]
        var count: UInt64 = 0
        func fail(_ why: String) -> EventStoreError { EventStoreError(.invalidEvent, field: "\(path) line \(lineNumber)", why) }
        try NDJSONLines.forEach(path) { number, line in
            lineNumber = number
            guard trailer == nil else { throw fail("data after the trailer") }
            let json: JSONValue
            do { json = try JSONParser.parse(line) } catch { throw fail("\(error)") }
            guard let known = header else {
                let parsed = try BundleHeader(json: json, file: path)
                header = parsed
                expectedPosition = parsed.fromPosition
                previous = parsed.previousHash ?? ""
                if parsed.stream == nil {
                    let addresses = MerkleTree.rootSubtrees(ofSize: parsed.fromPosition - 1)
                    guard addresses.count == parsed.frontier.count else {
                        throw fail(
                            "the header's frontier has \(parsed.frontier.count) subtrees; \(parsed.fromPosition - 1) events need \(addresses.count)"
                        )
                    }
                    frontier = Dictionary(uniqueKeysWithValues: zip(addresses, parsed.frontier))
                }
                return
            }
            if json["checkpoint"] != nil, json["position"] == nil {
                trailer = json
                return
            }
            let event: RecordedEvent
            do { event = try EventCodec.decode(json: json, hash: nil, requireHash: true) } catch {
                throw fail("\(error)")
            }
            let canonical = EnvelopeWriter.canonical(event)
            let hash = canonical.withUnsafeBytes { EventCodec.hex(EventCodec.digest($0)) }
            guard hash == event.hash else {
                throw fail("position \(event.position): its hash \(event.hash) is not that of its bytes (\(hash))")
            }
            // What would be stored must read back: a recordedAt whose year leaves 0001-9999 once in UTC would not.
            // (The re-encoding writes each recordedAt in UTC with six digits: that is what could leave the years.)
            guard Timestamp.supportedRange.contains(event.recordedAt.microseconds),
                event.origin.map({ Timestamp.supportedRange.contains($0.recordedAt.microseconds) }) ?? true
            else {
                throw fail(
                    "position \(event.position): its bytes would not read back: a recordedAt \(Timestamp.outOfRangeReason)")
            }
            if known.stream == nil {
                guard event.position == expectedPosition else {
                    throw fail("position \(event.position) where \(expectedPosition) was expected")
                }
                guard event.previousHash == previous else {
                    throw fail("position \(event.position): previousHash does not match the event before it")
                }
                guard event.recordedAt.microseconds > lastRecordedAt else {
                    throw fail("position \(event.position): recordedAt does not increase")
                }
                if let version = versions[event.streamId] {
                    guard event.streamVersion == version + 1 else {
                        throw fail(
                            "position \(event.position): \(event.streamId) version \(event.streamVersion) after \(version)")
                    }
                } else if known.fromPosition == 1, event.streamVersion != 1 {
                    throw fail("position \(event.position): \(event.streamId) starts at version \(event.streamVersion)")
                }
                _ = try subtreesCompleted(by: canonical, at: event.position, frontier: &frontier)
            } else {
                // Every event of the stream from its first: a version missing is an event dropped.
                guard event.streamId == known.stream, event.position >= expectedPosition,
                    event.streamVersion == (versions[event.streamId] ?? 0) + 1
                else {
                    throw fail(
                        "position \(event.position) (\(event.streamId) version \(event.streamVersion)) is not the next event of \(known.stream!)"
                    )
                }
                leaves[event.position] = MerkleTree.leafHash(canonical)
            }
            if count == 0, event.position != known.fromPosition {
                throw fail("the first event is at position \(event.position); the header says \(known.fromPosition)")
            }
            expectedPosition = event.position + 1
            previous = event.hash
            lastRecordedAt = event.recordedAt.microseconds
            versions[event.streamId] = event.streamVersion
            count += 1
            try each(event)
        }
        guard let header else { throw EventStoreError(.invalidEvent, field: path, "is empty: no bundle header") }
        guard let trailer, let text = trailer["checkpoint"]?.stringValue else {
            throw EventStoreError(.invalidEvent, field: path, "ends without its checkpoint (a truncated bundle?)")
        }
        guard count == header.eventCount, count == 0 || expectedPosition - 1 == header.toPosition else {
            throw EventStoreError(
                .invalidEvent, field: path,
                "holds \(count) events up to position \(expectedPosition - 1); its header says \(header.eventCount) up to \(header.toPosition)"
            )
        }
        let note: SignedNote
        let checkpoint: Checkpoint
        do {
            note = try SignedNote(parsing: text)
            checkpoint = try Checkpoint(body: note.body)
        } catch {
            throw EventStoreError(.invalidEvent, field: "\(path): checkpoint", error.description)
        }
        guard checkpoint.origin == header.origin, checkpoint.size == header.treeSize else {
            throw EventStoreError(
                .invalidEvent, field: "\(path): checkpoint",
                "is of \(checkpoint.origin) at \(checkpoint.size), not of the header's \(header.origin) at \(header.treeSize)")
        }
        if header.stream == nil {
            guard expectedPosition - 1 == checkpoint.size || (checkpoint.size == 0 && count == 0) else {
                throw EventStoreError(
                    .invalidEvent, field: path,
                    "ends at position \(expectedPosition - 1); its checkpoint covers \(checkpoint.size)")
            }
            let root =
                checkpoint.size == 0
                ? MerkleTree.emptyRoot : try MerkleTree.root(ofSize: checkpoint.size, in: FrontierSource(frontier: frontier))
            guard root == checkpoint.root else {
                throw EventStoreError(
                    .invalidEvent, field: "\(path): checkpoint",
                    "its root is not that of the events: they were changed, dropped or reordered")
            }
        } else {
            for item in trailer["inclusion"]?.arrayValue ?? [] {
                guard let text = item["position"]?.numberValue?.text, let position = UInt64(text),
                    let leaf = leaves.removeValue(forKey: position)
                else {
                    throw EventStoreError(.invalidEvent, field: "\(path): inclusion", "a proof for an event the bundle lacks")
                }
                let hashes = (item["hashes"]?.arrayValue ?? []).compactMap { $0.stringValue.flatMap(MerkleHash.init(base64:)) }
                do {
                    try MerkleTree.verifyInclusion(
                        leafHash: leaf, leafIndex: position - 1, treeSize: checkpoint.size, proof: hashes, root: checkpoint.root)
                } catch {
                    throw EventStoreError(
                        .invalidEvent, field: "\(path): position \(position)", "not in the checkpoint's tree: \(error)")
                }
            }
            guard leaves.isEmpty else {
                throw EventStoreError(.invalidEvent, field: path, "\(leaves.count) events have no inclusion proof")
            }
        }
        let pinned = !trusted.isEmpty
        var keys = trusted
        if !pinned {
            for text in header.verifierKeys {
                do { keys.append(try NoteVerifierKey(encoded: text)) } catch {
                    throw EventStoreError(.invalidEvent, field: "\(path) line 1: $.verifierKeys", error.description)
                }
            }
        }
        let signers: [NoteVerifierKey]
        do { signers = try note.verify(trusting: keys) } catch {
            throw EventStoreError(.invalidEvent, field: "\(path): checkpoint", error.description)
        }
        return VerifiedBundle(
            header: header, checkpoint: checkpoint, note: note, signers: signers, signersWerePinned: pinned, lastHash: previous)
    }

    // MARK: - Restore

    /// Makes an exact replica of the ledger a full bundle holds in `directory`, which must not exist: same
    /// positions, recordedAt, hashes, head and checkpoint.
    ///
    /// One read of the bundle: each event is checked (bytes, hash, chain, versions) and written into a new ledger
    /// built in a directory of its own beside `directory`; at the end the bundle's root and signature must verify,
    /// the replica's own tree must give the checkpoint's root and its head the bundle's last hash. Only then is it
    /// renamed into place: a failure (or a kill) never leaves a ledger at `directory`.
    public static func restore(bundle path: String, into directory: String, trusting trusted: [NoteVerifierKey]) throws
        -> VerifiedBundle
    {
        guard !FileManager.default.fileExists(atPath: directory) else {
            throw EventStoreError(.noLedger, field: directory, "already exists: a restore makes a new ledger")
        }
        var result: VerifiedBundle?
        try building(directory) { partial in
            let store = try EventStore.create(at: partial)
            var batch = StoredBatch(store: store, rechaining: false)
            let verified = try verifyBundle(at: path, trusting: trusted) { event in try batch.add(event) }
            guard verified.header.stream == nil, verified.header.fromPosition == 1 else {
                throw EventStoreError(
                    .invalidEvent, field: path,
                    "holds \(verified.header.stream.map { "only \($0)" } ?? "positions from \(verified.header.fromPosition)"): a restore needs a whole ledger (export without --from or --stream)"
                )
            }
            try batch.flush()
            try store.writeTransaction { txn in
                try txn.put(store.tables.meta, key: Self.originKey, value: Array(verified.checkpoint.origin.utf8))
                if let setBy = verified.recordedAtSetBy {
                    try txn.put(store.tables.meta, key: Self.clockProvenanceKey, value: Array(setBy.utf8))
                }
            }
            // The replica's own tree must give the signed root (storeCheckpoint checks it) and its head the last hash.
            try store.storeCheckpoint(verified.note)
            let head = try store.statistics().headHash
            guard head == verified.lastHash || verified.header.eventCount == 0 else {
                throw EventStoreError(
                    .corrupted, field: directory, "the replica's head is \(head), not the bundle's \(verified.lastHash)")
            }
            result = verified
        }
        return result!
    }

    /// Builds a new ledger with `body` in a fresh directory beside `directory` (`NAME.partial-XXXXXX`), then
    /// renames it to `directory`, which must still not hold anything. Whatever fails, only the fresh directory
    /// is removed.
    static func building(_ directory: String, _ body: (String) throws -> Void) throws {
        // "out/" names the directory out: the sibling is out.partial-…, not out/.partial-….
        var directory = directory
        while directory.count > 1, directory.hasSuffix("/") { directory.removeLast() }
        guard !directory.isEmpty else { throw EventStoreError(.noLedger, field: "--data-dir", "is empty") }
        let parent = (directory as NSString).deletingLastPathComponent
        if !parent.isEmpty, !FileManager.default.fileExists(atPath: parent) {
            do { try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true) } catch {
                throw EventStoreError(.storage, field: parent, "cannot create the directory: \(error.localizedDescription)")
            }
        }
        var template = Array((directory + ".partial-XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw EventStoreError(
                .storage, field: directory, "cannot create a directory beside it: \(String(cString: strerror(errno)))")
        }
        let partial = String(cString: made)
        do {
            try body(partial)
            // rename(2) replaces an empty directory and fails on any other: nothing someone else made is lost.
            guard rename(partial, directory) == 0 else {
                let code = errno
                if code == EEXIST || code == ENOTEMPTY || code == ENOTDIR {
                    throw EventStoreError(.noLedger, field: directory, "appeared meanwhile: left as it is")
                }
                throw EventStoreError(.storage, field: directory, "cannot be made: \(String(cString: strerror(code)))")
            }
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw error
        }
    }

    /// Events written 10,000 a transaction into a new ledger, their recordedAt kept: as they are (a restore, each
    /// checked to follow the one before) or with a new chain (a migration).
    struct StoredBatch {
        let store: EventStore
        let rechaining: Bool
        var events: [RecordedEvent] = []

        mutating func add(_ event: RecordedEvent) throws {
            events.append(event)
            if events.count == 10_000 { try flush() }
        }

        mutating func flush() throws {
            guard !events.isEmpty else { return }
            let (store, events, rechaining) = (self.store, self.events, self.rechaining)
            let head = try store.writeTransaction { txn in
                var head = try store.writingHead(in: txn)
                for e in events {
                    guard e.position == head.position + 1, rechaining || e.previousHash == EventCodec.hex(head.hash) else {
                        throw EventStoreError(
                            .invalidEvent, field: "position \(e.position)", "does not follow the event before it")
                    }
                    let canonical = EnvelopeWriter.canonical(
                        eventId: e.eventId, eventType: e.eventType, schemaVersion: e.schemaVersion, occurredAt: e.occurredAt,
                        actor: e.actor, source: e.source, reason: e.reason, payload: e.payload, metadata: e.metadata,
                        origin: e.origin, streamId: e.streamId, position: e.position, streamVersion: e.streamVersion,
                        recordedAt: e.recordedAt.microseconds, previousHash: EventCodec.hex(head.hash))
                    try store.write(
                        canonical, position: e.position, eventId: e.eventId, streamId: e.streamId, version: e.streamVersion,
                        actor: e.actor, eventType: e.eventType, occurredAt: e.occurredAt, recordedAt: e.recordedAt.microseconds,
                        head: &head, in: txn)
                }
                try store.catchUpIndexes(in: txn, head: &head, always: true)
                return head
            }
            store.remember(head)
            self.events.removeAll(keepingCapacity: true)
            store.releaseResidentPages()
        }
    }
}

// MARK: - Backup and merge

extension EventStore {
    /// A hot, compacted copy of the ledger in `directory` (which must not exist), verified before it is
    /// reported: a copy that does not verify is removed and the error says why.
    public func backup(to directory: String) throws -> VerificationReport {
        guard !FileManager.default.fileExists(atPath: directory) else {
            throw EventStoreError(.noLedger, field: directory, "already exists: a backup goes into a new directory")
        }
        var report: VerificationReport?
        try Self.building(directory) { partial in
            do { try environment.copy(to: partial) } catch let error as LMDBError {
                throw EventStoreError(.storage, field: directory, "the copy failed: \(error.description)")
            }
            let checked = try EventStore.open(at: partial, readOnly: true).verify()
            if let problem = checked.problem {
                throw EventStoreError(.corrupted, field: directory, "the copy does not verify: \(problem)")
            }
            report = checked
        }
        return report!
    }

    static func mergeStateKey(_ origin: String) -> [UInt8] { Array("merged:".utf8) + Array(origin.utf8) }

    /// How far the events of `origin` were merged here: its last merged position and that event's hash there.
    package func mergeState(of origin: String) throws -> (position: UInt64, hash: String)? {
        let text: String? = try readTransaction { txn in
            try txn.get(tables.meta, key: Self.mergeStateKey(origin)).map { String(decoding: $0, as: UTF8.self) }
        }
        guard let text else { return nil }
        let parts = text.split(separator: " ")
        guard parts.count == 2, let position = UInt64(parts[0]) else {
            throw EventStoreError(.corrupted, field: "meta", "the merge state of \(origin) is unreadable")
        }
        return (position, String(parts[1]))
    }

    /// What a merge did.
    package struct MergeReport: Sendable, Hashable {
        /// Positions here of the events appended (empty when nothing was new).
        package let positions: [UInt64]
        /// Bundle events skipped because they were merged before from the same origin.
        package let mergedBefore: Int
        /// Bundle events skipped because this ledger already holds them (same id, same content): its own events
        /// coming back from a replica.
        package let alreadyHere: Int
    }

    /// The events of another ledger's verified bundle, as the merge will append them, after checking that the
    /// bundle extends what was merged before from its origin (naming the first event that differs when not).
    package func mergeCandidates(_ verified: VerifiedBundle, bundle path: String) throws -> (
        events: [(streamId: String, event: ProposedEvent)], mergedBefore: Int, alreadyHere: Int
    ) {
        let header = verified.header
        // A merge writes on the strength of the signature: checked against the reader's keys, not the bundle's.
        guard verified.signersWerePinned else {
            throw EventStoreError(.invalidEvent, field: path, "a merge needs the origin's verifier key from the reader (--trust)")
        }
        guard header.stream == nil else {
            throw EventStoreError(
                .invalidEvent, field: path, "holds only \(header.stream!): a merge takes a whole or --from export")
        }
        guard verified.checkpoint.origin != (try origin()) else {
            throw EventStoreError(.invalidEvent, field: path, "is a bundle of this very ledger: nothing to merge")
        }
        let state = try mergeState(of: header.origin)
        guard state != nil || header.fromPosition == 1 else {
            throw EventStoreError(
                .invalidEvent, field: path,
                "starts at position \(header.fromPosition) of \(header.origin), which was never merged here: export it from position 1"
            )
        }
        if let state {
            if header.fromPosition > state.position + 1 {
                throw EventStoreError(
                    .invalidEvent, field: path,
                    "starts at position \(header.fromPosition) of \(header.origin), but only 1-\(state.position) were merged: export from \(state.position + 1)"
                )
            }
            if header.fromPosition == state.position + 1, header.previousHash != state.hash {
                throw EventStoreError(
                    .invalidEvent, field: path,
                    "does not extend what was merged from \(header.origin): its position \(header.fromPosition) follows another event than the \(state.position) merged (hash \(state.hash))"
                )
            }
        }
        var events: [(String, ProposedEvent)] = []
        var mergedBefore = 0
        var alreadyHere = 0
        let again = try Self.verifyBundle(at: path, trusting: verified.signers) { event in
            if let state, event.position <= state.position {
                if event.position == state.position, event.hash != state.hash {
                    throw EventStoreError(
                        .invalidEvent, field: "\(path): position \(event.position)",
                        "does not extend what was merged from \(header.origin): this event has hash \(event.hash), the one merged before \(state.hash)"
                    )
                }
                mergedBefore += 1
                return
            }
            var proposed = ProposedEvent(
                eventId: event.eventId, eventType: event.eventType, schemaVersion: event.schemaVersion,
                occurredAt: event.occurredAt, actor: event.actor, source: event.source, reason: event.reason,
                payload: event.payload, metadata: event.metadata)
            if let stored = try self.event(id: event.eventId) {
                if let field = stored.differingField(from: proposed, streamId: event.streamId) {
                    throw EventStoreError(
                        .eventIdConflict, field: "\(path): position \(event.position)",
                        "event \(event.eventId.lowercasedString) is already here at position \(stored.position) with a different \(field)"
                    )
                }
                alreadyHere += 1
                return
            }
            proposed.origin = EventOrigin(
                ledger: header.origin, position: event.position, hash: event.hash, recordedAt: event.recordedAt)
            events.append((event.streamId, proposed))
        }
        guard again == verified else { throw EventStoreError(.invalidEvent, field: path, "changed while it was read") }
        return (events, mergedBefore, alreadyHere)
    }

    /// Appends the merge's events in one transaction with the new merge state of `verified`'s origin: all or
    /// nothing, and refused if another merge of that origin landed meanwhile.
    package func appendMerged(
        _ events: [(streamId: String, event: ProposedEvent)], of verified: VerifiedBundle,
        expecting before: (position: UInt64, hash: String)?
    ) throws -> [UInt64] {
        var requests: [AppendRequest] = []
        for (stream, event) in events {
            if let last = requests.last, last.streamId == stream {
                requests[requests.count - 1].events.append(event)
            } else {
                requests.append(AppendRequest(streamId: stream, events: [event]))
            }
        }
        let prepared = try requests.enumerated().map { i, request in try prepare(request, path: "events[\(i)]") }
        let origin = verified.header.origin
        let key = Self.mergeStateKey(origin)
        var lastHead: Head?
        let positions = try writeTransaction { txn in
            let current = try txn.get(tables.meta, key: key).map { String(decoding: $0, as: UTF8.self) }
            guard current == before.map({ "\($0.position) \($0.hash)" }) else {
                throw EventStoreError(.eventIdConflict, field: origin, "was merged by someone else meanwhile: merge again")
            }
            var head = try writingHead(in: txn)
            let now = self.now()
            var positions: [UInt64] = []
            for request in prepared { positions += try apply(request, in: txn, head: &head, now: now).positions }
            // The state only moves forward: a bundle that ends before what was merged leaves it.
            let through =
                verified.header.eventCount == 0 || (before?.position ?? 0) >= verified.header.toPosition
                ? before : (verified.header.toPosition, verified.lastHash)
            if let through { try txn.put(tables.meta, key: key, value: Array("\(through.position) \(through.hash)".utf8)) }
            try catchUpIndexes(in: txn, head: &head)
            lastHead = head
            return positions
        }
        if let lastHead { remember(lastHead) }
        return positions
    }
}

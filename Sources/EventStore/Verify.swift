import Foundation
import LMDB
import LedgerProofs

/// The outcome of ``EventStore/verify()``.
public struct VerificationReport: Sendable, Hashable {
    /// A mismatch: the first position (0 when it is not tied to one event) and what is wrong.
    public struct Problem: Sendable, Hashable, CustomStringConvertible {
        public let position: UInt64
        public let message: String
        public var description: String { position == 0 ? message : "position \(position): \(message)" }
    }

    public let eventsChecked: UInt64
    public let indexEntriesChecked: UInt64
    /// Subtrees of the Merkle tree recomputed from the events and found as stored.
    public let subtreesChecked: UInt64
    /// The hash of the last event checked: the head a third party can compare with.
    public let headHash: String
    /// The first mismatch found, or nil when the ledger is sound.
    public let problem: Problem?
    public var isValid: Bool { problem == nil }
}

extension EventStore {
    /// Recomputes the whole chain and every index entry, in one read snapshot, and reports the first
    /// position whose bytes, order or hash do not match; then checks the seal of every saved projection.
    /// Never changes the ledger.
    ///
    /// Before LMDB follows any page, every B-tree of `data.mdb` is walked with ordinary reads and each page
    /// checked (``Environment/checkPages()``): LMDB keeps no checksums, and a damaged page would otherwise
    /// stop the process with a signal.
    /// - Parameter progress: called now and then with the last position checked (for a supervisor that
    ///   names where a crash happened).
    /// - Throws: ``EventStoreError`` `.corrupted` naming `data.mdb` and the byte offset of a damaged page.
    public func verify(progress: ((UInt64) -> Void)? = nil) throws -> VerificationReport {
        do {
            _ = try environment.checkPages()
        } catch let problem as DataFileProblem {
            throw EventStoreError.damaged(problem)
        } catch let error as LMDBError {
            throw EventStoreError.storage(error, in: directory)
        }
        let report = try readTransaction { txn in
            var checker = ChainChecker(store: self, progress: progress)
            do {
                try checker.run(in: txn)
            } catch let problem as VerificationReport.Problem {
                return checker.report(problem)
            }
            return checker.report(nil)
        }
        guard report.isValid else { return report }
        for name in try projectionNames() {
            if case .mismatch(let reason) = try checkProjection(name) {
                return VerificationReport(
                    eventsChecked: report.eventsChecked, indexEntriesChecked: report.indexEntriesChecked,
                    subtreesChecked: report.subtreesChecked, headHash: report.headHash,
                    problem: .init(position: 0, message: "saved projection \(name): \(reason)"))
            }
        }
        return report
    }
}

extension VerificationReport.Problem: Error {}

private struct ChainChecker {
    let store: EventStore
    var eventsChecked: UInt64 = 0
    var indexEntries: UInt64 = 0
    var subtreesChecked: UInt64 = 0
    var previousHash = [UInt8](repeating: 0, count: 32)
    var previousRecordedAt = Int64.min
    var streamVersions: [String: UInt64] = [:]
    /// The Merkle tree's right edge as recomputed from the events so far.
    var frontier: [SubtreeAddress: MerkleHash] = [:]
    /// How far the secondary indexes go (DeferredIndexes.swift): entries up to it, none after.
    var indexedThrough: UInt64 = 0
    let progress: ((UInt64) -> Void)?

    init(store: EventStore, progress: ((UInt64) -> Void)?) {
        self.store = store
        self.progress = progress
    }

    func report(_ problem: VerificationReport.Problem?) -> VerificationReport {
        VerificationReport(
            eventsChecked: eventsChecked, indexEntriesChecked: indexEntries, subtreesChecked: subtreesChecked,
            headHash: EventCodec.hex(previousHash),
            problem: problem)
    }

    func fail(_ position: UInt64, _ message: String) -> VerificationReport.Problem {
        VerificationReport.Problem(position: position, message: message)
    }

    mutating func run(in txn: borrowing ReadTransaction) throws {
        let tables = store.tables
        do {
            indexedThrough = try store.indexedThrough(in: txn)
            let head = try store.head(in: txn).position
            guard indexedThrough <= head else {
                throw fail(0, "meta indexed-through says \(indexedThrough), past the last event (\(head))")
            }
        } catch let error as EventStoreError {
            throw fail(0, error.description)
        }
        try txn.withCursor(tables.events) { cursor in
            try cursor.forEach { key, value in
                let expected = eventsChecked + 1
                guard key.byteCount == 8 else { throw fail(expected, "event key has \(key.byteCount) bytes instead of 8") }
                let position = Keys.readBigEndian(key)
                guard position == expected else {
                    throw fail(expected, "the log jumps from position \(eventsChecked) to \(position)")
                }
                if position % 1024 == 1 { progress?(position) }
                try value.withUnsafeBytes { try checkEvent($0, at: position, in: txn) }
                eventsChecked = position
                return true
            }
        }
        let head = try store.head(in: txn)
        guard head.position == eventsChecked, head.hash == previousHash else {
            throw fail(
                head.position,
                "the recorded head (position \(head.position), hash \(EventCodec.hex(head.hash))) does not match the last event")
        }
        // Every event has exactly one entry per index (checked above; in a secondary index, every event up to
        // indexed-through); equal counts mean no index holds an entry for an event that does not exist.
        let perEventIndexes = [
            (tables.eventIds, eventsChecked), (tables.streams, eventsChecked), (tables.byActor, indexedThrough),
            (tables.byType, indexedThrough), (tables.byOccurred, indexedThrough),
        ]
        for (index, expected) in perEventIndexes {
            let count = try txn.count(index)
            guard UInt64(count) == expected else {
                throw fail(
                    0,
                    "index \(index.name) holds \(count) entries for \(expected) events"
                        + (expected == eventsChecked ? "" : " (indexed through position \(indexedThrough))"))
            }
        }
        // The tree: every stored subtree was compared as its last event went by; equal counts mean no other.
        let subtrees = UInt64(try txn.count(tables.merkle))
        guard subtrees == subtreesChecked else {
            throw fail(
                0,
                "the Merkle tree holds \(subtrees) subtrees; the events it covers make \(subtreesChecked)"
                    + " (\(eventsChecked) events, indexed through position \(indexedThrough))")
        }
        for (stream, version) in streamVersions {
            let stored = try store.currentVersion(of: stream, in: txn)
            guard stored == version else {
                throw fail(0, "stream \(stream) is at version \(version) in the log but \(stored) in the streams index")
            }
        }
        // A benchmark ledger stores no tree: its chain and indexes checked out, but it can prove nothing.
        guard store.keepsTree else {
            throw fail(0, "written without its Merkle tree: a benchmark ledger (meta merkle-tree = off), not a record")
        }
    }

    private mutating func checkEvent(_ stored: UnsafeRawBufferPointer, at position: UInt64, in txn: borrowing ReadTransaction)
        throws
    {
        guard stored.count > EventCodec.hashSize else { throw fail(position, "stored event is truncated") }
        let json = UnsafeRawBufferPointer(rebasing: stored[EventCodec.hashSize...])
        let recomputed = EventCodec.digest(json)
        guard recomputed.withUnsafeBytes({ memcmp($0.baseAddress!, stored.baseAddress!, EventCodec.hashSize) == 0 }) else {
            throw fail(
                position,
                "hash mismatch: the stored bytes hash to \(EventCodec.hex(recomputed)), not the stored \(EventCodec.hex(stored[0..<EventCodec.hashSize]))"
            )
        }
        let event: RecordedEvent
        do {
            event = try EventCodec.decode(stored: stored, position: position)
        } catch {
            throw fail(position, "\(error.message)")
        }
        guard event.position == position else { throw fail(position, "the event says it is at position \(event.position)") }
        guard event.previousHash == EventCodec.hex(previousHash) else {
            throw fail(position, "previousHash \(event.previousHash) does not match the hash of position \(position - 1)")
        }
        guard event.recordedAt.microseconds > previousRecordedAt else {
            throw fail(position, "recordedAt \(event.recordedAt.rfc3339Micros) does not increase")
        }
        let version = (streamVersions[event.streamId] ?? 0) + 1
        guard event.streamVersion == version else {
            throw fail(position, "stream \(event.streamId) jumps to version \(event.streamVersion) after \(version - 1)")
        }
        // The canonical form must be the only form: re-encoding the decoded event gives the same bytes.
        let canonical = EnvelopeWriter.canonical(event)
        let same = canonical.withUnsafeBytes {
            $0.count == json.count && memcmp($0.baseAddress!, json.baseAddress!, json.count) == 0
        }
        guard same else {
            throw fail(position, "stored bytes are not in canonical form")
        }
        let tables = store.tables
        let positionKey = Keys.position(position)
        try expectEntry(tables.eventIds, Keys.eventId(event.eventId), value: positionKey, position, in: txn)
        try expectEntry(tables.streams, Keys.stream(event.streamId, version: version), value: positionKey, position, in: txn)
        if position <= indexedThrough {
            try expectEntry(tables.byActor, Keys.named(event.actor, position: position), value: [], position, in: txn)
            try expectEntry(tables.byType, Keys.named(event.eventType, position: position), value: [], position, in: txn)
            try expectEntry(
                tables.byOccurred, Keys.occurred(event.occurredAt.earliest, position: position), value: [], position, in: txn)
        }
        // Up to indexed-through every subtree is stored; after it none is written yet (a format-4 ledger read as
        // it is holds them: they must match too).
        for subtree in store.keepsTree ? try EventStore.subtreesCompleted(by: json, at: position, frontier: &frontier) : [] {
            guard let hash = try txn.get(tables.merkle, key: subtree.address.storageKey) else {
                if position > indexedThrough { continue }
                throw fail(position, "the Merkle tree lacks \(subtree.address), which this event completes")
            }
            guard hash.elementsEqual(subtree.hash.bytes) else {
                throw fail(position, "the Merkle tree's \(subtree.address) does not match the events it covers")
            }
            subtreesChecked += 1
        }
        streamVersions[event.streamId] = version
        previousHash = Array(stored[0..<EventCodec.hashSize])
        previousRecordedAt = event.recordedAt.microseconds
    }

    private mutating func expectEntry(
        _ index: Database, _ key: [UInt8], value: [UInt8], _ position: UInt64, in txn: borrowing ReadTransaction
    ) throws {
        guard let stored = try txn.get(index, key: key) else {
            throw fail(position, "index \(index.name) has no entry for this event")
        }
        guard stored == value else { throw fail(position, "index \(index.name) entry points elsewhere") }
        indexEntries += 1
    }
}

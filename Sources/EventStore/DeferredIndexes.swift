import Foundation
import LMDB
import LedgerProofs

/// The secondary indexes (`by-actor`, `by-type`, `by-occurred`) and the Merkle tree's subtrees are written
/// behind the commit, the way KurrentDB builds its by-type and by-category indexes behind its log: a commit
/// writes the log, the event ids and the streams, and the deferred entries of the events not yet indexed are
/// written by a later commit, once at least ``EventStore/indexLag`` events wait (every batch of a bulk path is
/// larger than that). A single durable append then dirties four B-trees fewer: fewer pages to write and sync.
///
/// The meta key `indexed-through` says how far they go: they hold an entry for every position up to it and
/// none after. It is written in the same transaction as the entries it covers, so a crash leaves the two
/// agreeing. A reader never sees less than what was committed: a read through one of these indexes takes
/// the events after `indexed-through` from the log (at most ``EventStore/indexLag`` of them) and merges them
/// in key order (see ``EventStore/read(_:direction:limit:_:)``), and a subtree that ends after it is computed
/// from the log's events (see ``EventStore/subtreeHash(_:in:)``).
extension EventStore {
    /// The most events left out of the deferred entries after a commit: the tail a read merges from the log.
    package static let indexLag: UInt64 = 128

    /// The meta key holding the last position the deferred entries cover (8 bytes, big-endian).
    static let indexedThroughKey = Array("indexed-through".utf8)

    /// What the deferred entries of an event are, kept in ``Head`` (and across commits with the tree's right
    /// edge, ``frontierCache``) so that the catch-up does not read the event back.
    struct DeferredEntries: Sendable {
        let position: UInt64
        let actor: String
        let eventType: String
        let occurredEarliest: Int64
        /// The tree's subtrees this event completes (none in a ledger kept without its tree).
        let subtrees: [Subtree]
    }

    /// The last position the deferred entries cover. A format-3 ledger (which wrote them in every commit) has
    /// no `indexed-through`: it covers the whole log.
    func indexedThrough(in txn: borrowing some ReadableTransaction & ~Copyable) throws -> UInt64 {
        guard let stored = try txn.get(tables.meta, key: Self.indexedThroughKey) else { return try head(in: txn).position }
        guard stored.count == 8 else {
            throw EventStoreError(.corrupted, field: "meta/indexed-through", "holds \(stored.count) bytes instead of 8")
        }
        return stored.withUnsafeBytes { Keys.readBigEndian($0) }
    }

    /// Writes the deferred entries of every event after `indexed-through`, at the end of a transaction that
    /// appended up to `head`, when at least ``indexLag`` of them wait (or any, with `always`). They come from
    /// `head.unindexed`; those it lacks (written by another process, or before this one started) are read back
    /// from the log, their subtrees recomputed from the tree's stored edge. `head.unindexed` keeps what is
    /// still waiting.
    func catchUpIndexes(in txn: borrowing WriteTransaction, head: inout Head, always: Bool = false) throws {
        let indexed = try indexedThrough(in: txn)
        head.unindexed.removeAll { $0.position <= indexed }
        guard head.position > indexed, always || head.position - indexed >= Self.indexLag else { return }
        defer { head.unindexed.removeAll() }
        let firstKept = head.unindexed.first?.position ?? head.position + 1
        // A bulk batch's catch-up puts its thousands of keys at random leaves of `by-occurred` all over the
        // file: its resident pages are let go as the batch's own are, or they pile up to a batch's worth.
        var release = ResidentPageRelease()
        if indexed + 1 < firstKept {
            var frontier = keepsTree ? try storedFrontier(ofSize: indexed, in: txn) : [:]
            for position in (indexed + 1)..<firstKept {
                try putDeferredEntries(try readBackEntries(at: position, frontier: &frontier, in: txn), in: txn)
                release.passed(1, in: environment)
            }
        }
        for entries in head.unindexed {
            try putDeferredEntries(entries, in: txn)
            release.passed(1, in: environment)
        }
        try txn.put(tables.meta, key: Self.indexedThroughKey, value: Keys.position(head.position))
    }

    /// The deferred entries of the stored event at `position`, `frontier` being the tree's edge before it (and
    /// after it, on return).
    private func readBackEntries(
        at position: UInt64, frontier: inout [SubtreeAddress: MerkleHash], in txn: borrowing some ReadableTransaction & ~Copyable
    ) throws -> DeferredEntries {
        try withStoredEvent(at: position, in: txn) { stored, canonical in
            let event = try EventCodec.decode(stored: stored, position: position)
            return DeferredEntries(
                position: position, actor: event.actor, eventType: event.eventType,
                occurredEarliest: event.occurredAt.earliest,
                subtrees: keepsTree ? try Self.subtreesCompleted(by: canonical, at: position, frontier: &frontier) : [])
        }
    }

    private func putDeferredEntries(_ entries: DeferredEntries, in txn: borrowing WriteTransaction) throws {
        try txn.put(tables.byActor, key: Keys.named(entries.actor, position: entries.position), value: [])
        try txn.put(tables.byType, key: Keys.named(entries.eventType, position: entries.position), value: [])
        try txn.put(tables.byOccurred, key: Keys.occurred(entries.occurredEarliest, position: entries.position), value: [])
        for subtree in entries.subtrees {
            try txn.put(tables.merkle, key: subtree.address.storageKey, value: subtree.hash.bytes)
        }
    }

    /// The key `event` has (or will have) in the secondary index that `selection` reads; nil for the log and
    /// streams, which are written in every commit.
    static func secondaryKey(of event: RecordedEvent, for selection: EventSelection) -> [UInt8]? {
        switch selection {
        case .log, .stream: nil
        case .actor: Keys.named(event.actor, position: event.position)
        case .eventType: Keys.named(event.eventType, position: event.position)
        case .occurred: Keys.occurred(event.occurredAt.earliest, position: event.position)
        }
    }

    /// The events after `indexed-through` up to `head` that `selection` takes (their key in `lower ..< upper`),
    /// with their keys, in key order: what a read merges with the index.
    func unindexedTail(
        _ selection: EventSelection, lower: [UInt8]?, upper: [UInt8]?, through head: UInt64,
        in txn: borrowing some ReadableTransaction & ~Copyable
    ) throws -> (indexedThrough: UInt64, events: [(key: [UInt8], event: RecordedEvent)]) {
        let indexed = try indexedThrough(in: txn)
        guard head > indexed else { return (indexed, []) }
        var tail: [(key: [UInt8], event: RecordedEvent)] = []
        for position in (indexed + 1)...head {
            let event = try loadEvent(at: position, in: txn)
            guard let key = Self.secondaryKey(of: event, for: selection) else { continue }
            if let lower, key.lexicographicallyPrecedes(lower) { continue }
            if let upper, !key.lexicographicallyPrecedes(upper) { continue }
            tail.append((key, event))
        }
        tail.sort { $0.key.lexicographicallyPrecedes($1.key) }
        return (indexed, tail)
    }

    /// Makes a format-3 or format-4 ledger one of this format in place. Format 3 wrote every index in every
    /// commit: its entries cover its whole log, which `indexed-through` now says. Format 4 wrote the tree in
    /// every commit and the secondary indexes behind it: the events still waiting get their entries (their
    /// subtrees, stored already, are written again with the same bytes), so that `indexed-through` covers the
    /// head. Then the marker names the new format. Nothing else of the ledger changes.
    func upgradeInPlace() throws {
        let upgraded = try writeTransaction { txn -> Head? in
            // Another process may have upgraded it (and appended) since this one read the marker.
            let marker = try txn.get(tables.meta, key: Array("format".utf8))
            if marker == Array(Self.formatThreeMarker.utf8) {
                try txn.put(tables.meta, key: Self.indexedThroughKey, value: Keys.position(try head(in: txn).position))
            } else if marker != Array(Self.formatFourMarker.utf8) {
                return nil
            }
            var writing = try writingHead(in: txn)
            try catchUpIndexes(in: txn, head: &writing, always: true)
            try txn.put(tables.meta, key: Array("format".utf8), value: Array(Self.formatMarker.utf8))
            return writing
        }
        if let upgraded { remember(upgraded) }
    }
}

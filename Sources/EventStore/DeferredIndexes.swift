import Foundation
import LMDB

/// The secondary indexes (`by-actor`, `by-type`, `by-occurred`) are written behind the commit, the way
/// KurrentDB builds its by-type and by-category indexes behind its log: a commit writes the log, the event
/// ids, the streams and the Merkle tree, and the secondary entries of the events not yet indexed are written
/// by a later commit, once at least ``EventStore/indexLag`` events wait (every batch of a bulk path is
/// larger than that). A single durable append then dirties three B-trees fewer: fewer pages to write and
/// sync.
///
/// The meta key `indexed-through` says how far they go: they hold an entry for every position up to it and
/// none after. It is written in the same transaction as the entries it covers, so a crash leaves the two
/// agreeing. A reader never sees less than what was committed: a read through one of these indexes takes
/// the events after `indexed-through` from the log (at most ``EventStore/indexLag`` of them) and merges them
/// in key order (see ``EventStore/read(_:direction:limit:_:)``).
extension EventStore {
    /// The most events left out of the secondary indexes after a commit: the tail a read merges from the log.
    package static let indexLag: UInt64 = 128

    /// The meta key holding the last position the secondary indexes cover (8 bytes, big-endian).
    static let indexedThroughKey = Array("indexed-through".utf8)

    /// What the secondary indexes need of an event, kept in ``Head`` (and across commits with the tree's right
    /// edge, ``frontierCache``) so that the catch-up does not read the event back.
    struct SecondaryKeys: Sendable {
        let position: UInt64
        let actor: String
        let eventType: String
        let occurredEarliest: Int64
    }

    /// The last position the secondary indexes cover. A format-3 ledger (which wrote them in every commit)
    /// has no `indexed-through`: it covers the whole log.
    func indexedThrough(in txn: borrowing some ReadableTransaction & ~Copyable) throws -> UInt64 {
        guard let stored = try txn.get(tables.meta, key: Self.indexedThroughKey) else { return try head(in: txn).position }
        guard stored.count == 8 else {
            throw EventStoreError(.corrupted, field: "meta/indexed-through", "holds \(stored.count) bytes instead of 8")
        }
        return stored.withUnsafeBytes { Keys.readBigEndian($0) }
    }

    /// Writes the secondary entries of every event after `indexed-through`, at the end of a transaction that
    /// appended up to `head`, when at least ``indexLag`` of them wait (or any, with `always`). Their keys come
    /// from `head.unindexed`; those it lacks (written by another process, or before this one started) are read
    /// back from the log. `head.unindexed` keeps what is still waiting.
    func catchUpIndexes(in txn: borrowing WriteTransaction, head: inout Head, always: Bool = false) throws {
        let indexed = try indexedThrough(in: txn)
        head.unindexed.removeAll { $0.position <= indexed }
        guard head.position > indexed, always || head.position - indexed >= Self.indexLag else { return }
        defer { head.unindexed.removeAll() }
        let firstKept = head.unindexed.first?.position ?? head.position + 1
        if indexed + 1 < firstKept {
            for position in (indexed + 1)..<firstKept {
                let event = try loadEvent(at: position, in: txn)
                try putSecondaryEntries(
                    SecondaryKeys(
                        position: position, actor: event.actor, eventType: event.eventType,
                        occurredEarliest: event.occurredAt.earliest), in: txn)
            }
        }
        for keys in head.unindexed { try putSecondaryEntries(keys, in: txn) }
        try txn.put(tables.meta, key: Self.indexedThroughKey, value: Keys.position(head.position))
    }

    private func putSecondaryEntries(_ keys: SecondaryKeys, in txn: borrowing WriteTransaction) throws {
        try txn.put(tables.byActor, key: Keys.named(keys.actor, position: keys.position), value: [])
        try txn.put(tables.byType, key: Keys.named(keys.eventType, position: keys.position), value: [])
        try txn.put(tables.byOccurred, key: Keys.occurred(keys.occurredEarliest, position: keys.position), value: [])
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

    /// Makes a format-3 ledger one of this format in place: its secondary indexes cover its whole log (format 3
    /// wrote them in every commit), which `indexed-through` now says, and the marker names the new format.
    /// Nothing else of the ledger changes.
    func upgradeFromFormat3() throws {
        try writeTransaction { txn in
            // Another process may have upgraded it (and appended) since this one read the marker.
            guard try txn.get(tables.meta, key: Array("format".utf8)) == Array(Self.formatThreeMarker.utf8) else { return }
            try txn.put(tables.meta, key: Self.indexedThroughKey, value: Keys.position(try head(in: txn).position))
            try txn.put(tables.meta, key: Array("format".utf8), value: Array(Self.formatMarker.utf8))
        }
    }
}

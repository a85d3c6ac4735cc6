import EventStore
import Foundation
import Projections

/// The incident index as the ledger keeps it: the pure fold of ``IncidentIndex`` run against the store, saved
/// with a checkpoint, caught up in pages of the log so that memory stays bounded however long the log is,
/// rebuilt from position 1, and checked against the log.
extension IncidentIndex {
    package static let projectionName = "incident-index"
    /// Events scanned per read transaction.
    package static let eventsPerRead = 5000
    /// Entries held before they are saved: bounds memory during a rebuild (the entries are per incident and
    /// establishment, not per event, so on a long log they grow slowly).
    static let entriesPerSave = 5000
    /// Events scanned between saves even when few entries changed, so that an interrupted rebuild resumes
    /// near where it stopped.
    static let eventsPerSave: UInt64 = 250_000

    /// Folds the events after the saved checkpoint into the index. Returns the new checkpoint.
    ///
    /// Routes on the stored bytes (``JSONMembers``): it reads an event's type, stream and the establishments
    /// its payload names, and skips the rest without decoding it. With `lanes` above 1, each round reads
    /// `lanes` consecutive runs of `eventsPerRead` events at once, one thread each (see ``Lanes``); the
    /// saved index is the same as with one.
    @discardableResult
    package static func catchUp(_ store: EventStore, eventsPerRead: Int = eventsPerRead, lanes: Int = defaultLanes) throws
        -> UInt64
    {
        var checkpoint = try store.loadProjection(projectionName, keys: []).checkpoint
        let folds = Lanes(count: lanes)
        var last = checkpoint
        func flush() throws {
            guard last > checkpoint else { return }
            guard try store.saveProjection(projectionName, from: checkpoint, to: last, changed: folds.takeEntries()) else {
                // Another process caught up meanwhile: what it saved covers these events too.
                throw Interrupted()
            }
            checkpoint = last
        }
        do {
            while let scanned = try folds.fold(store, from: last + 1, eventsPerRead: eventsPerRead) {
                last = scanned
                if folds.entryCount >= entriesPerSave || last - checkpoint >= eventsPerSave {
                    try flush()
                    // Each run let go of the pages it read; this also drops the branch pages and the
                    // neighbours the kernel mapped around them.
                    store.releaseResidentPages()
                }
            }
            try flush()
        } catch is Interrupted {
            return try store.loadProjection(projectionName, keys: []).checkpoint
        }
        return checkpoint
    }

    /// Threads a catch-up reads the log with: two when the machine has two cores or more. A rebuild is
    /// bound by the walk over the stored bytes, which the lanes share evenly.
    package static let defaultLanes = min(2, ProcessInfo.processInfo.activeProcessorCount)

    /// The folds of one catch-up, one per thread: lane `k` of a round scans the `k`-th run of
    /// `eventsPerRead` events after the last round, in its own read transaction, into its own
    /// ``PendingEntries``.
    ///
    /// Lane `k`'s run is the positions `eventsPerRead` × `k` on from the round's start, up to the head read
    /// when the round began, so the runs of a round meet end to end. Their entries are merged in lane
    /// order, that is in log order, when they are saved; they are keys with empty values (an incident, an
    /// establishment an incident names) and registrations keyed by their position, so a key two lanes add
    /// is the same entry, and the merge is what the sequential fold gives.
    final class Lanes: @unchecked Sendable {
        // @unchecked: during a round each thread touches only its own lane's slot; between rounds only the
        // caller's thread touches them.
        private var pending: [PendingEntries]
        private var results: [Result<UInt64?, any Error>]

        init(count: Int) {
            pending = Array(repeating: PendingEntries(), count: max(1, count))
            results = Array(repeating: .success(nil), count: max(1, count))
        }

        /// Entries gathered and not taken yet, over all lanes.
        var entryCount: Int { pending.reduce(0) { $0 + $1.entries.count } }

        /// One round: every lane folds its run. Returns the last position folded, nil when there was none.
        func fold(_ store: EventStore, from position: UInt64, eventsPerRead: Int) throws -> UInt64? {
            let count = pending.count
            if count == 1 {
                return try store.scanLog(fromPosition: position, limit: eventsPerRead, releasingPages: true) { at, canonical in
                    try addEntries(of: canonical, at: at, to: &pending[0])
                }
            }
            // Every lane stops at the head as it is now: the runs then cover the log from `position` without
            // a gap, however a writer moves the head meanwhile.
            let head = try store.lastPosition()
            guard position <= head else { return nil }
            pending.withUnsafeMutableBufferPointer { lanes in
                results.withUnsafeMutableBufferPointer { results in
                    nonisolated(unsafe) let lanes = lanes
                    nonisolated(unsafe) let results = results
                    DispatchQueue.concurrentPerform(iterations: count) { lane in
                        let start = position + UInt64(lane * eventsPerRead)
                        results[lane] = Result {
                            try store.scanLog(
                                fromPosition: start, through: min(head, start + UInt64(eventsPerRead) - 1), limit: eventsPerRead,
                                releasingPages: true
                            ) { at, canonical in try addEntries(of: canonical, at: at, to: &lanes[lane]) }
                        }
                    }
                }
            }
            var last: UInt64?
            for result in results {
                if let scanned = try result.get() { last = max(last ?? 0, scanned) }
            }
            return last
        }

        /// The entries of every lane, merged in lane order; the lanes keep their caches of keys added.
        func takeEntries() -> [String: [UInt8]] {
            var merged: [String: [UInt8]] = [:]
            for lane in pending.indices {
                merged.merge(pending[lane].entries) { _, later in later }
                pending[lane].entries.removeAll(keepingCapacity: true)
            }
            return merged
        }
    }

    private struct Interrupted: Error {}

    /// Drops the index and folds the whole log again.
    @discardableResult
    package static func rebuild(_ store: EventStore, eventsPerRead: Int = eventsPerRead, lanes: Int = defaultLanes) throws
        -> UInt64
    {
        try store.clearProjection(projectionName)
        return try catchUp(store, eventsPerRead: eventsPerRead, lanes: lanes)
    }

    /// Loads the incident list and the registrations.
    package static func snapshot(_ store: EventStore) throws -> Snapshot {
        let incidents = try store.loadProjection(projectionName, prefix: "i:")
        let registrations = try store.loadProjection(projectionName, prefix: "e:")
        return try Snapshot(
            checkpoint: incidents.checkpoint, incidents: incidents.entries, registrations: registrations.entries, links: nil)
    }

    /// The incident streams that name `finess` somewhere in their facts.
    package static func incidents(touching finess: String, in store: EventStore) throws -> [String] {
        let prefix = "t:\(finess)/"
        return try store.loadProjection(projectionName, prefix: prefix).entries.keys.map { String($0.dropFirst(prefix.count)) }
            .sorted()
    }

    /// The incident streams that name `finess`: from `snapshot` when it was folded in memory, else as saved.
    package static func incidents(touching finess: String, in store: EventStore, snapshot: Snapshot) throws -> [String] {
        guard let links = snapshot.links else { return try incidents(touching: finess, in: store) }
        return links[finess] ?? []
    }

    /// Whether the saved index is sound: its entries match the digest of its last save and its checkpoint is
    /// an event of this log (see ``EventStore/checkProjection(_:)``).
    package static func integrity(_ store: EventStore) throws -> EventStore.ProjectionIntegrity {
        try store.checkProjection(projectionName)
    }

    /// Every entry the index holds after folding positions `from` through the last (or `through`), in memory.
    static func fold(_ store: EventStore, from position: UInt64, through last: UInt64 = .max) throws -> [String: [UInt8]] {
        var pending = PendingEntries()
        var next = position
        while next <= last,
            let scanned = try store.scanLog(
                fromPosition: next, limit: Int(min(UInt64(eventsPerRead), last - next + 1)),
                { position, canonical in try addEntries(of: canonical, at: position, to: &pending) })
        {
            next = scanned + 1
            store.releaseResidentPages()
        }
        return pending.entries
    }

    /// The index caught up with the log in memory, saving nothing: for a read-only ledger. Starts from the
    /// saved index when it is sound, else folds the whole log.
    package static func snapshotInMemory(_ store: EventStore) throws -> Snapshot {
        let head = try store.lastPosition()
        var entries: [String: [UInt8]] = [:]
        var from: UInt64 = 1
        if case .sound(let checkpoint) = try integrity(store), checkpoint <= head {
            entries = try store.loadProjection(projectionName).entries
            from = checkpoint + 1
        }
        if from <= head { entries.merge(try fold(store, from: from), uniquingKeysWith: { _, new in new }) }
        return try Snapshot(checkpoint: head, entries: entries)
    }

    /// Compares the saved index with the log: its seal, then every entry against a fold of the log up to its
    /// checkpoint, in memory. Returns what differs first, or nil when it matches (or was never saved).
    package static func verify(_ store: EventStore) throws -> String? {
        let checkpoint: UInt64
        switch try integrity(store) {
        case .neverSaved: return nil
        case .mismatch(let reason): return "saved projection \(projectionName): \(reason)"
        case .sound(let c), .unsealed(let c): checkpoint = c
        }
        let saved = try store.loadProjection(projectionName)
        let folded = checkpoint == 0 ? [:] : try fold(store, from: 1, through: checkpoint)
        for key in Set(saved.entries.keys).union(folded.keys).sorted() where saved.entries[key] != folded[key] {
            let what =
                saved.entries[key] == nil
                ? "lacks" : folded[key] == nil ? "holds an entry the log does not give," : "differs from the log at"
            return "saved projection \(projectionName) (checkpoint \(checkpoint)) \(what) \(key)"
        }
        return nil
    }
}

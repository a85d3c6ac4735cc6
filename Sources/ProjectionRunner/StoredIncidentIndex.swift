import EventStore
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
    /// its payload names, and skips the rest without decoding it.
    @discardableResult
    package static func catchUp(_ store: EventStore, eventsPerRead: Int = eventsPerRead) throws -> UInt64 {
        var checkpoint = try store.loadProjection(projectionName, keys: []).checkpoint
        var pending = PendingEntries()
        var last = checkpoint
        func flush() throws {
            guard last > checkpoint else { return }
            guard try store.saveProjection(projectionName, from: checkpoint, to: last, changed: pending.entries) else {
                // Another process caught up meanwhile: what it saved covers these events too.
                throw Interrupted()
            }
            checkpoint = last
            pending.entries.removeAll(keepingCapacity: true)
        }
        do {
            while let scanned = try store.scanLog(
                fromPosition: last + 1, limit: eventsPerRead,
                { position, canonical in try addEntries(of: canonical, at: position, to: &pending) })
            {
                last = scanned
                if pending.entries.count >= entriesPerSave || last - checkpoint >= eventsPerSave { try flush() }
                // The pages just read will not be read again by this scan.
                store.releaseResidentPages()
            }
            try flush()
        } catch is Interrupted {
            return try store.loadProjection(projectionName, keys: []).checkpoint
        }
        return checkpoint
    }

    private struct Interrupted: Error {}

    /// Drops the index and folds the whole log again.
    @discardableResult
    package static func rebuild(_ store: EventStore, eventsPerRead: Int = eventsPerRead) throws -> UInt64 {
        try store.clearProjection(projectionName)
        return try catchUp(store, eventsPerRead: eventsPerRead)
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

import EventStore
import Foundation
import IncidentDomain
import Synchronization

/// The questions people ask of a ledger, each at a ``QueryTime``: state, recovery timelines, regulatory
/// clocks and audit. Keeps the ``FactBook`` projection saved in the ledger with its checkpoint and
/// catches it up incrementally before answering; keeps the last book in memory so that repeated
/// questions (a server's) only fold what was appended since.
public final class LedgerQueries: Sendable {
    public let store: EventStore
    /// The name the fact book is saved under.
    public static let projectionName = "factbook"
    private let cached = Mutex<FactBook?>(nil)

    public init(store: EventStore) { self.store = store }

    /// The book with every recorded event folded in: the saved state (or the one in memory) caught up
    /// from its checkpoint, and saved again when it moved.
    public func currentBook() throws -> FactBook {
        var book: FactBook
        if let memory = cached.withLock({ $0 }) {
            book = memory
        } else {
            let snapshot = try store.loadProjection(Self.projectionName)
            book = try FactBookCodec.decode(checkpoint: snapshot.checkpoint, entries: snapshot.entries)
        }
        book.clearTouched()
        let start = book.checkpoint
        try store.read(.log(fromPosition: start + 1)) { event in
            book.apply(event)
            return true
        }
        if book.checkpoint > start {
            // Another process may have saved a later state meanwhile: then this save is skipped.
            try store.saveProjection(
                Self.projectionName, from: start, to: book.checkpoint, changed: FactBookCodec.encode(book, only: book.touched))
        }
        let result = book
        cached.withLock { current in
            if (current?.checkpoint ?? 0) <= result.checkpoint { current = result }
        }
        return book
    }

    /// Drops the saved projection and folds the whole log again from position 1.
    @discardableResult
    public func rebuild() throws -> FactBook {
        try store.clearProjection(Self.projectionName)
        cached.withLock { $0 = nil }
        return try currentBook()
    }

    /// The book as the ledger knew it at `time.knownAt` (everything when nil).
    public func book(at time: QueryTime) throws -> FactBook {
        let book = try currentBook()
        guard let knownAt = time.knownAt else { return book }
        return book.knownAt(position: try store.lastPosition(recordedAtOrBefore: knownAt))
    }

    /// The state of every incident (or of one) at `time`.
    public func states(incident: String? = nil, at time: QueryTime) throws -> [IncidentState] {
        let book = try book(at: time)
        return book.incidents.keys.sorted().filter { incident == nil || $0 == incident }.map {
            IncidentState.compute(incidentId: $0, facts: book.incidents[$0]!, at: time)
        }
    }

    /// The recovery timeline of one establishment in every incident that touches it, at `time`.
    public func timelines(establishment finess: String, at time: QueryTime) throws -> [RecoveryTimeline] {
        let book = try book(at: time)
        return book.incidents(touching: finess).map {
            RecoveryTimeline.compute(
                establishment: book.establishments[finess], finess: finess, incidentId: $0, facts: book.incidents[$0]!, at: time)
        }
    }

    /// The regulatory clocks of every incident (or of one) at `time`.
    public func deadlines(
        incident: String? = nil, rules: [ObligationRule] = ObligationRules.defaultRules, at time: QueryTime
    ) throws -> [(incident: String, clocks: [ObligationClock])] {
        let book = try book(at: time)
        return book.incidents.keys.sorted().filter { incident == nil || $0 == incident }.map {
            ($0, ObligationClock.compute(facts: book.incidents[$0]!, establishments: book.establishments, rules: rules, at: time))
        }
    }

    /// The audit trail at `time`.
    public func audit(_ filter: AuditTrail.Filter, at time: QueryTime) throws -> [AuditEntry] {
        AuditTrail.compute(book: try book(at: time), filter: filter, at: time)
    }
}

import Foundation
import LMDB

/// The order in which a read walks its index.
public enum ReadDirection: String, Sendable, Hashable, CaseIterable {
    case forward, backward
}

/// Which events a read selects. Every read streams: it loads a page of events in a short read
/// transaction, hands them to the caller outside it, and goes on from where it stopped.
public enum EventSelection: Sendable, Hashable {
    /// The global log, from a position.
    case log(fromPosition: UInt64 = 1)
    /// One stream, between two versions (inclusive; nil means open).
    case stream(String, fromVersion: UInt64 = 1, toVersion: UInt64? = nil)
    /// Events recorded by one actor, by position.
    case actor(String)
    /// Events of one type, by position.
    case eventType(String)
    /// Events whose occurredAt starts in `from ... to` (microseconds since the epoch; nil means open),
    /// ordered by that start.
    case occurred(from: Int64?, to: Int64?)

    /// Whether the read goes through a secondary index (written behind the commit).
    var readsSecondaryIndex: Bool {
        switch self {
        case .log, .stream: false
        case .actor, .eventType, .occurred: true
        }
    }
}

extension EventStore {
    static let pageSize = 256

    /// Streams the events `selection` names to `body`, at most `limit` of them, until `body` returns false.
    ///
    /// The read sees the ledger as it was when it began: events appended meanwhile are left out, so a
    /// read over many pages is still one consistent view. `body` runs outside any transaction.
    public func read(
        _ selection: EventSelection, direction: ReadDirection = .forward, limit: Int? = nil,
        _ body: (RecordedEvent) throws -> Bool
    ) throws {
        let (database, lower, upper, positionOf) = try plan(selection)
        let reverse = direction == .backward
        var remaining = limit ?? Int.max
        var lowerBound = lower
        var upperBound = upper
        // The snapshot: the head and, for a secondary index, the events it does not cover yet (DeferredIndexes.swift),
        // taken from the log and merged in key order; an entry a later commit wrote for one of them is skipped.
        let (indexed, tail) = try readTransaction { txn in
            let head = try head(in: txn).position
            guard selection.readsSecondaryIndex else { return (head, [(key: [UInt8], event: RecordedEvent)]()) }
            let (indexed, tail) = try unindexedTail(selection, lower: lower, upper: upper, through: head, in: txn)
            return (min(indexed, head), tail)
        }
        let pending = reverse ? Array(tail.reversed()) : tail
        var next = 0
        /// Whether the tail's next event comes before the index entry `key` in the read's order.
        func tailPrecedes(_ key: [UInt8]) -> Bool {
            guard next < pending.count else { return false }
            return reverse ? key.lexicographicallyPrecedes(pending[next].key) : pending[next].key.lexicographicallyPrecedes(key)
        }
        while remaining > 0 {
            let pageSize = min(remaining, Self.pageSize)
            var page: [RecordedEvent] = []
            var consumed: [UInt8]?
            var exhausted = true
            try readTransaction { txn in
                try txn.withCursor(database) { cursor in
                    try cursor.forEach(from: lowerBound, upTo: upperBound, reverse: reverse) { key, value in
                        let position = positionOf(key, value)
                        let bytes = key.copiedBytes
                        if position <= indexed {
                            while tailPrecedes(bytes) {
                                guard page.count < pageSize else {
                                    exhausted = false
                                    return false
                                }
                                page.append(pending[next].event)
                                next += 1
                            }
                            guard page.count < pageSize else {
                                exhausted = false
                                return false
                            }
                            page.append(try loadEvent(at: position, in: txn))
                        }
                        consumed = bytes
                        guard page.count < pageSize else {
                            exhausted = false
                            return false
                        }
                        return true
                    }
                }
            }
            // The index has nothing more in range: what is left of the tail follows.
            if exhausted {
                while next < pending.count, page.count < remaining {
                    page.append(pending[next].event)
                    next += 1
                }
            }
            for event in page {
                guard try body(event) else { return }
            }
            remaining -= page.count
            if exhausted { return }
            // Resume just past the last key taken: its successor going forward, itself (exclusive) going back.
            // None taken (the page filled with tail events before it): the same range again.
            if let consumed {
                if reverse { upperBound = consumed } else { lowerBound = consumed + [0] }
            }
        }
    }

    /// Hands at most `limit` stored events of the log, from `position` on, to `body` as their canonical JSON
    /// bytes (the envelope without `hash`; see docs/canonical-encoding.md), in one read transaction.
    ///
    /// For projectors that route on a few fields (with ``JSONMembers``) rather than decode every event. The
    /// bytes are a view into the map, valid only during the call; `body` runs inside the read transaction,
    /// so it must be quick and must not write to the store. Call again from the returned position + 1 to go
    /// on: between calls the transaction is closed and the writer can reuse the pages it freed.
    /// With `through`, no position after it is handed out. With `releasingPages`, the map's pages the
    /// events were read from are dropped from the resident set before the transaction ends (see
    /// ``releaseResidentPages()``), by the thread that read them: a long scan in several threads keeps its
    /// RSS at what each is reading, with no pause for a release of the whole map between reads.
    /// - Returns: the last position handed to `body`, or nil when there was none.
    package func scanLog(
        fromPosition position: UInt64, through end: UInt64 = .max, limit: Int, releasingPages: Bool = false,
        _ body: (_ position: UInt64, _ canonical: UnsafeRawBufferPointer) throws -> Void
    ) throws -> UInt64? {
        guard limit > 0, position <= end else { return nil }
        let upper = end == .max ? nil : Keys.position(end + 1)
        return try readTransaction { txn in
            try txn.withCursor(tables.events) { cursor in
                var last: UInt64?
                var count = 0
                // The lowest and highest addresses read, for the release.
                var low = UnsafeRawPointer(bitPattern: UInt.max)!
                var high = UnsafeRawPointer(bitPattern: 1)!
                defer {
                    if releasingPages, count > 0 { environment.releaseResidentPages(from: low, through: high) }
                }
                try cursor.forEach(from: Keys.position(max(position, 1)), upTo: upper) { key, value in
                    let current = Keys.readBigEndian(key)
                    guard value.byteCount > EventCodec.hashSize else {
                        throw EventStoreError(
                            .corrupted, field: "position \(current)", "stored event is truncated (\(value.byteCount) bytes)")
                    }
                    try value.withUnsafeBytes { stored in
                        if let start = stored.baseAddress {
                            low = min(low, start)
                            high = max(high, start + (stored.count - 1))
                        }
                        try body(current, UnsafeRawBufferPointer(rebasing: stored[EventCodec.hashSize...]))
                    }
                    last = current
                    count += 1
                    return count < limit
                }
                return last
            }
        }
    }

    /// Drops the ledger file's pages from this process's resident memory (they stay in the page cache). Long
    /// scans and imports call it between pages so that their RSS stays at their working set.
    package func releaseResidentPages() {
        environment.releaseResidentPages()
    }

    /// The events `selection` names, collected into an array (mind `limit` on large ledgers).
    public func events(_ selection: EventSelection, direction: ReadDirection = .forward, limit: Int? = nil) throws
        -> [RecordedEvent]
    {
        var events: [RecordedEvent] = []
        try read(selection, direction: direction, limit: limit) { event in
            events.append(event)
            return true
        }
        return events
    }

    /// The index, key range, and how to find an entry's position, for a selection.
    private func plan(_ selection: EventSelection) throws -> (
        Database, [UInt8]?, [UInt8]?, (_ key: RawSpan, _ value: RawSpan) -> UInt64
    ) {
        // A damaged entry too short to hold a position reads as 0, which no event has (see Keys.readBigEndian).
        let positionInValue: (RawSpan, RawSpan) -> UInt64 = { _, value in Keys.readBigEndian(value) }
        let positionAtKeyEnd: (RawSpan, RawSpan) -> UInt64 = { key, _ in Keys.readBigEndian(key, at: key.byteCount - 8) }
        switch selection {
        case .log(let from):
            return (tables.events, Keys.position(max(from, 1)), nil, { key, _ in Keys.readBigEndian(key) })
        case .stream(let id, let fromVersion, let toVersion):
            try EnvelopeRules.checkStreamId(id, field: "stream")
            let upper = toVersion.map { Keys.stream(id, version: $0 &+ 1) } ?? Cursor.successor(ofPrefix: Keys.text(id))
            return (tables.streams, Keys.stream(id, version: max(fromVersion, 1)), upper, positionInValue)
        case .actor(let actor):
            return (tables.byActor, Keys.text(actor), Cursor.successor(ofPrefix: Keys.text(actor)), positionAtKeyEnd)
        case .eventType(let type):
            return (tables.byType, Keys.text(type), Cursor.successor(ofPrefix: Keys.text(type)), positionAtKeyEnd)
        case .occurred(let from, let to):
            let lower = from.map { Keys.orderedTime($0) }
            let upper = to.flatMap { $0 == Int64.max ? nil : Keys.orderedTime($0 + 1) }
            return (tables.byOccurred, lower, upper, positionAtKeyEnd)
        }
    }

    /// The event stored under `id`, or nil.
    public func event(id: UUID) throws -> RecordedEvent? {
        try readTransaction { txn in
            guard let position = try txn.withValue(tables.eventIds, key: Keys.eventId(id), { Keys.readBigEndian($0) }) else {
                return nil
            }
            return try loadEvent(at: position, in: txn)
        }
    }

    /// The position of the event stored under `id`, or nil.
    public func position(of id: UUID) throws -> UInt64? {
        try readTransaction { txn in
            try txn.withValue(tables.eventIds, key: Keys.eventId(id)) { Keys.readBigEndian($0) }
        }
    }

    /// The event at `position`, or nil past the end.
    public func event(at position: UInt64) throws -> RecordedEvent? {
        try readTransaction { txn in
            guard position >= 1, position <= (try head(in: txn).position) else { return nil }
            return try loadEvent(at: position, in: txn)
        }
    }

    /// The position of the last event; 0 for an empty ledger.
    public func lastPosition() throws -> UInt64 {
        try readTransaction { txn in try head(in: txn).position }
    }

    /// The version of `streamId`'s last event; 0 when the stream does not exist.
    public func streamVersion(of streamId: String) throws -> UInt64 {
        try readTransaction { txn in try currentVersion(of: streamId, in: txn) }
    }

    /// The position of the last event recorded at or before `microseconds` (0 if none): what the ledger
    /// held at that time. recordedAt grows strictly with position, so a binary search over the log finds it
    /// in about 20 reads on a million events, with no index to keep.
    public func lastPosition(recordedAtOrBefore microseconds: Int64) throws -> UInt64 {
        try readTransaction { txn in
            let head = try head(in: txn)
            guard head.position > 0, head.recordedAt > microseconds else { return head.position }
            // Invariant: the event at `low` (0 = before the log) is recorded by then, the one at `high` after.
            var low: UInt64 = 0
            var high = head.position
            while high - low > 1 {
                let middle = low + (high - low) / 2
                let recorded = try txn.withValue(tables.events, key: Keys.position(middle)) { stored in
                    try stored.withUnsafeBytes { try recordedAt(ofStored: $0, at: middle) }
                }
                guard let recorded else {
                    throw EventStoreError(.corrupted, field: "position \(middle)", "missing from the log")
                }
                if recorded <= microseconds { low = middle } else { high = middle }
            }
            return low
        }
    }
}

import Foundation
import LMDB

/// An event that passed every rule the store checks before a transaction (the stream id's and the envelope's,
/// the payload limit), with its id assigned and its payload kept as canonical bytes: what a bulk import checks
/// once, keeps in its spool, and appends later without parsing or encoding the payload again.
///
/// Only ``EventStore/prepareForBulk(_:streamId:path:missingStream:)`` makes one from an event, and ``decode(from:)``
/// from the bytes ``encode(into:)`` wrote: the bytes a bulk append stores are those the checks saw.
package struct PreparedEvent: Sendable, Hashable {
    package let streamId: String
    package let eventId: UUID
    /// The ledger made the id (the event came without one): no stored event can hold it, so the append needs
    /// no look-up for a retry.
    package let idIsNew: Bool
    package let eventType: String
    package let schemaVersion: Int
    package let occurredAt: OccurredAt
    package let actor: String
    package let source: String
    package let reason: String?
    package let metadata: EventMetadata
    /// `CanonicalJSON.encode(payload)`.
    package let canonicalPayload: [UInt8]

    /// The event as the shared append path takes it (a retry is judged there).
    var proposed: ProposedEvent {
        get throws(EventStoreError) {
            let payload: JSONValue
            do { payload = try JSONParser.parse(canonicalPayload) } catch {
                throw EventStoreError(.storage, field: "spool", "a prepared payload does not parse: \(error)")
            }
            return ProposedEvent(
                eventId: eventId, eventType: eventType, schemaVersion: schemaVersion, occurredAt: occurredAt, actor: actor,
                source: source, reason: reason, payload: payload, metadata: metadata)
        }
    }
}

extension EventStore {
    /// Checks `event` for `streamId` as an append does before its transaction (``prepare(_:path:)``: the
    /// envelope, the payload limit of this store, the stream id) and gives it its id when it has none.
    /// - Parameter missingStream: why a nil `streamId` is refused (after the envelope's rules, as an import
    ///   always said).
    package func prepareForBulk(
        _ event: ProposedEvent, streamId: String?, path: String, missingStream: @autoclosure () -> String = "required"
    ) throws(EventStoreError) -> PreparedEvent {
        let payload = try EnvelopeRules.checkReturningPayload(event, path: path, payloadLimit: configuration.payloadLimit)
        guard let streamId else { throw .invalid("\(path).streamId", missingStream()) }
        try EnvelopeRules.checkStreamId(streamId, field: "\(path).streamId")
        return PreparedEvent(
            streamId: streamId, eventId: event.eventId ?? UUID.timeOrdered(), idIsNew: event.eventId == nil,
            eventType: event.eventType, schemaVersion: event.schemaVersion, occurredAt: event.occurredAt, actor: event.actor,
            source: event.source, reason: event.reason, metadata: event.metadata, canonicalPayload: payload)
    }

    /// Appends prepared events in one transaction, synchronously: all of them or, when one fails, none; what
    /// ``appendAtomically(_:)`` does for the same events, each run of consecutive events of one stream being one
    /// request, and the same bytes stored.
    ///
    /// A run holding an id given by the input goes through the shared path (``apply(_:in:head:now:)``) when that
    /// id is stored already: a retry writes nothing, other content under the id is a conflict. Every other run
    /// is written from its canonical bytes through ``write(_:position:eventId:streamId:version:actor:eventType:occurredAt:recordedAt:head:in:)``,
    /// the step every append shares.
    package func appendPrepared(_ events: [PreparedEvent]) throws -> [AppendResult] {
        try atomicBatch(indexingAll: true) { txn, head, now, release in
            var results: [AppendResult] = []
            var runStart = 0
            while runStart < events.count {
                var runEnd = runStart + 1
                let stream = events[runStart].streamId
                while runEnd < events.count, events[runEnd].streamId.utf8.elementsEqual(stream.utf8) { runEnd += 1 }
                let run = events[runStart..<runEnd]
                if try run.contains(where: { event in
                    try !event.idIsNew && txn.get(tables.eventIds, key: Keys.eventId(event.eventId)) != nil
                }) {
                    var proposed: [ProposedEvent] = []
                    for event in run { proposed.append(try event.proposed) }
                    results.append(
                        try apply(AppendRequest(streamId: stream, events: proposed), in: txn, head: &head, now: now))
                } else {
                    results.append(try applyPrepared(run, streamId: stream, in: txn, head: &head, now: now))
                }
                release.passed(run.count, in: environment)
                runStart = runEnd
            }
            return results
        }
    }

    /// ``apply(_:in:head:now:)`` for a run of new events of one stream (none of their ids is stored; the
    /// expected version is `any`): the same versions, recordedAt and bytes, from the prepared canonical payloads.
    private func applyPrepared(
        _ run: ArraySlice<PreparedEvent>, streamId: String, in txn: borrowing WriteTransaction, head: inout Head, now: Int64
    ) throws -> AppendResult {
        let current = try currentVersion(of: streamId, in: txn)
        let firstRecordedAt = max(now, head.recordedAt + 1)
        guard Timestamp.supportedRange.contains(firstRecordedAt),
            Timestamp.supportedRange.contains(firstRecordedAt + Int64(run.count))
        else {
            throw EventStoreError(
                .storage, field: "recordedAt", "the ledger's clock says \(firstRecordedAt) µs, \(Timestamp.outOfRangeReason)")
        }
        var positions: [UInt64] = []
        positions.reserveCapacity(run.count)
        var version = current
        for event in run {
            let position = head.position + 1
            version += 1
            let recordedAt = max(now, head.recordedAt + 1)
            let canonical = EnvelopeWriter.canonical(
                event, position: position, streamVersion: version, recordedAt: recordedAt, previousHash: head.hash)
            try write(
                canonical, position: position, eventId: event.eventId, streamId: streamId, version: version,
                actor: event.actor, eventType: event.eventType, occurredAt: event.occurredAt, recordedAt: recordedAt,
                head: &head, in: txn)
            positions.append(position)
        }
        return AppendResult(streamId: streamId, positions: positions, streamVersion: version, wasAlreadyStored: false)
    }
}

// MARK: - The spool's record

extension PreparedEvent {
    private enum Flag {
        static let idIsNew: UInt8 = 1
        static let reason: UInt8 = 2
        static let correlation: UInt8 = 4
        static let causation: UInt8 = 8
        static let end: UInt8 = 16
    }

    /// Appends the event as one record (its length, then its fields) for ``decode(from:)``: a private format of
    /// one process's spool, never stored in a ledger.
    package func encode(into out: inout [UInt8]) {
        let lengthAt = out.count
        out.append(contentsOf: [0, 0, 0, 0])
        var flags: UInt8 = 0
        if idIsNew { flags |= Flag.idIsNew }
        if reason != nil { flags |= Flag.reason }
        if metadata.correlationId != nil { flags |= Flag.correlation }
        if metadata.causationId != nil { flags |= Flag.causation }
        if occurredAt.end != nil { flags |= Flag.end }
        out.append(flags)
        withUnsafeBytes(of: eventId.uuid) { out.append(contentsOf: $0) }
        func integer<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) } }
        func text(_ s: String) {
            integer(UInt32(s.utf8.count))
            out.append(contentsOf: s.utf8)
        }
        integer(Int64(schemaVersion))
        out.append(UInt8(OccurredAt.Precision.allCases.firstIndex(of: occurredAt.precision)!))
        integer(occurredAt.start.microseconds)
        integer(occurredAt.start.offsetSeconds)
        if let end = occurredAt.end {
            integer(end.microseconds)
            integer(end.offsetSeconds)
        }
        text(streamId)
        text(eventType)
        text(actor)
        text(source)
        if let reason { text(reason) }
        if let id = metadata.correlationId { text(id) }
        if let id = metadata.causationId { text(id) }
        integer(UInt32(canonicalPayload.count))
        out.append(contentsOf: canonicalPayload)
        let length = UInt32(out.count - lengthAt - 4).littleEndian
        withUnsafeBytes(of: length) { for i in 0..<4 { out[lengthAt + i] = $0[i] } }
    }

    /// The length of the record at the start of `bytes`, with its 4 length bytes; nil when fewer than 4 bytes.
    package static func recordLength(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count >= 4 else { return nil }
        return Int(UInt32(littleEndian: bytes.loadUnaligned(as: UInt32.self))) + 4
    }

    /// Reads one record that ``encode(into:)`` wrote, `bytes` being exactly that record; nil when it is not one.
    package static func decode(from bytes: UnsafeRawBufferPointer) -> PreparedEvent? {
        var at = 4
        func take(_ n: Int) -> UnsafeRawBufferPointer? {
            guard n >= 0, at + n <= bytes.count else { return nil }
            defer { at += n }
            return UnsafeRawBufferPointer(rebasing: bytes[at..<(at + n)])
        }
        func integer<T: FixedWidthInteger>(_: T.Type) -> T? {
            take(MemoryLayout<T>.size).map { T(littleEndian: $0.loadUnaligned(as: T.self)) }
        }
        func text() -> String? {
            guard let n = integer(UInt32.self), let raw = take(Int(n)) else { return nil }
            return String(validating: raw, as: UTF8.self)
        }
        guard let flags = take(1)?[0], let id = take(16), let schemaVersion = integer(Int64.self),
            let precisionIndex = take(1)?[0], Int(precisionIndex) < OccurredAt.Precision.allCases.count,
            let startMicros = integer(Int64.self), let startOffset = integer(Int32.self)
        else { return nil }
        var end: Timestamp?
        if flags & Flag.end != 0 {
            guard let micros = integer(Int64.self), let offset = integer(Int32.self) else { return nil }
            end = Timestamp(microseconds: micros, offsetSeconds: offset)
        }
        guard
            let occurredAt = OccurredAt(
                precision: OccurredAt.Precision.allCases[Int(precisionIndex)],
                start: Timestamp(microseconds: startMicros, offsetSeconds: startOffset), end: end),
            let streamId = text(), let eventType = text(), let actor = text(), let source = text()
        else { return nil }
        var reason: String?
        var metadata = EventMetadata()
        if flags & Flag.reason != 0 { guard let s = text() else { return nil }; reason = s }
        if flags & Flag.correlation != 0 { guard let s = text() else { return nil }; metadata.correlationId = s }
        if flags & Flag.causation != 0 { guard let s = text() else { return nil }; metadata.causationId = s }
        guard let payloadCount = integer(UInt32.self), let payload = take(Int(payloadCount)), at == bytes.count else {
            return nil
        }
        var uuid: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &uuid) { $0.copyMemory(from: id) }
        return PreparedEvent(
            streamId: streamId, eventId: UUID(uuid: uuid), idIsNew: flags & Flag.idIsNew != 0, eventType: eventType,
            schemaVersion: Int(schemaVersion), occurredAt: occurredAt, actor: actor, source: source, reason: reason,
            metadata: metadata, canonicalPayload: Array(payload))
    }
}

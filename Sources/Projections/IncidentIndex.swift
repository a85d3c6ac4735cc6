import EventStore
import Foundation
import IncidentDomain

/// The persisted projection across incidents: the registered establishments (with each registration's
/// position), the incident streams, and which incidents name which establishment. Saved in the ledger with a
/// checkpoint, caught up in pages of the log so that memory stays bounded however long the log is, and
/// rebuildable from position 1. The views of one incident are folded from its own stream on demand (see
/// ``LedgerQueries``): its corrections and retractions live in that stream.
public enum IncidentIndex {
    public static let projectionName = "incident-index"
    /// Events scanned per read transaction.
    public static let eventsPerRead = 5000
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
    public static func catchUp(_ store: EventStore, eventsPerRead: Int = eventsPerRead) throws -> UInt64 {
        var checkpoint = try store.loadProjection(projectionName, keys: []).checkpoint
        var pending: [String: [UInt8]] = [:]
        var last = checkpoint
        func flush() throws {
            guard last > checkpoint else { return }
            guard try store.saveProjection(projectionName, from: checkpoint, to: last, changed: pending) else {
                // Another process caught up meanwhile: what it saved covers these events too.
                throw Interrupted()
            }
            checkpoint = last
            pending.removeAll(keepingCapacity: true)
        }
        do {
            var streamOfLastEvent: [UInt8] = []
            while let scanned = try store.scanLog(
                fromPosition: last + 1, limit: eventsPerRead,
                { position, canonical in
                    try addEntries(of: canonical, at: position, to: &pending, streamOfLastEvent: &streamOfLastEvent)
                })
            {
                last = scanned
                if pending.count >= entriesPerSave || last - checkpoint >= eventsPerSave {
                    try flush()
                    streamOfLastEvent = []
                }
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
    public static func rebuild(_ store: EventStore, eventsPerRead: Int = eventsPerRead) throws -> UInt64 {
        try store.clearProjection(projectionName)
        return try catchUp(store, eventsPerRead: eventsPerRead)
    }

    /// The keys one stored event adds: `e:FINESS/POSITION` (its payload as value) for a registration,
    /// `i:STREAM` for an incident event, and `t:FINESS/STREAM` for each establishment it names.
    /// `streamOfLastEvent` skips the `i:` key that the event before, of the same stream, already added.
    static func addEntries(
        of canonical: UnsafeRawBufferPointer, at position: UInt64, to pending: inout [String: [UInt8]],
        streamOfLastEvent: inout [UInt8]
    ) throws {
        guard let fields = RoutingFields(canonical) ?? RoutingFields(walking: canonical) else {
            throw EventStoreError(.corrupted, field: "position \(position)", "stored event lacks its type, stream or payload")
        }
        let type = fields.eventType
        let streamBytes = fields.streamId
        let stream = String(decoding: streamBytes, as: UTF8.self)
        guard let spec = Catalogue.spec(for: type) else { return }
        if type == "establishment.registered" {
            guard let payload = JSONMembers.value(of: "payload", in: canonical) else { return }
            if let finess = JSONMembers.value(of: "finess", in: payload).flatMap(JSONMembers.string) {
                pending["e:\(finess)/\(String(format: "%020llu", position))"] = Array(payload)
            }
            return
        }
        guard spec.streamKind == .incident else { return }
        let sameStream =
            streamBytes.count == streamOfLastEvent.count
            && streamOfLastEvent.withUnsafeBytes { memcmp($0.baseAddress!, streamBytes.baseAddress!, streamBytes.count) == 0 }
        if !sameStream {
            pending["i:\(stream)"] = []
            streamOfLastEvent = Array(streamBytes)
        }
        guard namesEstablishments.contains(type) else { return }
        func addNamed(in object: UnsafeRawBufferPointer) {
            JSONMembers.forEach(in: object) { key, value in
                if JSONMembers.key(key, is: "establishment"), let finess = JSONMembers.string(value) {
                    pending["t:\(finess)/\(stream)"] = []
                } else if JSONMembers.key(key, is: "establishments"), case .array(let many)? = try? JSONParser.parse(value) {
                    for finess in many.compactMap(\.stringValue) { pending["t:\(finess)/\(stream)"] = [] }
                } else if JSONMembers.key(key, is: "changes") {
                    // A correction may name another establishment: the incident names it too.
                    addNamed(in: value)
                }
                return true
            }
        }
        addNamed(in: fields.payloadOnwards)
    }

    /// What the index routes on, found in a stored event's canonical JSON without decoding it.
    struct RoutingFields {
        let eventType: String
        /// The stream id's bytes, without quotes.
        let streamId: UnsafeRawBufferPointer
        /// From the payload's opening brace to the end of the envelope: ``JSONMembers/forEach(in:_:)`` walks
        /// the payload's members and stops at its closing brace.
        let payloadOnwards: UnsafeRawBufferPointer

        /// The fast path, which leans on the canonical form that `verify` holds every stored event to: keys
        /// in order, so `payload` comes right after `occurredAt` and the envelope ends with `streamId` and
        /// `streamVersion`, and stream ids hold no quote. It walks only the members before the payload and
        /// reads the stream id from the end. Nil when the bytes are not laid out so.
        init?(_ canonical: UnsafeRawBufferPointer) {
            guard let base = canonical.baseAddress else { return nil }
            var type: String?
            var afterOccurredAt = -1
            JSONMembers.forEach(in: canonical) { key, value in
                if JSONMembers.key(key, is: "eventType") {
                    type = JSONMembers.string(value)
                } else if JSONMembers.key(key, is: "occurredAt") {
                    afterOccurredAt = base.distance(to: value.baseAddress!) + value.count
                    return false
                }
                return true
            }
            guard let type, afterOccurredAt > 0, Self.matches(canonical, at: afterOccurredAt, #","payload":"#) else { return nil }
            let payloadStart = afterOccurredAt + 11
            // `…"streamId":"ID","streamVersion":DIGITS}`, read backwards.
            var i = canonical.count - 1
            guard i > payloadStart, canonical[i] == UInt8(ascii: "}") else { return nil }
            i -= 1
            while i > payloadStart, (0x30...0x39).contains(canonical[i]) { i -= 1 }
            guard i - 17 > payloadStart, Self.matches(canonical, at: i - 17, #"","streamVersion":"#) else { return nil }
            let idEnd = i - 17
            var idStart = idEnd
            while idStart > payloadStart, canonical[idStart - 1] != UInt8(ascii: "\"") { idStart -= 1 }
            guard idStart - 12 > payloadStart, idStart < idEnd, Self.matches(canonical, at: idStart - 12, #""streamId":""#)
            else { return nil }
            self.eventType = type
            self.streamId = UnsafeRawBufferPointer(rebasing: canonical[idStart..<idEnd])
            self.payloadOnwards = UnsafeRawBufferPointer(rebasing: canonical[payloadStart...])
        }

        /// The slow path for bytes the fast one does not recognise: a walk over every member.
        init?(walking canonical: UnsafeRawBufferPointer) {
            var type: String?
            var stream: UnsafeRawBufferPointer?
            var payload: UnsafeRawBufferPointer?
            let readable = JSONMembers.forEach(in: canonical) { key, value in
                if JSONMembers.key(key, is: "eventType") {
                    type = JSONMembers.string(value)
                } else if JSONMembers.key(key, is: "payload") {
                    payload = value
                } else if JSONMembers.key(key, is: "streamId"), value.count >= 2 {
                    stream = UnsafeRawBufferPointer(rebasing: value[1..<(value.count - 1)])
                }
                return true
            }
            guard readable, let type, let stream, let payload else { return nil }
            self.eventType = type
            self.streamId = stream
            self.payloadOnwards = payload
        }

        private static func matches(_ bytes: UnsafeRawBufferPointer, at offset: Int, _ text: StaticString) -> Bool {
            offset >= 0 && offset + text.utf8CodeUnitCount <= bytes.count
                && memcmp(bytes.baseAddress! + offset, text.utf8Start, text.utf8CodeUnitCount) == 0
        }
    }

    /// The event types whose payload can name establishments (a correction through its changes): the
    /// payloads of the others are not walked.
    static let namesEstablishments: Set<String> = Set(
        Catalogue.all.filter { spec in
            spec.fields.contains { ["establishment", "establishments", "changes"].contains($0.name) }
        }.map(\.eventType))

    /// The index as saved: establishments as known at `position` (their latest registration up to it), and
    /// the incident streams.
    public struct Snapshot: Sendable {
        public let checkpoint: UInt64
        public let incidents: [String]
        /// Registrations in key order (by FINESS, then position), decoded once when the index is loaded.
        let registrations: [(finess: String, position: UInt64, establishment: Establishment?)]

        public func establishments(upTo position: UInt64 = .max) -> [String: Establishment] {
            var result: [String: Establishment] = [:]
            for r in registrations where r.position <= position {
                guard let establishment = r.establishment else { continue }
                result[r.finess] = establishment
            }
            return result
        }
    }

    /// Loads the incident list and the registrations.
    public static func snapshot(_ store: EventStore) throws -> Snapshot {
        let incidents = try store.loadProjection(projectionName, prefix: "i:")
        let registrations = try store.loadProjection(projectionName, prefix: "e:")
        let parsed = try registrations.entries.keys.sorted().map { key in
            let parts = key.dropFirst(2).split(separator: "/")
            let position = UInt64(parts[1]) ?? 0
            let payload = try JSONParser.parse(registrations.entries[key]!)
            var establishment: Establishment?
            if case .establishmentRegistered(let e)? = try? IncidentEvent(eventType: "establishment.registered", payload: payload)
            {
                establishment = Establishment(
                    finess: e.finess, name: e.name, city: e.city, group: e.group, essentialOperator: e.essentialOperator ?? false,
                    nis2Entity: e.nis2Entity, registeredAt: position)
            }
            return (finess: String(parts[0]), position: position, establishment: establishment)
        }
        return Snapshot(
            checkpoint: incidents.checkpoint, incidents: incidents.entries.keys.map { String($0.dropFirst(2)) }.sorted(),
            registrations: parsed)
    }

    /// The incident streams that name `finess` somewhere in their facts.
    public static func incidents(touching finess: String, in store: EventStore) throws -> [String] {
        let prefix = "t:\(finess)/"
        return try store.loadProjection(projectionName, prefix: prefix).entries.keys.map { String($0.dropFirst(prefix.count)) }
            .sorted()
    }
}

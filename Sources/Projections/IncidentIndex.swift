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
        var eventType: UnsafeRawBufferPointer?
        var streamId: UnsafeRawBufferPointer?
        var payload: UnsafeRawBufferPointer?
        let readable = JSONMembers.forEach(in: canonical) { key, value in
            if JSONMembers.key(key, is: "eventType") {
                eventType = value
            } else if JSONMembers.key(key, is: "payload") {
                payload = value
            } else if JSONMembers.key(key, is: "streamId") {
                streamId = value
            }
            return true
        }
        guard readable, let type = eventType.flatMap(JSONMembers.string), let streamBytes = streamId,
            let stream = JSONMembers.string(streamBytes), let payload
        else {
            throw EventStoreError(.corrupted, field: "position \(position)", "stored event lacks its type, stream or payload")
        }
        guard let spec = Catalogue.spec(for: type) else { return }
        if type == "establishment.registered" {
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
        addNamed(in: payload)
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
        let registrations: [(finess: String, position: UInt64, payload: JSONValue)]

        public func establishments(upTo position: UInt64 = .max) -> [String: Establishment] {
            var result: [String: Establishment] = [:]
            for r in registrations where r.position <= position {
                guard
                    case .establishmentRegistered(let e)? = try? IncidentEvent(
                        eventType: "establishment.registered", payload: r.payload)
                else { continue }
                result[r.finess] = Establishment(
                    finess: e.finess, name: e.name, city: e.city, group: e.group, essentialOperator: e.essentialOperator ?? false,
                    nis2Entity: e.nis2Entity, registeredAt: r.position)
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
            return (
                finess: String(parts[0]), position: UInt64(parts[1]) ?? 0,
                payload: try JSONParser.parse(registrations.entries[key]!)
            )
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

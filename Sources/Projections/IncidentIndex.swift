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
    /// Events folded per saved page: bounds memory during a rebuild.
    static let pageSize = 5000

    /// Folds the events after the saved checkpoint into the index, page by page. Returns the new checkpoint.
    @discardableResult
    public static func catchUp(_ store: EventStore) throws -> UInt64 {
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
            var inPage = 0
            try store.read(.log(fromPosition: checkpoint + 1)) { event in
                for key in entries(for: event) { pending[key] = entryValue(key, event) }
                last = event.position
                inPage += 1
                if inPage == pageSize {
                    try flush()
                    inPage = 0
                }
                return true
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
    public static func rebuild(_ store: EventStore) throws -> UInt64 {
        try store.clearProjection(projectionName)
        return try catchUp(store)
    }

    /// The keys one event adds: `e:FINESS/POSITION` for a registration, `i:STREAM` for an incident event, and
    /// `t:FINESS/STREAM` for each establishment it names.
    static func entries(for event: RecordedEvent) -> [String] {
        guard let spec = Catalogue.spec(for: event.eventType) else { return [] }
        if event.eventType == "establishment.registered", let finess = event.payload["finess"]?.stringValue {
            return ["e:\(finess)/\(String(format: "%020llu", event.position))"]
        }
        guard spec.streamKind == .incident else { return [] }
        var keys = ["i:\(event.streamId)"]
        if let one = event.payload["establishment"]?.stringValue { keys.append("t:\(one)/\(event.streamId)") }
        for many in event.payload["establishments"]?.arrayValue ?? [] {
            if let finess = many.stringValue { keys.append("t:\(finess)/\(event.streamId)") }
        }
        return keys
    }

    static func entryValue(_ key: String, _ event: RecordedEvent) -> [UInt8] {
        guard key.hasPrefix("e:") else { return [] }
        return CanonicalJSON.encode(event.payload)
    }

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

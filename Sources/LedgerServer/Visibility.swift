import EventStore
import Foundation
import IncidentDomain
import Synchronization

/// The establishments each stream names (in any field of kind FINESS of any of its events), kept by stream
/// version and caught up from the last version read: what decides who sees an incident, at the cost of
/// reading only the events appended since the last question. Never writes the ledger, so that checking a
/// principal's right to append costs no write transaction.
final class StreamScopes: Sendable {
    private let store: EventStore
    private let cache = Mutex<[String: (version: UInt64, establishments: Set<String>)]>([:])

    init(store: EventStore) { self.store = store }

    func establishments(of stream: String) throws -> Set<String> {
        let version = try store.streamVersion(of: stream)
        let cached = cache.withLock { $0[stream] }
        if let cached, cached.version == version { return cached.establishments }
        var named = cached?.establishments ?? []
        let from = (cached?.version ?? 0) + 1
        guard version >= from else { return named }
        for event in try store.events(.stream(stream, fromVersion: from, toVersion: version)) {
            named.formUnion(Self.establishments(named: event.eventType, payload: event.payload))
        }
        cache.withLock { cache in
            if cache.count > 100_000 { cache.removeAll() }
            cache[stream] = (version, named)
        }
        return named
    }

    /// The FINESS numbers a payload names, by the catalogue's field kinds; for a correction, also those its
    /// `changes` name (in any field that is an establishment in some event type), as the index counts them.
    static func establishments(named eventType: String, payload: JSONValue) -> Set<String> {
        guard let spec = Catalogue.spec(for: eventType), let members = payload.objectValue else { return [] }
        var named = Set<String>()
        for field in spec.fields {
            named.formUnion(finess(of: field.kind, members[field.name]))
        }
        if case .object(let changes)? = members["changes"] {
            for (name, value) in changes {
                for kind in establishmentKinds[name] ?? [] { named.formUnion(finess(of: kind, value)) }
            }
        }
        return named
    }

    /// The kinds of the fields that name establishments, by field name, across the catalogue.
    static let establishmentKinds: [String: [FieldKind]] = Catalogue.all.flatMap(\.fields).reduce(into: [:]) { kinds, field in
        if field.kind == .finess || field.kind == .finessList { kinds[field.name, default: []].append(field.kind) }
    }

    static func finess(of kind: FieldKind, _ value: JSONValue?) -> [String] {
        switch kind {
        case .finess: value?.stringValue.map { [$0] } ?? []
        case .finessList: value?.arrayValue?.compactMap(\.stringValue) ?? []
        default: []
        }
    }
}

extension LedgerService {
    /// What one principal may read: every stream (scope all), or the establishments of its scope and the
    /// incidents that name one of them.
    struct Visibility: Sendable {
        let principal: Principal
        let scopes: StreamScopes

        func sees(stream: String) throws -> Bool {
            // Grants name principals of every hospital: only an auditor or admin of all establishments reads them
            // as events (a scoped admin lists its own through /tokens).
            if stream == AccessEvents.stream { return principal.role.audits && principal.scope == .all }
            if stream.hasPrefix(StreamKind.establishment.prefix) {
                return principal.scope.covers(String(stream.dropFirst(StreamKind.establishment.prefix.count)))
            }
            if case .all = principal.scope { return true }
            return principal.scope.reaches(anyOf: try scopes.establishments(of: stream))
        }
    }

    func visibility(_ principal: Principal) -> Visibility { Visibility(principal: principal, scopes: scopes) }
}

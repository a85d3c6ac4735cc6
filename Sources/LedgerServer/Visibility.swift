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

    /// The FINESS numbers a payload names, by the catalogue's field kinds.
    static func establishments(named eventType: String, payload: JSONValue) -> Set<String> {
        guard let spec = Catalogue.spec(for: eventType), let members = payload.objectValue else { return [] }
        var named = Set<String>()
        for field in spec.fields {
            switch field.kind {
            case .finess: if let finess = members[field.name]?.stringValue { named.insert(finess) }
            case .finessList: named.formUnion(members[field.name]?.arrayValue?.compactMap(\.stringValue) ?? [])
            default: continue
            }
        }
        return named
    }
}

extension LedgerService {
    /// What one principal may read: every stream (scope all), or the establishments of its scope and the
    /// incidents that name one of them.
    struct Visibility: Sendable {
        let principal: Principal
        let scopes: StreamScopes

        func sees(stream: String) throws -> Bool {
            if stream == AccessEvents.stream { return principal.role.audits }
            if stream.hasPrefix(StreamKind.establishment.prefix) {
                return principal.scope.covers(String(stream.dropFirst(StreamKind.establishment.prefix.count)))
            }
            if case .all = principal.scope { return true }
            return principal.scope.reaches(anyOf: try scopes.establishments(of: stream))
        }
    }

    func visibility(_ principal: Principal) -> Visibility { Visibility(principal: principal, scopes: scopes) }
}

import EventStore
import Foundation

/// What a principal may do on the shared ledger. Each role includes the reading of the one before it,
/// within its scope of establishments.
package enum AccessRole: String, Sendable, Hashable, CaseIterable, Codable {
    /// Reads the incidents that name one of its establishments.
    case reader
    /// A reader that also records facts on those incidents and opens new ones for its establishments.
    case recorder
    /// Reads everything in its scope, including the audit, the ledger's statistics and its verification; writes nothing.
    case auditor
    /// A recorder that also registers establishments and issues and revokes tokens, within its scope.
    case admin

    package var reads: Bool { true }
    package var records: Bool { self == .recorder || self == .admin }
    package var audits: Bool { self == .auditor || self == .admin }
    package var administers: Bool { self == .admin }
}

/// The establishments a principal reaches: a list of FINESS numbers, or all of them.
package enum AccessScope: Sendable, Hashable {
    case all
    case establishments(Set<String>)

    package func covers(_ finess: String) -> Bool {
        switch self {
        case .all: true
        case .establishments(let set): set.contains(finess)
        }
    }

    /// An incident is visible when it names one of the scope's establishments (or the scope is all).
    package func reaches(anyOf establishments: some Sequence<String>) -> Bool {
        switch self {
        case .all: true
        case .establishments(let set): establishments.contains(where: set.contains)
        }
    }

    package var json: JSONValue {
        switch self {
        case .all: .string("all")
        case .establishments(let set): .array(set.sorted().map { .string($0) })
        }
    }

    package var description: String {
        switch self {
        case .all: "all establishments"
        case .establishments(let set): set.sorted().joined(separator: ", ")
        }
    }
}

/// A token granted to a principal, as the `access:tokens` stream records it. The ledger keeps only the token's
/// SHA-256; the token itself is shown once, to whoever issued it.
package struct AccessGrant: Sendable, Hashable {
    /// A short public name of the token (the first 16 hex digits of its hash), for listing and revoking.
    package let tokenId: String
    /// The SHA-256 of the token, in lowercase hex.
    package let tokenHash: String
    package let principal: String
    package let role: AccessRole
    package let scope: AccessScope
    /// Who granted it, when (recordedAt, µs) and at which position.
    package let grantedBy: String
    package let grantedAt: Int64
    package let position: UInt64
    package var revokedBy: String?
    package var revokedAt: Int64?

    package var isRevoked: Bool { revokedAt != nil }
}

/// Tokens issued and revoked are events of the ledger, in one stream, so that the audit shows who granted
/// what to whom, and when. They sit outside the incident catalogue: only the `token` command and the
/// service's admin routes write them, never `record` or `append`.
package enum AccessEvents {
    package static let stream = "access:tokens"
    package static let granted = "access.granted"
    package static let revoked = "access.revoked"

    /// The grant of a token, happening at `now` (µs since the epoch: the caller's clock, the ledger's in practice).
    package static func grant(
        tokenId: String, tokenHash: String, principal: String, role: AccessRole, scope: AccessScope, actor: String,
        source: String, at now: Int64
    ) -> ProposedEvent {
        ProposedEvent(
            eventId: eventId(at: now), eventType: granted, occurredAt: .instant(Timestamp(microseconds: now)), actor: actor,
            source: source,
            payload: .object([
                "tokenId": .string(tokenId), "tokenHash": .string(tokenHash), "principal": .string(principal),
                "role": .string(role.rawValue), "establishments": scope.json,
            ]))
    }

    /// The revocation of `grant`, happening at `now` (µs since the epoch).
    package static func revoke(_ grant: AccessGrant, actor: String, reason: String, at now: Int64) -> ProposedEvent {
        ProposedEvent(
            eventId: eventId(at: now), eventType: revoked, occurredAt: .instant(Timestamp(microseconds: now)), actor: actor,
            source: "ledger token revoke",
            reason: reason, payload: .object(["tokenId": .string(grant.tokenId), "principal": .string(grant.principal)]))
    }

    /// A time-ordered event id from the same reading of the clock as the event's time.
    private static func eventId(at now: Int64) -> UUID {
        UUID.timeOrdered(milliseconds: UInt64(max(now, 0) / 1000))
    }

    /// Every grant of the ledger, by token hash, with its revocation if any.
    package static func grants(in store: EventStore) throws -> [String: AccessGrant] {
        var byHash: [String: AccessGrant] = [:]
        var hashById: [String: String] = [:]
        try store.read(.stream(stream)) { event in
            let p = event.payload
            if event.eventType == granted, let id = p["tokenId"]?.stringValue, let hash = p["tokenHash"]?.stringValue,
                let principal = p["principal"]?.stringValue, let role = p["role"]?.stringValue.flatMap(AccessRole.init)
            {
                let scope: AccessScope =
                    p["establishments"]?.arrayValue.map { .establishments(Set($0.compactMap(\.stringValue))) } ?? .all
                byHash[hash] = AccessGrant(
                    tokenId: id, tokenHash: hash, principal: principal, role: role, scope: scope, grantedBy: event.actor,
                    grantedAt: event.recordedAt.microseconds, position: event.position)
                hashById[id] = hash
            } else if event.eventType == revoked, let id = p["tokenId"]?.stringValue, let hash = hashById[id] {
                byHash[hash]?.revokedBy = event.actor
                byHash[hash]?.revokedAt = event.recordedAt.microseconds
            }
            return true
        }
        return byHash
    }

    /// One line for the audit: who was granted what, or whose token was revoked.
    package static func summary(eventType: String, payload: JSONValue) -> String {
        let principal = payload["principal"]?.stringValue ?? "?"
        let id = payload["tokenId"]?.stringValue ?? "?"
        if eventType == granted {
            let role = payload["role"]?.stringValue ?? "?"
            let scope =
                payload["establishments"]?.arrayValue.map { $0.compactMap(\.stringValue).joined(separator: ", ") }
                ?? "all establishments"
            return "granted \(role) on \(scope) to \(principal) (token \(id))"
        }
        return "revoked token \(id) of \(principal)"
    }
}

import Crypto
import EventStore
import Foundation
import IncidentDomain
import Synchronization

/// An authenticated caller of the service: the name recorded as the actor of what it appends, its role and
/// the establishments it reaches.
package struct Principal: Sendable, Hashable {
    package let name: String
    package let role: AccessRole
    package let scope: AccessScope
    package let tokenId: String
}

/// Issues, lists and revokes bearer tokens. A token is 256 random bits shown once; the ledger keeps its
/// SHA-256 in an `access.granted` event, and a revocation is an `access.revoked` event.
package enum Tokens {
    /// `il_` and 43 base64url characters: 32 bytes from the system's random source.
    package static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let base64 = Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(
                of: "=", with: "")
        return "il_" + base64
    }

    package static func hash(_ token: String) -> String {
        // Hex by hand: String(format:) costs more than the hash, and this runs on every request.
        let digits = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = []
        hex.reserveCapacity(64)
        for byte in SHA256.hash(data: Data(token.utf8)) {
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: hex, as: UTF8.self)
    }

    /// Grants `role` on `scope` to `name`: appends the grant and returns the token, which nothing stores.
    package static func issue(
        in store: EventStore, name: String, role: AccessRole, scope: AccessScope, actor: String, source: String
    ) throws -> (token: String, grant: AccessGrant) {
        let name = name.trimmingCharacters(in: .whitespaces)
        // The name is the actor of everything the token appends: it must pass the envelope's actor rule (at most
        // 200 bytes, no control characters, C1 included, not blank), or the token could never record anything.
        guard !name.isEmpty, name.utf8.count <= 200,
            name.unicodeScalars.allSatisfy({
                $0.value >= 0x21 && !(0x7F...0xA0).contains($0.value) && !$0.properties.isWhitespace
                    && ![0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF].contains($0.value)  // invisible: a blank actor
            })
        else {
            throw IntakeError(
                "name: \"\(name)\" must be a principal's name of at most 200 bytes, without spaces or control characters",
                field: "name")
        }
        if case .establishments(let set) = scope {
            guard !set.isEmpty else {
                throw IntakeError("establishments: give at least one FINESS, or all", field: "establishments")
            }
            for finess in set.sorted() where !PayloadValidator.isFINESS(finess) {
                throw IntakeError("establishments: \"\(finess)\" is not a FINESS number", field: "establishments")
            }
        }
        let token = generate()
        let hash = hash(token)
        let event = AccessEvents.grant(
            tokenId: String(hash.prefix(16)), tokenHash: hash, principal: name, role: role, scope: scope, actor: actor,
            source: source, at: store.configuration.clock.now())
        _ = try store.appendAtomically([AppendRequest(streamId: AccessEvents.stream, events: [event])])
        guard let grant = try AccessEvents.grants(in: store)[hash] else {
            throw IntakeError("the grant was written but cannot be read back", code: .storage)
        }
        return (token, grant)
    }

    /// Revokes the token whose id (or whose id's prefix, when unique) is `tokenId`.
    package static func revoke(in store: EventStore, tokenId: String, actor: String, reason: String) throws -> AccessGrant {
        let matches = try AccessEvents.grants(in: store).values.filter { $0.tokenId.hasPrefix(tokenId.lowercased()) }
        guard !tokenId.isEmpty, let grant = matches.first else {
            throw IntakeError("token \(tokenId): no such token", code: .noLedger, field: "tokenId")
        }
        guard matches.count == 1 else {
            throw IntakeError("token \(tokenId): \(matches.count) tokens start so; give more of the id", field: "tokenId")
        }
        guard !grant.isRevoked else {
            throw IntakeError(
                "token \(grant.tokenId) of \(grant.principal): already revoked", code: .wrongExpectedVersion, field: "tokenId")
        }
        _ = try store.appendAtomically([
            AppendRequest(
                streamId: AccessEvents.stream,
                events: [
                    AccessEvents.revoke(grant, actor: actor, reason: reason, at: store.configuration.clock.now())
                ])
        ])
        return try AccessEvents.grants(in: store)[grant.tokenHash] ?? grant
    }
}

/// The grants in force, read again from the ledger whenever the `access:tokens` stream moves (a token
/// issued or revoked by the CLI while the server runs takes effect on the next request).
final class AccessControl: Sendable {
    let store: EventStore
    private let cache = Mutex<(version: UInt64, grants: [String: AccessGrant])?>(nil)

    init(store: EventStore) { self.store = store }

    /// The principal a bearer token authenticates, or nil when the token is unknown or revoked.
    func principal(token: String) throws -> Principal? {
        let version = try store.streamVersion(of: AccessEvents.stream)
        let grants: [String: AccessGrant]
        if let cached = cache.withLock({ $0 }), cached.version == version {
            grants = cached.grants
        } else {
            grants = try AccessEvents.grants(in: store)
            cache.withLock { $0 = (version, grants) }
        }
        guard let grant = grants[Tokens.hash(token)], !grant.isRevoked else { return nil }
        return Principal(name: grant.principal, role: grant.role, scope: grant.scope, tokenId: grant.tokenId)
    }
}

extension AccessControl {
    /// The principal of a token still in force, by token id (a live subscription checks its token is not revoked).
    func principal(tokenId: String) throws -> Principal? {
        guard let grant = try AccessEvents.grants(in: store).values.first(where: { $0.tokenId == tokenId }), !grant.isRevoked
        else { return nil }
        return Principal(name: grant.principal, role: grant.role, scope: grant.scope, tokenId: grant.tokenId)
    }
}

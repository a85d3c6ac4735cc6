import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import IncidentDomain
import LedgerProofs
import NIOCore

extension LedgerService {
    func addProofRoutes(to router: Router<LedgerRequestContext>) {
        // The latest checkpoint signed with `ledger checkpoint` (or of a given size): a C2SP signed note.
        router.get("/checkpoint") { request, context in
            _ = try self.principal(context)
            let size = try Self.parameter(request, "size").map { _ in
                try Self.number(request, "size", default: 0, range: 0...UInt64(Int64.max))
            }
            return try await self.blocking {
                guard let note = try self.store.storedCheckpoint(size: size) else {
                    throw Problem.notFound(
                        size.map { "no checkpoint of \($0) events was signed" }
                            ?? "no checkpoint was signed yet: ledger checkpoint --key KEY signs one")
                }
                return Self.body(note.text, type: "text/plain; charset=utf-8")
            }
        }
        // An inclusion proof of one event against a signed checkpoint (the latest, or the one of `size` events).
        router.get("/proofs/inclusion") { request, context in
            let p = try self.principal(context)
            guard Self.parameter(request, "position") != nil else {
                throw Problem.badRequest("position: required", field: "position")
            }
            let position = try Self.number(request, "position", default: 1, range: 1...UInt64(Int64.max))
            let size = try Self.parameter(request, "size").map { _ in
                try Self.number(request, "size", default: 0, range: 1...UInt64(Int64.max))
            }
            return try await self.blocking {
                // An event the principal does not reach is answered as none: its stream names another hospital.
                guard let event = try self.store.event(at: position), try self.visibility(p).sees(stream: event.streamId) else {
                    throw Problem.notFound("position \(position): no such event (of those you reach)")
                }
                guard let note = try self.store.storedCheckpoint(size: size) else {
                    throw Problem.notFound(
                        "no signed checkpoint\(size.map { " of \($0) events" } ?? ""): ledger checkpoint signs one")
                }
                let checkpoint = try Checkpoint(body: note.body)
                guard position <= checkpoint.size else {
                    throw Problem.notFound(
                        "position \(position): after the latest checkpoint's \(checkpoint.size) events; sign a newer one")
                }
                var leaf: [UInt8] = []
                _ = try self.store.scanLog(fromPosition: position, limit: 1) { _, canonical in leaf = Array(canonical) }
                let document = InclusionProofDocument(
                    treeSize: checkpoint.size, leafIndex: position - 1, leafHash: MerkleTree.leafHash(leaf),
                    hashes: try self.store.inclusionProof(position: position, size: checkpoint.size), checkpoint: note.text,
                    leaf: String(decoding: leaf, as: UTF8.self))
                return Self.body(document.json + "\n", type: "application/json")
            }
        }
        // A consistency proof between two signed checkpoints of this ledger.
        router.get("/proofs/consistency") { request, context in
            _ = try self.principal(context)
            for name in ["from", "to"] where Self.parameter(request, name) == nil {
                throw Problem.badRequest("\(name): required (the sizes of two signed checkpoints)", field: name)
            }
            let from = try Self.number(request, "from", default: 0, range: 0...UInt64(Int64.max))
            let to = try Self.number(request, "to", default: 0, range: 0...UInt64(Int64.max))
            guard from <= to else { throw Problem.badRequest("from: \(from) is more than to's \(to)", field: "from") }
            return try await self.blocking {
                guard let old = try self.store.storedCheckpoint(size: from) else {
                    throw Problem.notFound("from: no checkpoint of \(from) events was signed")
                }
                guard let new = try self.store.storedCheckpoint(size: to) else {
                    throw Problem.notFound("to: no checkpoint of \(to) events was signed")
                }
                let document = ConsistencyProofDocument(
                    oldSize: from, newSize: to, hashes: try self.store.consistencyProof(from: from, to: to), old: old.text,
                    new: new.text)
                return Self.body(document.json + "\n", type: "application/json")
            }
        }
    }

    func addTokenRoutes(to router: Router<LedgerRequestContext>) {
        router.get("/tokens") { _, context in
            let p = try self.principal(context)
            guard p.role.administers else { throw Problem.forbidden("tokens: for admins; \(p.name) is a \(p.role.rawValue)") }
            return try await self.blocking {
                let grants = try AccessEvents.grants(in: self.store).values.sorted { $0.position < $1.position }
                return Self.json(.array(grants.filter { Self.within(p.scope, $0.scope) }.map(Self.grantJSON)))
            }
        }
        router.post("/tokens") { request, context in
            let p = try self.principal(context)
            guard p.role.administers else { throw Problem.forbidden("tokens: for admins; \(p.name) is a \(p.role.rawValue)") }
            let data: Data
            do { data = Data(buffer: try await request.body.collect(upTo: 64 * 1024)) } catch is NIOTooManyBytesError {
                // Not the event routes' limit, which Problem.from(_:) names.
                throw Problem(.contentTooLarge, "payload-too-large", "request body: over the limit of \(64 * 1024) bytes")
            }
            let body: JSONValue
            do { body = try JSONParser.parse(data) } catch { throw Problem.badRequest("request body: \(error)") }
            guard let name = body["name"]?.stringValue else {
                throw Problem.invalid("name: required, a principal's name", field: "name")
            }
            guard let roleText = body["role"]?.stringValue, let role = AccessRole(rawValue: roleText) else {
                throw Problem.invalid(
                    "role: one of \(AccessRole.allCases.map(\.rawValue).joined(separator: ", "))", field: "role")
            }
            let scope: AccessScope
            switch body["establishments"] {
            case .string("all")?: scope = .all
            case .array(let list)?:
                scope = .establishments(Set(list.compactMap(\.stringValue)))
                guard list.allSatisfy({ $0.stringValue != nil }) else {
                    throw Problem.invalid("establishments: FINESS numbers as strings, or \"all\"", field: "establishments")
                }
            default:
                throw Problem.invalid("establishments: required, a list of FINESS numbers or \"all\"", field: "establishments")
            }
            guard Self.within(p.scope, scope) else {
                throw Problem.forbidden("establishments: \(p.name) may grant only within \(p.scope.description)")
            }
            return try await self.blocking {
                let (token, grant) = try Tokens.issue(
                    in: self.store, name: name, role: role, scope: scope, actor: p.name, source: "POST /tokens")
                guard case .object(var m) = Self.grantJSON(grant) else { fatalError("grantJSON is an object") }
                m["token"] = .string(token)
                return Self.json(.object(m), status: .created)
            }
        }
        router.delete("/tokens/{tokenId}") { request, context in
            let p = try self.principal(context)
            guard p.role.administers else { throw Problem.forbidden("tokens: for admins; \(p.name) is a \(p.role.rawValue)") }
            let id = try Self.pathParameter(context, "tokenId")
            return try await self.blocking {
                let grants = try AccessEvents.grants(in: self.store).values
                guard let target = grants.first(where: { $0.tokenId == id }) else {
                    throw Problem.notFound("token \(id): no such token")
                }
                guard Self.within(p.scope, target.scope) else {
                    throw Problem.forbidden("token \(id): outside \(p.scope.description)")
                }
                let revoked = try Tokens.revoke(
                    in: self.store, tokenId: id, actor: p.name,
                    reason: Self.parameter(request, "reason") ?? "revoked through DELETE /tokens")
                return Self.json(Self.grantJSON(revoked))
            }
        }
    }

    /// True when `inner` reaches no establishment `outer` does not.
    static func within(_ outer: AccessScope, _ inner: AccessScope) -> Bool {
        switch (outer, inner) {
        case (.all, _): true
        case (.establishments, .all): false
        case (.establishments(let o), .establishments(let i)): i.isSubset(of: o)
        }
    }

    static func grantJSON(_ g: AccessGrant) -> JSONValue {
        .object([
            "tokenId": .string(g.tokenId), "principal": .string(g.principal), "role": .string(g.role.rawValue),
            "establishments": g.scope.json, "grantedBy": .string(g.grantedBy), "position": .number(JSONNumber(g.position)),
            "grantedAt": .string(Timestamp(microseconds: g.grantedAt).rfc3339), "revoked": .bool(g.isRevoked),
            "revokedBy": g.revokedBy.map { .string($0) } ?? .null,
        ])
    }
}

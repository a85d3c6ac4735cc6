import EventStore
import Foundation
import IncidentDomain

/// How a ``FactBook`` is saved between runs: one entry for the establishments and one per incident, each
/// canonical JSON, so that an incremental save rewrites only the incidents it touched.
enum FactBookCodec {
    static let establishmentsKey = "establishments"
    static let registrationsKey = "registrations"

    static func encode(_ book: FactBook, only streams: Set<String>?) -> [String: [UInt8]] {
        var entries: [String: [UInt8]] = [:]
        let establishments = book.establishments.values.sorted { $0.finess < $1.finess }.map(encode)
        entries[establishmentsKey] = CanonicalJSON.encode(.array(establishments))
        entries[registrationsKey] = CanonicalJSON.encode(.array(book.registrations.map(encode)))
        for (stream, facts) in book.incidents where streams?.contains(stream) ?? true {
            entries[stream] = CanonicalJSON.encode(.array(facts.map(encode)))
        }
        return entries
    }

    static func decode(checkpoint: UInt64, entries: [String: [UInt8]]) throws -> FactBook {
        var establishments: [String: Establishment] = [:]
        var incidents: [String: [Fact]] = [:]
        var registrations: [Fact] = []
        for (key, bytes) in entries {
            let json = try JSONParser.parse(bytes)
            guard let items = json.arrayValue else { throw corrupt(key, "not an array") }
            if key == establishmentsKey {
                for item in items {
                    let e = try decodeEstablishment(item, key: key)
                    establishments[e.finess] = e
                }
            } else if key == registrationsKey {
                registrations = try items.map { try decodeFact($0, key: key) }
            } else {
                incidents[key] = try items.map { try decodeFact($0, key: key) }
            }
        }
        return FactBook(checkpoint: checkpoint, establishments: establishments, registrations: registrations, incidents: incidents)
    }

    private static func corrupt(_ key: String, _ message: String) -> EventStoreError {
        EventStoreError(.corrupted, field: "projection entry \(key)", "\(message); run `ledger rebuild`")
    }

    private static func number(_ value: UInt64) -> JSONValue { .number(JSONNumber(lexeme: Substring(String(value)))!) }

    static func encode(_ e: Establishment) -> JSONValue {
        var m: [String: JSONValue] = [
            "finess": .string(e.finess), "name": .string(e.name), "city": .string(e.city),
            "essentialOperator": .bool(e.essentialOperator), "registeredAt": number(e.registeredAt),
        ]
        if let group = e.group { m["group"] = .string(group) }
        if let nis2 = e.nis2Entity { m["nis2Entity"] = .string(nis2) }
        return .object(m)
    }

    static func decodeEstablishment(_ json: JSONValue, key: String) throws -> Establishment {
        guard let finess = json["finess"]?.stringValue, let name = json["name"]?.stringValue, let city = json["city"]?.stringValue,
            let at = json["registeredAt"]?.numberValue.flatMap({ UInt64($0.text) })
        else { throw corrupt(key, "establishment malformed") }
        return Establishment(
            finess: finess, name: name, city: city, group: json["group"]?.stringValue,
            essentialOperator: json["essentialOperator"]?.boolValue ?? false, nis2Entity: json["nis2Entity"]?.stringValue,
            registeredAt: at)
    }

    static func encode(_ f: Fact) -> JSONValue {
        var m: [String: JSONValue] = [
            "eventId": .string(f.eventId.uuidString.lowercased()), "position": number(f.position), "streamId": .string(f.streamId),
            "eventType": .string(f.eventType), "recordedAt": .string(f.recordedAt.rfc3339Micros), "actor": .string(f.actor),
            "source": .string(f.source), "occurredAt": f.occurredAt.json, "payload": f.payload,
            "revisions": .array(f.revisions.map(encode)),
        ]
        if let reason = f.reason { m["reason"] = .string(reason) }
        return .object(m)
    }

    static func encode(_ r: Revision) -> JSONValue {
        .object([
            "kind": .string(r.kind.rawValue), "eventId": .string(r.eventId.uuidString.lowercased()), "position": number(r.position),
            "recordedAt": .string(r.recordedAt.rfc3339Micros), "actor": .string(r.actor), "source": .string(r.source),
            "reason": .string(r.reason), "changedFields": .array(r.changedFields.map { .string($0) }),
            "before": .object(r.before), "after": .object(r.after),
        ])
    }

    static func decodeFact(_ j: JSONValue, key: String) throws -> Fact {
        guard let id = j["eventId"]?.stringValue.flatMap(UUID.init(uuidString:)),
            let position = j["position"]?.numberValue.flatMap({ UInt64($0.text) }),
            let stream = j["streamId"]?.stringValue, let type = j["eventType"]?.stringValue,
            let recorded = j["recordedAt"]?.stringValue.flatMap(Timestamp.init(rfc3339:)),
            let actor = j["actor"]?.stringValue, let source = j["source"]?.stringValue,
            let occurred = j["occurredAt"], let payload = j["payload"], let revisions = j["revisions"]?.arrayValue
        else { throw corrupt(key, "fact malformed") }
        return Fact(
            eventId: id, position: position, streamId: stream, eventType: type, recordedAt: recorded, actor: actor, source: source,
            reason: j["reason"]?.stringValue, occurredAt: try OccurredAt(json: occurred, path: "$"), payload: payload,
            event: try IncidentEvent(eventType: type, payload: payload), revisions: try revisions.map { try decodeRevision($0, key: key) })
    }

    static func decodeRevision(_ j: JSONValue, key: String) throws -> Revision {
        guard let kind = j["kind"]?.stringValue.flatMap(Revision.Kind.init(rawValue:)),
            let id = j["eventId"]?.stringValue.flatMap(UUID.init(uuidString:)),
            let position = j["position"]?.numberValue.flatMap({ UInt64($0.text) }),
            let recorded = j["recordedAt"]?.stringValue.flatMap(Timestamp.init(rfc3339:)),
            let actor = j["actor"]?.stringValue, let source = j["source"]?.stringValue, let reason = j["reason"]?.stringValue,
            let fields = j["changedFields"]?.arrayValue?.compactMap(\.stringValue),
            let before = j["before"]?.objectValue, let after = j["after"]?.objectValue
        else { throw corrupt(key, "revision malformed") }
        return Revision(
            kind: kind, eventId: id, position: position, recordedAt: recorded, actor: actor, source: source, reason: reason,
            changedFields: fields, before: before, after: after)
    }
}

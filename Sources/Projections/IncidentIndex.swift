import EventStore
import Foundation
import IncidentDomain

/// The projection across incidents, as a pure fold: the registered establishments (with each registration's
/// position), the incident streams, and which incidents name which establishment, as entries keyed
/// `e:FINESS/POSITION`, `i:STREAM` and `t:FINESS/STREAM`. The runner (`ProjectionRunner`) saves them in the
/// ledger with a checkpoint, catches them up in pages of the log and rebuilds them; the views of one incident
/// are folded from its own stream on demand: its corrections and retractions live in that stream.
package enum IncidentIndex {
    /// The entries `events` give, folded in memory from the events themselves: what the saved index holds
    /// once it has caught up with them.
    package static func entries(folding events: some Sequence<RecordedEvent>) throws -> [String: [UInt8]] {
        var pending = PendingEntries()
        for event in events {
            try CanonicalJSON.encode(event.hashedJSON).withUnsafeBytes { canonical in
                try addEntries(of: canonical, at: event.position, to: &pending)
            }
        }
        return pending.entries
    }

    /// The keys one stored event adds: `e:FINESS/POSITION` (its payload as value) for a registration,
    /// `i:STREAM` for an incident event, and `t:FINESS/STREAM` for each establishment it names.
    package static func addEntries(of canonical: UnsafeRawBufferPointer, at position: UInt64, to pending: inout PendingEntries)
        throws
    {
        guard let fields = RoutingFields(canonical) ?? RoutingFields(walking: canonical) else {
            throw EventStoreError(.corrupted, field: "position \(position)", "stored event lacks its type, stream or payload")
        }
        let type = fields.eventType
        let stream = fields.streamId
        guard let route = routes[type] else { return }
        if type == "establishment.registered" {
            guard let payload = JSONMembers.value(of: "payload", in: canonical) else { return }
            if let finess = JSONMembers.value(of: "finess", in: payload).flatMap(JSONMembers.string) {
                pending.entries["e:\(finess)/\(String(format: "%020llu", position))"] = Array(payload)
            }
            return
        }
        guard route.incident else { return }
        pending.addKey("i:", stream)
        guard route.namesEstablishments else { return }
        func addNamed(in object: UnsafeRawBufferPointer) {
            JSONMembers.forEach(in: object) { key, value in
                if JSONMembers.key(key, is: "establishment"), var finess = JSONMembers.string(value) {
                    finess.withUTF8 { pending.addKey("t:", UnsafeRawBufferPointer($0), then: stream) }
                } else if JSONMembers.key(key, is: "establishments"), case .array(let many)? = try? JSONParser.parse(value) {
                    for case .string(var finess) in many {
                        finess.withUTF8 { pending.addKey("t:", UnsafeRawBufferPointer($0), then: stream) }
                    }
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

    /// For each event type: whether it belongs to an incident stream, and whether its payload can name
    /// establishments (a correction through its changes): the payloads of the others are not walked.
    static let routes: [String: (incident: Bool, namesEstablishments: Bool)] = Dictionary(
        uniqueKeysWithValues: Catalogue.all.map { spec in
            (
                spec.eventType,
                (
                    spec.streamKind == .incident,
                    spec.fields.contains { ["establishment", "establishments", "changes"].contains($0.name) }
                )
            )
        })

    /// The entries a catch-up has gathered and not saved yet, and the keys it has already added: the key of
    /// an incident seen on a thousand events is built and hashed into `entries` once, not a thousand times.
    package struct PendingEntries {
        package var entries: [String: [UInt8]] = [:]
        /// Keys added since the catch-up began, by a hash of their bytes (one per slot; a collision only
        /// means a key is added again, which changes nothing).
        private var added = [[UInt8]](repeating: [], count: 4096)
        private var key: [UInt8] = []

        package init() {}

        /// Adds the key `prefix` + `first` (+ "/" + `second`) with an empty value, unless it was added before.
        mutating func addKey(_ prefix: StaticString, _ first: UnsafeRawBufferPointer, then second: UnsafeRawBufferPointer? = nil)
        {
            key.removeAll(keepingCapacity: true)
            key.append(contentsOf: UnsafeRawBufferPointer(start: prefix.utf8Start, count: prefix.utf8CodeUnitCount))
            key.append(contentsOf: first)
            if let second {
                key.append(UInt8(ascii: "/"))
                key.append(contentsOf: second)
            }
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a
            for byte in key { hash = (hash ^ UInt64(byte)) &* 0x0100_0000_01b3 }
            let slot = Int(hash & UInt64(added.count - 1))
            if added[slot] == key { return }
            added[slot] = key
            entries[String(decoding: key, as: UTF8.self)] = []
        }
    }
    /// The index as folded or saved: establishments as known at `position` (their latest registration up to
    /// it), and the incident streams.
    package struct Snapshot: Sendable {
        package let checkpoint: UInt64
        package let incidents: [String]
        /// Registrations in key order (by FINESS, then position), decoded once when the index is loaded.
        let registrations: [(finess: String, position: UInt64, establishment: Establishment?)]
        /// The incidents naming each establishment, when the index was folded in memory (nil: read them from
        /// the saved index).
        package let links: [String: [String]]?

        /// The snapshot of every entry of a fold (`e:`, `i:` and `t:`), caught up to `checkpoint`.
        package init(checkpoint: UInt64, entries: [String: [UInt8]]) throws {
            var links: [String: [String]] = [:]
            for key in entries.keys where key.hasPrefix("t:") {
                let parts = key.dropFirst(2).split(separator: "/", maxSplits: 1)
                if parts.count == 2 { links[String(parts[0]), default: []].append(String(parts[1])) }
            }
            for finess in links.keys { links[finess]!.sort() }
            try self.init(
                checkpoint: checkpoint, incidents: entries.filter { $0.key.hasPrefix("i:") },
                registrations: entries.filter { $0.key.hasPrefix("e:") }, links: links)
        }

        /// Builds the snapshot from `i:` and `e:` entries.
        package init(
            checkpoint: UInt64, incidents: [String: [UInt8]], registrations: [String: [UInt8]], links: [String: [String]]?
        )
            throws
        {
            self.checkpoint = checkpoint
            self.incidents = incidents.keys.map { String($0.dropFirst(2)) }.sorted()
            self.links = links
            self.registrations = try registrations.keys.sorted().map { key in
                let parts = key.dropFirst(2).split(separator: "/")
                let position = parts.count == 2 ? UInt64(parts[1]) ?? 0 : 0
                let payload = try JSONParser.parse(registrations[key]!)
                var establishment: Establishment?
                if case .establishmentRegistered(let e)? = try? IncidentEvent(
                    eventType: "establishment.registered", payload: payload)
                {
                    establishment = Establishment(
                        finess: e.finess, name: e.name, city: e.city, group: e.group,
                        essentialOperator: e.essentialOperator ?? false, nis2Entity: e.nis2Entity, registeredAt: position)
                }
                return (finess: String(parts.first ?? ""), position: position, establishment: establishment)
            }
        }

        package func establishments(upTo position: UInt64 = .max) -> [String: Establishment] {
            var result: [String: Establishment] = [:]
            for r in registrations where r.position <= position {
                guard let establishment = r.establishment else { continue }
                result[r.finess] = establishment
            }
            return result
        }
    }
}

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
    ///
    /// Allocates nothing for an event whose keys were added before (nearly all of them on a long log): the
    /// type is looked up by its bytes, the establishments are read in place, and the keys are checked
    /// against ``PendingEntries``' cache of keys already added before any is built.
    package static func addEntries(of canonical: UnsafeRawBufferPointer, at position: UInt64, to pending: inout PendingEntries)
        throws
    {
        guard let fields = RoutingFields(canonical) ?? RoutingFields(walking: canonical) else {
            throw EventStoreError(.corrupted, field: "position \(position)", "stored event lacks its type, stream or payload")
        }
        guard let route = Route.of(type: fields.eventType) else { return }
        if route.registers {
            guard let payload = JSONMembers.value(of: "payload", in: canonical) else { return }
            if let finess = JSONMembers.value(of: "finess", in: payload).flatMap(JSONMembers.string) {
                pending.entries["e:\(finess)/\(String(format: "%020llu", position))"] = Array(payload)
            }
            return
        }
        guard route.incident else { return }
        let stream = fields.streamId
        let streamHash = PendingEntries.hash(stream)
        pending.addKey("i:", stream, hash: streamHash)
        guard route.namesEstablishments else { return }
        addNamed(in: fields.payloadOnwards, stream: stream, streamHash: streamHash, to: &pending)
    }

    /// Adds `t:FINESS/STREAM` for each establishment the payload object at the start of `object` names, and
    /// for those a correction's `changes` name (a correction may name another establishment: the incident
    /// names it too).
    private static func addNamed(
        in object: UnsafeRawBufferPointer, stream: UnsafeRawBufferPointer, streamHash: UInt64, to pending: inout PendingEntries
    ) {
        var members = JSONMembers.Members(object)
        while let (key, value) = members.next() {
            if JSONMembers.key(key, is: "establishment") {
                if let finess = JSONMembers.plainString(value) {
                    pending.addKey("t:", finess, then: stream, hash: streamHash)
                } else if var finess = JSONMembers.string(value) {
                    finess.withUTF8 { pending.addKey("t:", UnsafeRawBufferPointer($0), then: stream, hash: streamHash) }
                }
            } else if JSONMembers.key(key, is: "establishments"), case .array(let many)? = try? JSONParser.parse(value) {
                for case .string(var finess) in many {
                    finess.withUTF8 { pending.addKey("t:", UnsafeRawBufferPointer($0), then: stream, hash: streamHash) }
                }
            } else if JSONMembers.key(key, is: "changes") {
                addNamed(in: value, stream: stream, streamHash: streamHash, to: &pending)
            }
        }
    }

    /// What the index does with one event type (see ``routes``).
    struct Route: Sendable {
        /// `establishment.registered`: its payload is kept under `e:`.
        var registers: Bool
        /// It belongs to an incident stream.
        var incident: Bool
        /// Its payload can name establishments (a correction through its changes): the payloads of the
        /// others are not walked.
        var namesEstablishments: Bool

        /// The route of the type whose bytes (as stored, between the quotes) are `type`; nil for a type the
        /// index ignores. Escaped bytes are decoded first (the canonical form has none in a type).
        static func of(type: UnsafeRawBufferPointer) -> Route? {
            if let route = table.route(type) { return route }
            guard type.contains(UInt8(ascii: "\\")),
                var decoded = ([UInt8(ascii: "\"")] + type + [UInt8(ascii: "\"")]).withUnsafeBytes(JSONMembers.string)
            else { return nil }
            return decoded.withUTF8 { table.route(UnsafeRawBufferPointer($0)) }
        }

        private static let table = RouteTable(routes)
    }

    /// Every route of the catalogue in an open-addressed table keyed by the type's bytes: looked up with
    /// no `String` built and nothing hashed but two words.
    struct RouteTable: Sendable {
        private var bytes: [UInt8] = []
        /// Per slot: the type's start in `bytes` and its length (0: a free slot), and its route.
        private var starts: [Int]
        private var lengths: [Int]
        private var values: [Route]
        private static let slots = 256

        init(_ routes: [String: Route]) {
            starts = Array(repeating: 0, count: Self.slots)
            lengths = Array(repeating: 0, count: Self.slots)
            values = Array(repeating: Route(registers: false, incident: false, namesEstablishments: false), count: Self.slots)
            precondition(routes.count < Self.slots / 2)
            for (type, route) in routes {
                let utf8 = Array(type.utf8)
                var slot = utf8.withUnsafeBytes { Int(PendingEntries.hash($0) & UInt64(Self.slots - 1)) }
                while lengths[slot] != 0 { slot = (slot + 1) & (Self.slots - 1) }
                starts[slot] = bytes.count
                lengths[slot] = utf8.count
                values[slot] = route
                bytes.append(contentsOf: utf8)
            }
        }

        func route(_ type: UnsafeRawBufferPointer) -> Route? {
            guard !type.isEmpty else { return nil }
            var slot = Int(PendingEntries.hash(type) & UInt64(Self.slots - 1))
            return bytes.withUnsafeBytes { stored in
                while lengths[slot] != 0 {
                    if lengths[slot] == type.count, memcmp(stored.baseAddress! + starts[slot], type.baseAddress!, type.count) == 0
                    {
                        return values[slot]
                    }
                    slot = (slot + 1) & (Self.slots - 1)
                }
                return nil
            }
        }
    }

    /// What the index routes on, found in a stored event's canonical JSON without decoding it.
    struct RoutingFields {
        /// The type's bytes between the quotes, as stored (see ``Route/of(type:)``).
        let eventType: UnsafeRawBufferPointer
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
            var type: UnsafeRawBufferPointer?
            var afterOccurredAt = -1
            var members = JSONMembers.Members(canonical)
            while let (key, value) = members.next() {
                if JSONMembers.key(key, is: "eventType") {
                    type = JSONMembers.stringBytes(value)
                } else if JSONMembers.key(key, is: "occurredAt") {
                    afterOccurredAt = base.distance(to: value.baseAddress!) + value.count
                    break
                }
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
            var type: UnsafeRawBufferPointer?
            var stream: UnsafeRawBufferPointer?
            var payload: UnsafeRawBufferPointer?
            var members = JSONMembers.Members(canonical)
            while let (key, value) = members.next() {
                if JSONMembers.key(key, is: "eventType") {
                    type = JSONMembers.stringBytes(value)
                } else if JSONMembers.key(key, is: "payload") {
                    payload = value
                } else if JSONMembers.key(key, is: "streamId"), value.count >= 2 {
                    stream = UnsafeRawBufferPointer(rebasing: value[1..<(value.count - 1)])
                }
            }
            guard members.isComplete, let type, let stream, let payload else { return nil }
            self.eventType = type
            self.streamId = stream
            self.payloadOnwards = payload
        }

        private static func matches(_ bytes: UnsafeRawBufferPointer, at offset: Int, _ text: StaticString) -> Bool {
            offset >= 0 && offset + text.utf8CodeUnitCount <= bytes.count
                && memcmp(bytes.baseAddress! + offset, text.utf8Start, text.utf8CodeUnitCount) == 0
        }
    }

    /// For each event type: whether it registers an establishment, whether it belongs to an incident stream,
    /// and whether its payload can name establishments (a correction through its changes): the payloads of
    /// the others are not walked.
    static let routes: [String: Route] = Dictionary(
        uniqueKeysWithValues: Catalogue.all.map { spec in
            (
                spec.eventType,
                Route(
                    registers: spec.eventType == "establishment.registered",
                    incident: spec.streamKind == .incident,
                    namesEstablishments: spec.fields.contains {
                        ["establishment", "establishments", "changes"].contains($0.name)
                    }
                )
            )
        })

    /// The entries a catch-up has gathered and not saved yet, and the keys it has already added: the key of
    /// an incident seen on a thousand events is built and hashed into `entries` once, not a thousand times.
    package struct PendingEntries {
        package var entries: [String: [UInt8]] = [:]
        /// The bytes of the keys added since the catch-up began, one after the other, and for each of
        /// `slotCount` slots (by a hash of the key) where its key starts and how long it is (-1: none yet).
        /// A cache: a collision only means a key is added again, which changes nothing; so is emptying it
        /// when the bytes reach `cacheLimit`, which bounds its memory whatever the number of streams.
        private var cache: [UInt8] = []
        private var starts = [Int32](repeating: 0, count: slotCount)
        private var lengths = [Int32](repeating: -1, count: slotCount)
        private static let slotCount = 4096
        private static let cacheLimit = 1 << 20

        package init() { cache.reserveCapacity(Self.cacheLimit) }

        /// A hash of `bytes`, read a word at a time (stream ids and FINESS numbers are short).
        static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
            var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(truncatingIfNeeded: bytes.count)
            var i = 0
            while i + 8 <= bytes.count {
                h = (h ^ bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xFF51_AFD7_ED55_8CCD
                h ^= h >> 29
                i += 8
            }
            var tail: UInt64 = 0
            if i < bytes.count, bytes.count >= 8 {
                // The last word, overlapping the one before: the bytes left over, without a loop.
                tail = bytes.loadUnaligned(fromByteOffset: bytes.count - 8, as: UInt64.self)
            } else {
                var shift: UInt64 = 0
                while i < bytes.count {
                    tail |= UInt64(bytes[i]) << shift
                    shift += 8
                    i += 1
                }
            }
            h = (h ^ tail) &* 0xC4CE_B9FE_1A85_EC53
            return h ^ (h >> 32)
        }

        /// Adds the key `prefix` + `first` (+ "/" + `second`) with an empty value, unless it was added before.
        /// `hash` is ``hash(_:)`` of the stream id, the last part of every such key, computed once an event.
        mutating func addKey(
            _ prefix: StaticString, _ first: UnsafeRawBufferPointer, then second: UnsafeRawBufferPointer? = nil, hash: UInt64
        ) {
            var h = hash ^ UInt64(prefix.utf8Start.pointee)
            if second != nil { h = (h &* 0x9E37_79B9_7F4A_7C15) ^ Self.hash(first) }
            let slot = Int(truncatingIfNeeded: (h ^ (h >> 23)) & UInt64(Self.slotCount - 1))
            let prefixCount = prefix.utf8CodeUnitCount
            let length = prefixCount + first.count + (second.map { $0.count + 1 } ?? 0)
            if Int(lengths[slot]) == length {
                let start = Int(starts[slot])
                let same = cache.withUnsafeBytes { cached in
                    var at = cached.baseAddress! + start
                    guard memcmp(at, prefix.utf8Start, prefixCount) == 0 else { return false }
                    at += prefixCount
                    guard first.isEmpty || memcmp(at, first.baseAddress!, first.count) == 0 else { return false }
                    guard let second else { return true }
                    at += first.count
                    return at.load(as: UInt8.self) == UInt8(ascii: "/")
                        && (second.isEmpty || memcmp(at + 1, second.baseAddress!, second.count) == 0)
                }
                if same { return }
            }
            if cache.count + length > Self.cacheLimit {
                cache.removeAll(keepingCapacity: true)
                for i in lengths.indices { lengths[i] = -1 }
            }
            let start = cache.count
            cache.append(contentsOf: UnsafeRawBufferPointer(start: prefix.utf8Start, count: prefixCount))
            cache.append(contentsOf: first)
            if let second {
                cache.append(UInt8(ascii: "/"))
                cache.append(contentsOf: second)
            }
            starts[slot] = Int32(start)
            lengths[slot] = Int32(length)
            entries[cache.withUnsafeBytes { String(decoding: $0[start...], as: UTF8.self) }] = []
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

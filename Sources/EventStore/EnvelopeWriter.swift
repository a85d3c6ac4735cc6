import Foundation

/// Writes an envelope's canonical JSON directly, keys in their fixed canonical order, without building an
/// intermediate ``JSONValue``: the hot path of every append. A test holds it equal to
/// `CanonicalJSON.encode(event.hashedJSON)`.
enum EnvelopeWriter {
    static func canonical(
        _ event: ProposedEvent, streamId: String, position: UInt64, streamVersion: UInt64, recordedAt: Int64,
        previousHash: [UInt8]
    ) -> [UInt8] {
        canonical(
            eventId: event.eventId!, eventType: event.eventType, schemaVersion: event.schemaVersion,
            occurredAt: event.occurredAt, actor: event.actor, source: event.source, reason: event.reason,
            payload: event.payload, metadata: event.metadata, origin: event.origin, streamId: streamId, position: position,
            streamVersion: streamVersion, recordedAt: recordedAt, previousHash: EventCodec.hex(previousHash))
    }

    /// The canonical bytes of a stored event: what `verify` compares the stored bytes with.
    static func canonical(_ e: RecordedEvent) -> [UInt8] {
        canonical(
            eventId: e.eventId, eventType: e.eventType, schemaVersion: e.schemaVersion, occurredAt: e.occurredAt,
            actor: e.actor, source: e.source, reason: e.reason, payload: e.payload, metadata: e.metadata, origin: e.origin,
            streamId: e.streamId, position: e.position, streamVersion: e.streamVersion,
            recordedAt: e.recordedAt.microseconds, previousHash: e.previousHash)
    }

    static func canonical(
        eventId: UUID, eventType: String, schemaVersion: Int, occurredAt: OccurredAt, actor: String, source: String,
        reason: String?, payload: JSONValue, metadata: EventMetadata, origin: EventOrigin?, streamId: String, position: UInt64,
        streamVersion: UInt64, recordedAt: Int64, previousHash: String
    ) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(512)
        func key(_ name: StaticString, first: Bool = false) {
            if !first { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
            out.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
        }
        func string(_ s: String) { CanonicalJSON.writeString(s, into: &out) }

        out.append(UInt8(ascii: "{"))
        key("actor", first: true)
        string(actor)
        key("eventId")
        string(eventId.lowercasedString)
        key("eventType")
        string(eventType)
        if !metadata.isEmpty {
            key("metadata")
            CanonicalJSON.write(metadata.json, into: &out)
        }
        key("occurredAt")
        CanonicalJSON.write(occurredAt.json, into: &out)
        if let origin {
            key("origin")
            CanonicalJSON.write(origin.json, into: &out)
        }
        key("payload")
        CanonicalJSON.write(payload, into: &out)
        key("position")
        out.append(contentsOf: String(position).utf8)
        key("previousHash")
        string(previousHash)
        if let reason {
            key("reason")
            string(reason)
        }
        key("recordedAt")
        string(Timestamp(microseconds: recordedAt).rfc3339Micros)
        key("schemaVersion")
        out.append(contentsOf: String(schemaVersion).utf8)
        key("source")
        string(source)
        key("streamId")
        string(streamId)
        key("streamVersion")
        out.append(contentsOf: String(streamVersion).utf8)
        out.append(UInt8(ascii: "}"))
        return out
    }
}

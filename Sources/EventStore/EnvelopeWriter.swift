/// Writes an envelope's canonical JSON directly, keys in their fixed canonical order, without building an
/// intermediate ``JSONValue``: the hot path of every append. A test holds it equal to
/// `CanonicalJSON.encode(event.hashedJSON)`.
enum EnvelopeWriter {
    static func canonical(
        _ event: ProposedEvent, streamId: String, position: UInt64, streamVersion: UInt64, recordedAt: Int64,
        previousHash: [UInt8]
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
        string(event.actor)
        key("eventId")
        string(event.eventId!.uuidString.lowercased())
        key("eventType")
        string(event.eventType)
        if !event.metadata.isEmpty {
            key("metadata")
            CanonicalJSON.write(event.metadata.json, into: &out)
        }
        key("occurredAt")
        CanonicalJSON.write(event.occurredAt.json, into: &out)
        key("payload")
        CanonicalJSON.write(event.payload, into: &out)
        key("position")
        out.append(contentsOf: String(position).utf8)
        key("previousHash")
        string(EventCodec.hex(previousHash))
        if let reason = event.reason {
            key("reason")
            string(reason)
        }
        key("recordedAt")
        string(Timestamp(microseconds: recordedAt).rfc3339Micros)
        key("schemaVersion")
        out.append(contentsOf: String(event.schemaVersion).utf8)
        key("source")
        string(event.source)
        key("streamId")
        string(streamId)
        key("streamVersion")
        out.append(contentsOf: String(streamVersion).utf8)
        out.append(UInt8(ascii: "}"))
        return out
    }
}

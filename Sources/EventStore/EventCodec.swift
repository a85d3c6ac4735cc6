import Crypto
import Foundation

/// Turns events into stored bytes and back, and computes their hashes.
///
/// A stored value is the 32-byte SHA-256 followed by the canonical JSON of the envelope without `hash`
/// (see ``RecordedEvent/hashedJSON``); the hash is that of exactly those JSON bytes. The stored bytes *are*
/// what is hashed, so `verify` needs no re-encoding to check them, and a third party needs only the
/// canonical rules. Reads take the stored hash; `verify` recomputes it.
enum EventCodec {
    static let genesisHash = String(repeating: "0", count: 64)

    static let hashSize = 32

    static func digest(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        Array(SHA256.hash(data: bytes))
    }

    static func hex(_ bytes: some Collection<UInt8>) -> String {
        String(unsafeUninitializedCapacity: bytes.count * 2) { out in
            var i = 0
            for byte in bytes {
                out[i] = hexDigits[Int(byte >> 4)]
                out[i + 1] = hexDigits[Int(byte & 0xF)]
                i += 2
            }
            return i
        }
    }
    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// The stored value for canonical `json` bytes: hash, then the bytes.
    static func storedValue(canonical json: [UInt8]) -> (value: [UInt8], hash: [UInt8]) {
        // One buffer, the digest written into its head: no concatenation per event.
        let value = [UInt8](unsafeUninitializedCapacity: hashSize + json.count) { buffer, count in
            json.withUnsafeBytes { bytes in
                var hasher = SHA256()
                hasher.update(bufferPointer: bytes)
                hasher.finalize().withUnsafeBytes { digest in
                    UnsafeMutableRawBufferPointer(buffer).copyBytes(from: digest)
                }
                UnsafeMutableRawBufferPointer(rebasing: UnsafeMutableRawBufferPointer(buffer)[hashSize...]).copyMemory(
                    from: bytes)
            }
            count = hashSize + json.count
        }
        return (value, Array(value[..<hashSize]))
    }

    /// Decodes a stored value at `position`, trusting its stored hash: `verify` is what checks it.
    static func decode(stored bytes: UnsafeRawBufferPointer, position: UInt64) throws(EventStoreError) -> RecordedEvent {
        guard bytes.count > hashSize else {
            throw EventStoreError(.corrupted, field: "position \(position)", "stored event is truncated (\(bytes.count) bytes)")
        }
        let value: JSONValue
        do {
            value = try JSONParser.parse(UnsafeRawBufferPointer(rebasing: bytes[hashSize...]))
        } catch {
            throw EventStoreError(.corrupted, field: "position \(position)", "stored event does not decode: \(error)")
        }
        do {
            return try decode(json: value, hash: hex(bytes[0..<hashSize]), requireHash: false)
        } catch {
            throw EventStoreError(.corrupted, field: "position \(position)", "stored event is malformed: \(error)")
        }
    }

    /// Reads an envelope from JSON (as stored, or as exported with `hash`).
    static func decode(json: JSONValue, hash: String?, requireHash: Bool) throws(EventStoreError) -> RecordedEvent {
        guard let m = json.objectValue else { throw .invalid("$", "expected an object") }
        func string(_ key: String) throws(EventStoreError) -> String {
            guard let s = m[key]?.stringValue else { throw .invalid("$.\(key)", "required string") }
            return s
        }
        func unsigned(_ key: String) throws(EventStoreError) -> UInt64 {
            guard let text = m[key]?.numberValue?.text, let n = UInt64(text) else {
                throw .invalid("$.\(key)", "required unsigned integer")
            }
            return n
        }
        guard let eventId = UUID(text: try string("eventId")) else { throw .invalid("$.eventId", "not a UUID") }
        guard let recordedAt = Timestamp(rfc3339: try string("recordedAt"), unbounded: ()) else {
            throw .invalid("$.recordedAt", "not an RFC 3339 timestamp")
        }
        guard let occurred = m["occurredAt"] else { throw .invalid("$.occurredAt", "required") }
        var metadata = EventMetadata()
        if let meta = m["metadata"] {
            metadata.correlationId = meta["correlationId"]?.stringValue
            metadata.causationId = meta["causationId"]?.stringValue
        }
        let storedHash = m["hash"]?.stringValue
        if requireHash, storedHash == nil { throw .invalid("$.hash", "required string") }
        return RecordedEvent(
            position: try unsigned("position"), eventId: eventId, streamId: try string("streamId"),
            streamVersion: try unsigned("streamVersion"), eventType: try string("eventType"),
            schemaVersion: Int(try unsigned("schemaVersion")),
            occurredAt: try OccurredAt(json: occurred, path: "$.occurredAt", bounded: false), recordedAt: recordedAt,
            actor: try string("actor"), source: try string("source"), reason: m["reason"]?.stringValue,
            payload: m["payload"] ?? .object([:]), metadata: metadata, origin: try m["origin"].map(EventOrigin.init(json:)),
            previousHash: try string("previousHash"),
            hash: hash ?? storedHash ?? "")
    }
}

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
            metadata: event.metadata, origin: event.origin, streamId: streamId, position: position,
            streamVersion: streamVersion, recordedAt: recordedAt, previousHash: .bytes(previousHash)
        ) { CanonicalJSON.write(event.payload, into: &$0) }
    }

    /// A prepared event's bytes: its payload is canonical already, and is copied.
    static func canonical(
        _ event: PreparedEvent, position: UInt64, streamVersion: UInt64, recordedAt: Int64, previousHash: [UInt8]
    ) -> [UInt8] {
        canonical(
            eventId: event.eventId, eventType: event.eventType, schemaVersion: event.schemaVersion,
            occurredAt: event.occurredAt, actor: event.actor, source: event.source, reason: event.reason,
            metadata: event.metadata, origin: nil, streamId: event.streamId, position: position,
            streamVersion: streamVersion, recordedAt: recordedAt, previousHash: .bytes(previousHash),
            payloadSize: event.canonicalPayload.count
        ) { $0.append(contentsOf: event.canonicalPayload) }
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
        canonical(
            eventId: eventId, eventType: eventType, schemaVersion: schemaVersion, occurredAt: occurredAt, actor: actor,
            source: source, reason: reason, metadata: metadata, origin: origin, streamId: streamId, position: position,
            streamVersion: streamVersion, recordedAt: recordedAt, previousHash: .text(previousHash)
        ) { CanonicalJSON.write(payload, into: &$0) }
    }

    /// The previous hash as the 32 bytes of a digest (written in hex) or as the text already read.
    enum PreviousHash {
        case bytes([UInt8])
        case text(String)
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// The envelope with `payload` writing the payload's canonical bytes where they go.
    private static func canonical(
        eventId: UUID, eventType: String, schemaVersion: Int, occurredAt: OccurredAt, actor: String, source: String,
        reason: String?, metadata: EventMetadata, origin: EventOrigin?, streamId: String, position: UInt64,
        streamVersion: UInt64, recordedAt: Int64, previousHash: PreviousHash, payloadSize: Int = 256,
        payload: (inout [UInt8]) -> Void
    ) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(payloadSize + 400 + actor.utf8.count + source.utf8.count + (reason?.utf8.count ?? 0))
        func key(_ name: StaticString, first: Bool = false) {
            if !first { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
            out.append(UInt8(ascii: "\""))
            out.append(UInt8(ascii: ":"))
        }
        func string(_ s: String) { CanonicalJSON.writeString(s, into: &out) }

        out.append(UInt8(ascii: "{"))
        key("actor", first: true)
        string(actor)
        key("eventId")
        out.append(UInt8(ascii: "\""))
        eventId.appendLowercased(to: &out)
        out.append(UInt8(ascii: "\""))
        key("eventType")
        string(eventType)
        if !metadata.isEmpty {
            key("metadata")
            metadata.writeCanonical(into: &out)
        }
        key("occurredAt")
        occurredAt.writeCanonical(into: &out)
        if let origin {
            key("origin")
            CanonicalJSON.write(origin.json, into: &out)
        }
        key("payload")
        payload(&out)
        key("position")
        appendDecimal(position, to: &out)
        key("previousHash")
        switch previousHash {
        case .bytes(let bytes):
            out.append(UInt8(ascii: "\""))
            for byte in bytes {
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0xF)])
            }
            out.append(UInt8(ascii: "\""))
        case .text(let text): string(text)
        }
        if let reason {
            key("reason")
            string(reason)
        }
        key("recordedAt")
        out.append(UInt8(ascii: "\""))
        Timestamp(microseconds: recordedAt).appendRFC3339Micros(to: &out)
        out.append(UInt8(ascii: "\""))
        key("schemaVersion")
        if schemaVersion >= 0 {
            appendDecimal(UInt64(schemaVersion), to: &out)
        } else {
            out.append(contentsOf: String(schemaVersion).utf8)
        }
        key("source")
        string(source)
        key("streamId")
        string(streamId)
        key("streamVersion")
        appendDecimal(streamVersion, to: &out)
        out.append(UInt8(ascii: "}"))
        return out
    }
}

/// Appends the decimal digits of `value`: `String(value).utf8` without the string.
func appendDecimal(_ value: UInt64, to out: inout [UInt8]) {
    if value < 10 {
        out.append(UInt8(ascii: "0") + UInt8(value))
        return
    }
    var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for the 20 digits of UInt64.max
    var count = 0
    var rest = value
    withUnsafeMutableBytes(of: &digits) { buffer in
        while rest > 0 {
            buffer[23 - count] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
            count += 1
        }
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[(24 - count)...]))
    }
}

/// Appends `value` zero-padded to `width` digits, as ``pad(_:_:)`` spells it.
func appendPadded(_ value: Int, _ width: Int, to out: inout [UInt8]) {
    guard value >= 0 else {
        out.append(contentsOf: pad(value, width).utf8)
        return
    }
    var digits = 1
    var bound = 10
    while value >= bound, digits < 19 {
        digits += 1
        bound &*= 10
    }
    for _ in digits..<max(width, digits) { out.append(UInt8(ascii: "0")) }
    appendDecimal(UInt64(value), to: &out)
}

extension Timestamp {
    /// Appends ``rfc3339`` as bytes.
    func appendRFC3339(to out: inout [UInt8]) {
        local.append(to: &out, withFraction: microseconds % 1_000_000 != 0)
        Self.appendOffset(offsetSeconds, to: &out)
    }

    /// Appends ``rfc3339Micros`` as bytes.
    func appendRFC3339Micros(to out: inout [UInt8]) {
        LocalDateTime(microsecondsSinceEpoch: microseconds).append(to: &out, withFraction: true)
        out.append(UInt8(ascii: "Z"))
    }

    /// Appends ``offsetText(_:)`` as bytes.
    static func appendOffset(_ seconds: Int32, to out: inout [UInt8]) {
        if seconds == 0 {
            out.append(UInt8(ascii: "Z"))
            return
        }
        out.append(seconds < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
        let minutes = abs(Int(seconds)) / 60
        appendPadded(minutes / 60, 2, to: &out)
        out.append(UInt8(ascii: ":"))
        appendPadded(minutes % 60, 2, to: &out)
    }
}

extension LocalDateTime {
    /// Appends ``text(withFraction:)`` as bytes.
    func append(to out: inout [UInt8], withFraction: Bool) {
        appendPadded(year, 4, to: &out)
        out.append(UInt8(ascii: "-"))
        appendPadded(month, 2, to: &out)
        out.append(UInt8(ascii: "-"))
        appendPadded(day, 2, to: &out)
        out.append(UInt8(ascii: "T"))
        appendPadded(hour, 2, to: &out)
        out.append(UInt8(ascii: ":"))
        appendPadded(minute, 2, to: &out)
        out.append(UInt8(ascii: ":"))
        appendPadded(second, 2, to: &out)
        if withFraction {
            out.append(UInt8(ascii: "."))
            appendPadded(microsecond, 6, to: &out)
        }
    }
}

extension OccurredAt {
    /// Appends `CanonicalJSON.encode(json)`: keys in order (`at` or `from`, `precision`, `to`), and nothing to
    /// escape in a timestamp or a precision.
    func writeCanonical(into out: inout [UInt8]) {
        if let end {
            out.append(contentsOf: #"{"from":""#.utf8)
            start.appendRFC3339(to: &out)
            out.append(contentsOf: #"","precision":""#.utf8)
            out.append(contentsOf: precision.rawValue.utf8)
            out.append(contentsOf: #"","to":""#.utf8)
            end.appendRFC3339(to: &out)
            out.append(contentsOf: #""}"#.utf8)
        } else {
            out.append(contentsOf: #"{"at":""#.utf8)
            start.appendRFC3339(to: &out)
            out.append(contentsOf: #"","precision":""#.utf8)
            out.append(contentsOf: precision.rawValue.utf8)
            out.append(contentsOf: #""}"#.utf8)
        }
    }
}

extension EventMetadata {
    /// Appends `CanonicalJSON.encode(json)`: `causationId` sorts before `correlationId`.
    func writeCanonical(into out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        if let causationId {
            out.append(contentsOf: #""causationId":"#.utf8)
            CanonicalJSON.writeString(causationId, into: &out)
        }
        if let correlationId {
            if causationId != nil { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: #""correlationId":"#.utf8)
            CanonicalJSON.writeString(correlationId, into: &out)
        }
        out.append(UInt8(ascii: "}"))
    }
}

extension UUID {
    /// Appends ``lowercasedString`` as bytes.
    func appendLowercased(to out: inout [UInt8]) {
        withUnsafeBytes(of: uuid) { bytes in
            for (n, byte) in bytes.enumerated() {
                if n == 4 || n == 6 || n == 8 || n == 10 { out.append(UInt8(ascii: "-")) }
                out.append(EnvelopeWriter.hexDigit(byte >> 4))
                out.append(EnvelopeWriter.hexDigit(byte & 0xF))
            }
        }
    }
}

extension EnvelopeWriter {
    static func hexDigit(_ nibble: UInt8) -> UInt8 { nibble < 10 ? 0x30 + nibble : 0x57 + nibble }
}

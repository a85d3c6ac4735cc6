import Foundation

/// The envelope's rules, shared by every path that takes events in (library, CLI, later HTTP), so that a
/// bad event is refused with the same words wherever it comes from.
package enum EnvelopeRules {
    static let maximumNameLength = 100
    static let maximumActorLength = 200
    static let maximumStreamIdLength = 200
    static let maximumTextLength = 4000

    /// A stream id's rule (length, characters, a known prefix form), for ids that arrive outside an event.
    package static func checkStreamId(_ id: String, field: @autoclosure () -> String) throws(EventStoreError) {
        let bytes = id.utf8
        guard let first = bytes.first, bytes.count <= maximumStreamIdLength else {
            throw .invalid(field(), "must be 1 to \(maximumStreamIdLength) characters")
        }
        let allowed = { (b: UInt8) in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2E || b == 0x5F
                || b == 0x3A || b == 0x40 || b == 0x2D
        }
        guard bytes.allSatisfy(allowed), first != 0x2D else {
            throw .invalid(field(), "\"\(id)\" may hold only letters, digits and . _ : @ - (and not start with -)")
        }
    }

    static func checkEventType(_ type: String, field: @autoclosure () -> String) throws(EventStoreError) {
        let bytes = type.utf8
        var valid = !bytes.isEmpty && bytes.count <= maximumNameLength
        var atSegmentStart = true
        for b in bytes where valid {
            if b == 0x2E {
                valid = !atSegmentStart
                atSegmentStart = true
            } else if b >= 0x61 && b <= 0x7A {
                atSegmentStart = false
            } else if (b >= 0x30 && b <= 0x39) || b == 0x5F {
                valid = !atSegmentStart
            } else {
                valid = false
            }
        }
        guard valid, !atSegmentStart else {
            throw .invalid(field(), "\"\(type)\" must be dotted lowercase words like service.degraded")
        }
    }

    /// Free text that goes into indexes or one-line displays: no control characters, bounded length.
    // Field names are autoclosures: they are spelled only for an error, not for every event checked.
    static func checkText(_ text: String, field: @autoclosure () -> String, maximum: Int) throws(EventStoreError) {
        guard text.utf8.count <= maximum else { throw .invalid(field(), "longer than \(maximum) bytes") }
        try TextRules.check(text, field: field(), allowingLineBreaks: false)
    }

    /// A payload's free text: like the envelope's, but it may span lines (tabs and line breaks allowed).
    package static func checkPayloadText(_ text: String, field: @autoclosure () -> String) throws(EventStoreError) {
        try TextRules.check(text, field: field(), allowingLineBreaks: true)
    }

    static func check(_ event: ProposedEvent, path: String, payloadLimit: Int) throws(EventStoreError) {
        _ = try checkReturningPayload(event, path: path, payloadLimit: payloadLimit)
    }

    /// ``check(_:path:payloadLimit:)``, giving the payload's canonical bytes it measured.
    static func checkReturningPayload(_ event: ProposedEvent, path: String, payloadLimit: Int) throws(EventStoreError)
        -> [UInt8]
    {
        try checkEventType(event.eventType, field: "\(path).eventType")
        guard (1...1_000_000).contains(event.schemaVersion) else {
            throw .invalid("\(path).schemaVersion", "must be an integer from 1")
        }
        try checkText(event.actor, field: "\(path).actor", maximum: maximumActorLength)
        try checkText(event.source, field: "\(path).source", maximum: maximumTextLength)
        if let reason = event.reason { try checkText(reason, field: "\(path).reason", maximum: maximumTextLength) }
        if let id = event.metadata.correlationId {
            try checkText(id, field: "\(path).metadata.correlationId", maximum: maximumActorLength)
        }
        if let id = event.metadata.causationId {
            try checkText(id, field: "\(path).metadata.causationId", maximum: maximumActorLength)
        }
        // The library can build an OccurredAt from any microsecond count: the bound holds on every path.
        guard Timestamp.supportedRange.contains(event.occurredAt.earliest),
            event.occurredAt.latest <= Timestamp.supportedRange.upperBound
        else { throw .invalid("\(path).occurredAt", Timestamp.outOfRangeReason) }
        guard event.payload.objectValue != nil else {
            throw .invalid("\(path).payload", "expected an object, got \(event.payload.typeName)")
        }
        let canonical = CanonicalJSON.encode(event.payload)
        let size = canonical.count
        guard size <= payloadLimit else {
            throw EventStoreError(
                .payloadTooLarge, field: "\(path).payload", "\(size) bytes is over the limit of \(payloadLimit) bytes")
        }
        return canonical
    }
}

extension ProposedEvent {
    /// The fields a client may send. `position`, `streamVersion`, `recordedAt` and the hashes are the
    /// ledger's to assign and are refused by name.
    package static let inputFields: Set<String> = [
        "eventId", "streamId", "eventType", "schemaVersion", "occurredAt", "actor", "source", "reason", "payload",
        "metadata",
    ]
    static let ledgerAssignedFields: Set<String> = ["position", "streamVersion", "recordedAt", "previousHash", "hash", "origin"]

    /// Reads an event from its JSON input form, naming `path` and the rule broken when it is wrong.
    ///
    /// - Parameters:
    ///   - defaultActor: used when the JSON has no `actor`.
    ///   - principal: who is known to be recording (an explicit `--actor`, later an authenticated user): the
    ///     event's actor is the principal, and a JSON `actor` naming someone else is refused.
    ///   - checkingEnvelope: false when the caller checks the envelope's rules next
    ///     (``EventStore/prepareForBulk(_:streamId:path:missingStream:)`` does, and keeps the payload's bytes it measured).
    /// - Returns: the event and its `streamId` when the JSON names one.
    package static func fromJSON(
        _ json: JSONValue, path: String = "$", defaultActor: String?, principal: String? = nil,
        payloadLimit: Int = EventStoreConfiguration.defaultPayloadLimit, checkingEnvelope: Bool = true
    ) throws(EventStoreError) -> (event: ProposedEvent, streamId: String?) {
        guard let m = json.objectValue else { throw .invalid(path, "expected an event object, got \(json.typeName)") }
        // One walk over the members (no look-up by key, no sorting unless a key is unknown); the checks below then
        // run in the order they always did, so that the first rule broken is the one named.
        var eventIdValue: JSONValue?, streamIdValue: JSONValue?, eventTypeValue: JSONValue?, schemaValue: JSONValue?
        var occurredValue: JSONValue?, actorValue: JSONValue?, sourceValue: JSONValue?, reasonValue: JSONValue?
        var payloadValue: JSONValue?, metadataValue: JSONValue?
        var unknown = false
        for (key, value) in m {
            switch key.utf8.count {
            case 5 where key == "actor": actorValue = value
            case 6 where key == "source": sourceValue = value
            case 6 where key == "reason": reasonValue = value
            case 7 where key == "eventId": eventIdValue = value
            case 7 where key == "payload": payloadValue = value
            case 8 where key == "streamId": streamIdValue = value
            case 8 where key == "metadata": metadataValue = value
            case 9 where key == "eventType": eventTypeValue = value
            case 10 where key == "occurredAt": occurredValue = value
            case 13 where key == "schemaVersion": schemaValue = value
            default: unknown = true
            }
        }
        if unknown {
            for key in m.keys.sorted() where !inputFields.contains(key) {
                if ledgerAssignedFields.contains(key) {
                    throw .invalid("\(path).\(key)", "assigned by the ledger; must not be supplied")
                }
                throw .invalid("\(path).\(key)", "unknown field")
            }
        }
        func optionalString(_ value: JSONValue?, _ key: StaticString) throws(EventStoreError) -> String? {
            guard let value else { return nil }
            guard case .string(let s) = value else {
                throw .invalid("\(path).\(key)", "expected a string, got \(value.typeName)")
            }
            return s
        }
        var eventId: UUID?
        if let text = try optionalString(eventIdValue, "eventId") {
            guard let id = UUID(text: text) else { throw .invalid("\(path).eventId", "\"\(text)\" is not a UUID") }
            eventId = id
        }
        let streamId = try optionalString(streamIdValue, "streamId")
        if let streamId { try EnvelopeRules.checkStreamId(streamId, field: "\(path).streamId") }
        guard let eventType = try optionalString(eventTypeValue, "eventType") else {
            throw .invalid("\(path).eventType", "required")
        }
        var schemaVersion = 1
        if let value = schemaValue {
            guard let n = value.numberValue?.intValue else {
                throw .invalid("\(path).schemaVersion", "expected an integer, got \(value.typeName)")
            }
            schemaVersion = n
        }
        guard let occurredJSON = occurredValue else { throw .invalid("\(path).occurredAt", "required") }
        let occurredAt = try OccurredAt(json: occurredJSON, path: "\(path).occurredAt")
        let named = try optionalString(actorValue, "actor")
        if let principal, let named, !named.utf8.elementsEqual(principal.utf8) {
            throw .invalid("\(path).actor", "\"\(named)\" differs from the recording principal \"\(principal)\"")
        }
        guard let actor = principal ?? named ?? defaultActor else {
            throw .invalid("\(path).actor", "required (or give a default actor)")
        }
        guard let source = try optionalString(sourceValue, "source") else { throw .invalid("\(path).source", "required") }
        let reason = try optionalString(reasonValue, "reason")
        var metadata = EventMetadata()
        if let meta = metadataValue {
            guard let members = meta.objectValue else {
                throw .invalid("\(path).metadata", "expected an object, got \(meta.typeName)")
            }
            for (key, value) in members {
                guard key == "correlationId" || key == "causationId" else {
                    throw .invalid("\(path).metadata.\(key)", "unknown field (correlationId and causationId only)")
                }
                guard let s = value.stringValue else {
                    throw .invalid("\(path).metadata.\(key)", "expected a string, got \(value.typeName)")
                }
                if key == "correlationId" { metadata.correlationId = s } else { metadata.causationId = s }
            }
        }
        let event = ProposedEvent(
            eventId: eventId, eventType: eventType, schemaVersion: schemaVersion, occurredAt: occurredAt, actor: actor,
            source: source, reason: reason, payload: payloadValue ?? .object([:]), metadata: metadata)
        if checkingEnvelope { try EnvelopeRules.check(event, path: path, payloadLimit: payloadLimit) }
        return (event, streamId)
    }
}

/// What counts as text the ledger stores: no control characters (C0, DEL, C1) and at least one visible
/// character. Blank means Unicode White_Space plus the invisible format characters a person cannot tell from
/// a space (U+200B–U+200D, U+2060, U+FEFF): a `source` of U+00A0 or U+3000 alone names nothing.
///
/// The same rule is spelled as a regular expression in schemas/common.schema.json (`envelopeText`,
/// `nonEmptyString`) with explicit code points, so that Python's and ECMAScript's readings agree.
enum TextRules {
    static func isControl(_ v: UInt32) -> Bool { v < 0x20 || (0x7F...0x9F).contains(v) }

    static func isBlank(_ v: UInt32) -> Bool {
        switch v {
        case 0x09...0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200D, 0x2028, 0x2029, 0x202F, 0x205F, 0x2060, 0x3000, 0xFEFF:
            true
        default: false
        }
    }

    static func check(_ text: String, field: @autoclosure () -> String, allowingLineBreaks: Bool) throws(EventStoreError) {
        // ASCII first, byte by byte over the string's own storage: this runs for several fields of every event
        // appended, and for every text of its payload.
        enum ASCIIScan { case visible, scalars, control(UInt8) }
        func scan(_ bytes: UnsafeBufferPointer<UInt8>) -> ASCIIScan {
            var visible = false
            for byte in bytes {
                if byte >= 0x80 { return .scalars }
                if byte < 0x20 || byte == 0x7F {
                    if allowingLineBreaks, byte == 0x09 || byte == 0x0A || byte == 0x0D { continue }
                    return .control(byte)
                }
                if byte != 0x20 { visible = true }
            }
            return visible ? .visible : .scalars
        }
        switch text.utf8.withContiguousStorageIfAvailable(scan) ?? Array(text.utf8).withUnsafeBufferPointer(scan) {
        case .visible: return
        case .control(let byte):
            throw .invalid(field(), byte == 0 ? "must not contain U+0000" : "must not contain control characters")
        case .scalars: break
        }
        var visible = false
        for scalar in text.unicodeScalars {
            let v = scalar.value
            if isControl(v) {
                if allowingLineBreaks, v == 0x09 || v == 0x0A || v == 0x0D { continue }
                throw .invalid(field(), v == 0 ? "must not contain U+0000" : "must not contain control characters")
            }
            if !isBlank(v) { visible = true }
        }
        guard visible else {
            throw .invalid(
                field(), text.isEmpty ? "must not be empty" : "must not be blank (only white space or invisible characters)")
        }
    }
}

import Foundation

/// How an append constrains the stream's current version (optimistic concurrency).
public enum ExpectedVersion: Sendable, Hashable, CustomStringConvertible {
    /// Append whatever the stream's version.
    case any
    /// The stream must not exist yet.
    case noStream
    /// The stream must already hold at least one event.
    case streamExists
    /// The stream's last event must have exactly this version.
    case exactly(UInt64)

    public var description: String {
        switch self {
        case .any: "any"
        case .noStream: "no-stream"
        case .streamExists: "stream-exists"
        case .exactly(let version): "\(version)"
        }
    }

    /// Parses `any`, `no-stream`, `stream-exists` or a version number.
    package init?(_ text: String) {
        switch text {
        case "any": self = .any
        case "no-stream": self = .noStream
        case "stream-exists", "exists": self = .streamExists
        default:
            guard let version = UInt64(text) else { return nil }
            self = .exactly(version)
        }
    }

    func admits(currentVersion: UInt64) -> Bool {
        switch self {
        case .any: true
        case .noStream: currentVersion == 0
        case .streamExists: currentVersion > 0
        case .exactly(let version): currentVersion == version
        }
    }
}

/// Correlation and causation ids carried with an event.
public struct EventMetadata: Sendable, Hashable {
    /// Groups the events of one conversation or operation.
    public var correlationId: String?
    /// The event or command that caused this one.
    public var causationId: String?

    public init(correlationId: String? = nil, causationId: String? = nil) {
        self.correlationId = correlationId
        self.causationId = causationId
    }

    public var isEmpty: Bool { correlationId == nil && causationId == nil }

    var json: JSONValue {
        var members: [String: JSONValue] = [:]
        if let correlationId { members["correlationId"] = .string(correlationId) }
        if let causationId { members["causationId"] = .string(causationId) }
        return .object(members)
    }
}

/// Where a merged event was first recorded: another ledger (an offline laptop, a partner's copy), its
/// position and hash there, and when that ledger recorded it. Assigned by `merge`, never taken from a client.
public struct EventOrigin: Sendable, Hashable {
    /// The origin ledger's checkpoint origin line (its name).
    public let ledger: String
    public let position: UInt64
    /// The event's hash in the origin ledger.
    public let hash: String
    public let recordedAt: Timestamp

    package init(ledger: String, position: UInt64, hash: String, recordedAt: Timestamp) {
        (self.ledger, self.position, self.hash, self.recordedAt) = (ledger, position, hash, recordedAt)
    }

    var json: JSONValue {
        .object([
            "ledger": .string(ledger), "position": .number(JSONNumber(position)), "hash": .string(hash),
            "recordedAt": .string(recordedAt.rfc3339Micros),
        ])
    }

    init(json: JSONValue) throws(EventStoreError) {
        guard let ledger = json["ledger"]?.stringValue, let text = json["position"]?.numberValue?.text,
            let position = UInt64(text), let hash = json["hash"]?.stringValue, let recorded = json["recordedAt"]?.stringValue,
            let recordedAt = Timestamp(rfc3339: recorded, unbounded: ()), json.objectValue?.count == 4
        else { throw .invalid("$.origin", "expected {hash, ledger, position, recordedAt}") }
        self.init(ledger: ledger, position: position, hash: hash, recordedAt: recordedAt)
    }
}

/// An event a client asks the ledger to store. The ledger adds position, stream version, recordedAt
/// and hashes; it never takes them from the client.
public struct ProposedEvent: Sendable, Hashable {
    /// Supplied by the client to make retries idempotent; generated when nil.
    public var eventId: UUID?
    /// A dotted lowercase name, e.g. `service.degraded`.
    public var eventType: String
    public var schemaVersion: Int
    public var occurredAt: OccurredAt
    /// Who records it: a person or a service account.
    public var actor: String
    /// Where the fact comes from: a URL, a document, a phone call.
    public var source: String
    /// Why it is recorded, required by corrections and retractions.
    public var reason: String?
    /// A JSON object; its content is the domain's business.
    public var payload: JSONValue
    public var metadata: EventMetadata
    /// Set only by `merge`: the event comes from another ledger.
    public internal(set) var origin: EventOrigin?

    public init(
        eventId: UUID? = nil, eventType: String, schemaVersion: Int = 1, occurredAt: OccurredAt, actor: String,
        source: String, reason: String? = nil, payload: JSONValue = .object([:]), metadata: EventMetadata = .init()
    ) {
        self.eventId = eventId
        self.eventType = eventType
        self.schemaVersion = schemaVersion
        self.occurredAt = occurredAt
        self.actor = actor
        self.source = source
        self.reason = reason
        self.payload = payload
        self.metadata = metadata
    }
}

/// An event as the ledger stored it: immutable, positioned, timestamped and hash-chained.
public struct RecordedEvent: Sendable, Hashable {
    /// Place in the global log: 1, 2, 3… with no gap.
    public let position: UInt64
    public let eventId: UUID
    /// The stream (one incident, one establishment) the event belongs to.
    public let streamId: String
    /// Place in its stream: 1, 2, 3… with no gap.
    public let streamVersion: UInt64
    public let eventType: String
    public let schemaVersion: Int
    public let occurredAt: OccurredAt
    /// When the ledger stored it (UTC); strictly increasing with position.
    public let recordedAt: Timestamp
    public let actor: String
    public let source: String
    public let reason: String?
    public let payload: JSONValue
    public let metadata: EventMetadata
    /// For an event merged from another ledger: where it was first recorded.
    public let origin: EventOrigin?
    /// Hex SHA-256 of the previous event (64 zeros for position 1).
    public let previousHash: String
    /// Hex SHA-256 of this event's canonical encoding.
    public let hash: String

    /// The envelope as JSON, without `hash`: the object whose canonical bytes are hashed.
    public var hashedJSON: JSONValue {
        var members: [String: JSONValue] = [
            "position": .number(JSONNumber(position)),
            "eventId": .string(eventId.lowercasedString),
            "streamId": .string(streamId),
            "streamVersion": .number(JSONNumber(streamVersion)),
            "eventType": .string(eventType),
            "schemaVersion": .number(JSONNumber(schemaVersion)),
            "occurredAt": occurredAt.json,
            "recordedAt": .string(recordedAt.rfc3339Micros),
            "actor": .string(actor),
            "source": .string(source),
            "payload": payload,
            "previousHash": .string(previousHash),
        ]
        if let reason { members["reason"] = .string(reason) }
        if !metadata.isEmpty { members["metadata"] = metadata.json }
        if let origin { members["origin"] = origin.json }
        return .object(members)
    }

    /// The full envelope as JSON, `hash` included: what `ledger read --format ndjson` prints.
    public var json: JSONValue {
        guard case .object(var members) = hashedJSON else { return hashedJSON }
        members["hash"] = .string(hash)
        return .object(members)
    }

    /// The first field whose bytes differ from `proposed`'s, or nil when it is the same event. Bytes, not
    /// `String` equality: two texts that differ only by Unicode normalisation are different events.
    package func differingField(from proposed: ProposedEvent, streamId: String) -> String? {
        func same(_ a: String?, _ b: String?) -> Bool {
            switch (a, b) {
            case (nil, nil): true
            case (let a?, let b?): a.utf8.elementsEqual(b.utf8)
            default: false
            }
        }
        if !same(self.streamId, streamId) { return "streamId" }
        if !same(eventType, proposed.eventType) { return "eventType" }
        if schemaVersion != proposed.schemaVersion { return "schemaVersion" }
        if occurredAt != proposed.occurredAt { return "occurredAt" }
        if !same(actor, proposed.actor) { return "actor" }
        if !same(source, proposed.source) { return "source" }
        if !same(reason, proposed.reason) { return "reason" }
        if CanonicalJSON.encode(payload) != CanonicalJSON.encode(proposed.payload) { return "payload" }
        if !same(metadata.correlationId, proposed.metadata.correlationId) { return "metadata.correlationId" }
        if !same(metadata.causationId, proposed.metadata.causationId) { return "metadata.causationId" }
        return nil
    }
}

extension Timestamp {
    /// UTC with exactly six fractional digits: the fixed spelling of `recordedAt`.
    package var rfc3339Micros: String {
        LocalDateTime(microsecondsSinceEpoch: microseconds).text(withFraction: true) + "Z"
    }
}

/// What an append did: the positions and stream versions of its events.
public struct AppendResult: Sendable, Hashable {
    public let streamId: String
    /// Global positions of the events, in order.
    public let positions: [UInt64]
    /// The stream's version after the append (the version of its last event).
    public let streamVersion: UInt64
    /// True when every event was already stored with the same content: nothing was written.
    public let wasAlreadyStored: Bool
}

/// A batch of events for one stream with its expected version.
public struct AppendRequest: Sendable, Hashable {
    public var streamId: String
    public var events: [ProposedEvent]
    public var expectedVersion: ExpectedVersion

    public init(streamId: String, events: [ProposedEvent], expectedVersion: ExpectedVersion = .any) {
        self.streamId = streamId
        self.events = events
        self.expectedVersion = expectedVersion
    }
}

import EventStore
import Foundation

/// Why an intake refused its input: the one line a person reads (naming the input, line and JSON path) and
/// the kind of failure, which the CLI turns into an exit code and the server into an HTTP status.
public struct IntakeError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public let code: EventStoreError.Code
    /// The JSON path at fault inside one event (`payload.service`), when one field is; empty otherwise.
    public let field: String

    package init(_ message: String, code: EventStoreError.Code = .invalidEvent, field: String = "") {
        self.message = message
        self.code = code
        self.field = field
    }

    public var description: String { message }
}

/// Events given as input (a file, standard input, a request body), each with where it came from for errors.
public struct InputEvents: Sendable {
    public struct Item: Sendable {
        public let json: JSONValue
        /// `$` or `$[3]`: the JSON path of the event.
        public let path: String
        /// "" or " line 4": where in the input.
        public let location: String

        public init(json: JSONValue, path: String, location: String) {
            self.json = json
            self.path = path
            self.location = location
        }
    }
    /// How errors name the input: a file name, "standard input", "request body".
    public let name: String
    public let items: [Item]

    public init(name: String, items: [Item]) {
        self.name = name
        self.items = items
    }

    /// One JSON document (an object or an array of objects) first; otherwise NDJSON, one event a line.
    public static func parse(_ data: Data, name: String) throws(IntakeError) -> InputEvents {
        if let whole = try? JSONParser.parse(data) {
            switch whole {
            case .array(let elements):
                return InputEvents(
                    name: name, items: elements.enumerated().map { Item(json: $1, path: "$[\($0)]", location: "") })
            default:
                return InputEvents(name: name, items: [Item(json: whole, path: "$", location: "")])
            }
        }
        var items: [Item] = []
        for (number, line) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            do {
                items.append(Item(json: try JSONParser.parse(line), path: "$", location: " line \(number + 1)"))
            } catch {
                throw IntakeError("\(name) line \(number + 1): \(error.description)")
            }
        }
        return InputEvents(name: name, items: items)
    }
}

/// What an intake makes of its input: the requests to append, and the warnings for the events in them.
public struct IntakeResult: Sendable {
    public var requests: [AppendRequest]
    /// In input order.
    public var warnings: [EventWarning]
}

/// A warning about one event of an input.
public struct EventWarning: Sendable, Hashable {
    /// The event's index in the input's items.
    public let index: Int
    public let eventId: UUID
    public let warning: IntakeWarning

    package init(index: Int, eventId: UUID, warning: IntakeWarning) {
        self.index = index
        self.eventId = eventId
        self.warning = warning
    }
}

/// Turns input events into append requests, checking the envelope and the domain's rules (payload,
/// stream, corrections) for each, and naming the input, line and JSON path of the first one that fails.
/// The CLI (`append`, `record`, `demo`) and the server use this one path, so that an event is judged the
/// same way wherever it comes from.
public struct IncidentIntake {
    public let store: EventStore
    /// The authenticated or explicit actor: it is every event's actor, and an event naming another is refused.
    public var principal: String?

    public init(store: EventStore, principal: String? = nil) {
        self.store = store
        self.principal = principal
    }

    public func requests(from input: InputEvents, defaultStream: String?, defaultActor: String, expected: ExpectedVersion)
        throws(IntakeError) -> [AppendRequest]
    {
        try prepare(from: input, defaultStream: defaultStream, defaultActor: defaultActor, expected: expected).requests
    }

    /// The append requests for `input`, and the warnings its events deserve (``IntakeWarnings``): facts that
    /// are accepted but probably mistakes. An event already stored (a retry) gets none: nothing is written.
    public func prepare(from input: InputEvents, defaultStream: String?, defaultActor: String, expected: ExpectedVersion)
        throws(IntakeError) -> IntakeResult
    {
        var requests: [AppendRequest] = []
        var warnings: [EventWarning] = []
        var earlier = InputTargets()
        let inLedger = DomainRules.lookup(in: store)
        let context = LedgerWarningContext(store: store)
        func refuse(_ item: InputEvents.Item, _ error: EventStoreError) -> IntakeError {
            IntakeError(
                "\(input.name)\(item.location): \(error.description)", code: error.code, field: Self.relative(error.field))
        }
        for (index, item) in input.items.enumerated() {
            let parsed: (event: ProposedEvent, streamId: String?)
            do {
                parsed = try ProposedEvent.fromJSON(item.json, path: item.path, defaultActor: defaultActor, principal: principal)
            } catch {
                throw refuse(item, error)
            }
            if let defaultStream, let named = parsed.streamId, named != defaultStream {
                throw IntakeError(
                    "\(input.name)\(item.location): \(item.path).streamId: \"\(named)\" differs from the stream \(defaultStream)",
                    field: "streamId")
            }
            guard let streamId = parsed.streamId ?? defaultStream else {
                throw IntakeError(
                    "\(input.name)\(item.location): \(item.path).streamId: required (or give --stream)", field: "streamId")
            }
            var event = parsed.event
            // A retry of an event already stored is the store's to judge (the same content: nothing written; other
            // content: a conflict): the rules would judge it against its own effect (a retraction "already retracted").
            let stored: Bool
            do { stored = try event.eventId.map { try store.position(of: $0) != nil } ?? false } catch {
                throw IntakeError("\(input.name)\(item.location): \(error)", code: .storage)
            }
            if stored {
                if let last = requests.last, last.streamId == streamId {
                    requests[requests.count - 1].events.append(event)
                } else {
                    requests.append(AppendRequest(streamId: streamId, events: [event], expectedVersion: expected))
                }
                continue
            }
            event.eventId = event.eventId ?? UUID.timeOrdered()
            do {
                try earlier.admit(event, streamId: streamId, path: item.path, lookup: inLedger)
            } catch let error as EventStoreError {
                throw refuse(item, error)
            } catch {
                throw IntakeError("\(input.name)\(item.location): \(error)", code: .storage)
            }
            do {
                for warning in try IntakeWarnings.check(event, streamId: streamId, context: context) {
                    warnings.append(EventWarning(index: index, eventId: event.eventId!, warning: warning))
                }
                context.note(event, streamId: streamId)
            } catch {
                throw IntakeError("\(input.name)\(item.location): \(error)", code: .storage)
            }
            if let last = requests.last, last.streamId == streamId {
                requests[requests.count - 1].events.append(event)
            } else {
                requests.append(AppendRequest(streamId: streamId, events: [event], expectedVersion: expected))
            }
        }
        guard !requests.isEmpty else { throw IntakeError("\(input.name): holds no event") }
        if expected != .any, Set(requests.map(\.streamId)).count > 1 {
            throw IntakeError("an expected version \(expected) needs the events of a single stream", field: "expectedVersion")
        }
        return IntakeResult(requests: requests, warnings: warnings)
    }

    /// `$.payload.service` or `$[2].payload.service` → `payload.service`: the field inside one event.
    static func relative(_ path: String) -> String {
        guard path.hasPrefix("$") else { return "" }
        var rest = path.dropFirst()
        if rest.hasPrefix("[") { rest = rest.drop(while: { $0 != "]" }).dropFirst() }
        if rest.hasPrefix(".") { rest = rest.dropFirst() }
        return String(rest)
    }
}

/// The warnings' view of the ledger during one intake: what is stored, read only as the checks ask and then
/// kept, plus the earlier events of the same input (given to ``note(_:streamId:)``), which are not stored yet.
package final class LedgerWarningContext: WarningContext {
    package let store: EventStore
    package let now: Int64
    /// Whether the payloads of input events are kept, so that a correction later in the same input can be
    /// compared with its target: an import of millions of lines keeps none (its memory stays bounded).
    private let keepsInputFacts: Bool
    private var openings: [String: StreamOpening] = [:]
    private var histories: [String: ServiceHistory] = [:]
    /// The service-related input events of streams whose history is not read yet: folded in when it is.
    private var pending: [String: [(id: UUID, type: String, occurredAt: OccurredAt, payload: JSONValue)]] = [:]
    private var registered: [String: Bool] = [:]
    private var storedServices: [String: Set<String>]?
    private var inputServices: [String: Set<String>] = [:]
    private var inputFacts: [UUID: RevisedFact] = [:]
    /// The corrections and updates of the input, by the event they revise.
    private var inputRevisions: [UUID: [(type: String, payload: JSONValue, occurredAt: OccurredAt)]] = [:]

    package init(store: EventStore, keepsInputFacts: Bool = true) {
        self.store = store
        self.now = store.configuration.clock.now()
        self.keepsInputFacts = keepsInputFacts
    }

    /// The stream's version, and whether its first event opens the incident: one or two key reads. Only a
    /// stream begun by something else is read further, for an incident.opened recorded later.
    package func opening(of stream: String) throws -> StreamOpening {
        if let known = openings[stream] { return known }
        let version = try store.streamVersion(of: stream)
        var opened: UInt64?
        if version > 0 {
            if try store.events(.stream(stream, fromVersion: 1, toVersion: 1), limit: 1).first?.eventType == "incident.opened" {
                opened = 1
            } else {
                try store.read(.stream(stream, fromVersion: 2)) { event in
                    guard event.eventType == "incident.opened" else { return true }
                    opened = event.streamVersion
                    return false
                }
            }
        }
        let opening = StreamOpening(events: version, openedAtVersion: opened)
        openings[stream] = opening
        return opening
    }

    /// The stream read whole, once per intake: asked only for a restoration or a service id not standard.
    package func services(of stream: String) throws -> ServiceHistory {
        if let known = histories[stream] { return known }
        var history = ServiceHistory()
        try store.read(.stream(stream)) { event in
            history.note(eventId: event.eventId, eventType: event.eventType, occurredAt: event.occurredAt, payload: event.payload)
            return true
        }
        for event in pending.removeValue(forKey: stream) ?? [] {
            history.note(eventId: event.id, eventType: event.type, occurredAt: event.occurredAt, payload: event.payload)
        }
        histories[stream] = history
        return history
    }

    package func isRegistered(_ finess: String) throws -> Bool {
        if let known = registered[finess] { return known }
        let known = try store.streamVersion(of: StreamKind.establishment.prefix + finess) > 0
        registered[finess] = known
        return known
    }

    /// Every stored degradation, read once per intake through the type index: asked only for a service id
    /// that is neither standard nor named in its own incident.
    package func servicesUsed(at establishment: String) throws -> Set<String> {
        if storedServices == nil {
            var used: [String: Set<String>] = [:]
            try store.read(.eventType("service.degraded")) { event in
                if let at = event.payload["establishment"]?.stringValue, let service = event.payload["service"]?.stringValue {
                    used[at, default: []].insert(service)
                }
                return true
            }
            storedServices = used
        }
        return (storedServices?[establishment] ?? []).union(inputServices[establishment] ?? [])
    }

    /// The target as stored, with its stored corrections and updates (one read of its stream: revisions are
    /// rare, and the rules' lookup reads it too) and those earlier in the input.
    package func revisedFact(_ id: UUID) throws -> RevisedFact? {
        var fact: RevisedFact
        if let known = inputFacts[id] {
            fact = known
        } else {
            guard let stored = try store.event(id: id), let payload = stored.payload.objectValue else { return nil }
            fact = RevisedFact(eventType: stored.eventType, payload: payload, occurredAt: stored.occurredAt)
            try store.read(.stream(stored.streamId, fromVersion: stored.streamVersion + 1)) { event in
                if let key = Self.revisionKeys[event.eventType],
                    event.payload[key]?.stringValue.flatMap(UUID.init(text:)) == id
                {
                    fact.revise(event.eventType, payload: event.payload, occurredAt: event.occurredAt)
                }
                return true
            }
        }
        for revision in inputRevisions[id] ?? [] {
            fact.revise(revision.type, payload: revision.payload, occurredAt: revision.occurredAt)
        }
        return fact
    }

    /// The revisions whose effect a later warning compares with, and the field naming their target.
    static let revisionKeys = ["event.corrected": "correctedEventId", "event.updated": "updatedEventId"]

    /// Takes an accepted input event into account for the events after it.
    package func note(_ event: ProposedEvent, streamId: String) {
        if var opening = openings[streamId] {
            opening.events += 1
            if event.eventType == "incident.opened", opening.openedAtVersion == nil { opening.openedAtVersion = opening.events }
            openings[streamId] = opening
        }
        switch event.eventType {
        case "establishment.registered":
            if let finess = event.payload["finess"]?.stringValue { registered[finess] = true }
        case "service.degraded", "service.restored", "event.corrected", "event.retracted":
            guard let id = event.eventId else { break }
            if histories[streamId] != nil {
                histories[streamId]!.note(
                    eventId: id, eventType: event.eventType, occurredAt: event.occurredAt, payload: event.payload)
            } else {
                // Only what the history reads: an import may hold these for many streams for long.
                let kept = event.payload.keeping(ServiceHistory.fieldsRead) ?? event.payload
                pending[streamId, default: []].append((id, event.eventType, event.occurredAt, kept))
            }
            if event.eventType == "service.degraded", let at = event.payload["establishment"]?.stringValue,
                let service = event.payload["service"]?.stringValue
            {
                inputServices[at, default: []].insert(service)
            }
        default:
            break
        }
        if let key = Self.revisionKeys[event.eventType],
            let target = event.payload[key]?.stringValue.flatMap(UUID.init(text:))
        {
            let kept = event.payload.keeping(RevisedFact.fieldsRead) ?? event.payload
            inputRevisions[target, default: []].append((event.eventType, kept, event.occurredAt))
        }
        if keepsInputFacts, let id = event.eventId, let payload = event.payload.objectValue {
            inputFacts[id] = RevisedFact(eventType: event.eventType, payload: payload, occurredAt: event.occurredAt)
        }
    }
}

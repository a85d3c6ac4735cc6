import EventStore
import Foundation

/// Why an intake refused its input: the one line a person reads (naming the input, line and JSON path) and
/// the kind of failure, which the CLI turns into an exit code and the server into an HTTP status.
public struct IntakeError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public let code: EventStoreError.Code
    /// The JSON path at fault inside one event (`payload.service`), when one field is; empty otherwise.
    public let field: String

    public init(_ message: String, code: EventStoreError.Code = .invalidEvent, field: String = "") {
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
        var requests: [AppendRequest] = []
        var earlier: [UUID: DomainRules.Target] = [:]
        let inLedger = DomainRules.lookup(in: store)
        func refuse(_ item: InputEvents.Item, _ error: EventStoreError) -> IntakeError {
            IntakeError(
                "\(input.name)\(item.location): \(error.description)", code: error.code, field: Self.relative(error.field))
        }
        for item in input.items {
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
                try DomainRules().check(event, streamId: streamId, path: item.path) { id in try earlier[id] ?? inLedger(id) }
                try DomainRules.note(event, streamId: streamId, in: &earlier, lookup: inLedger)
            } catch let error as EventStoreError {
                throw refuse(item, error)
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
        return requests
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

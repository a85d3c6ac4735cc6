import ArgumentParser
import EventStore
import Foundation
import IncidentDomain

extension Ledger {
    struct Append: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Append events given as JSON (one object, an array, or NDJSON lines), atomically.",
            discussion: """
                Each event: {"eventType", "occurredAt": {"precision", "at"} or {"precision": "interval", "from", "to"},
                "source", "payload", optional "eventId", "streamId", "actor", "reason", "schemaVersion", "metadata"}.
                All events land in one transaction, or none do.
                """)
        @OptionGroup var ledger: LedgerOptions

        @Option(name: .long, help: "Read events from this file ('-' or nothing: standard input).")
        var file: String?

        @Option(name: .long, help: "The stream for events that name none.")
        var stream: String?

        @Option(name: .long, help: "any, no-stream, stream-exists, or the stream's current version.")
        var expectedVersion: String = "any"

        @Option(
            name: .long,
            help: "Who records: every event's actor; an event naming another actor is refused (default: the event's own actor, else $LEDGER_ACTOR, else the OS user)."
        )
        var actor: String?

        func run() throws {
            guard let expected = ExpectedVersion(expectedVersion) else {
                throw CLIError(
                    "--expected-version: \"\(expectedVersion)\" is not any, no-stream, stream-exists or a number",
                    exitCode: CLIError.usage)
            }
            let input = try InputEvents.read(file: file)
            let store = try ledger.openStore()
            let requests = try IncidentIntake(store: store, principal: actor).requests(
                from: input, defaultStream: stream, defaultActor: defaultActor(actor), expected: expected)
            let results = try store.appendAtomically(requests)
            for result in results {
                let range =
                    result.positions.count == 1
                    ? "position \(result.positions[0])" : "positions \(result.positions.first!)-\(result.positions.last!)"
                let verb = result.wasAlreadyStored ? "already stored" : "appended"
                print(
                    "\(verb) \(result.positions.count) event(s) to \(result.streamId): \(range), stream version \(result.streamVersion)"
                )
            }
        }
    }
}

/// Turns input events into append requests, checking the envelope and the domain's rules (payload,
/// stream, corrections) for each, and naming the input, line and JSON path of the first one that fails.
struct IncidentIntake {
    let store: EventStore
    /// An explicit `--actor`: it is every event's actor, and an event naming another is refused.
    var principal: String? = nil

    func requests(from input: InputEvents, defaultStream: String?, defaultActor: String, expected: ExpectedVersion) throws
        -> [AppendRequest]
    {
        var requests: [AppendRequest] = []
        var earlier: [UUID: DomainRules.Target] = [:]
        let inLedger = DomainRules.lookup(in: store)
        for item in input.items {
            let parsed: (event: ProposedEvent, streamId: String?)
            do {
                parsed = try ProposedEvent.fromJSON(item.json, path: item.path, defaultActor: defaultActor, principal: principal)
            } catch {
                throw CLIError("\(input.name)\(item.location): \(error.description)", exitCode: CLIError.exitCode(for: error))
            }
            if let defaultStream, let named = parsed.streamId, named != defaultStream {
                throw CLIError(
                    "\(input.name)\(item.location): \(item.path).streamId: \"\(named)\" differs from --stream \(defaultStream)",
                    exitCode: CLIError.invalidInput)
            }
            guard let streamId = parsed.streamId ?? defaultStream else {
                throw CLIError(
                    "\(input.name)\(item.location): \(item.path).streamId: required (or give --stream)",
                    exitCode: CLIError.invalidInput)
            }
            var event = parsed.event
            event.eventId = event.eventId ?? UUID.timeOrdered()
            do {
                try DomainRules().check(event, streamId: streamId, path: item.path) { id in try earlier[id] ?? inLedger(id) }
            } catch let error as EventStoreError {
                throw CLIError("\(input.name)\(item.location): \(error.description)", exitCode: CLIError.exitCode(for: error))
            }
            try DomainRules.note(event, streamId: streamId, in: &earlier, lookup: inLedger)
            if let last = requests.last, last.streamId == streamId {
                requests[requests.count - 1].events.append(event)
            } else {
                requests.append(AppendRequest(streamId: streamId, events: [event], expectedVersion: expected))
            }
        }
        guard !requests.isEmpty else { throw CLIError("\(input.name): holds no event", exitCode: CLIError.invalidInput) }
        if expected != .any, Set(requests.map(\.streamId)).count > 1 {
            throw CLIError("--expected-version \(expected) needs the events of a single stream", exitCode: CLIError.usage)
        }
        return requests
    }
}

/// Events read from a file or standard input, each with where it came from for error messages.
struct InputEvents {
    struct Item {
        let json: JSONValue
        /// `$` or `$[3]`: the JSON path of the event.
        let path: String
        /// "" or " line 4": where in the input.
        let location: String
    }
    let name: String
    let items: [Item]

    static func read(file: String?) throws -> InputEvents {
        let name = (file == nil || file == "-") ? "standard input" : file!
        let data: Data
        if let file, file != "-" {
            guard let contents = FileManager.default.contents(atPath: file) else {
                let exists = FileManager.default.fileExists(atPath: file)
                throw CLIError("\(file): \(exists ? "cannot be read" : "no such file")", exitCode: CLIError.invalidInput)
            }
            data = contents
        } else {
            data = FileHandle.standardInput.readDataToEndOfFile()
        }
        // One JSON document (an object or an array) first; otherwise NDJSON, one event a line.
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
                throw CLIError("\(name) line \(number + 1): \(error.description)", exitCode: CLIError.invalidInput)
            }
        }
        return InputEvents(name: name, items: items)
    }
}

import ArgumentParser
import EventStore
import Foundation

/// How a command prints events.
enum EventFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json, ndjson
}

extension Ledger {
    struct Read: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print events: the whole log, one stream, or those of an actor, a type, a time range or an id.",
            discussion: "Times in the table are shown in Europe/Paris; json and ndjson print the stored envelope, hash included.")
        @OptionGroup var ledger: LedgerOptions

        @Option(name: .long, help: "Only this stream.") var stream: String?
        @Option(name: .long, help: "With --stream: the first version.") var fromVersion: UInt64 = 1
        @Option(name: .long, help: "With --stream: the last version.") var toVersion: UInt64?
        @Option(name: .long, help: "The first global position.") var fromPosition: UInt64 = 1
        @Option(name: .long, help: "Only events recorded by this actor.") var actor: String?
        @Option(name: .long, help: "Only events of this type.") var type: String?
        @Option(name: .long, help: "Only events whose occurredAt starts at or after this RFC 3339 time.")
        var occurredFrom: String?
        @Option(name: .long, help: "Only events whose occurredAt starts at or before this RFC 3339 time.")
        var occurredTo: String?
        @Option(name: .long, help: "Only the event with this id.") var eventId: String?
        @Flag(name: .long, help: "Newest first.") var backward = false
        @Option(name: .long, help: "At most this many events.") var limit: Int?
        @Option(name: .long, help: "table, json or ndjson.") var format: EventFormat = .table

        func validate() throws {
            let selectors = [stream != nil, actor != nil, type != nil, occurredFrom != nil || occurredTo != nil, eventId != nil]
            guard selectors.filter({ $0 }).count <= 1 else {
                throw ValidationError("choose one of --stream, --actor, --type, --occurred-from/--occurred-to, --event-id")
            }
            if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        }

        func run() throws {
            let selection: EventSelection
            if let stream {
                selection = .stream(stream, fromVersion: fromVersion, toVersion: toVersion)
            } else if let actor {
                selection = .actor(actor)
            } else if let type {
                selection = .eventType(type)
            } else if occurredFrom != nil || occurredTo != nil {
                selection = .occurred(from: try time(occurredFrom, "--occurred-from"), to: try time(occurredTo, "--occurred-to"))
            } else {
                selection = .log(fromPosition: fromPosition)
            }
            let store = try ledger.openStoreForReading()
            var printer = EventPrinter(format: format)
            if let eventId {
                guard let id = UUID(text: eventId) else {
                    throw CLIError("--event-id: \"\(eventId)\" is not a UUID", exitCode: CLIError.invalidInput)
                }
                if let event = try store.event(id: id) { printer.print(event) }
            } else {
                try store.read(selection, direction: backward ? .backward : .forward, limit: limit) { event in
                    printer.print(event)
                    return true
                }
            }
            printer.finish()
        }

        private func time(_ text: String?, _ flag: String) throws -> Int64? {
            guard let text else { return nil }
            guard let t = Timestamp(rfc3339: text) else {
                throw CLIError("\(flag): \"\(text)\" is not an RFC 3339 time with an offset", exitCode: CLIError.invalidInput)
            }
            return t.microseconds
        }
    }
}

/// Prints events as a table, a JSON array or NDJSON, buffering output by the page.
struct EventPrinter {
    let format: EventFormat
    private var buffer = ""
    private var count = 0

    init(format: EventFormat) { self.format = format }

    mutating func print(_ event: RecordedEvent) {
        switch format {
        case .table:
            if count == 0 {
                buffer +=
                    pad("POS", 7) + pad("RECORDED (PARIS)", 28) + pad("STREAM@VERSION", 36) + pad("TYPE", 30)
                    + pad("OCCURRED (PARIS)", 50) + "ACTOR\n"
            }
            buffer +=
                pad(String(event.position), 7) + pad(event.recordedAt.inZone().humanReadable, 28)
                + pad("\(event.streamId)@\(event.streamVersion)", 36) + pad(event.eventType, 30)
                + pad(Self.occurred(event.occurredAt), 50) + event.actor + "\n"
        case .json:
            buffer += (count == 0 ? "[\n" : ",\n") + CanonicalJSON.string(event.json)
        case .ndjson:
            buffer += CanonicalJSON.string(event.json) + "\n"
        }
        count += 1
        if buffer.utf8.count > 1 << 16 { flush() }
    }

    mutating func finish() {
        if format == .json { buffer += count == 0 ? "[]\n" : "\n]\n" }
        if format == .table, count == 0 { buffer += "no events\n" }
        flush()
    }

    private mutating func flush() {
        FileHandle.standardOutput.write(Data(buffer.utf8))
        buffer = ""
    }

    /// When it happened, as entered: an interval of days as its first and last day (the end is stored as the
    /// next midnight), an interval with times of day to the minute with its offsets.
    static func occurred(_ occurredAt: OccurredAt) -> String {
        guard let end = occurredAt.end else {
            return "\(occurredAt.start.inZone().humanReadable) (\(occurredAt.precision.rawValue))"
        }
        let start = occurredAt.start.inZone()
        let stop = end.inZone()
        func midnight(_ t: Timestamp) -> Bool { t.local.hour == 0 && t.local.minute == 0 && t.local.second == 0 }
        if midnight(start), midnight(stop) {
            let lastDay = Timestamp(microseconds: end.microseconds - 1).inZone()
            return "\(start.humanReadable.prefix(10))..\(lastDay.humanReadable.prefix(10)) (days)"
        }
        return "\(start.humanReadable)..\(stop.humanReadable)"
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width - 1 ? String(text.prefix(width - 2)) + "… " : text + String(repeating: " ", count: width - text.count)
    }
}

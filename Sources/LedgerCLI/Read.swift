import ArgumentParser
import EventStore
import Foundation
import IncidentDomain

/// How a command prints events.
enum EventFormat: String, CaseInsensitiveArgument {
    case table, json, ndjson
}

extension Ledger {
    struct Read: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print events: the whole log, or those of a stream, an actor, a type, a time range or an id, combined.",
            discussion: """
                Every filter given applies (--stream incident:x --type service.degraded --actor a: the degradations a \
                recorded on incident x). Events come in log order (with --stream, the stream's), except with \
                --occurred-from/--occurred-to alone: in the order they happened. --limit counts the events printed. Times \
                in the table are shown in Europe/Paris, each event with its full id (what a correction or retraction \
                names); json and ndjson print the stored envelope, hash included.
                """)
        @OptionGroup var ledger: LedgerOptions

        @Option(name: .long, help: "Only this stream.", completion: .custom(Completions.streams)) var stream: String?
        @Option(name: .long, help: "With --stream: the first version (default 1).") var fromVersion: UInt64?
        @Option(name: .long, help: "With --stream: the last version.") var toVersion: UInt64?
        @Option(name: .long, help: "The first global position.") var fromPosition: UInt64 = 1
        @Option(name: .long, help: "Only events recorded by this actor.") var actor: String?
        @Option(name: .long, help: "Only events of this type.", completion: .custom(Completions.eventTypes)) var type: String?
        @Option(name: .long, help: "Only events whose occurredAt starts at or after this RFC 3339 time.")
        var occurredFrom: String?
        @Option(name: .long, help: "Only events whose occurredAt starts at or before this RFC 3339 time.")
        var occurredTo: String?
        @Option(name: .long, help: "Only this event: its id, its position (#25) or a unique prefix of its id.")
        var eventId: String?
        @Flag(name: .long, help: "Newest first.") var backward = false
        @Option(name: .long, help: "At most this many events.") var limit: Int?
        @Option(name: .long, help: "table, json or ndjson.") var format: EventFormat = .table
        @OptionGroup var language: LanguageOption

        func validate() throws {
            if stream == nil, fromVersion != nil || toVersion != nil {
                throw ValidationError("--from-version and --to-version need --stream")
            }
            if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        }

        func run() throws {
            let occurredFrom = try time(occurredFrom, "--occurred-from")
            let occurredTo = try time(occurredTo, "--occurred-to")
            if let eventId, EventReference(eventId) == nil {
                throw CLIError("--event-id: \(EventReference.refusal(eventId))", exitCode: CLIError.invalidInput)
            }
            let store = try ledger.openStoreForReading()
            let filter = EventFilter(
                stream: stream, fromVersion: fromVersion ?? 1, toVersion: toVersion, fromPosition: fromPosition, actor: actor,
                // The catalogue's spelling of a type typed in another case; other types (access:, …) as typed.
                type: type.map { Suggestion.match($0, among: Catalogue.all.map(\.eventType)) ?? $0 },
                occurredFrom: occurredFrom, occurredTo: occurredTo,
                eventId: try eventId.map { text in
                    do {
                        return try EventReference.resolve(
                            text, field: "--event-id", stream: nil, in: StoredEventDirectory(store: store))
                    } catch let error as IntakeError { throw CLIError(error) }
                })
            var printer = EventPrinter(format: format, messages: Messages.of(try language.language()))
            var printed = 0
            if let id = filter.eventId {
                if let event = try store.event(id: id), filter.matches(event) { printer.print(event) }
            } else {
                try store.read(filter.selection, direction: backward ? .backward : .forward) { event in
                    guard filter.matches(event) else { return true }
                    printer.print(event)
                    printed += 1
                    return printed < limit ?? Int.max
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

/// The filters of `ledger read`, all applying at once: one of them picks the index read (the narrowest the
/// store has: an id, a stream, a type, an actor, a time range, else the log) and the others are checked on each
/// event it yields.
struct EventFilter {
    var stream: String?
    var fromVersion: UInt64
    var toVersion: UInt64?
    var fromPosition: UInt64
    var actor: String?
    var type: String?
    var occurredFrom: Int64?
    var occurredTo: Int64?
    var eventId: UUID?

    /// The index read that yields a superset of the matching events.
    var selection: EventSelection {
        if let stream { return .stream(stream, fromVersion: fromVersion, toVersion: toVersion) }
        if let type { return .eventType(type) }
        if let actor { return .actor(actor) }
        if occurredFrom != nil || occurredTo != nil { return .occurred(from: occurredFrom, to: occurredTo) }
        return .log(fromPosition: fromPosition)
    }

    func matches(_ event: RecordedEvent) -> Bool {
        if let stream {
            guard event.streamId == stream, event.streamVersion >= fromVersion else { return false }
            if let toVersion, event.streamVersion > toVersion { return false }
        }
        if event.position < fromPosition { return false }
        if let actor, event.actor != actor { return false }
        if let type, event.eventType != type { return false }
        if let occurredFrom, event.occurredAt.start.microseconds < occurredFrom { return false }
        if let occurredTo, event.occurredAt.start.microseconds > occurredTo { return false }
        if let eventId, event.eventId != eventId { return false }
        return true
    }
}

/// Prints events as a table, a JSON document (the events under `events`) or NDJSON, buffering output by the page.
struct EventPrinter {
    let format: EventFormat
    /// The table's headings and "no events" (the rows are ids and times as stored).
    let messages: Messages
    private var buffer = ""
    private var count = 0

    init(format: EventFormat, messages: Messages = .english) {
        self.format = format
        self.messages = messages
    }

    mutating func print(_ event: RecordedEvent) {
        switch format {
        case .table:
            if count == 0 {
                let m = messages
                buffer +=
                    pad(m("cli.read.position"), 7) + pad(m("cli.read.eventId"), 38) + pad(m("cli.read.recorded"), 28)
                    + pad(m("cli.read.stream"), 36) + pad(m("cli.read.type"), 30)
                    + pad(m("cli.read.occurred"), Self.occurredWidth) + m("cli.read.actor") + "\n"
            }
            buffer +=
                pad(String(event.position), 7) + pad(event.eventId.lowercasedString, 38)
                + pad(event.recordedAt.inZone().humanReadable, 28)
                + pad("\(event.streamId)@\(event.streamVersion)", 36) + pad(event.eventType, 30)
                + pad(Self.occurred(event.occurredAt), Self.occurredWidth) + event.actor + "\n"
        case .json:
            // The document `{"events": [...], "formatVersion": 1}` (JSONOutput), written as the events come.
            buffer += (count == 0 ? "{\"events\":[\n" : ",\n") + CanonicalJSON.string(event.json)
        case .ndjson:
            buffer += CanonicalJSON.string(event.json) + "\n"
        }
        count += 1
        if buffer.utf8.count > 1 << 16 { flush() }
    }

    mutating func finish() {
        if format == .json {
            let version = ",\"formatVersion\":\(JSONOutput.formatVersion)}\n"
            buffer += (count == 0 ? "{\"events\":[]" : "\n]") + version
        }
        if format == .table, count == 0 { buffer += messages("cli.read.none") + "\n" }
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

    /// The longest occurredAt the column shows: an interval of two times to the second with their offsets
    /// (`2024-01-15 01:20:30 +01:00..2024-01-15 03:00:15 +01:00`), and a space.
    static let occurredWidth = 2 * "2024-01-15 01:20:30 +01:00".count + 2 + 2

    /// `text` and the spaces to `width`. Nothing is ever cut (an id, a stream or an offset shown in part is
    /// wrong): a longer value takes the room it needs, and the rest of its row moves right.
    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}

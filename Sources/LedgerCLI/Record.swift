import ArgumentParser
import EventStore
import Foundation
import IncidentDomain
import ProjectionRunner
import Projections

extension Ledger {
    struct Record: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record one fact from flags, without writing JSON.",
            usage: usage,
            discussion: discussion)

        /// The synopsis and an example, each wrapped to the screen (ArgumentParser indents the lines after the
        /// first by the 7 columns of `USAGE: ` and wraps none).
        static var usage: String {
            let width = HelpText.width - 7
            let synopsis = HelpText.command(
                [
                    "ledger record <event-type>", "[--incident <stream>]", "--at <time>", "--source <source>",
                    "[--reason <reason>]", "[--new-incident]", "[--set <field>=<value> ...]",
                ], width: width, continuation: "")
            let example = HelpText.command(
                [
                    "ledger record service.degraded", "--incident incident:chu-nantes-2024-01", "--at \"2024-01-15 01:20\"",
                    "--source \"Ouest-France, 15 Jan 2024\"", "--set establishment=440000289", "--set service=external_email",
                    "--set status=down",
                ], width: width)
            return synopsis + "\n" + example
        }

        /// The times, the references to earlier events, and the catalogue, laid out for the screen by ``HelpText``.
        static var discussion: String {
            let paragraphs = [
                "Times: ISO 8601 with an offset, local Europe/Paris time to the minute (2024-01-15 01:20) or to the hour "
                    + "(2024-01-15 21), a day (2024-01-15), a month (2024-01) or an interval of two of these, offsets "
                    + "allowed (2021-06-01/2021-09-12, 2024-01-15T01:00+01:00/2024-01-15T03:00+01:00). A Paris time "
                    + "skipped or repeated by a clock change needs its offset. Relative to now, to the minute: now, "
                    + "-10m, -2h, -3d, -1h30m, +2h (a planned shutdown).",
                "Earlier events (correctedEventId, retractedEventId, updatedEventId) are named by their id, their "
                    + "position (#25, as read and audit show it) or a unique prefix of their id (at least "
                    + "\(EventReference.minimumPrefix) hex digits). Event types, field names and listed values are read "
                    + "regardless of case. Lists are comma-separated.",
                "A fact for an incident the ledger does not hold yet is refused unless it is incident.opened or "
                    + "--new-incident is given.",
            ]
            let catalogue = Catalogue.all.map { spec in
                var lines = [HelpText.wrap(spec.summary, indent: "  \(spec.eventType): ", hanging: "    ")]
                for field in spec.fields {
                    lines.append(
                        HelpText.wrap(
                            "\(field.name)\(field.required ? "*" : ""): \(field.kind.summary)", indent: "      ",
                            hanging: "          "))
                }
                for note in spec.ruleNotes + (spec.requiresReason ? ["--reason is required"] : []) {
                    lines.append(HelpText.wrap("(\(note))", indent: "      ", hanging: "       "))
                }
                return lines.joined(separator: "\n")
            }
            return
                (paragraphs.map { HelpText.wrap($0) } + [
                    "Event types and their fields (* required):\n" + catalogue.joined(separator: "\n")
                ])
                .joined(separator: "\n\n")
        }

        @OptionGroup var ledger: LedgerOptions
        @Argument(help: "The event type, e.g. service.degraded.", completion: .custom(Completions.eventTypes))
        var eventType: String
        @Option(
            name: .long,
            help: "The incident stream, e.g. incident:chu-nantes-2024-01 (registrations and groups need none).",
            completion: .custom(Completions.incidents))
        var incident: String?
        @Flag(
            name: .long,
            help: "Begin an incident whose first event is not incident.opened (without it, such a record is refused).")
        var newIncident = false
        @Option(name: .long, help: "When it happened (see below; now, -10m, -2h or -3d too).") var at: String
        @Option(name: .long, help: "Where the fact comes from: a URL, a document, a phone call.") var source: String
        @Option(name: .long, help: "Why it is recorded (required for corrections and retractions).") var reason: String?
        @Option(
            name: .customLong("set"), help: "A payload field, as field=value (repeat).",
            completion: .custom(Completions.fieldAssignments))
        var fields: [String] = []
        @Option(name: .long, help: "Who records (default: $LEDGER_ACTOR, else the OS user).") var actor: String?
        @Option(name: .long, help: "An event id, to make a retry idempotent.") var eventId: String?
        @Option(name: .long, help: "any, no-stream, stream-exists, or the stream's current version.")
        var expectedVersion: String = "any"
        @OptionGroup var language: LanguageOption

        func run() throws {
            let messages = Messages.of(try language.language())
            let spec: EventTypeSpec
            do { spec = try RecordForm.spec(forTyped: eventType) } catch {
                throw CLIError(error.message, exitCode: CLIError.usage)
            }
            guard let expected = ExpectedVersion(expectedVersion) else {
                throw CLIError(
                    "--expected-version: \"\(expectedVersion)\" is not any, no-stream, stream-exists or a number",
                    exitCode: CLIError.usage)
            }
            var pairs: [(name: String, value: String)] = []
            for assignment in fields {
                guard let equals = assignment.firstIndex(of: "=") else {
                    throw CLIError("--set \(assignment): expected field=value", exitCode: CLIError.usage)
                }
                pairs.append((String(assignment[..<equals]), String(assignment[assignment.index(after: equals)...])))
            }
            let form = RecordForm(
                eventType: spec.eventType, incident: incident, at: at, source: source, reason: reason, eventId: eventId,
                fields: pairs)
            if let remote = Remote.current {
                guard actor == nil else {
                    throw CLIError(
                        "--actor: through --server the actor is the token's principal; give none", exitCode: CLIError.usage)
                }
                guard !newIncident else {
                    throw CLIError(
                        "--new-incident: through --server a new incident begins with incident.opened; record that first",
                        exitCode: CLIError.usage)
                }
                let directory = RemoteEventDirectory(remote: remote)
                let (event, stream) = try form.event(naming: .commandLine) { text, field, stream throws(IntakeError) in
                    try EventReference.resolve(text, field: field, stream: stream, in: directory).lowercasedString
                }
                let input = InputEvents(name: "record", items: [InputEvents.Item(json: event, path: "$", location: "")])
                let result = try remote.append(event, to: stream, expected: expected)
                report(
                    messages,
                    spec.eventType, positions: result.positions, eventId: result.eventIds.first ?? "",
                    streamVersion: result.streamVersion,
                    alreadyStored: result.wasAlreadyStored, stream: stream)
                printWarnings(result.warnings, of: input, naming: .commandLine)
                return
            }
            let store = try ledger.openStore()
            let directory = StoredEventDirectory(store: store)
            let (event, stream) = try form.event(naming: .commandLine) { text, field, stream throws(IntakeError) in
                try EventReference.resolve(text, field: field, stream: stream, in: directory).lowercasedString
            }
            let input = InputEvents(name: "record", items: [InputEvents.Item(json: event, path: "$", location: "")])
            let intake = try IncidentIntake(store: store, principal: actor).prepare(
                from: input, defaultStream: nil, defaultActor: defaultActor(actor), expected: expected)
            // After the rules: what was typed in the fields is judged first, as it would be for a known incident.
            if spec.streamKind == .incident, spec.eventType != "incident.opened", !newIncident {
                try Self.requireBegun(stream, in: store)
            }
            let result = try store.appendAtomically(intake.requests)[0]
            report(
                messages,
                spec.eventType, positions: result.positions,
                eventId: intake.requests[0].events[0].eventId?.lowercasedString ?? "",
                streamVersion: result.streamVersion, alreadyStored: result.wasAlreadyStored, stream: stream)
            printWarnings(intake.warnings, of: input, naming: .commandLine)
        }

        /// A fact for an incident the ledger has never heard of is a typo of one it has, far more often than a new
        /// incident begun without being opened: refused, with the id probably meant (as the service refuses it).
        static func requireBegun(_ stream: String, in store: EventStore) throws {
            guard try store.streamVersion(of: stream) == 0 else { return }
            let known = try IncidentIndex.snapshotInMemory(store).incidents
            throw CLIError(
                "--incident: \(stream): no such incident\(Suggestion.hint(forStream: stream, among: known)); a new incident's "
                    + "first event is incident.opened (or give --new-incident)",
                exitCode: CLIError.invalidInput)
        }

        /// One line; the event id is the one a later correction or retraction names.
        private func report(
            _ messages: Messages, _ eventType: String, positions: [UInt64], eventId: String, streamVersion: UInt64,
            alreadyStored: Bool,
            stream: String
        ) {
            let arguments = [
                "type": eventType, "id": eventId, "position": String(positions.first ?? 0), "stream": stream,
                "version": String(streamVersion),
            ]
            print(messages(alreadyStored ? "cli.alreadyStored" : "cli.recorded", arguments))
        }
    }
}

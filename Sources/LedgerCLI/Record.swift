import ArgumentParser
import EventStore
import Foundation
import IncidentDomain

extension Ledger {
    struct Record: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record one fact from flags, without writing JSON.",
            usage: """
                ledger record <event-type> --incident <stream> --at <time> --source <source> [--set <field>=<value> ...]
                ledger record service.degraded --incident incident:chu-nantes-2024-01 --at "2024-01-15 01:20" \\
                  --source "Ouest-France, 15 Jan 2024" --set establishment=440000289 --set service=external_email --set status=down
                """,
            discussion: "Times: ISO 8601 with an offset, local Europe/Paris time to the minute (2024-01-15 01:20) or to the hour "
                + "(2024-01-15 21), a day (2024-01-15), a month (2024-01) or an interval of two of these, offsets allowed "
                + "(2021-06-01/2021-09-12, 2024-01-15T01:00+01:00/2024-01-15T03:00+01:00). A Paris time skipped or repeated by a "
                + "clock change needs its offset. Lists are comma-separated.\n\nEvent types and their fields "
                + "(* required):\n"
                + Catalogue.all.map { spec in
                    "  \(spec.eventType): \(spec.summary)\n"
                        + spec.fields.map { "      \($0.name)\($0.required ? "*" : ""): \($0.kind.summary)" }.joined(
                            separator: "\n")
                        + spec.ruleNotes.map { "\n      (\($0))" }.joined()
                        + (spec.requiresReason ? "\n      (--reason is required)" : "")
                }.joined(separator: "\n"))

        @OptionGroup var ledger: LedgerOptions
        @Argument(help: "The event type, e.g. service.degraded.") var eventType: String
        @Option(name: .long, help: "The incident stream, e.g. incident:chu-nantes-2024-01 (registrations and groups need none).")
        var incident: String?
        @Option(name: .long, help: "When it happened (see below).") var at: String
        @Option(name: .long, help: "Where the fact comes from: a URL, a document, a phone call.") var source: String
        @Option(name: .long, help: "Why it is recorded (required for corrections and retractions).") var reason: String?
        @Option(name: .customLong("set"), help: "A payload field, as field=value (repeat).") var fields: [String] = []
        @Option(name: .long, help: "Who records (default: $LEDGER_ACTOR, else the OS user).") var actor: String?
        @Option(name: .long, help: "An event id, to make a retry idempotent.") var eventId: String?
        @Option(name: .long, help: "any, no-stream, stream-exists, or the stream's current version.")
        var expectedVersion: String = "any"

        func run() throws {
            guard Catalogue.spec(for: eventType) != nil else {
                throw CLIError(
                    "\(eventType): unknown event type (one of: \(Catalogue.all.map(\.eventType).joined(separator: ", ")))",
                    exitCode: CLIError.usage)
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
                eventType: eventType, incident: incident, at: at, source: source, reason: reason, eventId: eventId, fields: pairs)
            let (event, stream) = try form.event(naming: .commandLine)
            let input = InputEvents(name: "record", items: [InputEvents.Item(json: event, path: "$", location: "")])
            if let remote = Remote.current {
                guard actor == nil else {
                    throw CLIError(
                        "--actor: through --server the actor is the token's principal; give none", exitCode: CLIError.usage)
                }
                let result = try remote.append(event, to: stream, expected: expected)
                report(
                    positions: result.positions, eventId: result.eventIds.first ?? "", streamVersion: result.streamVersion,
                    alreadyStored: result.wasAlreadyStored, stream: stream)
                printWarnings(result.warnings, of: input, naming: .commandLine)
                return
            }
            let store = try ledger.openStore()
            let intake = try IncidentIntake(store: store, principal: actor).prepare(
                from: input, defaultStream: nil, defaultActor: defaultActor(actor), expected: expected)
            let result = try store.appendAtomically(intake.requests)[0]
            report(
                positions: result.positions, eventId: intake.requests[0].events[0].eventId?.lowercasedString ?? "",
                streamVersion: result.streamVersion, alreadyStored: result.wasAlreadyStored, stream: stream)
            printWarnings(intake.warnings, of: input, naming: .commandLine)
        }

        /// One line; the event id is the one a later correction or retraction names.
        private func report(positions: [UInt64], eventId: String, streamVersion: UInt64, alreadyStored: Bool, stream: String) {
            if alreadyStored {
                print(
                    "already stored: \(eventType) \(eventId) is at position \(positions.first ?? 0); nothing written (\(stream) is at version \(streamVersion))"
                )
            } else {
                print(
                    "recorded \(eventType) at position \(positions.first ?? 0), \(stream) version \(streamVersion), event id \(eventId)"
                )
            }
        }
    }
}

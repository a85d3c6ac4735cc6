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
            help:
                "Who records: every event's actor; an event naming another actor is refused (default: the event's own actor, else $LEDGER_ACTOR, else the OS user)."
        )
        var actor: String?
        @OptionGroup var language: LanguageOption

        func run() throws {
            let m = Messages.of(try language.language())
            guard let expected = ExpectedVersion(expectedVersion) else {
                throw CLIError(
                    "--expected-version: \"\(expectedVersion)\" is not any, no-stream, stream-exists or a number",
                    exitCode: CLIError.usage)
            }
            let input = try InputEvents.read(file: file)
            if let remote = Remote.current {
                guard let stream else {
                    throw CLIError("--stream: required with --server (the API appends to one stream)", exitCode: CLIError.usage)
                }
                guard actor == nil else {
                    throw CLIError(
                        "--actor: through --server the actor is the token's principal; give none", exitCode: CLIError.usage)
                }
                let result = try remote.append(.array(input.items.map(\.json)), to: stream, expected: expected)
                print(
                    appended(
                        m, already: result.wasAlreadyStored, positions: result.positions, stream: result.streamId,
                        version: result.streamVersion))
                printWarnings(result.warnings, of: input)
                return
            }
            let store = try ledger.openStore()
            let intake = try IncidentIntake(store: store, principal: actor).prepare(
                from: input, defaultStream: stream, defaultActor: defaultActor(actor), expected: expected)
            let results = try store.appendAtomically(intake.requests)
            for result in results {
                print(
                    appended(
                        m, already: result.wasAlreadyStored, positions: result.positions, stream: result.streamId,
                        version: result.streamVersion))
            }
            printWarnings(intake.warnings, of: input)
        }
    }
}

/// The line `append` prints for one stream: "appended 2 event(s) to incident:x: positions 3-4, stream version 2".
func appended(_ m: Messages, already: Bool, positions: [UInt64], stream: String, version: UInt64) -> String {
    let range =
        positions.count == 1
        ? m("cli.position", ["position": String(positions[0])])
        : m("cli.positions", ["first": String(positions.first ?? 0), "last": String(positions.last ?? 0)])
    return m(
        already ? "cli.appendedAlready" : "cli.appended",
        ["count": String(positions.count), "stream": stream, "range": range, "version": String(version)])
}

/// Reads events from a file or standard input for `append`.
extension InputEvents {
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
        return try parse(data, name: name)
    }
}

/// Prints the warnings of an intake on standard error, after the success line and one line each:
/// `warning: <field>: <message>`. When the input holds several events the field is located as an error
/// would be (`events.ndjson line 3: $.payload.service`).
func printWarnings(_ warnings: [EventWarning], of input: InputEvents, naming: RecordForm.Naming? = nil) {
    var text = ""
    for warning in warnings {
        var label = naming.map { warning.warning.named(by: $0) }?.field ?? warning.warning.field
        if input.items.count > 1, input.items.indices.contains(warning.index) {
            let item = input.items[warning.index]
            label = "\(input.name)\(item.location): \(item.path).\(label)"
        }
        text += "warning: \(label): \(warning.warning.message)\n"
    }
    if !text.isEmpty { FileHandle.standardError.write(Data(text.utf8)) }
}

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
            discussion: "Times: ISO 8601 with an offset, local Europe/Paris time (2024-01-15 01:20), a day (2024-01-15), "
                + "a month (2024-01) or an interval (2021-06-01/2021-09-12). Lists are comma-separated.\n\nEvent types and their fields "
                + "(* required):\n"
                + Catalogue.all.map { spec in
                    "  \(spec.eventType): \(spec.summary)\n"
                        + spec.fields.map { "      \($0.name)\($0.required ? "*" : ""): \($0.kind.summary)" }.joined(
                            separator: "\n")
                        + (spec.requiresReason ? "\n      (--reason is required)" : "")
                }.joined(separator: "\n"))

        @OptionGroup var ledger: LedgerOptions
        @Argument(help: "The event type, e.g. service.degraded.") var eventType: String
        @Option(name: .long, help: "The incident stream, e.g. incident:chu-nantes-2024-01 (establishment.registered needs none).")
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
            guard let spec = Catalogue.spec(for: eventType) else {
                throw CLIError(
                    "\(eventType): unknown event type (one of: \(Catalogue.all.map(\.eventType).joined(separator: ", ")))",
                    exitCode: CLIError.usage)
            }
            guard let expected = ExpectedVersion(expectedVersion) else {
                throw CLIError(
                    "--expected-version: \"\(expectedVersion)\" is not any, no-stream, stream-exists or a number",
                    exitCode: CLIError.usage)
            }
            guard let occurred = TimeExpression.occurredAt(at) else {
                throw CLIError("--at: \(TimeExpression.refusal(at))", exitCode: CLIError.invalidInput)
            }
            var payload: [String: JSONValue] = [:]
            for assignment in fields {
                guard let equals = assignment.firstIndex(of: "=") else {
                    throw CLIError("--set \(assignment): expected field=value", exitCode: CLIError.usage)
                }
                let name = String(assignment[..<equals])
                let text = String(assignment[assignment.index(after: equals)...])
                guard let field = spec.field(name) else {
                    throw CLIError(
                        "--set \(name): unknown field for \(eventType) (fields: \(spec.fields.map(\.name).joined(separator: ", ")))",
                        exitCode: CLIError.invalidInput)
                }
                guard payload[name] == nil else {
                    throw CLIError("--set \(name): given twice; give each field once", exitCode: CLIError.invalidInput)
                }
                payload[name] = try value(text, field)
            }
            let stream: String
            if spec.streamKind == .establishment {
                stream = StreamKind.establishment.prefix + (payload["finess"]?.stringValue ?? "")
            } else {
                guard let incident else { throw CLIError("--incident: required for \(eventType)", exitCode: CLIError.usage) }
                stream = incident
            }
            var event: [String: JSONValue] = [
                "streamId": .string(stream), "eventType": .string(eventType), "occurredAt": occurred.json,
                "source": .string(source), "payload": .object(payload),
            ]
            if let reason { event["reason"] = .string(reason) }
            if let eventId { event["eventId"] = .string(eventId) }
            let store = try ledger.openStore()
            let input = InputEvents(name: "record", items: [InputEvents.Item(json: .object(event), path: "$", location: "")])
            let requests = try IncidentIntake(store: store, principal: actor).requests(
                from: input, defaultStream: nil, defaultActor: defaultActor(actor), expected: expected)
            let result = try store.appendAtomically(requests)[0]
            if result.wasAlreadyStored {
                print(
                    "already stored: \(eventType) \(eventId ?? "") is at position \(result.positions[0]); nothing written (\(stream) is at version \(result.streamVersion))"
                )
            } else {
                print("recorded \(eventType) at position \(result.positions[0]), \(stream) version \(result.streamVersion)")
            }
        }

        /// Converts a flag value by the field's kind; the payload rules then check it like any other input.
        private func value(_ text: String, _ field: FieldSpec) throws -> JSONValue {
            func fail(_ why: String) -> CLIError {
                CLIError("--set \(field.name)=\(text): \(why)", exitCode: CLIError.invalidInput)
            }
            switch field.kind {
            case .text, .finess, .service, .currency, .eventId, .oneOf: return .string(text)
            case .finessList, .textList:
                return .array(text.split(separator: ",").map { .string($0.trimmingCharacters(in: .whitespaces)) })
            case .percent, .amount, .count:
                guard let number = JSONNumber(lexeme: Substring(text)) else {
                    throw fail(JSONNumber.refusal(ofLexeme: Substring(text)).map { "expected a number: \($0)" } ?? "expected a number")
                }
                return .number(number)
            case .boolean:
                guard let b = Bool(text) else { throw fail("expected true or false") }
                return .bool(b)
            case .changes:
                do {
                    return try JSONParser.parse(text)
                } catch { throw fail("expected a JSON object: \(error)") }
            case .occurredAt:
                guard let time = TimeExpression.occurredAt(text) else { throw fail(TimeExpression.refusal(text)) }
                return time.json
            }
        }
    }
}

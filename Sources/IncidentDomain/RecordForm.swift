import EventStore
import Foundation

/// One fact given as text fields, the way a person types it (`ledger record`, the web page's form, the
/// CLI speaking to a server): each value is converted by its field's kind, the time is read as
/// `TimeExpression` reads it, and the result is the event JSON every intake checks.
package struct RecordForm: Sendable {
    package var eventType: String
    package var incident: String?
    package var at: String
    package var source: String
    package var reason: String?
    package var eventId: String?
    /// `field=value` pairs in the order given.
    package var fields: [(name: String, value: String)]

    /// How errors name the inputs: `--set` and `--at` on the command line, `fields.x` and `at` over HTTP.
    package struct Naming: Sendable {
        /// A field with the value given (for a value that breaks its rule).
        package let field: @Sendable (_ name: String, _ value: String) -> String
        /// A field by name alone (unknown, or given twice).
        package let name: @Sendable (_ name: String) -> String
        package let at: String
        package let incident: String
        package init(
            field: @escaping @Sendable (String, String) -> String, name: @escaping @Sendable (String) -> String, at: String,
            incident: String
        ) {
            self.field = field
            self.name = name
            self.at = at
            self.incident = incident
        }
        package static let commandLine = Naming(
            field: { "--set \($0)=\($1)" }, name: { "--set \($0)" }, at: "--at", incident: "--incident")
        package static let json = Naming(
            field: { name, _ in "fields.\(name)" }, name: { "fields.\($0)" }, at: "at", incident: "incident")
    }

    package init(
        eventType: String, incident: String?, at: String, source: String, reason: String? = nil, eventId: String? = nil,
        fields: [(name: String, value: String)]
    ) {
        self.eventType = eventType
        self.incident = incident
        self.at = at
        self.source = source
        self.reason = reason
        self.eventId = eventId
        self.fields = fields
    }

    /// The event as JSON and the stream it goes to.
    package func event(naming: Naming) throws(IntakeError) -> (json: JSONValue, streamId: String) {
        guard let spec = Catalogue.spec(for: eventType) else {
            throw IntakeError(
                "\(eventType): unknown event type (one of: \(Catalogue.all.map(\.eventType).joined(separator: ", ")))",
                field: "eventType")
        }
        guard let occurred = TimeExpression.occurredAt(at) else {
            throw IntakeError("\(naming.at): \(TimeExpression.refusal(at))", field: "at")
        }
        var payload: [String: JSONValue] = [:]
        for (name, text) in fields {
            let label = naming.field(name, text)
            guard let field = spec.field(name) else {
                throw IntakeError(
                    "\(naming.name(name)): unknown field for \(eventType) (fields: \(spec.fields.map(\.name).joined(separator: ", ")))",
                    field: "fields.\(name)")
            }
            guard payload[name] == nil else {
                throw IntakeError("\(naming.name(name)): given twice; give each field once", field: "fields.\(name)")
            }
            do {
                payload[name] = try Self.value(text, field)
            } catch {
                throw IntakeError("\(label): \(error.message)", field: "fields.\(name)")
            }
        }
        // The stream of a registration or a group is named by a payload field: a bad value is reported as that
        // field's, before it makes a stream id the envelope refuses with a less useful message.
        for key in spec.streamKind == .group ? ["groupId"] : spec.streamKind == .establishment ? ["finess"] : [] {
            guard let value = payload[key], let field = spec.field(key) else { continue }
            do {
                try PayloadValidator.check(value, field.kind, path: "$.payload.\(key)")
            } catch {
                throw IntakeError("\(naming.field(key, value.stringValue ?? "")): \(error.message)", field: "fields.\(key)")
            }
        }
        let stream: String
        switch spec.streamKind {
        case .establishment:
            stream = StreamKind.establishment.prefix + (payload["finess"]?.stringValue ?? "")
        case .group:
            // The group's own stream, named by the payload like an establishment's.
            stream = StreamKind.group.prefix + (payload["groupId"]?.stringValue ?? "")
        case .incident:
            guard let incident, !incident.isEmpty else {
                throw IntakeError("\(naming.incident): required for \(eventType)", field: "incident")
            }
            stream = incident
        }
        var event: [String: JSONValue] = [
            "streamId": .string(stream), "eventType": .string(eventType), "occurredAt": occurred.json,
            "source": .string(source), "payload": .object(payload),
        ]
        if let reason { event["reason"] = .string(reason) }
        if let eventId { event["eventId"] = .string(eventId) }
        return (.object(event), stream)
    }

    /// Converts a typed value by the field's kind; the payload rules then check it like any other input.
    static func value(_ text: String, _ field: FieldSpec) throws(IntakeError) -> JSONValue {
        switch field.kind {
        case .text, .finess, .service, .currency, .eventId, .oneOf, .groupId: return .string(text)
        case .finessList, .textList:
            return .array(text.split(separator: ",").map { .string($0.trimmingCharacters(in: .whitespaces)) })
        case .percent, .amount, .count:
            guard let number = JSONNumber(lexeme: Substring(text)) else {
                throw IntakeError(
                    JSONNumber.refusal(ofLexeme: Substring(text)).map { "expected a number: \($0)" } ?? "expected a number")
            }
            return .number(number)
        case .boolean:
            guard let b = Bool(text) else { throw IntakeError("expected true or false") }
            return .bool(b)
        case .changes:
            do {
                return try JSONParser.parse(text)
            } catch { throw IntakeError("expected a JSON object: \(error)") }
        case .occurredAt:
            guard let time = TimeExpression.occurredAt(text) else { throw IntakeError(TimeExpression.refusal(text)) }
            return time.json
        }
    }
}

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

    /// The catalogue's entry for a typed event type, matched regardless of case (`Service.Degraded`); an unknown
    /// one is refused with the types, and the one probably meant.
    package static func spec(forTyped eventType: String) throws(IntakeError) -> EventTypeSpec {
        let types = Catalogue.all.map(\.eventType)
        guard let name = Suggestion.match(eventType, among: types), let spec = Catalogue.spec(for: name) else {
            let hint = Suggestion.nearest(to: eventType, among: types)
            throw IntakeError(
                "\(eventType): unknown event type"
                    + (hint.map { " (did you mean \($0)?)" } ?? " (one of: \(types.joined(separator: ", ")))"),
                field: "eventType")
        }
        return spec
    }

    /// Turns the text naming an earlier event (a position, an id's prefix) into its full id: given
    /// ``EventReference/resolve(_:field:stream:in:)`` or the like by a caller that can read the ledger.
    package typealias ReferenceResolver = (_ text: String, _ field: String, _ stream: String) throws(IntakeError) -> String

    /// The event as JSON and the stream it goes to. Event types, field names and enumerated values are matched
    /// regardless of case and stored as the catalogue spells them; `resolve`, when given, turns the text of each
    /// event-id field (a correction's target) into the full id before the rules see it.
    package func event(naming: Naming, resolve: ReferenceResolver? = nil) throws(IntakeError) -> (
        json: JSONValue, streamId: String
    ) {
        let spec = try Self.spec(forTyped: eventType)
        let eventType = spec.eventType
        guard let occurred = TimeExpression.occurredAt(at) else {
            throw IntakeError("\(naming.at): \(TimeExpression.refusal(at))", field: "at")
        }
        var payload: [String: JSONValue] = [:]
        var references: [(name: String, text: String)] = []
        for (typed, text) in fields {
            guard let name = Suggestion.match(typed, among: spec.fields.map(\.name)), let field = spec.field(name) else {
                let names = spec.fields.map(\.name)
                throw IntakeError(
                    "\(naming.name(typed)): unknown field for \(eventType)"
                        + (Suggestion.nearest(to: typed, among: names).map { " (did you mean \($0)?)" }
                            ?? " (fields: \(names.joined(separator: ", ")))"),
                    field: "fields.\(typed)")
            }
            let label = naming.field(name, text)
            guard payload[name] == nil else {
                throw IntakeError("\(naming.name(name)): given twice; give each field once", field: "fields.\(name)")
            }
            if field.kind == .eventId, resolve != nil { references.append((name, text)) }
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
        if let resolve {
            for (name, text) in references {
                payload[name] = .string(try resolve(text, naming.field(name, text), stream))
            }
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
        case .text, .finess, .service, .currency, .eventId, .groupId: return .string(text)
        case .oneOf(let values):
            // `Police` is `police`; a value that is none of them is the payload rules' to refuse (with the one
            // probably meant), as from JSON.
            return .string(Suggestion.match(text, among: values) ?? text)
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

import EventStore
import IncidentDomain

/// One payload field of a fact as people read it: its label and its value with its unit.
public struct FieldText: Sendable, Hashable {
    /// The payload member, e.g. `capacityPercent`.
    public let name: String
    /// Words from the name, e.g. "capacity".
    public let label: String
    /// The value with its unit, e.g. "60 %".
    public let text: String
}

/// Every payload field of a fact, labelled and with its unit, generated from the catalogue's field kinds:
/// what a view shows needs no hand-picked list, so a field added to the catalogue shows everywhere at once.
package enum FactFields {
    /// The fields of `payload` in catalogue order (members the catalogue does not know last, by name).
    /// The currency goes with the amount it counts, not on its own line; a FINESS number comes with the
    /// establishment's name when `names` has it.
    package static func lines(
        eventType: String, payload: JSONValue, names: [String: String] = [:], _ m: Messages = .english
    ) -> [FieldText] {
        let members = payload.objectValue ?? [:]
        let spec = Catalogue.spec(for: eventType)
        var out: [FieldText] = []
        var seen: Set<String> = []
        let hasAmount = spec?.fields.contains { $0.kind == .amount && members[$0.name] != nil } ?? false
        for field in spec?.fields ?? [] {
            guard let value = members[field.name] else { continue }
            seen.insert(field.name)
            if field.kind == .currency, hasAmount { continue }
            var shown = text(value, field.kind, members, field: field.name, m)
            if field.kind == .finess || field.kind == .finessList, !names.isEmpty {
                shown = (value.arrayValue ?? [value]).compactMap(\.stringValue).map { finess in
                    names[finess].map { "\($0) (\(finess))" } ?? finess
                }.joined(separator: ", ")
            }
            out.append(FieldText(name: field.name, label: label(field.name, m), text: shown))
        }
        for name in members.keys.sorted() where !seen.contains(name) {
            out.append(FieldText(name: name, label: label(name, m), text: text(members[name]!, nil, members, m)))
        }
        return out
    }

    /// The value of one field of a revision (`before` or `after`), as ``lines(eventType:payload:)`` prints it;
    /// "(none)" for a field that was absent.
    package static func text(
        of field: String, eventType: String, value: JSONValue?, payload: JSONValue, _ m: Messages = .english
    ) -> String {
        guard let value, value != .null else { return m("cli.none") }
        if field == "occurredAt", let time = try? OccurredAt(json: value, path: "$", bounded: false) {
            return TimelineRendering.describe(time, m)
        }
        return text(value, Catalogue.spec(for: eventType)?.field(field)?.kind, payload.objectValue ?? [:], field: field, m)
    }

    /// The fields whose text the one-line summary does not already hold, joined for one line of text.
    /// `omitting`: texts the view already says around the fact (the only establishment of an incident).
    package static func details(
        eventType: String, payload: JSONValue, summary: String, names: [String: String] = [:], omitting: Set<String> = [],
        _ m: Messages = .english
    ) -> String {
        let spec = Catalogue.spec(for: eventType)
        return lines(eventType: eventType, payload: payload, names: names, m).filter { field in
            // Only words the summary already says are left out: a figure always shows ("3" is inside "30").
            switch spec?.field(field.name)?.kind {
            case .text?, .oneOf?, .service?, .finess?, .finessList?, .textList?:
                return !summary.contains(field.text) && !omitting.contains(field.text)
            default:
                return !omitting.contains(field.text)
            }
        }
        .map { m("cli.field", ["label": $0.label, "text": $0.text]) }.joined(separator: " · ")
    }

    /// A field's label in `m`'s language: the catalogue's (the `catalogue.field.` keys), else its words
    /// (``label(_:)``) for a member the catalogue does not know.
    package static func label(_ name: String, _ m: Messages) -> String {
        m.has("catalogue.field." + name) ? m.field(name) : label(name)
    }

    /// Words for a camelCase member: `peopleAffected` → "people affected"; a `…Percent` drops the word, its
    /// unit says it; `occurredAt` (a corrected time) is "time".
    package static func label(_ name: String) -> String {
        // A corrected `occurredAt` is the fact's time, not a payload field.
        if name == "occurredAt" { return "time" }
        var base = name
        if base.hasSuffix("Percent"), base.count > 7 { base.removeLast(7) }
        var words: [String] = []
        var word = ""
        for character in base {
            if character.isUppercase, !word.isEmpty {
                words.append(word)
                word = ""
            }
            word.append(character)
        }
        words.append(word)
        return words.map { w in
            switch w.lowercased() {
            case "url": "URL"
            case "finess": "FINESS"
            case "nis2": "NIS2"
            case "id": "id"
            default: w.lowercased()
            }
        }.joined(separator: " ")
    }

    static func text(
        _ value: JSONValue, _ kind: FieldKind?, _ payload: [String: JSONValue], field: String? = nil,
        _ m: Messages = .english
    ) -> String {
        switch (kind, value) {
        case (.percent, .number(let n)): return FigureText.of(n.doubleValue, m) + " %"
        case (.amount, .number(let n)):
            return FigureText.of(n.doubleValue, m) + (payload["currency"]?.stringValue.map { " " + $0 } ?? "")
        case (_, .number(let n)): return FigureText.of(n.doubleValue, m)
        case (.service, .string(let id)): return Services.label(id, language: m.language)
        case (.oneOf, .string(let choice)):
            // The catalogue's label of the value; its words for one the tables do not know.
            let label = field.map { m.value(choice, field: $0) } ?? choice
            return label == choice ? choice.replacingOccurrences(of: "_", with: " ") : label
        case (_, .string(let text)): return text
        case (_, .bool(let flag)): return m(flag ? "cli.yes" : "cli.no")
        case (.occurredAt, _):
            return (try? OccurredAt(json: value, path: "$", bounded: false)).map { TimelineRendering.describe($0, m) }
                ?? "\(value)"
        case (_, .array(let items)): return items.map { text($0, nil, payload, m) }.joined(separator: ", ")
        case (_, .object(let members)):
            return members.keys.sorted().map { "\(label($0, m)): \(text(members[$0]!, nil, payload, m))" }
                .joined(separator: ", ")
        case (_, .null): return m("cli.none")
        }
    }
}

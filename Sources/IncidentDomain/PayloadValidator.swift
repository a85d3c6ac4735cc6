import EventStore
import Foundation

/// Checks payloads against the catalogue, naming the JSON path and the rule broken: the same rules as
/// schemas/events/*.schema.json.
package enum PayloadValidator {
    /// Checks `payload` for `eventType`. Unknown types, unknown fields, missing required fields and values
    /// of the wrong kind are refused.
    /// `path` is spelled only for an error (this runs for every event of an import).
    package static func validate(
        _ payload: JSONValue, eventType: String, path pathText: @autoclosure () -> String = "$.payload"
    ) throws(EventStoreError) {
        var path: String { pathText() }
        guard let spec = Catalogue.spec(for: eventType) else {
            throw .invalid(
                path.replacingOccurrences(of: ".payload", with: ".eventType"),
                "unknown event type \"\(eventType)\"\(Suggestion.hint(for: eventType, among: Catalogue.all.map(\.eventType))) (see `ledger record --help`)"
            )
        }
        guard let members = payload.objectValue else { throw .invalid(path, "expected an object, got \(payload.typeName)") }
        // Sorted only when one is unknown: the first unknown key in order is the one named.
        for key in members.keys.contains(where: { spec.field($0) == nil }) ? members.keys.sorted() : []
        where spec.field(key) == nil {
            let names = spec.fields.map(\.name)
            throw .invalid(
                "\(path).\(key)",
                "unknown field for \(eventType)\(Suggestion.hint(for: key, among: names)) (fields: \(names.joined(separator: ", ")))"
            )
        }
        for field in spec.fields {
            guard let value = members[field.name] else {
                if field.required { throw .invalid("\(path).\(field.name)", "required for \(eventType)") }
                continue
            }
            try check(value, field.kind, path: "\(path).\(field.name)")
        }
        if !spec.requiresOneOf.isEmpty, !spec.requiresOneOf.contains(where: { members[$0] != nil }) {
            throw .invalid(path, "needs at least one of \(spec.requiresOneOf.joined(separator: ", "))")
        }
        try checkCombinations(members, spec, path: path)
    }

    /// The rules between fields: conditional requirements, ranges, exclusions. Kept apart so that a correction's
    /// result can be held to them too.
    static func checkCombinations(_ members: [String: JSONValue], _ spec: EventTypeSpec, path: String) throws(EventStoreError) {
        for rule in spec.requiredWhen where members[rule.field] == nil {
            if let value = members[rule.when]?.stringValue, rule.values.contains(value) {
                throw .invalid("\(path).\(rule.field)", "required for \(spec.eventType) when \(rule.when) is \(value)")
            }
        }
        for exclusion in spec.exclusions where members[exclusion.field] != nil {
            if let other = exclusion.excludes.first(where: { members[$0] != nil }) {
                throw .invalid(
                    "\(path).\(other)",
                    "give either \(exclusion.field) or \(exclusion.excludes.joined(separator: "/")), not both")
            }
        }
        for range in spec.ranges {
            if let low = members[range.low]?.numberValue?.doubleValue, let high = members[range.high]?.numberValue?.doubleValue,
                low > high
            {
                throw .invalid(
                    "\(path).\(range.high)",
                    "\(members[range.high]!.numberValue!) is below \(range.low) \(members[range.low]!.numberValue!)")
            }
        }
    }

    /// `^[a-z0-9]+(-[a-z0-9]+)*$` of at most 64 characters (a slug: `ght-44`), or a FINESS number (a legal
    /// entity's FINESS juridique, `2A`/`2B` included): it names the stream `group:<id>`.
    package static func isGroupId(_ text: String) -> Bool {
        if isFINESS(text) { return true }
        let b = Array(text.utf8)
        guard (1...64).contains(b.count), b.first != UInt8(ascii: "-"), b.last != UInt8(ascii: "-") else { return false }
        var previousHyphen = false
        for byte in b {
            let hyphen = byte == UInt8(ascii: "-")
            guard hyphen || isLower(byte) || isDigit(byte), !(hyphen && previousHyphen) else { return false }
            previousHyphen = hyphen
        }
        return true
    }

    /// `^(0[1-9]|[1-8][0-9]|9[0-5]|2A|2B|97)[0-9]{7}$`: a département of metropolitan France (01–95, Corsica's
    /// 2A and 2B) or overseas (97), then 7 digits.
    package static func isFINESS(_ text: String) -> Bool {
        let b = Array(text.utf8)
        guard b.count == 9, b[2...].allSatisfy(isDigit) else { return false }
        if b[0] == UInt8(ascii: "2"), b[1] == UInt8(ascii: "A") || b[1] == UInt8(ascii: "B") { return true }
        guard isDigit(b[0]), isDigit(b[1]) else { return false }
        let departement = Int(b[0] - 0x30) * 10 + Int(b[1] - 0x30)
        return (1...95).contains(departement) || departement == 97
    }

    /// `^[a-z][a-z0-9_]{1,48}$`
    static func isServiceId(_ text: String) -> Bool {
        let b = Array(text.utf8)
        guard (2...49).contains(b.count), isLower(b[0]) else { return false }
        return b.allSatisfy { isLower($0) || isDigit($0) || $0 == UInt8(ascii: "_") }
    }

    /// `^[A-Z]{3}$`
    static func isCurrency(_ text: String) -> Bool {
        let b = Array(text.utf8)
        return b.count == 3 && b.allSatisfy { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }
    }

    private static func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
    private static func isLower(_ b: UInt8) -> Bool { b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z") }

    static func check(_ value: JSONValue, _ kind: FieldKind, path pathText: @autoclosure () -> String) throws(EventStoreError) {
        var path: String { pathText() }
        func text() throws(EventStoreError) -> String {
            guard let s = value.stringValue else { throw .invalid(path, "expected a string, got \(value.typeName)") }
            try EnvelopeRules.checkPayloadText(s, field: path)
            return s
        }
        func number() throws(EventStoreError) -> JSONNumber {
            guard let n = value.numberValue else { throw .invalid(path, "expected a number, got \(value.typeName)") }
            return n
        }
        switch kind {
        case .text:
            _ = try text()
        case .finess:
            let s = try text()
            guard isFINESS(s) else {
                throw .invalid(
                    path, "\"\(s)\" is not a FINESS number (9 characters: département 01-95, 2A, 2B or 97, then 7 digits)")
            }
        case .service:
            let s = try text()
            guard isServiceId(s) else { throw .invalid(path, "\"\(s)\" is not a service id (snake_case)") }
        case .currency:
            let s = try text()
            guard isCurrency(s) else { throw .invalid(path, "\"\(s)\" is not a 3-letter currency code") }
        case .eventId:
            let s = try text()
            guard UUID(text: s) != nil else { throw .invalid(path, "\"\(s)\" is not a UUID") }
        case .oneOf(let allowed):
            let s = try text()
            guard allowed.contains(s) else {
                throw .invalid(
                    path, "\"\(s)\" is not one of \(allowed.joined(separator: ", "))\(Suggestion.hint(for: s, among: allowed))")
            }
        case .percent:
            let n = try number().doubleValue
            guard (0...100).contains(n) else { throw .invalid(path, "\(n) is not between 0 and 100") }
        case .count:
            let n = try number()
            guard n.isInteger, let i = n.intValue, i >= 0 else { throw .invalid(path, "expected an integer >= 0, got \(n)") }
        case .amount:
            let n = try number()
            guard n.doubleValue >= 0, n.doubleValue <= FieldKind.maximumAmount else {
                throw .invalid(path, "expected a number from 0 to 10^15, got \(n)")
            }
        case .boolean:
            guard value.boolValue != nil else { throw .invalid(path, "expected true or false, got \(value.typeName)") }
        case .textList, .finessList:
            guard let items = value.arrayValue else { throw .invalid(path, "expected an array, got \(value.typeName)") }
            guard !items.isEmpty else { throw .invalid(path, "must hold at least one item") }
            for (i, item) in items.enumerated() {
                try check(item, kind == .textList ? .text : .finess, path: "\(path)[\(i)]")
            }
        case .changes:
            guard let members = value.objectValue else { throw .invalid(path, "expected an object, got \(value.typeName)") }
            guard !members.isEmpty else { throw .invalid(path, "must change at least one field") }
        case .occurredAt:
            _ = try OccurredAt(json: value, path: path)
        case .groupId:
            let s = try text()
            guard isGroupId(s) else {
                throw .invalid(
                    path,
                    "\"\(s)\" is not a group id (lower-case letters and digits in words joined by -, like ght-44, or a FINESS juridique)"
                )
            }
        }
    }
}

/// The domain's rules for an event about to be appended: its payload, its stream, and for corrections and
/// retractions the event they point at.
package struct DomainRules: Sendable {
    /// What the rules need to know of an event a correction or retraction points at.
    package struct Target: Sendable, Hashable {
        package let streamId: String
        package let eventType: String
        /// Whether a retraction already points at it.
        package var retracted: Bool
        /// Its payload with the corrections recorded so far applied, when known: a revision's result must still
        /// obey the rules between fields (a range's low end above its high end, an exact amount beside a range)
        /// in every state a view can show, the corrected payload and each update on it.
        package var payload: JSONValue?
        /// Its updates: changes holding from a time on, in the order they were recorded.
        package var updates: [TimedChanges] = []
        package init(streamId: String, eventType: String, retracted: Bool = false, payload: JSONValue? = nil) {
            self.streamId = streamId
            self.eventType = eventType
            self.retracted = retracted
            self.payload = payload
        }

        /// Takes in a correction (`update` false) or an update at `from` of the target.
        mutating func revise(_ changes: [String: JSONValue], update: Bool, from: Int64) {
            if update {
                updates.append(TimedChanges(from: from, changes: changes))
            } else if var members = payload?.objectValue {
                for (field, value) in changes { members[field] = value }
                payload = .object(members)
            }
        }

        /// Every payload a view can show of it: the corrected one, then with each update applied in the order the
        /// updates happened (as the views apply them; the recording order breaks ties).
        func states() -> [[String: JSONValue]] {
            guard var state = payload?.objectValue else { return [] }
            var all = [state]
            let ordered = updates.enumerated().sorted { ($0.element.from, $0.offset) < ($1.element.from, $1.offset) }
            for (_, update) in ordered {
                for (field, value) in update.changes { state[field] = value }
                all.append(state)
            }
            return all
        }
    }

    /// Changes of an `event.updated`, holding from `from` (microseconds since the epoch, the update's earliest
    /// instant) on.
    package struct TimedChanges: Sendable, Hashable {
        package let from: Int64
        package let changes: [String: JSONValue]
    }

    /// Finds an earlier event by id: in the ledger, or earlier in the same input.
    package typealias Lookup = (UUID) throws -> Target?

    package init() {}

    /// A lookup in the ledger. Whether the target was retracted, and its corrections, are read from its
    /// stream, where they live: corrections and retractions are rare, so this costs one stream read each.
    package static func lookup(in store: EventStore) -> Lookup {
        { id in
            guard let event = try store.event(id: id) else { return nil }
            var target = Target(
                streamId: event.streamId, eventType: event.eventType,
                payload: ruleMembers(of: event.payload, eventType: event.eventType))
            for later in try store.events(.stream(event.streamId, fromVersion: event.streamVersion + 1)) {
                if later.eventType == "event.retracted",
                    later.payload["retractedEventId"]?.stringValue.flatMap(UUID.init(text:)) == id
                {
                    target.retracted = true
                } else if let key = later.eventType == "event.corrected"
                    ? "correctedEventId" : later.eventType == "event.updated" ? "updatedEventId" : nil,
                    later.payload[key]?.stringValue.flatMap(UUID.init(text:)) == id
                {
                    target.revise(
                        later.payload["changes"]?.objectValue ?? [:], update: later.eventType == "event.updated",
                        from: later.occurredAt.earliest)
                }
            }
            return target
        }
    }

    /// The members of `payload` the rules between fields of `eventType` read (nil when it has none): all a
    /// target needs of its payload, since ``PayloadValidator/checkCombinations(_:_:path:)`` reads no other.
    static func ruleMembers(of payload: JSONValue, eventType: String) -> JSONValue? {
        ruleFields[eventType].flatMap { payload.keeping($0) }
    }

    /// The fields each event type's rules between fields name, for the types that have such rules.
    static let ruleFields: [String: [String]] = Catalogue.all.reduce(into: [:]) { fields, spec in
        let names =
            spec.requiredWhen.flatMap { [$0.field, $0.when] } + spec.exclusions.flatMap { [$0.field] + $0.excludes }
            + spec.ranges.flatMap { [$0.low, $0.high] }
        if !names.isEmpty { fields[spec.eventType] = Array(Set(names)).sorted() }
    }

    /// The payload fields that point at an earlier event.
    static let targetKeys = ["correctedEventId", "retractedEventId", "updatedEventId"]

    /// The event types that revise another event rather than record a fact: they are not revised themselves.
    static let revisionTypes: Set<String> = ["event.corrected", "event.retracted", "event.updated"]

    /// Checks one event bound for `streamId`.
    package func check(_ event: ProposedEvent, streamId: String, path: String, lookup: Lookup) throws {
        try PayloadValidator.validate(event.payload, eventType: event.eventType, path: "\(path).payload")
        let spec = Catalogue.spec(for: event.eventType)!
        let prefix = spec.streamKind.prefix
        guard event.schemaVersion == Catalogue.schemaVersion else {
            throw EventStoreError.invalid(
                "\(path).schemaVersion",
                "\(event.eventType) is at schema version \(Catalogue.schemaVersion), not \(event.schemaVersion)")
        }
        // An ASCII id (as every valid one is) compares by bytes; anything else as Characters, as it always did.
        let inKind =
            streamId.utf8.allSatisfy { $0 < 0x80 }
            ? streamId.utf8.starts(with: prefix.utf8) && streamId.utf8.count > prefix.utf8.count
            : streamId.hasPrefix(prefix) && streamId.count > prefix.count
        guard inKind else {
            throw EventStoreError.invalid(
                "\(path).streamId", "\(event.eventType) belongs in a stream \(spec.streamKind.prefix)…, not \"\(streamId)\"")
        }
        if spec.streamKind == .establishment, let finess = event.payload["finess"]?.stringValue,
            streamId != StreamKind.establishment.prefix + finess
        {
            throw EventStoreError.invalid("\(path).streamId", "an establishment is registered in establishment:\(finess)")
        }
        if spec.streamKind == .group, let group = event.payload["groupId"]?.stringValue,
            streamId != StreamKind.group.prefix + group
        {
            throw EventStoreError.invalid("\(path).streamId", "the events of group \(group) go in group:\(group)")
        }
        if spec.requiresReason, event.reason == nil {
            throw EventStoreError.invalid("\(path).reason", "required for \(event.eventType): say why")
        }
        for key in Self.targetKeys where spec.field(key) != nil {
            guard let text = event.payload[key]?.stringValue, let id = UUID(text: text) else { continue }
            guard let target = try lookup(id) else {
                throw EventStoreError.invalid("\(path).payload.\(key)", "no earlier event has id \(text)")
            }
            guard target.streamId == streamId else {
                throw EventStoreError.invalid(
                    "\(path).payload.\(key)", "event \(text) belongs to \(target.streamId), not \(streamId)")
            }
            // History rules: revisions act on facts; a retracted fact is withdrawn for good (record it anew if
            // it turns out true after all), and a revision is itself revised by recording another one.
            guard !Self.revisionTypes.contains(target.eventType) else {
                let message =
                    switch key {
                    case "correctedEventId": "correct the original event, not a \(target.eventType)"
                    case "updatedEventId": "update the original event, not a \(target.eventType)"
                    default:
                        target.eventType == "event.updated"
                            ? "an event.updated cannot be retracted: record another update at the same time instead"
                            : "a \(target.eventType) cannot be retracted: record a new correction (or the fact again) instead"
                    }
                throw EventStoreError.invalid("\(path).payload.\(key)", message)
            }
            guard !target.retracted else {
                let message =
                    switch key {
                    case "correctedEventId": "event \(text) was retracted: a retracted fact cannot be corrected (record it anew)"
                    case "updatedEventId": "event \(text) was retracted: a retracted fact cannot be updated (record it anew)"
                    default: "event \(text) is already retracted"
                    }
                throw EventStoreError.invalid("\(path).payload.\(key)", message)
            }
            guard key != "retractedEventId" else { continue }
            guard let targetSpec = Catalogue.spec(for: target.eventType) else {
                throw EventStoreError.invalid("\(path).payload.\(key)", "revise the original event, not a \(target.eventType)")
            }
            // Each replaced field must obey the revised type's rules (changes never remove a field, so the
            // required ones stay).
            for (field, value) in event.payload["changes"]?.objectValue ?? [:] {
                guard let fieldSpec = targetSpec.field(field) else {
                    let names = targetSpec.fields.map(\.name)
                    throw EventStoreError.invalid(
                        "\(path).payload.changes.\(field)",
                        "unknown field for \(target.eventType)\(Suggestion.hint(for: field, among: names)) (fields: \(names.joined(separator: ", ")))"
                    )
                }
                // What a fact is about does not change in the world: that would be another fact, or an error.
                if key == "updatedEventId" {
                    switch fieldSpec.kind {
                    case .finess, .finessList, .service:
                        throw EventStoreError.invalid(
                            "\(path).payload.changes.\(field)",
                            "names what the fact is about, which an update does not change: record a new fact, or correct an error"
                        )
                    default: break
                    }
                }
                try PayloadValidator.check(value, fieldSpec.kind, path: "\(path).payload.changes.\(field)")
            }
            if let changes = event.payload["changes"]?.objectValue {
                var revised = target
                revised.revise(changes, update: key == "updatedEventId", from: event.occurredAt.earliest)
                for state in revised.states() {
                    try PayloadValidator.checkCombinations(state, targetSpec, path: "\(path).payload.changes")
                }
            }
        }
    }
}

import EventStore
import Foundation

/// A fact the ledger accepts but that is probably a mistake (a restoration of a service never degraded, a
/// mistyped incident id, a date years ahead): said beside the success, never a reason to refuse the write.
public struct IntakeWarning: Sendable, Hashable, CustomStringConvertible {
    /// The field at fault inside the event: `payload.service`, `occurredAt`, `streamId`.
    public let field: String
    /// What looks wrong and, where the ledger can tell, what was probably meant.
    public let message: String

    package init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "\(field): \(message)" }

    /// The same warning naming its field as a form's inputs are named (`--set service`, `--at`, `--incident`
    /// on the command line; `fields.service`, `at`, `incident` over HTTP), so that it reads beside what was typed.
    package func named(by naming: RecordForm.Naming) -> IntakeWarning {
        let renamed: String
        if field.hasPrefix("payload.") {
            let rest = field.dropFirst("payload.".count)
            let end = rest.firstIndex(where: { $0 == "." || $0 == "[" }) ?? rest.endIndex
            renamed = naming.name(String(rest[..<end])) + rest[end...]
        } else if field == "occurredAt" {
            renamed = naming.at
        } else if field == "streamId" {
            renamed = naming.incident
        } else {
            renamed = field
        }
        return IntakeWarning(field: renamed, message: message)
    }
}

/// How far one stream is: how many events it holds and whether one of them opens the incident.
package struct StreamOpening: Sendable, Hashable {
    /// The events of the stream before the one being judged.
    package var events: UInt64
    /// The version of its `incident.opened`, nil when it has none.
    package var openedAtVersion: UInt64?

    package init(events: UInt64, openedAtVersion: UInt64?) {
        self.events = events
        self.openedAtVersion = openedAtVersion
    }
}

/// The services of one incident as its events tell them: the degradations standing (corrections applied,
/// retractions removed) and every (establishment, service) an event named. Folded event by event, from the
/// stored stream and then the earlier events of the same input.
package struct ServiceHistory: Sendable {
    /// One degradation: of which service, where, when.
    package struct Degradation: Sendable, Hashable {
        package var establishment: String
        package var service: String
        package var occurredAt: OccurredAt
    }

    /// By the id of the `service.degraded` event.
    package private(set) var degradations: [UUID: Degradation] = [:]
    /// Establishment → the service ids degraded or restored there.
    package private(set) var named: [String: Set<String>] = [:]
    /// Establishment → service → its standing degradations: a restoration looks up its own instead of filtering
    /// every degradation of the incident (quadratic over an import).
    private var standing: [String: [String: Standing]] = [:]

    /// The standing degradations of one service at one establishment.
    private struct Standing: Sendable {
        /// In the order noted.
        var ids: [UUID]
        /// The first of `ids` with the earliest occurredAt.
        var earliest: UUID
    }

    package init() {}

    /// The degradations of `service` at `establishment`.
    package func degradations(of service: String, at establishment: String) -> [Degradation] {
        (standing[establishment]?[service]?.ids ?? []).compactMap { degradations[$0] }
    }

    /// The degradation of `service` at `establishment` that began first, nil when none stands.
    package func earliestDegradation(of service: String, at establishment: String) -> Degradation? {
        standing[establishment]?[service].flatMap { degradations[$0.earliest] }
    }

    /// The services with a standing degradation at `establishment`.
    package func servicesDegraded(at establishment: String) -> Set<String> {
        standing[establishment].map { Set($0.keys) } ?? []
    }

    /// The establishments other than `establishment` where `service` has a standing degradation.
    package func establishments(degrading service: String, except establishment: String) -> Set<String> {
        Set(standing.lazy.filter { $0.key != establishment && $0.value[service] != nil }.map(\.key))
    }

    /// Sets or removes the degradation `id`, keeping `standing` in step (edited in place: no copy of its lists).
    private mutating func set(_ id: UUID, _ degradation: Degradation?) {
        if let old = degradations.removeValue(forKey: id), standing[old.establishment]?[old.service] != nil {
            let (at, service) = (old.establishment, old.service)
            standing[at]![service]!.ids.removeAll { $0 == id }
            let ids = standing[at]![service]!.ids
            if ids.isEmpty {
                standing[at]![service] = nil
                if standing[at]!.isEmpty { standing[at] = nil }
            } else if standing[at]![service]!.earliest == id {
                let first = ids.min { degradations[$0]!.occurredAt.earliest < degradations[$1]!.occurredAt.earliest }!
                standing[at]![service]!.earliest = first
            }
        }
        guard let degradation else { return }
        degradations[id] = degradation
        let (at, service) = (degradation.establishment, degradation.service)
        if let earliest = standing[at]?[service]?.earliest {
            standing[at]![service]!.ids.append(id)
            if degradation.occurredAt.earliest < degradations[earliest]!.occurredAt.earliest {
                standing[at]![service]!.earliest = id
            }
        } else {
            standing[at, default: [:]][service] = Standing(ids: [id], earliest: id)
        }
    }

    /// The payload members ``note(eventId:eventType:occurredAt:payload:)`` reads.
    package static let fieldsRead = [
        "establishment", "service", "correctedEventId", "changes", "occurredAt", "retractedEventId",
    ]

    /// Takes one event of the stream into account; events about other things change nothing.
    package mutating func note(eventId: UUID, eventType: String, occurredAt: OccurredAt, payload: JSONValue) {
        switch eventType {
        case "service.degraded", "service.restored":
            guard let establishment = payload["establishment"]?.stringValue, let service = payload["service"]?.stringValue
            else { return }
            named[establishment, default: []].insert(service)
            if eventType == "service.degraded" {
                set(eventId, Degradation(establishment: establishment, service: service, occurredAt: occurredAt))
            }
        case "event.corrected":
            guard let target = payload["correctedEventId"]?.stringValue.flatMap(UUID.init(text:)),
                var degradation = degradations[target]
            else { return }
            let changes = payload["changes"]
            degradation.establishment = changes?["establishment"]?.stringValue ?? degradation.establishment
            degradation.service = changes?["service"]?.stringValue ?? degradation.service
            if let json = payload["occurredAt"], let corrected = try? OccurredAt(json: json, path: "$", bounded: false) {
                degradation.occurredAt = corrected
            }
            set(target, degradation)
            named[degradation.establishment, default: []].insert(degradation.service)
        case "event.retracted":
            if let target = payload["retractedEventId"]?.stringValue.flatMap(UUID.init(text:)) {
                set(target, nil)
            }
        default:
            return
        }
    }
}

/// The event a correction or an update points at, as the ledger now tells it: its type, and its payload and
/// occurredAt after the earlier corrections of it (which rewrite the past), with the updates of it (each
/// holding from its own time on).
package struct RevisedFact: Sendable, Hashable {
    /// A value that changed in the world: `changes` hold from `from` (microseconds since the epoch) on.
    package struct Update: Sendable, Hashable {
        package var from: Int64
        package var changes: [String: JSONValue]
    }

    package var eventType: String
    package var payload: [String: JSONValue]
    package var occurredAt: OccurredAt
    /// In the order they were recorded.
    package var updates: [Update] = []

    package init(eventType: String, payload: [String: JSONValue], occurredAt: OccurredAt) {
        self.eventType = eventType
        self.payload = payload
        self.occurredAt = occurredAt
    }

    /// The members of a revision's payload ``revise(_:payload:occurredAt:)`` reads.
    package static let fieldsRead = ["changes", "occurredAt"]

    /// The fact once `revision` (an `event.corrected` or `event.updated` of it, at `occurredAt`) is taken in.
    package mutating func revise(_ eventType: String, payload revision: JSONValue, occurredAt at: OccurredAt) {
        let changes = revision["changes"]?.objectValue ?? [:]
        switch eventType {
        case "event.corrected":
            for (field, value) in changes { payload[field] = value }
            if let json = revision["occurredAt"], let corrected = try? OccurredAt(json: json, path: "$", bounded: false) {
                occurredAt = corrected
            }
        case "event.updated":
            updates.append(Update(from: at.earliest, changes: changes))
        default:
            return
        }
    }

    /// The values that hold at `microseconds`: the payload with the updates from then or before.
    package func payload(at microseconds: Int64) -> [String: JSONValue] {
        var values = payload
        for update in updates.enumerated().sorted(by: { ($0.element.from, $0.offset) < ($1.element.from, $1.offset) })
        where update.element.from <= microseconds {
            for (field, value) in update.element.changes { values[field] = value }
        }
        return values
    }
}

/// What the warnings read of the ledger. Each check asks only for what it needs (the stream's opening for an
/// incident event, its service history only for a restoration or an unknown service id), so that an append
/// of a plain fact costs a key read or two, not a read of its stream.
package protocol WarningContext {
    /// When the event is being recorded (microseconds since the epoch): the ledger's clock.
    var now: Int64 { get }
    func opening(of stream: String) throws -> StreamOpening
    func services(of stream: String) throws -> ServiceHistory
    /// Whether `establishment:<finess>` holds a registration.
    func isRegistered(_ finess: String) throws -> Bool
    /// The service ids any incident of the ledger degraded at `establishment`.
    func servicesUsed(at establishment: String) throws -> Set<String>
    /// The event `id` as corrected and updated so far, nil when unknown.
    func revisedFact(_ id: UUID) throws -> RevisedFact?
}

/// The checks behind ``IntakeWarning``: what they look at, and where they draw the line, is documented on
/// each; they read the ledger only through a ``WarningContext``.
package enum IntakeWarnings {
    /// An occurredAt that begins more than this after the recording time is "in the future": a day leaves room
    /// for a time typed in the wrong zone or a fact recorded a little ahead (a planned shutdown tonight).
    package static let futureTolerance: Int64 = 86_400_000_000
    /// Facts that end before 1990-01-01 (Paris) are older than any cyberattack on a hospital's information
    /// system this ledger is for: a year typed wrong, most likely.
    package static let earliestPlausible = Timestamp(rfc3339: "1990-01-01T00:00:00+01:00")!

    /// The warnings for `event`, about to be appended to `streamId`, in field order. The event has passed the
    /// domain's rules already: these are the facts that are valid but unlikely.
    package static func check(_ event: ProposedEvent, streamId: String, context: some WarningContext) throws -> [IntakeWarning] {
        guard let spec = Catalogue.spec(for: event.eventType) else { return [] }
        var warnings: [IntakeWarning] = []
        warnings += time(event.occurredAt, field: "occurredAt", now: context.now)
        if spec.streamKind == .incident {
            warnings += try opening(event.eventType, streamId: streamId, context: context)
        }
        // The fields to look at: the payload's, and for a correction or an update the replaced ones, judged by the
        // revised type's kinds. Of the payload's, only the kinds judged below: no path spelled for the others.
        let members = event.payload.objectValue ?? [:]
        var fields: [(path: String, kind: FieldKind, value: JSONValue)] = spec.fields.compactMap { field in
            switch field.kind {
            case .finess, .finessList, .service: members[field.name].map { ("payload.\(field.name)", field.kind, $0) }
            default: nil
            }
        }
        var revised: RevisedFact?
        let revisionKey: String? =
            switch event.eventType {
            case "event.corrected": "correctedEventId"
            case "event.updated": "updatedEventId"
            default: nil
            }
        if let key = revisionKey,
            let id = event.payload[key]?.stringValue.flatMap(UUID.init(text:))
        {
            revised = try context.revisedFact(id)
            if let revised, let targetSpec = Catalogue.spec(for: revised.eventType) {
                for (name, value) in (event.payload["changes"]?.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
                    if let kind = targetSpec.field(name)?.kind { fields.append(("payload.changes.\(name)", kind, value)) }
                }
            }
            if let json = event.payload["occurredAt"], let at = try? OccurredAt(json: json, path: "$") {
                warnings += time(at, field: "payload.occurredAt", now: context.now)
            }
        }
        for (path, kind, value) in fields {
            switch kind {
            case .finess:
                if let finess = value.stringValue {
                    warnings += try establishment(finess, field: path, registering: spec.streamKind == .establishment, context)
                }
            case .finessList:
                for (index, item) in (value.arrayValue ?? []).enumerated() {
                    if let finess = item.stringValue {
                        warnings += try establishment(finess, field: "\(path)[\(index)]", registering: false, context)
                    }
                }
            case .service:
                guard let service = value.stringValue else { continue }
                let at =
                    event.payload["changes"]?["establishment"]?.stringValue ?? event.payload["establishment"]?.stringValue
                    ?? revised?.payload["establishment"]?.stringValue
                guard let at else { continue }
                if event.eventType == "service.restored" {
                    warnings += try restoration(
                        of: service, at: at, occurredAt: event.occurredAt, streamId: streamId, context: context)
                } else if let warning = try unknownService(service, at: at, field: path, streamId: streamId, context: context) {
                    warnings.append(warning)
                }
            default:
                continue
            }
        }
        warnings += capacity(event)
        if let revised {
            warnings +=
                event.eventType == "event.updated"
                ? update(event.payload, at: event.occurredAt, of: revised) : unchanged(event.payload, revised)
        }
        return warnings
    }

    static func time(_ occurredAt: OccurredAt, field: String, now: Int64) -> [IntakeWarning] {
        if occurredAt.earliest > now + futureTolerance {
            return [
                IntakeWarning(
                    field: field,
                    message: "begins \(occurredAt.start.inZone().humanReadable), more than a day after it is recorded "
                        + "(\(Timestamp(microseconds: now).inZone().humanReadable)): a fact that has not happened yet (a typo in the year?)"
                )
            ]
        }
        if occurredAt.latest <= earliestPlausible.microseconds {
            return [
                IntakeWarning(
                    field: field,
                    message: "is before 1990 (\(occurredAt.start.inZone().humanReadable)), older than any hospital cyberattack "
                        + "this ledger is for (a typo in the year?)")
            ]
        }
        return []
    }

    static func opening(_ eventType: String, streamId: String, context: some WarningContext) throws -> [IntakeWarning] {
        let opening = try context.opening(of: streamId)
        if eventType == "incident.opened" {
            guard let version = opening.openedAtVersion else { return [] }
            return [
                IntakeWarning(
                    field: "eventType",
                    message: "\(streamId) is already opened (incident.opened at version \(version)): to change its title or "
                        + "establishments, correct that event")
            ]
        }
        if opening.events == 0 {
            return [
                IntakeWarning(
                    field: "streamId",
                    message: "\(streamId) holds no event yet and this one is not incident.opened: it begins an incident nobody "
                        + "opened (a mistyped incident id?)")
            ]
        }
        if opening.openedAtVersion == nil {
            return [
                IntakeWarning(
                    field: "streamId",
                    message: "\(streamId) has no incident.opened: the incident was never opened (record one, or check the id)")
            ]
        }
        return []
    }

    /// A FINESS whose département does not exist, or that names an establishment nobody registered.
    static func establishment(_ finess: String, field: String, registering: Bool, _ context: some WarningContext) throws
        -> [IntakeWarning]
    {
        // The validator takes 01-95, 2A, 2B and 97 (and refuses 00, 96, 98, 99): of those only 20 no longer
        // exists, Corsica's FINESS numbers beginning 2A or 2B since its split in 1976.
        if finess.hasPrefix("20") {
            return [
                IntakeWarning(
                    field: field,
                    message: "\(finess): département 20 no longer exists (Corsica's FINESS numbers begin 2A or 2B)")
            ]
        }
        if try registering || context.isRegistered(finess) { return [] }
        return [
            IntakeWarning(
                field: field,
                message: "\(finess) is not a registered establishment (a typo, or record its establishment.registered first)")
        ]
    }

    /// A restoration of a service no event of the incident degraded there, or dated before every degradation of it.
    static func restoration(
        of service: String, at establishment: String, occurredAt: OccurredAt, streamId: String, context: some WarningContext
    ) throws -> [IntakeWarning] {
        let history = try context.services(of: streamId)
        guard let first = history.earliestDegradation(of: service, at: establishment) else {
            let degradedHere = history.servicesDegraded(at: establishment)
            var hint = Suggestion.nearest(to: service, among: degradedHere.sorted()).map { " (did you mean \($0)?)" } ?? ""
            if hint.isEmpty {
                let elsewhere = history.establishments(degrading: service, except: establishment)
                if !elsewhere.isEmpty { hint = " (it was degraded at \(elsewhere.sorted().joined(separator: ", ")))" }
            }
            if hint.isEmpty, let standard = Suggestion.nearest(to: service, among: Services.standard.map(\.id)) {
                hint = " (did you mean \(standard)?)"
            }
            return [
                IntakeWarning(
                    field: "payload.service",
                    message: "no event of \(streamId) degraded \(service) at \(establishment): a restoration of a service never "
                        + "degraded\(hint)")
            ]
        }
        guard first.occurredAt.earliest > occurredAt.latest else { return [] }
        return [
            IntakeWarning(
                field: "occurredAt",
                message: "the restoration (\(occurredAt.start.inZone().humanReadable)) is dated before \(service) at "
                    + "\(establishment) was degraded (\(first.occurredAt.start.inZone().humanReadable))")
        ]
    }

    /// A service id neither standard nor used before at that establishment: probably a typo of one that is.
    static func unknownService(
        _ service: String, at establishment: String, field: String, streamId: String, context: some WarningContext
    ) throws -> IntakeWarning? {
        if Services.isStandard(service) { return nil }
        let here = try context.services(of: streamId).named[establishment] ?? []
        if here.contains(service) { return nil }
        let used = try context.servicesUsed(at: establishment)
        if used.contains(service) { return nil }
        let hint =
            Suggestion.nearest(to: service, among: here.union(used).sorted() + Services.standard.map(\.id)).map {
                " (did you mean \($0)?)"
            } ?? ""
        return IntakeWarning(
            field: field,
            message: "\(service) is not a standard service id and \(establishment) has not used it before\(hint)")
    }

    /// A capacity that contradicts the status: a full restoration below 100 %, a partial one at 100 %, a
    /// degradation at 100 %.
    static func capacity(_ event: ProposedEvent) -> [IntakeWarning] {
        guard let number = event.payload["capacityPercent"]?.numberValue else { return [] }
        let (percent, text) = (number.doubleValue, number.description)
        switch (event.eventType, event.payload["extent"]?.stringValue) {
        case ("service.restored", "full") where percent < 100:
            return [
                IntakeWarning(
                    field: "payload.capacityPercent",
                    message: "\(text) % with extent full: a full restoration is 100 % (partial?)")
            ]
        case ("service.restored", "partial") where percent == 100:
            return [IntakeWarning(field: "payload.capacityPercent", message: "100 % with extent partial (full?)")]
        case ("service.degraded", _) where percent == 100:
            return [IntakeWarning(field: "payload.capacityPercent", message: "100 % is no degradation (a lower capacity?)")]
        default:
            return []
        }
    }

    /// A correction whose every value is already the corrected event's, or that corrects a value an update
    /// later replaced in the world (the correction then shows only before that update).
    static func unchanged(_ payload: JSONValue, _ fact: RevisedFact) -> [IntakeWarning] {
        let changes = payload["changes"]?.objectValue ?? [:]
        let occurredAt = payload["occurredAt"].flatMap { try? OccurredAt(json: $0, path: "$") }
        let superseded = changes.keys.sorted().compactMap { field in
            fact.updates.filter { $0.changes[field] != nil }.map(\.from).min().map { (field, $0) }
        }
        if let (field, from) = superseded.first {
            return [
                IntakeWarning(
                    field: "payload.changes.\(field)",
                    message: "an update replaced \(field) from \(Timestamp(microseconds: from).inZone().humanReadable): "
                        + "the correction shows only before it (to change the later value, record another update)")
            ]
        }
        guard changes.allSatisfy({ same($0.value, fact.payload[$0.key]) }) else { return [] }
        if let occurredAt, !sameTime(occurredAt, fact.occurredAt) { return [] }
        return [
            IntakeWarning(
                field: changes.isEmpty ? "payload.occurredAt" : "payload.changes",
                message: "every value given is already the corrected event's: the correction changes nothing")
        ]
    }

    /// An update dated before the fact it updates (the value was wrong from the start: a correction), or whose
    /// every value already holds at its time.
    static func update(_ payload: JSONValue, at occurredAt: OccurredAt, of fact: RevisedFact) -> [IntakeWarning] {
        if occurredAt.latest < fact.occurredAt.earliest {
            return [
                IntakeWarning(
                    field: "occurredAt",
                    message: "the update (\(occurredAt.start.inZone().humanReadable)) is dated before the fact it updates "
                        + "(\(fact.occurredAt.start.inZone().humanReadable)): if the value was wrong from the start, correct it "
                        + "(event.corrected)")
            ]
        }
        let holding = fact.payload(at: occurredAt.earliest)
        guard (payload["changes"]?.objectValue ?? [:]).allSatisfy({ same($0.value, holding[$0.key]) }) else { return [] }
        return [
            IntakeWarning(
                field: "payload.changes",
                message: "every value given already holds at the update's time: the update changes nothing")
        ]
    }

    /// Equal as values: numbers by magnitude (50 and 50.0), the rest as JSON.
    static func same(_ a: JSONValue, _ b: JSONValue?) -> Bool {
        guard let b else { return false }
        if let x = a.numberValue, let y = b.numberValue { return x.doubleValue == y.doubleValue }
        if let x = a.arrayValue, let y = b.arrayValue { return x.count == y.count && zip(x, y).allSatisfy { same($0, $1) } }
        return a == b
    }

    static func sameTime(_ a: OccurredAt, _ b: OccurredAt) -> Bool {
        a.precision == b.precision && a.start.microseconds == b.start.microseconds
            && a.end?.microseconds == b.end?.microseconds
    }
}

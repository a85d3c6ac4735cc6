import EventStore
import Foundation
import IncidentDomain

/// A correction, an update or a retraction applied to a fact.
///
/// A correction says the fact was recorded wrong: the corrected value holds at every time. An update says the
/// world changed: its value holds from `effective` on, and views of an earlier time keep the value before.
public struct Revision: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable { case corrected, retracted, updated }
    public let kind: Kind
    /// The correcting or retracting event.
    public let eventId: UUID
    public let position: UInt64
    public let recordedAt: Timestamp
    public let actor: String
    public let source: String
    public let reason: String
    /// Payload fields replaced, with `occurredAt` when the time was corrected; empty for a retraction.
    public let changedFields: [String]
    /// The values before and after, for each changed field (`occurredAt` as its JSON).
    public let before: [String: JSONValue]
    public let after: [String: JSONValue]
    /// For an update: when the world changed (the update's occurredAt). nil for corrections and retractions.
    public let effective: OccurredAt?

    /// The same revision with other values before it.
    func with(before: [String: JSONValue]) -> Revision {
        Revision(
            kind: kind, eventId: eventId, position: position, recordedAt: recordedAt, actor: actor, source: source,
            reason: reason, changedFields: changedFields, before: before, after: after, effective: effective)
    }
}

/// One fact as the ledger knows it: an incident event with the corrections recorded so far applied.
///
/// A value type whose fields live in one shared, immutable box: views copy facts by the thousand
/// (filtering, sorting by occurrence), and a copy then costs one reference count, not one per field. A
/// revision makes a new box, so that what is derived from the fields (whether the fact is retracted) is worked
/// out once, when the box is made.
public struct Fact: Sendable, Hashable {
    private final class Storage: Sendable {
        let eventId: UUID, position: UInt64, streamId: String, eventType: String, recordedAt: Timestamp
        let actor: String, source: String, reason: String?
        let occurredAt: OccurredAt, payload: JSONValue, event: IncidentEvent, revisions: [Revision]
        /// The updates folded into `payload` and `event` for a view at one time (see ``Fact/asOf(_:)``).
        let appliedUpdates: [Revision]
        /// Whether `revisions` holds a retraction: asked of every fact by every view.
        let isRetracted: Bool
        /// Whether `revisions` holds an update: most facts have none, and views then skip the time filter.
        let hasUpdates: Bool

        init(
            eventId: UUID, position: UInt64, streamId: String, eventType: String, recordedAt: Timestamp, actor: String,
            source: String, reason: String?, occurredAt: OccurredAt, payload: JSONValue, event: IncidentEvent,
            revisions: [Revision], appliedUpdates: [Revision]
        ) {
            (self.eventId, self.position, self.streamId, self.eventType) = (eventId, position, streamId, eventType)
            (self.recordedAt, self.actor, self.source, self.reason) = (recordedAt, actor, source, reason)
            (self.occurredAt, self.payload, self.event, self.revisions) = (occurredAt, payload, event, revisions)
            self.appliedUpdates = appliedUpdates
            isRetracted = revisions.contains { $0.kind == .retracted }
            hasUpdates = revisions.contains { $0.kind == .updated }
        }
    }
    private var storage: Storage

    package init(
        eventId: UUID, position: UInt64, streamId: String, eventType: String, recordedAt: Timestamp, actor: String,
        source: String, reason: String?, occurredAt: OccurredAt, payload: JSONValue, event: IncidentEvent, revisions: [Revision],
        appliedUpdates: [Revision] = []
    ) {
        storage = Storage(
            eventId: eventId, position: position, streamId: streamId, eventType: eventType, recordedAt: recordedAt,
            actor: actor, source: source, reason: reason, occurredAt: occurredAt, payload: payload, event: event,
            revisions: revisions, appliedUpdates: appliedUpdates)
    }

    public var eventId: UUID { storage.eventId }
    public var position: UInt64 { storage.position }
    public var streamId: String { storage.streamId }
    public var eventType: String { storage.eventType }
    public var recordedAt: Timestamp { storage.recordedAt }
    public var actor: String { storage.actor }
    public var source: String { storage.source }
    public var reason: String? { storage.reason }
    /// When it happened, corrections applied.
    public var occurredAt: OccurredAt { storage.occurredAt }
    /// The payload, corrections applied.
    public var payload: JSONValue { storage.payload }
    /// The typed event, corrections applied.
    public var event: IncidentEvent { storage.event }
    /// Corrections, updates and the retraction, in the order they were recorded.
    public var revisions: [Revision] { storage.revisions }
    /// The updates whose values `payload` holds: those that had happened by the time of the view.
    public var appliedUpdates: [Revision] { storage.appliedUpdates }
    /// Since when a service fact's condition holds: its time, or the time of the latest update applied that
    /// changed the status, the extent or the capacity.
    var conditionSince: Timestamp {
        let changing = appliedUpdates.last { update in
            update.changedFields.contains { ["status", "extent", "capacityPercent"].contains($0) }
        }
        return changing?.effective?.start ?? occurredAt.start
    }

    /// Whether an update of it was recorded (whatever the time of the view).
    var hasUpdates: Bool { storage.hasUpdates }

    /// The claimant of the fact's figures: its `claimedBy`, else the source it was recorded from.
    public var claimant: String { payload["claimedBy"]?.stringValue ?? source }

    /// The fact as the world was at `asOf` (microseconds; nil: now, every update): the updates that may have
    /// happened by then applied in the order they happened, and whether one of them is only possible then.
    public func asOf(_ asOf: Int64?) -> (fact: Fact, possible: Bool) {
        guard hasUpdates else { return (self, false) }
        let applied = revisions.filter { revision in
            guard revision.kind == .updated, let effective = revision.effective else { return false }
            return asOf.map { effective.isPossible(by: $0) } ?? true
        }
        .sorted { ($0.effective!.earliest, $0.position) < ($1.effective!.earliest, $1.position) }
        guard !applied.isEmpty else { return (self, false) }
        var members = payload.objectValue ?? [:]
        // "Before" is what the value was just before each update as the view applies them: a correction of the
        // fact or an update recorded later but dated earlier changes it.
        var revised: [Revision] = []
        for update in applied {
            var before: [String: JSONValue] = [:]
            for (field, value) in update.after {
                before[field] = members[field] ?? .null
                members[field] = value
            }
            revised.append(update.with(before: before))
        }
        let updated = JSONValue.object(members)
        let possible = asOf.map { t in applied.contains { !$0.effective!.isCertain(by: t) } } ?? false
        return (
            Fact(
                eventId: eventId, position: position, streamId: streamId, eventType: eventType, recordedAt: recordedAt,
                actor: actor, source: source, reason: reason, occurredAt: occurredAt, payload: updated,
                event: (try? IncidentEvent(eventType: eventType, payload: updated)) ?? event, revisions: revisions,
                appliedUpdates: revised),
            possible
        )
    }

    public static func == (lhs: Fact, rhs: Fact) -> Bool {
        if lhs.storage === rhs.storage { return true }
        return lhs.eventId == rhs.eventId && lhs.position == rhs.position && lhs.streamId == rhs.streamId
            && lhs.eventType == rhs.eventType && lhs.recordedAt == rhs.recordedAt && lhs.actor == rhs.actor
            && lhs.source == rhs.source && lhs.reason == rhs.reason && lhs.occurredAt == rhs.occurredAt
            && lhs.payload == rhs.payload && lhs.event == rhs.event && lhs.revisions == rhs.revisions
            && lhs.appliedUpdates == rhs.appliedUpdates
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(eventId)
        hasher.combine(position)
        hasher.combine(revisions.count)
    }

    /// True once a retraction was recorded: the fact no longer counts.
    public var isRetracted: Bool { storage.isRetracted }

    /// The establishments the fact is about (FINESS numbers).
    public var establishments: [String] {
        var list: [String] = []
        if let one = payload["establishment"]?.stringValue { list.append(one) }
        if let many = payload["establishments"]?.arrayValue { list += many.compactMap(\.stringValue) }
        return list
    }

    mutating func apply(_ revision: Revision) {
        var (occurredAt, payload, event) = (occurredAt, payload, event)
        if revision.kind == .corrected {
            var members = payload.objectValue ?? [:]
            for (field, value) in revision.after where field != "occurredAt" { members[field] = value }
            payload = .object(members)
            if let time = revision.after["occurredAt"], let corrected = try? OccurredAt(json: time, path: "$", bounded: false) {
                occurredAt = corrected
            }
            if let typed = try? IncidentEvent(eventType: eventType, payload: payload) { event = typed }
        }
        self = Fact(
            eventId: eventId, position: position, streamId: streamId, eventType: eventType, recordedAt: recordedAt, actor: actor,
            source: source, reason: reason, occurredAt: occurredAt, payload: payload, event: event,
            revisions: revisions + [revision])
    }
}

extension Fact {
    /// A fact as first recorded, no revision applied.
    init(_ recorded: RecordedEvent, event: IncidentEvent) {
        self.init(
            eventId: recorded.eventId, position: recorded.position, streamId: recorded.streamId, eventType: recorded.eventType,
            recordedAt: recorded.recordedAt, actor: recorded.actor, source: recorded.source, reason: recorded.reason,
            occurredAt: recorded.occurredAt, payload: recorded.payload, event: event, revisions: [])
    }
}

extension Array where Element == Fact {
    /// The title of the last opening not retracted, if any.
    func incidentTitle() -> String? {
        // From the end, and by event type first: reading `event` copies the whole typed event, and this runs
        // over every fact of an incident for every view.
        for fact in reversed() where fact.eventType == "incident.opened" && !fact.isRetracted {
            if case .incidentOpened(let e) = fact.event { return e.title }
        }
        return nil
    }
}

/// A registered establishment.
public struct Establishment: Sendable, Hashable {
    public let finess: String
    public let name: String
    public let city: String
    public let group: String?
    public let essentialOperator: Bool
    public let nis2Entity: String?
    public let registeredAt: UInt64
}

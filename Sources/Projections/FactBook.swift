import EventStore
import Foundation
import IncidentDomain

/// Every incident's facts, corrections applied, and the registered establishments: the fold of the ordered
/// events that every view (state, timeline, clocks, audit) is computed from.
///
/// `apply` is a pure function of the events in position order: the same events always give the same book,
/// whether folded in one pass or in several. Queries fold one incident's stream (its corrections and
/// retractions live in the same stream) up to the position their known-at time admits.
public struct FactBook: Sendable, Equatable {
    /// The last position folded in.
    public private(set) var checkpoint: UInt64 = 0
    public private(set) var establishments: [String: Establishment] = [:]
    /// Facts of each incident stream, in position order (retracted ones included, flagged).
    public private(set) var incidents: [String: [Fact]] = [:]
    /// The registration events of establishments and the events of groups, in position order: for the audit trail.
    public private(set) var registrations: [Fact] = []
    /// The groups recorded in `group:<id>` streams, by id.
    public private(set) var groups: [String: EstablishmentGroup] = [:]
    /// Events that became no fact and no revision (a retraction of a retraction, a correction of an unknown
    /// event, a type or payload the domain does not read), in position order: the audit still lists them.
    public private(set) var inert: [InertEvent] = []
    /// Where each fact is: stream and index.
    private var locations: [UUID: Location] = [:]

    /// A stored event the fold could give no meaning, and why.
    public struct InertEvent: Sendable, Hashable {
        public let position: UInt64
        public let eventId: UUID
        public let streamId: String
        public let eventType: String
        public let recordedAt: Timestamp
        public let actor: String
        public let source: String
        public let reason: String?
        public let why: String

        init(_ recorded: RecordedEvent, why: String) {
            (position, eventId, streamId, eventType) = (
                recorded.position, recorded.eventId, recorded.streamId, recorded.eventType
            )
            (recordedAt, actor, source, reason, self.why) = (
                recorded.recordedAt, recorded.actor, recorded.source, recorded.reason, why
            )
        }
    }

    struct Location: Sendable, Hashable {
        let streamId: String
        let index: Int
    }

    public init() {}

    /// Folds `events` (in position order) into a fresh book.
    public init(folding events: some Sequence<RecordedEvent>) {
        for event in events { apply(event) }
    }

    /// Adds establishments registered in their own streams to a book folded from one incident.
    package mutating func register(_ known: [String: Establishment]) {
        for (finess, establishment) in known { establishments[finess] = establishment }
    }

    /// Folds in one event. Events must come in position order; earlier positions are ignored.
    public mutating func apply(_ recorded: RecordedEvent) {
        guard recorded.position > checkpoint else { return }
        checkpoint = recorded.position
        // Grants and revocations of access change no incident; the audit shows them.
        if recorded.streamId == AccessEvents.stream {
            inert.append(
                InertEvent(recorded, why: AccessEvents.summary(eventType: recorded.eventType, payload: recorded.payload)))
            return
        }
        // Events the domain does not know are skipped: a generic store may hold others.
        let event: IncidentEvent
        do {
            event = try IncidentEvent(eventType: recorded.eventType, payload: recorded.payload)
        } catch {
            inert.append(InertEvent(recorded, why: "the domain cannot read it (\(error.description))"))
            return
        }
        switch event {
        case .establishmentRegistered(let e):
            establishments[e.finess] = Establishment(
                finess: e.finess, name: e.name, city: e.city, group: e.group, essentialOperator: e.essentialOperator ?? false,
                nis2Entity: e.nis2Entity, registeredAt: recorded.position)
            registrations.append(Fact(recorded, event: event))
        case .groupRegistered(let e):
            groups[e.groupId, default: EstablishmentGroup(id: e.groupId)].apply(event, recorded)
            registrations.append(Fact(recorded, event: event))
        case .groupMemberAdded(let e), .groupMemberRemoved(let e):
            groups[e.groupId, default: EstablishmentGroup(id: e.groupId)].apply(event, recorded)
            registrations.append(Fact(recorded, event: event))
        case .eventCorrected(let correction):
            guard let location = locations[correction.correctedEventId], location.streamId == recorded.streamId else {
                inert.append(InertEvent(recorded, why: "corrects no fact of this stream"))
                return
            }
            var fact = incidents[location.streamId]![location.index]
            var before: [String: JSONValue] = [:]
            var after: [String: JSONValue] = [:]
            for (field, value) in correction.changes ?? [:] {
                before[field] = fact.payload[field] ?? .null
                after[field] = value
            }
            if let time = correction.occurredAt {
                before["occurredAt"] = fact.occurredAt.json
                after["occurredAt"] = time.json
            }
            fact.apply(revision(.corrected, recorded, before: before, after: after))
            incidents[location.streamId]![location.index] = fact
        case .eventUpdated(let update):
            guard let location = locations[update.updatedEventId], location.streamId == recorded.streamId else {
                inert.append(InertEvent(recorded, why: "updates no fact of this stream"))
                return
            }
            var fact = incidents[location.streamId]![location.index]
            guard !fact.isRetracted else {
                inert.append(InertEvent(recorded, why: "updates a retracted fact"))
                return
            }
            // Before: the value the world had just before the update, earlier updates applied.
            let current = fact.asOf(recorded.occurredAt.earliest).fact
            var before: [String: JSONValue] = [:]
            for field in update.changes.keys { before[field] = current.payload[field] ?? .null }
            fact.apply(revision(.updated, recorded, before: before, after: update.changes, effective: recorded.occurredAt))
            incidents[location.streamId]![location.index] = fact
        case .eventRetracted(let retraction):
            guard let location = locations[retraction.retractedEventId], location.streamId == recorded.streamId else {
                inert.append(InertEvent(recorded, why: "retracts no fact of this stream"))
                return
            }
            guard !incidents[location.streamId]![location.index].isRetracted else {
                inert.append(InertEvent(recorded, why: "retracts a fact already retracted"))
                return
            }
            incidents[location.streamId]![location.index].apply(revision(.retracted, recorded, before: [:], after: [:]))
        default:
            let fact = Fact(recorded, event: event)
            locations[recorded.eventId] = Location(
                streamId: recorded.streamId, index: incidents[recorded.streamId, default: []].count)
            incidents[recorded.streamId, default: []].append(fact)
        }
    }

    private func revision(
        _ kind: Revision.Kind, _ recorded: RecordedEvent, before: [String: JSONValue], after: [String: JSONValue],
        effective: OccurredAt? = nil
    ) -> Revision {
        Revision(
            kind: kind, eventId: recorded.eventId, position: recorded.position, recordedAt: recorded.recordedAt,
            actor: recorded.actor, source: recorded.source, reason: recorded.reason ?? "", changedFields: after.keys.sorted(),
            before: before, after: after, effective: effective)
    }

    /// The fact with this id, if it is an incident fact.
    public func fact(_ id: UUID) -> Fact? {
        locations[id].map { incidents[$0.streamId]![$0.index] }
    }

    /// The incident streams whose facts name `finess` (or that were opened for it).
    public func incidents(touching finess: String) -> [String] {
        incidents.keys.sorted().filter { stream in
            incidents[stream]!.contains { !$0.isRetracted && $0.establishments.contains(finess) }
        }
    }

    /// The book restricted to what was recorded at or before `position`: later facts dropped and later
    /// revisions undone. Equal to folding only the events up to `position`.
    public func knownAt(position: UInt64) -> FactBook {
        guard position < checkpoint else { return self }
        var book = FactBook()
        book.checkpoint = position
        book.establishments = establishments.filter { $0.value.registeredAt <= position }
        book.registrations = registrations.filter { $0.position <= position }
        book.groups = groups.compactMapValues { $0.knownAt(position: position) }
        book.inert = inert.filter { $0.position <= position }
        for (stream, facts) in incidents {
            var kept: [Fact] = []
            for fact in facts where fact.position <= position {
                // Replaying the revisions on the recorded payload gives the fact as it was known then.
                let payload = originalPayload(fact)
                var known = Fact(
                    eventId: fact.eventId, position: fact.position, streamId: fact.streamId, eventType: fact.eventType,
                    recordedAt: fact.recordedAt, actor: fact.actor, source: fact.source, reason: fact.reason,
                    occurredAt: originalOccurredAt(fact), payload: payload,
                    event: (try? IncidentEvent(eventType: fact.eventType, payload: payload)) ?? fact.event, revisions: [])
                for revision in fact.revisions where revision.position <= position { known.apply(revision) }
                book.locations[fact.eventId] = Location(streamId: stream, index: kept.count)
                kept.append(known)
            }
            if !kept.isEmpty { book.incidents[stream] = kept }
        }
        return book
    }

    /// The fact as it was recorded, before any revision: what its own audit entry shows.
    func asRecorded(_ fact: Fact) -> Fact {
        guard !fact.revisions.isEmpty else { return fact }
        let payload = originalPayload(fact)
        return Fact(
            eventId: fact.eventId, position: fact.position, streamId: fact.streamId, eventType: fact.eventType,
            recordedAt: fact.recordedAt, actor: fact.actor, source: fact.source, reason: fact.reason,
            occurredAt: originalOccurredAt(fact), payload: payload,
            event: (try? IncidentEvent(eventType: fact.eventType, payload: payload)) ?? fact.event, revisions: [])
    }

    /// The payload as first recorded: each corrected field's value before its first correction.
    private func originalPayload(_ fact: Fact) -> JSONValue {
        var members = fact.payload.objectValue ?? [:]
        for revision in fact.revisions.reversed() where revision.kind == .corrected {
            for (field, value) in revision.before where field != "occurredAt" {
                if value == .null { members.removeValue(forKey: field) } else { members[field] = value }
            }
        }
        return .object(members)
    }

    private func originalOccurredAt(_ fact: Fact) -> OccurredAt {
        for revision in fact.revisions where revision.kind == .corrected {
            if let time = revision.before["occurredAt"], let original = try? OccurredAt(json: time, path: "$", bounded: false) {
                return original
            }
        }
        return fact.occurredAt
    }

    /// Two books are equal when they hold the same facts and establishments at the same checkpoint.
    public static func == (lhs: FactBook, rhs: FactBook) -> Bool {
        lhs.checkpoint == rhs.checkpoint && lhs.establishments == rhs.establishments && lhs.registrations == rhs.registrations
            && lhs.groups == rhs.groups && lhs.incidents == rhs.incidents && lhs.inert == rhs.inert
    }
}

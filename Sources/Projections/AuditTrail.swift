import EventStore
import Foundation
import IncidentDomain

/// One change an event made to the projected state of its incident.
public struct StateChange: Sendable, Hashable {
    public let field: String
    public let before: String?
    public let after: String?

    package init(field: String, before: String?, after: String?) {
        self.field = field
        self.before = before
        self.after = after
    }
}

/// One recorded event in the audit trail: who recorded it, when, from which source, why, what it changed,
/// and what later corrected or withdrew it.
public struct AuditEntry: Sendable, Hashable {
    public let position: UInt64
    public let eventId: UUID
    public let streamId: String
    public let eventType: String
    public let recordedAt: Timestamp
    public let actor: String
    public let source: String
    public let reason: String?
    public let summary: String
    /// For a correction or a retraction: the event it acts on.
    public let target: UUID?
    /// The state of the incident (as known, world as of now) just before and just after this event.
    public let changes: [StateChange]
    /// For a correction or an update: each payload field of the target it replaces, before and after, as
    /// views print them (`occurredAt` for a corrected time).
    public let fieldChanges: [StateChange]
    /// For a fact: every field it recorded, labelled, with its unit.
    public let fields: [FieldText]
    /// Corrections and retraction of this event recorded later (up to the query's known-at).
    public let laterRevisions: [Revision]
}

/// The audit trail projection: every recorded fact and revision, in recording order.
public enum AuditTrail {
    /// Filters: one actor, one incident, and events recorded at or after `since`.
    public struct Filter: Sendable, Hashable {
        public var actor: String?
        public var incident: String?
        public var since: Int64?
        public init(actor: String? = nil, incident: String? = nil, since: Int64? = nil) {
            self.actor = actor
            self.incident = incident
            self.since = since
        }

        /// Whether an event of `stream` recorded by `actor` at `recordedAt` passes the filter.
        func admits(stream: String, actor: String, recordedAt: Timestamp) -> Bool {
            (incident == nil || incident == stream) && (self.actor == nil || self.actor == actor)
                && (since == nil || recordedAt.microseconds >= since!)
        }
    }

    /// Computes the audit of the incidents in `book` (already restricted to what was known at K). Facts
    /// whose occurredAt is after the query's T are left out, like every view.
    public static func compute(book: FactBook, filter: Filter, at time: QueryTime) -> [AuditEntry] {
        var entries: [AuditEntry] = []
        let names = book.establishments.mapValues(\.name)
        for stream in book.incidents.keys.sorted() where filter.incident == nil || filter.incident == stream {
            let facts = book.incidents[stream]!
            var items: [(position: UInt64, make: ([StateChange]) -> AuditEntry)] = []
            for fact in facts where time.asOf == nil || fact.occurredAt.isPossible(by: time.asOf!) {
                // Its own entry shows the fact as recorded; the revisions' entries say what changed.
                let recorded = book.asRecorded(fact)
                // Updates that had not happened by T are not part of the world the audit is asked about.
                let revisions = fact.revisions.filter { revision in
                    guard revision.kind == .updated, let asOf = time.asOf, let effective = revision.effective else {
                        return true
                    }
                    return effective.isPossible(by: asOf)
                }
                items.append(
                    (
                        fact.position,
                        { changes in
                            AuditEntry(
                                position: fact.position, eventId: fact.eventId, streamId: stream, eventType: fact.eventType,
                                recordedAt: fact.recordedAt, actor: fact.actor, source: fact.source, reason: fact.reason,
                                summary: FactSummary.describe(recorded), target: nil, changes: changes, fieldChanges: [],
                                fields: FactFields.lines(eventType: fact.eventType, payload: recorded.payload, names: names),
                                laterRevisions: revisions)
                        }
                    ))
                for revision in revisions {
                    items.append(
                        (
                            revision.position,
                            { changes in
                                let fields = revision.changedFields.map(FactFields.label)
                                    .joined(separator: ", ")
                                let what =
                                    switch revision.kind {
                                    case .retracted: "retracts: \(FactSummary.describe(fact))"
                                    case .corrected: "corrects \(fields) of: \(FactSummary.describe(fact)) (recorded wrong)"
                                    case .updated:
                                        "updates \(fields) of: \(FactSummary.describe(fact)) (changed in the world from \(revision.effective.map { TimelineRendering.describe($0) } ?? "?"))"
                                    }
                                return AuditEntry(
                                    position: revision.position, eventId: revision.eventId, streamId: stream,
                                    eventType: "event." + revision.kind.rawValue,
                                    recordedAt: revision.recordedAt, actor: revision.actor, source: revision.source,
                                    reason: revision.kind == .updated && revision.reason.isEmpty ? nil : revision.reason,
                                    summary: what, target: fact.eventId, changes: changes,
                                    fieldChanges: revision.changedFields.map { field in
                                        StateChange(
                                            field: field,
                                            before: FactFields.text(
                                                of: field, eventType: fact.eventType, value: revision.before[field],
                                                payload: fact.payload),
                                            after: FactFields.text(
                                                of: field, eventType: fact.eventType, value: revision.after[field],
                                                payload: fact.payload))
                                    }, fields: [], laterRevisions: [])
                            }
                        ))
                }
            }
            for item in items.sorted(by: { $0.position < $1.position }) {
                let probe = item.make([])
                guard filter.admits(stream: stream, actor: probe.actor, recordedAt: probe.recordedAt) else { continue }
                let before = IncidentState.compute(
                    incidentId: stream, facts: book.knownAt(position: item.position - 1).incidents[stream] ?? [], at: .now)
                let after = IncidentState.compute(
                    incidentId: stream, facts: book.knownAt(position: item.position).incidents[stream] ?? [], at: .now)
                var entry = item.make(diff(before.flattened, after.flattened))
                // A figure that another claimant gave differently is a competing claim, not a replacement: say so.
                // A correction or an update that makes its fact's figure disagree with another claimant's says so too.
                let fact = entry.target ?? entry.eventId
                let competingBefore = Set(before.figures.filter(\.competing).map(\.key))
                let rivals = after.figures.filter { figure in
                    figure.competing && figure.claims.contains { $0.eventId == fact }
                        && (entry.target == nil || !competingBefore.contains(figure.key))
                }
                if !rivals.isEmpty {
                    let others = rivals.flatMap { figure in
                        figure.claims.filter { $0.eventId != fact }.map { "\($0.text) claimed by \($0.claimant)" }
                    }
                    entry = entry.withSummary(entry.summary + " — a competing claim beside " + others.joined(separator: ", "))
                }
                entries.append(entry)
            }
        }
        // Establishment registrations change no incident's state; events that changed nothing are listed too:
        // the audit shows every event, whatever its kind.
        func unchanging(
            _ position: UInt64, _ eventId: UUID, _ stream: String, _ type: String, _ recordedAt: Timestamp, _ actor: String,
            _ source: String, _ reason: String?, summary: String
        ) {
            guard filter.admits(stream: stream, actor: actor, recordedAt: recordedAt) else { return }
            entries.append(
                AuditEntry(
                    position: position, eventId: eventId, streamId: stream, eventType: type, recordedAt: recordedAt, actor: actor,
                    source: source, reason: reason, summary: summary, target: nil, changes: [], fieldChanges: [],
                    fields: [], laterRevisions: []))
        }
        for f in book.registrations {
            guard filter.admits(stream: f.streamId, actor: f.actor, recordedAt: f.recordedAt) else { continue }
            entries.append(
                AuditEntry(
                    position: f.position, eventId: f.eventId, streamId: f.streamId, eventType: f.eventType,
                    recordedAt: f.recordedAt, actor: f.actor, source: f.source, reason: f.reason,
                    summary: FactSummary.describe(f), target: nil, changes: [], fieldChanges: [],
                    fields: FactFields.lines(eventType: f.eventType, payload: f.payload, names: names), laterRevisions: []))
        }
        for e in book.inert {
            unchanging(
                e.position, e.eventId, e.streamId, e.eventType, e.recordedAt, e.actor, e.source, e.reason,
                summary: e.streamId == AccessEvents.stream ? e.why : "\(e.eventType), no effect: \(e.why)")
        }
        return entries.sorted { $0.position < $1.position }
    }

    static func diff(_ before: [String: String], _ after: [String: String]) -> [StateChange] {
        Set(before.keys).union(after.keys).sorted().compactMap { key in
            before[key] == after[key] ? nil : StateChange(field: key, before: before[key], after: after[key])
        }
    }
}

extension IncidentState {
    /// The state as `field → value` lines, for diffs and compact displays.
    package var flattened: [String: String] {
        var lines: [String: String] = ["phase": phase.rawValue, "title": title]
        if !establishments.isEmpty { lines["establishments"] = establishments.joined(separator: ", ") }
        if let intrusion { lines["intrusion"] = intrusion.occurredAt.description }
        if let detectedAt { lines["detected"] = detectedAt.occurredAt.description }
        if let crisisCell { lines["crisis cell"] = crisisCell.occurredAt.description }
        if let containedAt { lines["contained"] = containedAt.occurredAt.description }
        if let closedAt { lines["closed"] = closedAt.occurredAt.description }
        for s in servicesNotNormal + servicesRestored {
            lines["service \(s.establishment)/\(s.service)"] =
                s.status.rawValue + (s.capacityPercent.map { " \(FigureText.of($0))%" } ?? "") + " since \(s.since.rfc3339)"
        }
        if let last = dataBreach.last { lines["data breach"] = last.summary }
        if let peopleAffected { lines["people affected"] = String(peopleAffected) }
        if let last = ransom.last { lines["ransom"] = last.summary }
        if let ransomStatus { lines["ransom status"] = ransomStatus.rawValue }
        for m in crisisMeasures {
            lines["crisis measure \(m.measure)" + (m.establishment.map { "/\($0)" } ?? "")] = m.isActive ? "active" : "lifted"
        }
        let lists: [(String, [FactSummary])] = [
            ("claims", claims), ("complaints", complaints), ("notifications", notifications),
            ("investigations", investigations), ("outside support", support), ("care impacts", careImpacts),
            ("people informed", personsNotified),
        ]
        for (name, list) in lists where !list.isEmpty { lines[name] = list.map(\.summary).joined(separator: "; ") }
        for figure in figures {
            lines["figure " + figure.figure] =
                figure.claims.map { "\($0.text) (\($0.claimant))" }.joined(separator: " · ")
                + (figure.competing ? " — competing claims" : "")
        }
        return lines
    }
}

extension AuditEntry {
    func withSummary(_ summary: String) -> AuditEntry {
        AuditEntry(
            position: position, eventId: eventId, streamId: streamId, eventType: eventType, recordedAt: recordedAt,
            actor: actor, source: source, reason: reason, summary: summary, target: target, changes: changes,
            fieldChanges: fieldChanges, fields: fields, laterRevisions: laterRevisions)
    }
}

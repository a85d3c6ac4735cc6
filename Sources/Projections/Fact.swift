import EventStore
import Foundation
import IncidentDomain

/// A correction or retraction applied to a fact.
public struct Revision: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable { case corrected, retracted }
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
}

/// One fact as the ledger knows it: an incident event with the corrections recorded so far applied.
public struct Fact: Sendable, Hashable {
    public let eventId: UUID
    public let position: UInt64
    public let streamId: String
    public let eventType: String
    public let recordedAt: Timestamp
    public let actor: String
    public let source: String
    public let reason: String?
    /// When it happened, corrections applied.
    public internal(set) var occurredAt: OccurredAt
    /// The payload, corrections applied.
    public internal(set) var payload: JSONValue
    /// The typed event, corrections applied.
    public internal(set) var event: IncidentEvent
    /// Corrections and the retraction, in the order they were recorded.
    public internal(set) var revisions: [Revision]

    /// True once a retraction was recorded: the fact no longer counts.
    public var isRetracted: Bool { revisions.contains { $0.kind == .retracted } }

    /// The establishments the fact is about (FINESS numbers).
    public var establishments: [String] {
        var list: [String] = []
        if let one = payload["establishment"]?.stringValue { list.append(one) }
        if let many = payload["establishments"]?.arrayValue { list += many.compactMap(\.stringValue) }
        return list
    }

    /// The fact as of the revisions recorded at or before `position`: what the ledger said then.
    func asKnown(atPosition position: UInt64, original: Fact) -> Fact {
        var fact = original
        for revision in revisions where revision.position <= position { fact.apply(revision) }
        return fact
    }

    mutating func apply(_ revision: Revision) {
        if revision.kind == .corrected {
            var members = payload.objectValue ?? [:]
            for (field, value) in revision.after where field != "occurredAt" { members[field] = value }
            payload = .object(members)
            if let time = revision.after["occurredAt"], let corrected = try? OccurredAt(json: time, path: "$") {
                occurredAt = corrected
            }
            if let typed = try? IncidentEvent(eventType: eventType, payload: payload) { event = typed }
        }
        revisions.append(revision)
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

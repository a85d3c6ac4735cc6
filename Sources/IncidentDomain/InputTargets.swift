import EventStore
import Foundation

/// The events accepted earlier in one input, as ``DomainRules`` needs them for the events after it: a
/// correction, update or retraction may point at an event of the same input, not stored yet.
///
/// An import keeps one entry for each of millions of events, so an entry is eight bytes (its stream and type
/// by number, and whether a retraction points at it) beside its id; the payload members the rules between
/// fields read, and the revisions, are kept apart for the events that have them. A million entries take
/// tens of megabytes, where whole payloads took hundreds.
package struct InputTargets: Sendable {
    private struct Entry: Sendable {
        var stream: UInt32
        var type: UInt16
        var retracted: Bool
    }

    /// What a target has beyond its entry: the members its type's rules read, its updates.
    private struct Details: Sendable {
        var payload: JSONValue?
        var updates: [DomainRules.TimedChanges]
    }

    private var entries: [UUID: Entry] = [:]
    private var details: [UUID: Details] = [:]
    private var streams = Names<UInt32>()
    private var types = Names<UInt16>()

    package init() {}

    /// Whether an event of the input has this id.
    package func contains(_ id: UUID) -> Bool { entries[id] != nil }

    /// Checks `event`, bound for `streamId`, against the domain's rules with the input's earlier events in
    /// view, then remembers it for the events after it. `lookup` finds the targets that are not in the input.
    package mutating func admit(_ event: ProposedEvent, streamId: String, path: String, lookup: DomainRules.Lookup) throws {
        try DomainRules().check(event, streamId: streamId, path: path) { id in try target(id, lookup: lookup) }
        try note(event, streamId: streamId, lookup: lookup)
    }

    /// The input's event with this id, as a target, with what later input events did to it.
    private subscript(id: UUID) -> DomainRules.Target? {
        guard let entry = entries[id] else { return nil }
        let more = details[id]
        var target = DomainRules.Target(
            streamId: streams.name(entry.stream), eventType: types.name(entry.type), retracted: entry.retracted,
            payload: more?.payload)
        target.updates = more?.updates ?? []
        return target
    }

    /// The target with this id: in the input, else as `lookup` finds it in the ledger.
    private func target(_ id: UUID, lookup: DomainRules.Lookup) throws -> DomainRules.Target? {
        try self[id] ?? lookup(id)
    }

    /// Remembers an accepted event for the events after it: itself as a target, for a retraction that its
    /// target is now retracted, and for a correction or update its effect on the target.
    private mutating func note(_ event: ProposedEvent, streamId: String, lookup: DomainRules.Lookup) throws {
        guard let id = event.eventId else { return }
        keep(
            DomainRules.Target(
                streamId: streamId, eventType: event.eventType,
                payload: DomainRules.ruleMembers(of: event.payload, eventType: event.eventType)), as: id)
        if event.eventType == "event.retracted", let text = event.payload["retractedEventId"]?.stringValue,
            let targetId = UUID(text: text), var known = try target(targetId, lookup: lookup)
        {
            known.retracted = true
            keep(known, as: targetId)
        }
        if let key = event.eventType == "event.corrected"
            ? "correctedEventId" : event.eventType == "event.updated" ? "updatedEventId" : nil,
            let text = event.payload[key]?.stringValue,
            let targetId = UUID(text: text), var known = try target(targetId, lookup: lookup)
        {
            known.revise(
                event.payload["changes"]?.objectValue ?? [:], update: event.eventType == "event.updated",
                from: event.occurredAt.earliest)
            keep(known, as: targetId)
        }
    }

    private mutating func keep(_ target: DomainRules.Target, as id: UUID) {
        entries[id] = Entry(
            stream: streams.number(target.streamId), type: types.number(target.eventType), retracted: target.retracted)
        details[id] =
            target.payload == nil && target.updates.isEmpty ? nil : Details(payload: target.payload, updates: target.updates)
    }

    /// Names numbered in the order first seen: an input has a few streams and types per thousand events.
    private struct Names<Number: FixedWidthInteger & Sendable>: Sendable {
        private var names: [String] = []
        private var numbers: [String: Number] = [:]

        func name(_ number: Number) -> String { names[Int(number)] }

        /// The name's number. Every name noted passed the rules first (a catalogue type, a stream id), so
        /// running out of numbers (65,536 types, 4 billion streams) is a broken caller: it stops rather than
        /// mix targets up.
        mutating func number(_ name: String) -> Number {
            if let known = numbers[name] { return known }
            guard let next = Number(exactly: names.count) else {
                fatalError("more than \(Number.max) distinct names in one input")
            }
            names.append(name)
            numbers[name] = next
            return next
        }
    }
}

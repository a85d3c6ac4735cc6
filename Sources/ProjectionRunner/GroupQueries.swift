import EventStore
import IncidentDomain
import Projections

extension LedgerQueries {
    /// The event types recorded in group streams.
    static let groupEventTypes = Catalogue.all.filter { $0.streamKind == .group }.map(\.eventType)

    /// Every group recorded, as known at `time`: the group events are read through the event-type index (they
    /// are few) and folded in position order.
    public func groups(at time: QueryTime) throws -> [String: EstablishmentGroup] {
        let position = try position(at: time)
        var events: [RecordedEvent] = []
        for type in Self.groupEventTypes {
            try store.read(.eventType(type)) { event in
                guard event.position <= position else { return false }
                events.append(event)
                return true
            }
        }
        return FactBook(folding: events.sorted { $0.position < $1.position }).groups
    }

    /// The groups at `time` with each site's groups then.
    public func groupDirectory(at time: QueryTime) throws -> GroupDirectory {
        let time = answered(time)
        let position = try position(at: time)
        return GroupDirectory(
            groups: try groups(at: time), establishments: establishments(try index(), upTo: position), at: time)
    }

    /// The group `id` as known at `time`, its members then, and `body`'s items for them; nil when no event of the
    /// group was recorded by then.
    ///
    /// `body` gets every site that was ever a member and whether a site was a member at an instant (nil: at
    /// T): an incident belongs to the group's view when a site it touches was a member when the incident began,
    /// not at T (a site that left since still shows its incident; one that joined later does not bring its past).
    private func groupView<Item>(
        _ id: String, at time: QueryTime,
        _ body: (_ sites: [String], _ wasMember: (_ finess: String, _ at: Int64?) -> Bool) throws -> [Item]
    ) throws -> GroupView<Item>? {
        let time = answered(time)
        let position = try position(at: time)
        let events = try store.events(.stream(StreamKind.group.prefix + id)).filter { $0.position <= position }
        guard let group = FactBook(folding: events).groups[id] else { return nil }
        let establishments = establishments(try index(), upTo: position)
        let members = group.members(at: time, establishments: establishments)
        let memberships = group.memberships(establishments: establishments)
        let sites = Array(Set(memberships.map(\.finess)).union(members)).sorted()
        func wasMember(_ finess: String, _ instant: Int64?) -> Bool {
            guard let instant else { return members.contains(finess) }
            return group.members(at: QueryTime(asOf: instant, knownAt: time.knownAt), establishments: establishments)
                .contains(finess)
        }
        return GroupView(
            group: group, members: members, memberships: memberships, reference: time.reference,
            items: try body(sites, wasMember))
    }

    /// The incident streams that name any of `members`, sorted.
    private func incidents(touchingAnyOf members: [String]) throws -> [String] {
        let snapshot = try index()
        var streams = Set<String>()
        for finess in members { streams.formUnion(try IncidentIndex.incidents(touching: finess, in: store, snapshot: snapshot)) }
        return streams.sorted()
    }

    /// `state --group`: the state of every incident touching a member of the group at `time`.
    public func states(group id: String, at time: QueryTime) throws -> GroupView<IncidentState>? {
        let time = answered(time)
        return try groupView(id, at: time) { sites, wasMember in
            try incidents(touchingAnyOf: sites).flatMap { try states(incident: $0, at: time) }.filter { state in
                let began = (state.intrusion ?? state.detectedAt)?.occurredAt.earliest
                return state.establishments.contains { wasMember($0, began) }
            }
        }
    }

    /// `timeline --group`: the recovery timeline of each member site in each incident that touches it, by incident
    /// then FINESS: the lanes of every site of the group, for one chart.
    public func timelines(group id: String, at time: QueryTime) throws -> GroupView<RecoveryTimeline>? {
        let time = answered(time)
        return try groupView(id, at: time) { sites, wasMember in
            try sites.flatMap { try timelines(establishment: $0, at: time) }
                .filter { timeline in
                    let began =
                        timeline.milestones.first { $0.kind == .intrusion || $0.kind == .detection }?.occurredAt.earliest
                        ?? timeline.lanes.compactMap { $0.segments.first?.start.microseconds }.min()
                    return wasMember(timeline.establishment, began)
                }
                .sorted { ($0.incidentId, $0.establishment) < ($1.incidentId, $1.establishment) }
        }
    }
}

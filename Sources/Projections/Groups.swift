import EventStore
import Foundation
import IncidentDomain

/// A group of establishments as the ledger knows it: a GHT, a legal entity (its FINESS juridique), a private
/// group. Folded from its own stream, `group:<id>`: its registrations (the last one names it) and the dated
/// joinings and leavings of its sites.
///
/// Membership of a site comes from the group's `group.member_added` / `group.member_removed` events when there
/// is any for that site: each opens or closes a period at the event's time. A site with none of them whose
/// latest registration's `group` equals the group id is a member at every time: a registration's time is when
/// it was written down, not when the site joined, so it dates nothing (record `group.member_added` to date it).
public struct EstablishmentGroup: Sendable, Hashable {
    public let id: String
    /// The registrations in position order: the last names the group.
    public private(set) var registrations: [Registration] = []
    /// The joinings and leavings in position order.
    public private(set) var changes: [MembershipChange] = []

    public struct Registration: Sendable, Hashable {
        public let name: String
        public let kind: String
        public let supportEstablishment: String?
        public let position: UInt64
    }

    /// One `group.member_added` (joined) or `group.member_removed` (left).
    public struct MembershipChange: Sendable, Hashable {
        public let finess: String
        public let joined: Bool
        public let occurredAt: OccurredAt
        public let position: UInt64
        public let eventId: UUID
    }

    /// One period a site belonged to the group.
    public struct Membership: Sendable, Hashable {
        public let finess: String
        /// When it joined; nil when it is a member through its registration's `group` field, undated.
        public let since: OccurredAt?
        /// When it left; nil while it is still a member.
        public let until: OccurredAt?
        /// Whether the membership comes from the establishment's registration rather than dated events.
        public let byRegistration: Bool
    }

    package init(id: String) { self.id = id }

    /// The group's name: its last registration's, else its id (memberships recorded before any registration).
    public var name: String { registrations.last?.name ?? id }
    /// `ght`, `legal_entity`, `private_group` or `other`; nil before the group is registered.
    public var kind: String? { registrations.last?.kind }
    public var supportEstablishment: String? { registrations.last?.supportEstablishment }

    /// Folds in one event of the group's stream (events in position order).
    mutating func apply(_ event: IncidentEvent, _ recorded: RecordedEvent) {
        switch event {
        case .groupRegistered(let e):
            registrations.append(
                Registration(
                    name: e.name, kind: e.kind, supportEstablishment: e.supportEstablishment, position: recorded.position))
        case .groupMemberAdded(let e), .groupMemberRemoved(let e):
            var joined = false
            if case .groupMemberAdded = event { joined = true }
            changes.append(
                MembershipChange(
                    finess: e.finess, joined: joined, occurredAt: recorded.occurredAt, position: recorded.position,
                    eventId: recorded.eventId))
        default: break
        }
    }

    /// The group as recorded up to `position`, or nil when nothing of it was recorded by then.
    func knownAt(position: UInt64) -> EstablishmentGroup? {
        var group = EstablishmentGroup(id: id)
        group.registrations = registrations.filter { $0.position <= position }
        group.changes = changes.filter { $0.position <= position }
        return group.registrations.isEmpty && group.changes.isEmpty ? nil : group
    }

    /// Every membership period, by FINESS then start. `establishments` are the registrations known at the query's
    /// known-at time: those naming this group in `group` make undated members.
    public func memberships(establishments: [String: Establishment]) -> [Membership] {
        var periods: [Membership] = []
        let dated = Dictionary(grouping: changes, by: \.finess)
        for (finess, list) in dated {
            // In the order things happened; the recording order breaks ties.
            let ordered = list.sorted { ($0.occurredAt.earliest, $0.position) < ($1.occurredAt.earliest, $1.position) }
            var open: OccurredAt?
            // A site its registration names a member belongs from the start: its first leaving closes that.
            var undated = establishments[finess]?.group == id
            for change in ordered {
                if change.joined, open == nil {
                    open = change.occurredAt
                    undated = false
                } else if !change.joined, let since = open {
                    periods.append(Membership(finess: finess, since: since, until: change.occurredAt, byRegistration: false))
                    open = nil
                } else if !change.joined, undated {
                    periods.append(Membership(finess: finess, since: nil, until: change.occurredAt, byRegistration: true))
                    undated = false
                }
            }
            if let since = open {
                periods.append(Membership(finess: finess, since: since, until: nil, byRegistration: false))
            }
        }
        for (finess, establishment) in establishments where establishment.group == id && dated[finess] == nil {
            periods.append(Membership(finess: finess, since: nil, until: nil, byRegistration: true))
        }
        return periods.sorted { ($0.finess, $0.since?.earliest ?? .min) < ($1.finess, $1.since?.earliest ?? .min) }
    }

    /// The sites that belong to the group at the query's as-of time (now when it has none), by FINESS. A joining
    /// or leaving whose time is a window counts from the window's start, as a fact only possible by then does.
    public func members(at time: QueryTime, establishments: [String: Establishment]) -> [String] {
        let instant = time.reference
        let current = memberships(establishments: establishments).filter { period in
            (period.since.map { $0.isPossible(by: instant) } ?? true)
                && !(period.until.map { $0.isPossible(by: instant) } ?? false)
        }
        return Array(Set(current.map(\.finess))).sorted()
    }
}

/// The groups known at one query time, with each site's groups at that time: what `state` shows beside an
/// establishment's name.
public struct GroupDirectory: Sendable {
    public let groups: [String: EstablishmentGroup]
    /// For each FINESS, the groups it belongs to at the query's time, by id.
    public let groupsOf: [String: [EstablishmentGroup]]

    public static let empty = GroupDirectory(groups: [:], groupsOf: [:])

    init(groups: [String: EstablishmentGroup], groupsOf: [String: [EstablishmentGroup]]) {
        self.groups = groups
        self.groupsOf = groupsOf
    }

    package init(groups: [String: EstablishmentGroup], establishments: [String: Establishment], at time: QueryTime) {
        var groupsOf: [String: [EstablishmentGroup]] = [:]
        for group in groups.values.sorted(by: { $0.id < $1.id }) {
            for finess in group.members(at: time, establishments: establishments) { groupsOf[finess, default: []].append(group) }
        }
        self.init(groups: groups, groupsOf: groupsOf)
    }

    /// The groups of the establishments in `finess`, each once, by id.
    public func groups(of finess: [String]) -> [EstablishmentGroup] {
        var seen = Set<String>()
        return finess.flatMap { groupsOf[$0] ?? [] }.filter { seen.insert($0.id).inserted }.sorted { $0.id < $1.id }
    }
}

/// What `state --group` and `timeline --group` answer: the group, its members at the query's time, and the
/// incidents (or recovery timelines) touching them.
public struct GroupView<Item: Sendable>: Sendable {
    public let group: EstablishmentGroup
    /// The members at the query's time, by FINESS.
    public let members: [String]
    /// Every membership period, for the record.
    public let memberships: [EstablishmentGroup.Membership]
    /// The instant the members were read at (the as-of time, else when the query ran).
    public let reference: Int64
    public let items: [Item]

    package init(
        group: EstablishmentGroup, members: [String], memberships: [EstablishmentGroup.Membership], reference: Int64,
        items: [Item]
    ) {
        (self.group, self.members, self.memberships, self.reference, self.items) = (group, members, memberships, reference, items)
    }

    /// The same view with only the items `keep` admits.
    package func filtered(_ keep: (Item) -> Bool) -> GroupView {
        GroupView(group: group, members: members, memberships: memberships, reference: reference, items: items.filter(keep))
    }

    /// The periods that ended by the query's time: the sites that left.
    public var ended: [EstablishmentGroup.Membership] {
        memberships.filter { period in period.until.map { $0.isPossible(by: reference) } ?? false }
    }
}

/// The group views as text and JSON, for the CLI and the service alike.
public enum GroupViews {
    /// The group and its members: `group ght-44: GHT 44 (ght)` then the members at the query's time.
    package static func headerText<Item>(
        _ view: GroupView<Item>, names: [String: Establishment], _ m: Messages = .english
    ) -> String {
        let group = view.group
        let kind = group.kind.map { m.value($0, field: "kind") } ?? m("cli.group.notRegistered")
        var out = m("cli.group.heading", ["id": group.id, "name": group.name, "kind": kind]) + "\n"
        if let support = group.supportEstablishment {
            let name = names[support].map { "\($0.name) (\(support))" } ?? support
            out += "  " + m("cli.field", ["label": m("catalogue.field.supportEstablishment"), "text": name]) + "\n"
        }
        let members =
            view.members.isEmpty ? m("cli.group.noMember") : view.members.map { label($0, names) }.joined(separator: ", ")
        out += "  " + m("cli.field", ["label": m("cli.group.members"), "text": members]) + "\n"
        for period in view.ended {
            let until = TimelineRendering.describe(period.until!, m)
            let text =
                period.since.map { m("cli.group.period", ["since": TimelineRendering.describe($0, m), "until": until]) }
                ?? m("cli.group.until", ["until": until])
            out += "  " + m("cli.group.former", ["member": label(period.finess, names), "period": text]) + "\n"
        }
        return out
    }

    private static func label(_ finess: String, _ names: [String: Establishment]) -> String {
        names[finess].map { "\($0.name) (\(finess))" } ?? finess
    }

    /// The group, its members and membership periods in JSON.
    public static func groupJSON(
        _ group: EstablishmentGroup, members: [String], memberships: [EstablishmentGroup.Membership]
    ) -> [String: JSONValue] {
        [
            "group": .object([
                "id": .string(group.id), "name": .string(group.name), "kind": group.kind.map { .string($0) } ?? .null,
                "supportEstablishment": group.supportEstablishment.map { .string($0) } ?? .null,
            ]),
            "members": .array(members.map { .string($0) }),
            "memberships": .array(
                memberships.map { m in
                    .object([
                        "finess": .string(m.finess), "since": m.since?.json ?? .null, "until": m.until?.json ?? .null,
                        "byRegistration": .bool(m.byRegistration),
                    ])
                }),
        ]
    }

    /// `ledger state --group`: the group, then each incident's state as `ledger state` prints it.
    public static func stateText(
        _ view: GroupView<IncidentState>, names: [String: Establishment], groups: GroupDirectory, sources: Bool = false,
        language: Language = .english
    ) -> String {
        headerText(view, names: names, Messages.of(language)) + "\n"
            + (view.items.isEmpty
                ? Messages.of(language)("cli.group.noIncident") + "\n"
                : QueryViews.stateText(view.items, names: names, sources: sources, groups: groups, language: language))
    }

    /// `ledger state --group --format json`: `{"group", "members", "memberships", "incidents"}`.
    public static func stateJSON(_ view: GroupView<IncidentState>, groups: GroupDirectory) -> JSONValue {
        var m = groupJSON(view.group, members: view.members, memberships: view.memberships)
        m["incidents"] = .array(view.items.map { QueryViews.stateJSON($0, groups: groups) })
        return .object(m)
    }

    /// The timelines of `view` by incident, in incident order: each incident's member sites go on one chart.
    package static func byIncident(_ view: GroupView<RecoveryTimeline>) -> [[RecoveryTimeline]] {
        var order: [String] = []
        for timeline in view.items where !order.contains(timeline.incidentId) { order.append(timeline.incidentId) }
        return order.map { incident in view.items.filter { $0.incidentId == incident } }
    }

    /// `ledger timeline --group`: the group and its members, then one terminal chart per incident with the lanes
    /// of every member site it touches on a common time axis.
    public static func timelineText(
        _ view: GroupView<RecoveryTimeline>, names: [String: Establishment], width: Int, language: Language = .english
    ) -> String {
        let charts = byIncident(view).map { sites in
            TimelineRendering.terminal(
                sites, title: "\(view.group.name): \(sites[0].incidentTitle) [\(sites[0].incidentId)]", width: width,
                language: language)
        }
        return headerText(view, names: names, Messages.of(language)) + "\n"
            + (charts.isEmpty ? Messages.of(language)("cli.group.noIncident") + "\n" : charts.joined(separator: "\n"))
    }

    /// `ledger timeline --group --format svg`: one chart of the member sites in one incident, the first by id
    /// (filter the view to choose another); nil when no incident touches the members.
    public static func timelineSVG(_ view: GroupView<RecoveryTimeline>, language: Language = .english) -> String? {
        guard let sites = byIncident(view).first else { return nil }
        return TimelineRendering.svg(
            sites,
            title: Messages.of(language)(
                "chart.title.groupIncident", ["group": view.group.name, "incident": sites[0].incidentTitle]),
            language: language)
    }

    /// `ledger timeline --group --format json`: the chart's document for several sites (`reference`, `timelines`,
    /// one per member site and incident) with the group as an object, its members and membership periods.
    public static func timelineJSON(_ view: GroupView<RecoveryTimeline>) -> JSONValue {
        var m = TimelineRendering.json(group: view.group.name, timelines: view.items).objectValue ?? [:]
        m.merge(groupJSON(view.group, members: view.members, memberships: view.memberships)) { _, ours in ours }
        return .object(m)
    }

}

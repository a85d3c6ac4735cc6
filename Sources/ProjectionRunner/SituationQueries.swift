import EventStore
import IncidentDomain
import Projections

extension LedgerQueries {
    /// The situation report of `scope` at `time` (answered once, here, unless it was already): the incidents'
    /// states, the charts of their sites, their sources and every clock, all at the same instant.
    ///
    /// The scope's existence is the caller's to check (an unknown incident, establishment or group is an error
    /// to say, which the CLI and the service word each their own way); here an unknown one gives no incident.
    public func situationReport(
        _ scope: SituationReport.Scope, rules: [ObligationRule] = ObligationRules.defaultRules, at time: QueryTime
    ) throws -> SituationReport {
        let time = answered(time)
        let snapshot = try index()
        let names = establishments(snapshot, upTo: try position(at: time))
        // Each incident's state, and the sites its chart draws (nil: every establishment it names).
        var chosen: [(state: IncidentState, sites: [String]?)] = []
        var scopeName: String?
        switch scope {
        case .all:
            chosen = try states(at: time).map { ($0, nil) }
        case .incident(let id):
            chosen = try states(incident: id, at: time).map { ($0, nil) }
        case .establishment(let finess):
            let touching = try timelines(establishment: finess, at: time).map(\.incidentId)
            chosen = try touching.flatMap { try states(incident: $0, at: time) }.map { ($0, [finess]) }
        case .group(let id):
            guard let view = try states(group: id, at: time) else { break }
            scopeName = view.group.name
            let charted = try timelines(group: id, at: time)?.items ?? []
            chosen = view.items.map { state in
                (state, charted.filter { $0.incidentId == state.incidentId }.map(\.establishment))
            }
        }
        // The incident detected last first (the one the crisis cell is in), the index's order on a tie.
        func began(_ state: IncidentState) -> Int64 { (state.detectedAt ?? state.intrusion)?.occurredAt.earliest ?? .min }
        chosen = chosen.enumerated().sorted { a, b in
            let (x, y) = (began(a.element.state), began(b.element.state))
            return x != y ? x > y : a.offset < b.offset
        }.map(\.element)
        var clocks: [(incident: String, clocks: [ObligationClock])] = []
        var incidents: [SituationReport.Incident] = []
        for (state, sites) in chosen {
            let id = state.incidentId
            clocks += try deadlines(incident: id, rules: rules, at: time)
            let timelines = try (sites ?? state.establishments).flatMap { finess in
                try self.timelines(establishment: finess, at: time).filter { $0.incidentId == id }
            }
            let sources = try audit(AuditTrail.Filter(incident: id), at: time)
            incidents.append(SituationReport.Incident(state: state, timelines: timelines, sources: sources))
        }
        return SituationReport(
            scope: scope, scopeName: scopeName, time: time, board: DeadlineBoard(clocks, reference: time.reference),
            incidents: incidents, names: names, groups: try groupDirectory(at: time))
    }
}

import EventStore
import Foundation
import IncidentDomain

/// Where an incident stands.
public enum IncidentPhase: String, Sendable, Hashable, Comparable {
    case detected, contained, recovering, restored, closed

    private var rank: Int {
        switch self {
        case .detected: 0
        case .contained: 1
        case .recovering: 2
        case .restored: 3
        case .closed: 4
        }
    }
    public static func < (lhs: IncidentPhase, rhs: IncidentPhase) -> Bool { lhs.rank < rhs.rank }
}

/// A service's condition at one moment.
public struct ServiceCondition: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable {
        case down, degraded, partiallyRestored = "partially_restored", restored
    }
    public let establishment: String
    public let service: String
    public let status: Status
    /// The share still working, when known (degraded or partially restored).
    public let capacityPercent: Double?
    /// Since when (the fact's earliest instant), and whether it is only possible at the query's T.
    public let since: Timestamp
    public let possible: Bool
}

/// One fact in a view, with the time it happened and how sure that is at the query's T.
public struct FactSummary: Sendable, Hashable {
    public let eventId: UUID
    public let eventType: String
    public let occurredAt: OccurredAt
    public let possible: Bool
    /// A one-line description of the fact.
    public let summary: String
    public let corrected: Bool
}

/// The current state of one incident at a query time: the "current state" projection.
public struct IncidentState: Sendable, Hashable {
    public let incidentId: String
    public let title: String
    public let phase: IncidentPhase
    public let establishments: [String]
    public let intrusion: FactSummary?
    public let detectedAt: FactSummary?
    /// The first crisis cell activated.
    public let crisisCell: FactSummary?
    public let containedAt: FactSummary?
    public let closedAt: FactSummary?
    /// Services not (fully) working, by establishment then service.
    public let servicesNotNormal: [ServiceCondition]
    /// Services restored fully after an outage.
    public let servicesRestored: [ServiceCondition]
    /// The latest data-breach fact: suspected, confirmed or not found.
    public let dataBreach: [FactSummary]
    public let peopleAffected: Int?
    public let ransom: [FactSummary]
    public let claims: [FactSummary]
    public let complaints: [FactSummary]
    public let notifications: [FactSummary]
    public let investigations: [FactSummary]
    public let careImpacts: [FactSummary]
    public let personsNotified: [FactSummary]
    /// How many facts count at this time, and how many of them are only possible.
    public let factCount: Int
    public let possibleCount: Int

    /// Computes the state from an incident's facts at `time`. Pure.
    public static func compute(incidentId: String, facts: [Fact], at time: QueryTime) -> IncidentState {
        let admitted = facts.admitted(at: time)
        // The title names the incident whatever the as-of time: it is how people refer to it.
        let title = facts.incidentTitle() ?? incidentId
        var establishments: [String] = []
        var intrusion: FactSummary?, detected: FactSummary?, contained: FactSummary?, closed: FactSummary?
        var crisisCell: FactSummary?
        var services: [String: ServiceCondition] = [:]
        var everRestored = false
        var breach: [FactSummary] = [], ransom: [FactSummary] = [], claims: [FactSummary] = []
        var complaints: [FactSummary] = [], notifications: [FactSummary] = [], investigations: [FactSummary] = []
        var care: [FactSummary] = [], persons: [FactSummary] = []
        var peopleAffected: Int?
        for (fact, admission) in admitted {
            let summary = FactSummary(fact, possible: admission == .possible)
            for finess in fact.establishments where !establishments.contains(finess) { establishments.append(finess) }
            switch fact.event {
            case .incidentOpened: break
            case .intrusionStarted: intrusion = intrusion ?? summary
            case .attackDetected: detected = detected ?? summary
            case .containmentActionTaken: contained = contained ?? summary
            case .incidentClosed: closed = summary
            case .serviceDegraded(let e):
                services[e.establishment + "/" + e.service] = ServiceCondition(
                    establishment: e.establishment, service: e.service, status: e.status == "down" ? .down : .degraded,
                    capacityPercent: e.status == "down" ? 0 : e.capacityPercent, since: fact.occurredAt.start,
                    possible: admission == .possible)
            case .serviceRestored(let e):
                everRestored = true
                services[e.establishment + "/" + e.service] = ServiceCondition(
                    establishment: e.establishment, service: e.service,
                    status: e.extent == "full" ? .restored : .partiallyRestored,
                    capacityPercent: e.extent == "full" ? 100 : e.capacityPercent, since: fact.occurredAt.start,
                    possible: admission == .possible)
            case .exfiltrationSuspected, .exfiltrationNotFound, .breachRiskAssessed: breach.append(summary)
            case .exfiltrationConfirmed(let e):
                breach.append(summary)
                peopleAffected = e.peopleAffected ?? peopleAffected
            case .ransomDemanded, .ransomAbsent: ransom.append(summary)
            case .claimPublished: claims.append(summary)
            case .complaintFiled: complaints.append(summary)
            case .authorityNotified: notifications.append(summary)
            case .investigationOpened: investigations.append(summary)
            case .careImpactReported: care.append(summary)
            case .personsNotified: persons.append(summary)
            case .crisisCellActivated: crisisCell = crisisCell ?? summary
            case .noteAdded, .establishmentRegistered, .eventCorrected, .eventRetracted: break
            }
        }
        let ordered = services.values.sorted { ($0.establishment, $0.service) < ($1.establishment, $1.service) }
        let notNormal = ordered.filter { $0.status != .restored }
        let phase: IncidentPhase =
            closed != nil
            ? .closed
            : everRestored && notNormal.isEmpty
                ? .restored
                : everRestored
                    ? .recovering
                    : contained != nil ? .contained : .detected
        return IncidentState(
            incidentId: incidentId, title: title, phase: phase, establishments: establishments, intrusion: intrusion,
            detectedAt: detected, crisisCell: crisisCell, containedAt: contained, closedAt: closed, servicesNotNormal: notNormal,
            servicesRestored: ordered.filter { $0.status == .restored }, dataBreach: breach, peopleAffected: peopleAffected,
            ransom: ransom, claims: claims, complaints: complaints, notifications: notifications, investigations: investigations,
            careImpacts: care, personsNotified: persons, factCount: admitted.count,
            possibleCount: admitted.filter { $0.admission == .possible }.count)
    }
}

extension FactSummary {
    init(_ fact: Fact, possible: Bool) {
        self.init(
            eventId: fact.eventId, eventType: fact.eventType, occurredAt: fact.occurredAt, possible: possible,
            summary: FactSummary.describe(fact), corrected: fact.revisions.contains { $0.kind == .corrected })
    }

    /// The same summary, certain or only possible.
    func with(possible: Bool) -> FactSummary {
        FactSummary(
            eventId: eventId, eventType: eventType, occurredAt: occurredAt, possible: possible, summary: summary,
            corrected: corrected)
    }

    /// A one-line description built from the typed event.
    static func describe(_ fact: Fact) -> String {
        switch fact.event {
        case .establishmentRegistered(let e): return "\(e.name) (\(e.finess)) registered"
        case .incidentOpened(let e): return "incident opened: \(e.title)"
        case .intrusionStarted(let e): return "intrusion: \(e.description)"
        case .attackDetected(let e): return "detected: \(e.description)"
        case .crisisCellActivated(let e): return "crisis cell activated" + (e.level.map { " (\($0))" } ?? "")
        case .containmentActionTaken(let e): return "containment (\(e.action)): \(e.description)"
        case .serviceDegraded(let e):
            return "\(Services.label(e.service)) \(e.status)" + (e.capacityPercent.map { " (\(FigureText.of($0)) % working)" } ?? "")
        case .serviceRestored(let e):
            return "\(Services.label(e.service)) restored \(e.extent == "full" ? "fully" : "partially")"
                + (e.capacityPercent.map { " (\(FigureText.of($0)) %)" } ?? "")
        case .careImpactReported(let e):
            // Byte by byte: every timeline lists its care impacts, and Foundation's replacingOccurrences (through
            // NSString) took a third of a timeline query's time, the standard library's replacing a sixth.
            let kind = String(decoding: e.kind.utf8.map { $0 == UInt8(ascii: "_") ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
            return "care impact (\(kind)): \(e.description)"
        case .exfiltrationSuspected(let e): return "exfiltration suspected: \(e.description)"
        case .exfiltrationConfirmed(let e):
            return "exfiltration confirmed" + (e.peopleAffected.map { ": \($0) people" } ?? "") + " — \(e.description)"
        case .exfiltrationNotFound(let e): return "no exfiltration found: \(e.description)"
        case .breachRiskAssessed(let e): return "breach risk assessed (\(e.outcome)): \(e.reasons)"
        case .ransomDemanded(let e):
            return "ransom demanded" + (e.amount.map { ": \(FigureText.of($0)) \(e.currency ?? "")" } ?? "")
        case .ransomAbsent(let e): return "no ransom: \(e.description)"
        case .claimPublished(let e): return "claimed by \(e.attacker)"
        case .complaintFiled(let e): return "complaint filed with the \(e.filedWith) by \(e.filedBy)"
        case .authorityNotified(let e):
            return "\(e.authority) notified" + (e.kind.map { " (\($0))" } ?? "") + (e.reference.map { ", ref. \($0)" } ?? "")
        case .investigationOpened(let e): return "\(e.authority) opened an investigation"
        case .personsNotified(let e): return "people informed" + (e.count.map { ": \($0)" } ?? "") + " — \(e.description)"
        case .incidentClosed(let e): return "closed: \(e.summary)"
        case .noteAdded(let e): return "note: \(e.text)"
        case .eventCorrected: return "correction"
        case .eventRetracted: return "retraction"
        }
    }
}

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

/// One fact in a view, with the time it happened, how sure that is at the query's T, every field it
/// recorded, and where it came from.
public struct FactSummary: Sendable, Hashable {
    public let eventId: UUID
    public let eventType: String
    public let occurredAt: OccurredAt
    public let possible: Bool
    /// A one-line description of the fact.
    public let summary: String
    /// The payload as the view sees it: corrections and the updates that had happened by T applied.
    public let payload: JSONValue
    /// Provenance: who recorded it, when, from which source, at which position of the log.
    public let actor: String
    public let source: String
    public let recordedAt: Timestamp
    public let position: UInt64
    /// The corrections of the fact and the updates applied at T, in the order they were recorded.
    public let revisions: [Revision]

    /// Who claims its figures: `claimedBy`, else the source (as ``Fact/claimant``).
    public var claimant: String { payload["claimedBy"]?.stringValue ?? source }

    /// Whether a correction revised it.
    public var corrected: Bool { revisions.contains { $0.kind == .corrected } }

    /// Whether an update had changed a value by T.
    public var updated: Bool { revisions.contains { $0.kind == .updated } }

    /// Every recorded field, labelled, with its unit.
    public var fields: [FieldText] { FactFields.lines(eventType: eventType, payload: payload) }
}

/// Values of one figure (people affected, a ransom, a count of transfers at one hospital) as each claimant
/// gave it: side by side, never one replacing another. Competing when two claimants disagree.
public struct FigureClaims: Sendable, Hashable {
    /// What the figure counts, e.g. "people affected (data exfiltration confirmed)".
    public let figure: String
    /// The same figure for the same thing: event type, field, establishment and kind.
    public let key: String
    public let claims: [Claim]
    /// True when claimants give different values (an exact figure and a range count as different).
    public var competing: Bool { Set(claims.map(\.text)).count > 1 && Set(claims.map(\.claimant)).count > 1 }

    public struct Claim: Sendable, Hashable {
        /// The figure, or for a range its low end (its high end when only that is known).
        public let value: Double
        /// For a range (`amountMin`, `amountMax`): its ends as given; nil for an exact figure.
        public let low: Double?
        public let high: Double?
        /// The value with its unit: "2000000 USD", "between 1000000 and 2000000 USD", "at least 5".
        public let text: String
        public let claimant: String
        public let source: String
        public let actor: String
        public let eventId: UUID
        public let occurredAt: OccurredAt
        public let possible: Bool
    }
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
    /// Where the ransom stands (absent, demanded, unconfirmed, refused, paid); nil when no ransom fact counts.
    public let ransomStatus: RansomStatus?
    /// The crisis measures (plan blanc, degraded mode…), active or lifted, in the order they were triggered.
    public let crisisMeasures: [CrisisMeasureStatus]
    /// Outside support: ANSSI, CERT Santé, a regional CSIRT, a private provider.
    public let support: [FactSummary]
    public let claims: [FactSummary]
    public let complaints: [FactSummary]
    public let notifications: [FactSummary]
    /// Investigations of authorities and judicial investigations.
    public let investigations: [FactSummary]
    public let careImpacts: [FactSummary]
    public let personsNotified: [FactSummary]
    /// Every figure recorded (counts and amounts), with each claimant's value.
    public let figures: [FigureClaims]
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
        var ransomEvents: [IncidentEvent] = [], measures: [(fact: Fact, summary: FactSummary)] = [], support: [FactSummary] = []
        var peopleAffected: Int?
        var figures = FigureBook()
        for (fact, admission) in admitted {
            let summary = FactSummary(fact, possible: admission == .possible)
            figures.add(fact, possible: admission == .possible)
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
                    capacityPercent: e.status == "down" ? 0 : e.capacityPercent, since: fact.conditionSince,
                    possible: admission == .possible)
            case .serviceRestored(let e):
                everRestored = true
                services[e.establishment + "/" + e.service] = ServiceCondition(
                    establishment: e.establishment, service: e.service,
                    status: e.extent == "full" ? .restored : .partiallyRestored,
                    capacityPercent: e.extent == "full" ? 100 : e.capacityPercent, since: fact.conditionSince,
                    possible: admission == .possible)
            case .exfiltrationSuspected, .exfiltrationNotFound, .breachRiskAssessed: breach.append(summary)
            case .exfiltrationConfirmed(let e):
                breach.append(summary)
                peopleAffected = e.peopleAffected ?? peopleAffected
            case .ransomDemanded, .ransomAbsent, .ransomRefused, .ransomPaid:
                ransom.append(summary)
                ransomEvents.append(fact.event)
            case .crisisMeasureActivated, .crisisMeasureLifted: measures.append((fact, summary))
            case .supportDeployed: support.append(summary)
            case .judicialInvestigationOpened: investigations.append(summary)
            case .claimPublished: claims.append(summary)
            case .complaintFiled: complaints.append(summary)
            case .authorityNotified: notifications.append(summary)
            case .investigationOpened: investigations.append(summary)
            case .careImpactReported: care.append(summary)
            case .personsNotified: persons.append(summary)
            case .crisisCellActivated: crisisCell = crisisCell ?? summary
            case .noteAdded, .establishmentRegistered, .eventCorrected, .eventRetracted, .eventUpdated: break
            case .groupRegistered, .groupMemberAdded, .groupMemberRemoved: break
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
            ransom: ransom, ransomStatus: RansomStatus.derive(from: ransomEvents),
            crisisMeasures: CrisisMeasureStatus.fold(measures), support: support, claims: claims, complaints: complaints,
            notifications: notifications, investigations: investigations,
            careImpacts: care, personsNotified: persons, figures: figures.all, factCount: admitted.count,
            possibleCount: admitted.filter { $0.admission == .possible }.count)
    }
}

/// Gathers the figures of the facts of one view, by what they count.
struct FigureBook {
    private var order: [String] = []
    private var byKey: [String: (figure: String, claims: [FigureClaims.Claim])] = [:]

    mutating func add(_ fact: Fact, possible: Bool) {
        guard let spec = Catalogue.spec(for: fact.eventType), let members = fact.payload.objectValue else { return }
        let rangeEnds = Set(spec.ranges.flatMap { [$0.low, $0.high] })
        // Each figure: its field name (a range's low end without "Min": the figure it bounds), the value and the text.
        var found: [(name: String, value: Double, low: Double?, high: Double?, text: String)] = []
        for field in spec.fields where (field.kind == .count || field.kind == .amount) && !rangeEnds.contains(field.name) {
            guard let value = members[field.name]?.numberValue?.doubleValue else { continue }
            found.append((field.name, value, nil, nil, FactFields.text(members[field.name]!, field.kind, members)))
        }
        for range in spec.ranges {
            let low = members[range.low]?.numberValue?.doubleValue
            let high = members[range.high]?.numberValue?.doubleValue
            guard let value = low ?? high, let kind = spec.field(range.low)?.kind else { continue }
            func shown(_ end: String) -> String { FactFields.text(members[end]!, kind, members) }
            let text =
                switch (low, high) {
                case (.some, .some): "between \(FigureText.of(low!)) and \(shown(range.high))"
                case (.some, nil): "at least \(shown(range.low))"
                default: "at most \(shown(range.high))"
                }
            let name = range.low.hasSuffix("Min") ? String(range.low.dropLast(3)) : range.low
            found.append((name, value, low, high, text))
        }
        for (name, value, low, high, text) in found {
            let about = [members["establishment"]?.stringValue, members["kind"]?.stringValue].compactMap { $0 }
            let key = ([fact.eventType, name] + about).joined(separator: "/")
            let what = fact.eventType.replacingOccurrences(of: "_", with: " ").replacingOccurrences(of: ".", with: " ")
            let figure =
                FactFields.label(name) + " ("
                + ([what] + about.map { $0.replacingOccurrences(of: "_", with: " ") })
                .joined(separator: ", ") + ")"
            let claim = FigureClaims.Claim(
                value: value, low: low, high: high, text: text, claimant: fact.claimant, source: fact.source,
                actor: fact.actor, eventId: fact.eventId, occurredAt: fact.occurredAt, possible: possible)
            if byKey[key] == nil {
                order.append(key)
                byKey[key] = (figure, [])
            }
            // One claim per claimant: a later report of the same claimant states its figure anew.
            byKey[key]!.claims.removeAll { $0.claimant == claim.claimant }
            byKey[key]!.claims.append(claim)
        }
    }

    var all: [FigureClaims] {
        order.map { FigureClaims(figure: byKey[$0]!.figure, key: $0, claims: byKey[$0]!.claims) }
    }
}

extension FactSummary {
    init(_ fact: Fact, possible: Bool) {
        self.init(
            eventId: fact.eventId, eventType: fact.eventType, occurredAt: fact.occurredAt, possible: possible,
            summary: FactSummary.describe(fact), payload: fact.payload, actor: fact.actor, source: fact.source,
            recordedAt: fact.recordedAt,
            position: fact.position,
            revisions: fact.revisions.filter { $0.kind == .corrected } + fact.appliedUpdates)
    }

    /// The same summary, certain or only possible.
    func with(possible: Bool) -> FactSummary {
        FactSummary(
            eventId: eventId, eventType: eventType, occurredAt: occurredAt, possible: possible, summary: summary,
            payload: payload, actor: actor, source: source, recordedAt: recordedAt,
            position: position, revisions: revisions)
    }

    /// "corrected: count 3 → 12; updated from 2024-02-01 (day): amount 10000000 USD → 2000000 USD", or "".
    package var revisionText: String { revisionText(.english) }

    /// The same in `m`'s language (the values as recorded, the fields' labels and the dates in its words).
    package func revisionText(_ m: Messages) -> String {
        revisions.map { revision in
            let what = revision.changedFields.map { field in
                let before = FactFields.text(
                    of: field, eventType: eventType, value: revision.before[field], payload: payload, m)
                let after = FactFields.text(of: field, eventType: eventType, value: revision.after[field], payload: payload, m)
                return "\(FactFields.label(field, m)) \(before) → \(after)"
            }.joined(separator: ", ")
            switch revision.kind {
            case .updated:
                guard let effective = revision.effective else {
                    return m("cli.field", ["label": m("cli.revision.updated"), "text": what])
                }
                return m("cli.revision.updatedFrom", ["time": TimelineRendering.describe(effective, m), "what": what])
            default: return m("cli.field", ["label": m("cli.revision.\(revision.kind.rawValue)"), "text": what])
            }
        }.joined(separator: "; ")
    }

    /// A one-line description built from the typed event, in English: the stored ``summary``.
    static func describe(_ fact: Fact) -> String { describe(fact.event, .english) }
}

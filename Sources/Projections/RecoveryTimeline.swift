import EventStore
import Foundation
import IncidentDomain

/// How one service of one establishment went through an incident: the per-hospital recovery timeline.
public struct ServiceLane: Sendable, Hashable {
    /// One stretch of time in one condition. `end` nil: still so at the query's T.
    public struct Segment: Sendable, Hashable {
        public let status: ServiceCondition.Status
        public let capacityPercent: Double?
        public let start: Timestamp
        public let end: Timestamp?
        /// The start's uncertainty: the window of the fact that began the segment (a day, an interval).
        public let startWindowEnd: Int64
        /// True when the fact that began it is only possible at T.
        public let possible: Bool
    }
    public let service: String
    public let segments: [Segment]

    /// Closes the open segment of `lane` where `segment` starts and appends `segment`; returns the status the
    /// lane was in before.
    static func append(_ segment: Segment, to lane: inout [Segment]) -> ServiceCondition.Status? {
        guard let last = lane.last else {
            lane.append(segment)
            return nil
        }
        if last.end == nil {
            lane[lane.count - 1] = Segment(
                status: last.status, capacityPercent: last.capacityPercent, start: last.start, end: segment.start,
                startWindowEnd: last.startWindowEnd, possible: last.possible)
        }
        lane.append(segment)
        return last.status
    }

    /// Hours spent down, and degraded or partially restored, up to `until` for an open segment.
    public func hours(until: Int64) -> (down: Double, degraded: Double) {
        var down = 0.0
        var degraded = 0.0
        for segment in segments {
            let end = segment.end?.microseconds ?? until
            let hours = Double(max(0, end - segment.start.microseconds)) / 3_600_000_000
            switch segment.status {
            case .down: down += hours
            case .degraded, .partiallyRestored: degraded += hours
            case .restored: break
            }
        }
        return (down, degraded)
    }
}

/// A dated milestone of the recovery.
public struct Milestone: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case intrusion, detection, containment, firstPartialRestoration = "first_partial_restoration"
        case fullRestoration = "full_restoration"
    }
    public let kind: Kind
    public let occurredAt: OccurredAt
    public let possible: Bool
}

/// An establishment's recovery through one incident: lanes per service, milestones and metrics.
public struct RecoveryTimeline: Sendable, Hashable {
    public let establishment: String
    public let establishmentName: String
    public let incidentId: String
    public let incidentTitle: String
    public let lanes: [ServiceLane]
    public let milestones: [Milestone]
    public let careImpacts: [FactSummary]
    /// The instant the view was computed for (the query's T, or now).
    public let reference: Int64
    public let metrics: Metrics

    public struct Metrics: Sendable, Hashable {
        public let hoursToContainment: Double?
        public let hoursToFirstPartialRestoration: Double?
        public let hoursToFullRestoration: Double?
        /// Hours each service spent down and degraded.
        public let serviceHours: [String: (down: Double, degraded: Double)]

        public static func == (lhs: Metrics, rhs: Metrics) -> Bool {
            lhs.hoursToContainment == rhs.hoursToContainment
                && lhs.hoursToFirstPartialRestoration == rhs.hoursToFirstPartialRestoration
                && lhs.hoursToFullRestoration == rhs.hoursToFullRestoration
                && lhs.serviceHours.keys == rhs.serviceHours.keys
                && lhs.serviceHours.allSatisfy { rhs.serviceHours[$0.key]! == $0.value }
        }
        public func hash(into hasher: inout Hasher) {
            hasher.combine(hoursToContainment)
            hasher.combine(hoursToFirstPartialRestoration)
            hasher.combine(hoursToFullRestoration)
            hasher.combine(serviceHours.keys.sorted())
        }
    }

    /// Computes the timeline of `establishment` in one incident at `time`. Pure.
    public static func compute(
        establishment: Establishment?, finess: String, incidentId: String, facts: [Fact], at time: QueryTime
    ) -> RecoveryTimeline {
        compute(establishment: establishment, incidentId: incidentId, from: RecoveryFacts(facts, finess: finess), at: time)
    }

    /// Computes the timeline at `time` from the incident's facts already read for the establishment.
    static func compute(
        establishment: Establishment?, incidentId: String, from recovery: RecoveryFacts, at time: QueryTime
    ) -> RecoveryTimeline {
        let finess = recovery.finess
        let reference = time.reference
        // The title names the incident whatever the as-of time: it is how people refer to it.
        let title = recovery.title ?? incidentId
        var lanes: [String: [ServiceLane.Segment]] = [:]
        // Lanes whose last segment is not `restored`: all services are back when none is left.
        var lanesNotRestored = 0
        var milestones: [Milestone.Kind: Milestone] = [:]
        var care: [FactSummary] = []
        var everRestored = false
        func mark(_ kind: Milestone.Kind, _ change: RecoveryFacts.Change, _ admission: Admission, replace: Bool = false) {
            if milestones[kind] == nil || replace {
                milestones[kind] = Milestone(kind: kind, occurredAt: change.occurredAt, possible: admission == .possible)
            }
        }
        func open(
            _ service: String, _ status: ServiceCondition.Status, _ capacity: Double?, _ change: RecoveryFacts.Change,
            _ admission: Admission
        ) {
            let occurred = change.occurredAt
            // One lookup, and the lane changed in place: copying it out and back for every change made long
            // incidents quadratic, and hashing the service for each access cost a tenth of a query.
            let previous = ServiceLane.append(
                ServiceLane.Segment(
                    status: status, capacityPercent: capacity, start: occurred.start, end: nil,
                    startWindowEnd: occurred.latest, possible: admission == .possible),
                to: &lanes[service, default: []])
            if let previous, previous != .restored { lanesNotRestored -= 1 }
            if status != .restored { lanesNotRestored += 1 }
        }
        for change in recovery.changes {
            let admission = time.admits(occurredAt: change.occurredAt)
            guard admission != .excluded else { continue }
            switch change.kind {
            case .milestone(let kind): mark(kind, change, admission)
            case .degraded(let service, let status, let capacity): open(service, status, capacity, change, admission)
            case .restored(let service, let status, let capacity):
                open(service, status, capacity, change, admission)
                if !everRestored { mark(.firstPartialRestoration, change, admission) }
                everRestored = true
                // Full restoration: the moment the last service not working fully came back.
                if lanesNotRestored == 0 {
                    mark(.fullRestoration, change, admission, replace: true)
                } else {
                    milestones[.fullRestoration] = nil
                }
            case .care(let index): care.append(recovery.careImpacts[index].with(possible: admission == .possible))
            }
        }
        let serviceLanes = lanes.keys.sorted().map { ServiceLane(service: $0, segments: lanes[$0]!) }
        let start = milestones[.detection]?.occurredAt.start.microseconds
        func hoursSinceDetection(_ kind: Milestone.Kind) -> Double? {
            guard let start, let at = milestones[kind]?.occurredAt.start.microseconds else { return nil }
            return Double(at - start) / 3_600_000_000
        }
        var serviceHours: [String: (down: Double, degraded: Double)] = [:]
        for lane in serviceLanes { serviceHours[lane.service] = lane.hours(until: reference) }
        return RecoveryTimeline(
            establishment: finess, establishmentName: establishment?.name ?? finess, incidentId: incidentId, incidentTitle: title,
            lanes: serviceLanes, milestones: Milestone.Kind.allCases.compactMap { milestones[$0] }, careImpacts: care,
            reference: reference,
            metrics: Metrics(
                hoursToContainment: hoursSinceDetection(.containment),
                hoursToFirstPartialRestoration: hoursSinceDetection(.firstPartialRestoration),
                hoursToFullRestoration: hoursSinceDetection(.fullRestoration), serviceHours: serviceHours))
    }
}

/// An incident's facts as they bear on one establishment's recovery, read once whatever the time: the title,
/// and, in the order things happened, the facts not retracted that can count for its timeline, each reduced to
/// what the timeline takes from it. A timeline at any time is then a filter and a fold over these, and
/// ``LedgerQueries`` keeps them by incident version: reading the typed events and describing the care impacts
/// of thousands of facts for every query was most of its time.
struct RecoveryFacts: Sendable {
    struct Change: Sendable {
        enum Kind: Sendable {
            /// Intrusion, detection or containment.
            case milestone(Milestone.Kind)
            case degraded(service: String, status: ServiceCondition.Status, capacityPercent: Double?)
            case restored(service: String, status: ServiceCondition.Status, capacityPercent: Double?)
            /// A care impact: its summary (as if certain) is `careImpacts[index]`, apart so that changes stay small to copy.
            case care(index: Int)
        }
        let kind: Kind
        let occurredAt: OccurredAt
    }
    let finess: String
    /// The title of the incident's opening, if any.
    let title: String?
    /// Whether a fact not retracted names the establishment.
    let namesEstablishment: Bool
    let changes: [Change]
    let careImpacts: [FactSummary]

    init(_ facts: [Fact], finess: String) {
        self.finess = finess
        title = facts.incidentTitle()
        var names = false
        var found: [Change] = []
        var care: [FactSummary] = []
        // Where each change falls in the order views fold facts in (`admitted(at:)`): earliest instant, then position.
        var order: [(earliest: Int64, position: UInt64)] = []
        func concernsUs(_ fact: Fact) -> Bool {
            let named = fact.establishments
            return named.isEmpty || named.contains(finess)
        }
        for fact in facts where !fact.isRetracted {
            if !names, fact.establishments.contains(finess) { names = true }
            let kind: Change.Kind
            switch fact.event {
            case .intrusionStarted: kind = .milestone(.intrusion)
            case .attackDetected where concernsUs(fact): kind = .milestone(.detection)
            case .containmentActionTaken where concernsUs(fact): kind = .milestone(.containment)
            case .serviceDegraded(let e) where e.establishment == finess:
                let down = e.status == "down"
                kind = .degraded(
                    service: e.service, status: down ? .down : .degraded, capacityPercent: down ? 0 : e.capacityPercent)
            case .serviceRestored(let e) where e.establishment == finess:
                let full = e.extent == "full"
                kind = .restored(
                    service: e.service, status: full ? .restored : .partiallyRestored,
                    capacityPercent: full ? 100 : e.capacityPercent)
            case .careImpactReported(let e) where e.establishment == finess:
                kind = .care(index: care.count)
                care.append(FactSummary(fact, possible: false))
            default: continue
            }
            found.append(Change(kind: kind, occurredAt: fact.occurredAt))
            order.append((fact.occurredAt.earliest, fact.position))
        }
        namesEstablishment = names
        careImpacts = care
        // Queries pass facts already in that order, which needs no sort; else the indices are sorted, not the changes.
        let inOrder = zip(order, order.dropFirst()).allSatisfy { $0 < $1 }
        changes = inOrder ? found : found.indices.sorted { order[$0] < order[$1] }.map { found[$0] }
    }
}

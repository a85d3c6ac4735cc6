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
        let admitted = facts.admitted(at: time)
        let reference = time.reference
        // The title names the incident whatever the as-of time: it is how people refer to it.
        let title = facts.incidentTitle() ?? incidentId
        var lanes: [String: [ServiceLane.Segment]] = [:]
        var milestones: [Milestone.Kind: Milestone] = [:]
        var care: [FactSummary] = []
        var everRestored = false
        func mark(_ kind: Milestone.Kind, _ fact: Fact, _ admission: Admission, replace: Bool = false) {
            if milestones[kind] == nil || replace {
                milestones[kind] = Milestone(kind: kind, occurredAt: fact.occurredAt, possible: admission == .possible)
            }
        }
        // Lanes whose last segment is not `restored`: all services are back when none is left.
        var lanesNotRestored = 0
        func open(_ service: String, _ status: ServiceCondition.Status, _ capacity: Double?, _ fact: Fact, _ admission: Admission)
        {
            let occurred = fact.occurredAt
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
        let concernsUs = { (fact: Fact) in fact.establishments.isEmpty || fact.establishments.contains(finess) }
        for (fact, admission) in admitted {
            switch fact.event {
            case .incidentOpened: break
            case .intrusionStarted: mark(.intrusion, fact, admission)
            case .attackDetected where concernsUs(fact): mark(.detection, fact, admission)
            case .containmentActionTaken where concernsUs(fact): mark(.containment, fact, admission)
            case .serviceDegraded(let e) where e.establishment == finess:
                open(
                    e.service, e.status == "down" ? .down : .degraded, e.status == "down" ? 0 : e.capacityPercent, fact, admission
                )
            case .serviceRestored(let e) where e.establishment == finess:
                let full = e.extent == "full"
                open(e.service, full ? .restored : .partiallyRestored, full ? 100 : e.capacityPercent, fact, admission)
                if !everRestored { mark(.firstPartialRestoration, fact, admission) }
                everRestored = true
                // Full restoration: the moment the last service not working fully came back.
                if lanesNotRestored == 0 { mark(.fullRestoration, fact, admission, replace: true) } else { milestones[.fullRestoration] = nil }
            case .careImpactReported(let e) where e.establishment == finess:
                care.append(FactSummary(fact, possible: admission == .possible))
            default: break
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

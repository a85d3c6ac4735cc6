import EventStore
import Foundation
import IncidentDomain

/// A duration known only within bounds: the instants it runs between are known only within windows (a day, a
/// month, "during the night"), so it is at least `shortest` and at most `longest`. Both ends are equal when both
/// instants are exact.
///
/// An instant known to the minute counts as that minute's first instant: a minute is how times are typed, not an
/// uncertainty (the charts do not hatch it either). A fact only possible at the query's T counts as happening by T
/// at the latest: its window is cut at T.
public struct HoursRange: Sendable, Hashable {
    /// The shortest and the longest the duration can be, in microseconds (0 ≤ shortest ≤ longest).
    public let shortestMicroseconds: Int64
    public let longestMicroseconds: Int64

    package init(shortestMicroseconds: Int64, longestMicroseconds: Int64) {
        self.shortestMicroseconds = max(0, shortestMicroseconds)
        self.longestMicroseconds = max(self.shortestMicroseconds, longestMicroseconds)
    }

    package static let zero = HoursRange(shortestMicroseconds: 0, longestMicroseconds: 0)

    /// The time from something that happened within `from` to something that happened within `to`: at least from
    /// the latest of the first to the earliest of the second, at most from the earliest of the first to the latest
    /// of the second. Never negative: a later fact whose window starts before the earlier one's gives 0.
    init(from: InstantWindow, to: InstantWindow) {
        self.init(shortestMicroseconds: to.earliest - from.latest, longestMicroseconds: to.latest - from.earliest)
    }

    /// The shortest, in hours.
    public var shortest: Double { Double(shortestMicroseconds) / 3_600_000_000 }
    /// The longest, in hours.
    public var longest: Double { Double(longestMicroseconds) / 3_600_000_000 }
    /// True when the duration is known exactly (both ends equal).
    public var isExact: Bool { shortestMicroseconds == longestMicroseconds }

    /// Two durations one after the other: the shortest and the longest add up.
    package static func + (lhs: HoursRange, rhs: HoursRange) -> HoursRange {
        // Saturating: durations of facts stored at the ends of the supported years must not trap.
        func add(_ a: Int64, _ b: Int64) -> Int64 {
            let (sum, overflow) = a.addingReportingOverflow(b)
            return overflow ? (b > 0 ? .max : .min) : sum
        }
        return HoursRange(
            shortestMicroseconds: add(lhs.shortestMicroseconds, rhs.shortestMicroseconds),
            longestMicroseconds: add(lhs.longestMicroseconds, rhs.longestMicroseconds))
    }
}

/// Where an instant may lie, as the durations read it: `[earliest, latest]` in microseconds since the epoch.
struct InstantWindow: Sendable, Hashable {
    let earliest: Int64
    let latest: Int64

    /// The window of `occurred`, cut at `reference` when the fact is only possible then (it happened by T if it
    /// happened at all), and a minute read as its first instant.
    init(_ occurred: OccurredAt, possible: Bool, reference: Int64) {
        earliest = occurred.earliest
        var latest = occurred.latest - occurred.earliest <= 60_000_000 ? occurred.earliest : occurred.latest
        if possible { latest = max(earliest, min(latest, reference)) }
        self.latest = latest
    }

    init(earliest: Int64, latest: Int64) {
        self.earliest = earliest
        self.latest = latest
    }

    /// An exact instant (the query's T for a segment still open).
    init(exactly instant: Int64) {
        earliest = instant
        latest = instant
    }
}

/// How one service of one establishment went through an incident: the per-hospital recovery timeline.
public struct ServiceLane: Sendable, Hashable {
    /// One stretch of time in one condition. `endedAt` nil: still so at the query's T.
    public struct Segment: Sendable, Hashable {
        public let status: ServiceCondition.Status
        public let capacityPercent: Double?
        /// When the fact that began the segment happened, as precisely as it is known (a day, an interval).
        public let startedAt: OccurredAt
        /// When the fact that ended it (the one that began the next segment) happened; nil while it lasts.
        public let endedAt: OccurredAt?
        /// True when the fact that began it is only possible at T.
        public let possible: Bool
        /// True when the fact that ended it is only possible at T.
        public let endPossible: Bool

        package init(
            status: ServiceCondition.Status, capacityPercent: Double?, startedAt: OccurredAt, endedAt: OccurredAt? = nil,
            possible: Bool, endPossible: Bool = false
        ) {
            self.status = status
            self.capacityPercent = capacityPercent
            self.startedAt = startedAt
            self.endedAt = endedAt
            self.possible = possible
            self.endPossible = endPossible
        }

        /// The earliest the segment may have begun.
        public var start: Timestamp { startedAt.start }
        /// The earliest it may have ended; nil while it lasts.
        public var end: Timestamp? { endedAt?.start }
        /// The latest it may have begun (the end of its start's window).
        public var startWindowEnd: Int64 { startedAt.latest }
        /// The latest it may have ended; nil while it lasts.
        public var endWindowEnd: Int64? { endedAt?.latest }
        /// True when its start is known only within a window wider than a minute (charts hatch it).
        public var startIsUncertain: Bool { startedAt.latest - startedAt.earliest > 60_000_000 }

        /// How long it lasted, as a range; an open segment runs to `reference`.
        package func hours(until reference: Int64) -> HoursRange {
            HoursRange(
                from: InstantWindow(startedAt, possible: possible, reference: reference),
                to: endedAt.map { InstantWindow($0, possible: endPossible, reference: reference) }
                    ?? InstantWindow(exactly: reference))
        }
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
        if last.endedAt == nil {
            lane[lane.count - 1] = Segment(
                status: last.status, capacityPercent: last.capacityPercent, startedAt: last.startedAt,
                endedAt: segment.startedAt, possible: last.possible, endPossible: segment.possible)
        }
        lane.append(segment)
        return last.status
    }

    /// Hours spent down, and degraded or partially restored, up to `until` for an open segment, as ranges.
    ///
    /// Consecutive segments of one kind (degraded then partially restored, or down twice) are one stretch: the
    /// uncertainty of the fact between them does not count twice.
    package func hours(until reference: Int64) -> ServiceHours {
        var down = HoursRange.zero
        var degraded = HoursRange.zero
        var index = 0
        while index < segments.count {
            let first = segments[index]
            let kind = ServiceHours.kind(first.status)
            var last = first
            while index + 1 < segments.count, ServiceHours.kind(segments[index + 1].status) == kind {
                index += 1
                last = segments[index]
            }
            index += 1
            guard let kind else { continue }
            let stretch = HoursRange(
                from: InstantWindow(first.startedAt, possible: first.possible, reference: reference),
                to: last.endedAt.map { InstantWindow($0, possible: last.endPossible, reference: reference) }
                    ?? InstantWindow(exactly: reference))
            if kind == .down { down = down + stretch } else { degraded = degraded + stretch }
        }
        return ServiceHours(down: down, degraded: degraded)
    }
}

/// The time one service spent down, and degraded or partially restored.
public struct ServiceHours: Sendable, Hashable {
    public let down: HoursRange
    public let degraded: HoursRange

    /// What a status counts as: down, degraded (partially restored included), or nothing (restored).
    static func kind(_ status: ServiceCondition.Status) -> ServiceCondition.Status? {
        switch status {
        case .down: .down
        case .degraded, .partiallyRestored: .degraded
        case .restored: nil
        }
    }
}

/// A dated milestone of the recovery: a step of the recovery itself, or a fact of a type the catalogue marks as a
/// milestone (``EventTypeSpec/milestone``: a notification, a complaint, a data theft).
public struct Milestone: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case intrusion, detection, containment, firstPartialRestoration, fullRestoration
        /// The first fact of `eventType` with this value of the field that tells its milestones apart (`detail`: the
        /// authority notified; for an `OTHER` authority its name), nil when the catalogue names no such field or
        /// the fact leaves it out.
        case fact(eventType: String, detail: String?)

        /// The steps of the recovery, in the order they come.
        public static let recovery: [Kind] = [.intrusion, .detection, .containment, .firstPartialRestoration, .fullRestoration]

        /// `detection`, `first_partial_restoration`…, or the event type of a fact (`authority.notified`).
        public var rawValue: String {
            switch self {
            case .intrusion: "intrusion"
            case .detection: "detection"
            case .containment: "containment"
            case .firstPartialRestoration: "first_partial_restoration"
            case .fullRestoration: "full_restoration"
            case .fact(let eventType, _): eventType
            }
        }

        /// Where it goes among milestones at the same time: the recovery's steps first, in their order.
        var rank: Int { Self.recovery.firstIndex(of: self) ?? Self.recovery.count }

        /// The milestone a fact makes, if its type is one the catalogue marks.
        static func of(_ fact: Fact) -> Kind? {
            guard let mark = Catalogue.spec(for: fact.eventType)?.milestone else { return nil }
            let value = mark.distinguishedBy.flatMap { fact.payload[$0]?.stringValue }
            // An authority or body the catalogue has no code for is told apart by the name recorded.
            let detail = value == "OTHER" ? fact.payload["name"]?.stringValue ?? value : value
            return .fact(eventType: fact.eventType, detail: detail)
        }
    }
    public let kind: Kind
    public let occurredAt: OccurredAt
    public let possible: Bool

    /// Milestones in the order charts list them: by their earliest instant, the recovery's steps first at one time.
    static func precedes(_ a: Milestone, _ b: Milestone) -> Bool {
        (a.occurredAt.earliest, a.kind.rank, a.kind.rawValue, a.kind.detail ?? "")
            < (b.occurredAt.earliest, b.kind.rank, b.kind.rawValue, b.kind.detail ?? "")
    }
}

extension Milestone.Kind {
    /// The value that tells a fact milestone apart (the authority), nil for the recovery's steps.
    public var detail: String? {
        if case .fact(_, let detail) = self { return detail }
        return nil
    }
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

    /// The recovery's durations, each a range when the instants it runs between are known only within windows.
    public struct Metrics: Sendable, Hashable {
        /// From detection to the first containment action.
        public let hoursToContainment: HoursRange?
        /// From detection to the first restoration, partial or full, of any service.
        public let hoursToFirstPartialRestoration: HoursRange?
        /// From detection to the moment the last service not working fully came back.
        public let hoursToFullRestoration: HoursRange?
        /// Hours each service spent down and degraded.
        public let serviceHours: [String: ServiceHours]
    }

    /// Computes the timeline of `establishment` in one incident at `time`. Pure.
    public static func compute(
        establishment: Establishment?, finess: String, incidentId: String, facts: [Fact], at time: QueryTime
    ) -> RecoveryTimeline {
        compute(establishment: establishment, incidentId: incidentId, from: RecoveryFacts(facts, finess: finess), at: time)
    }

    /// Computes the timeline at `time` from the incident's facts already read for the establishment.
    package static func compute(
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
        // Where each care impact is in `care`, by event id: a later version replaces it in one step.
        var careIndex: [UUID: Int] = [:]
        var everRestored = false
        // The first restoration happened by the earliest of the restorations' latest instants, whichever came first.
        var firstRestorationLatest = Int64.max
        func mark(_ kind: Milestone.Kind, _ change: RecoveryFacts.Change, _ admission: Admission, replace: Bool = false) {
            if milestones[kind] == nil || replace {
                milestones[kind] = Milestone(kind: kind, occurredAt: change.occurredAt, possible: admission == .possible)
            }
        }
        func open(
            _ service: String, _ status: ServiceCondition.Status, _ capacity: Double?, _ change: RecoveryFacts.Change,
            _ admission: Admission
        ) {
            // One lookup, and the lane changed in place: copying it out and back for every change made long
            // incidents quadratic, and hashing the service for each access cost a tenth of a query.
            let previous = ServiceLane.append(
                ServiceLane.Segment(
                    status: status, capacityPercent: capacity, startedAt: change.occurredAt, possible: admission == .possible),
                to: &lanes[service, default: []])
            if let previous, previous != .restored { lanesNotRestored -= 1 }
            if status != .restored { lanesNotRestored += 1 }
        }
        for change in recovery.changes {
            let admission = time.admits(occurredAt: change.occurredAt)
            guard admission != .excluded else { continue }
            switch change.kind {
            case .milestone(let kind): mark(kind, change, admission)
            case .degraded(let service, let status, let capacity):
                open(service, status, capacity, change, admission)
                // A service down again after everything was back: not fully restored any more.
                milestones[.fullRestoration] = nil
            case .restored(let service, let status, let capacity):
                open(service, status, capacity, change, admission)
                if !everRestored { mark(.firstPartialRestoration, change, admission) }
                everRestored = true
                firstRestorationLatest = min(
                    firstRestorationLatest,
                    InstantWindow(change.occurredAt, possible: admission == .possible, reference: reference).latest)
                // Full restoration: the moment the last service not working fully came back.
                if lanesNotRestored == 0 {
                    mark(.fullRestoration, change, admission, replace: true)
                } else {
                    milestones[.fullRestoration] = nil
                }
            case .care(let index):
                // An update's version of a care impact replaces the version before it, in its place.
                let impact = recovery.careImpacts[index].with(possible: admission == .possible)
                if let place = careIndex[impact.eventId] {
                    care[place] = impact
                } else {
                    careIndex[impact.eventId] = care.count
                    care.append(impact)
                }
            }
        }
        let serviceLanes = lanes.keys.sorted().map { ServiceLane(service: $0, segments: lanes[$0]!) }
        func window(_ kind: Milestone.Kind) -> InstantWindow? {
            milestones[kind].map { InstantWindow($0.occurredAt, possible: $0.possible, reference: reference) }
        }
        var windows: [Milestone.Kind: InstantWindow] = [:]
        for kind in [Milestone.Kind.detection, .containment] { windows[kind] = window(kind) }
        if let first = window(.firstPartialRestoration) {
            windows[.firstPartialRestoration] = InstantWindow(
                earliest: first.earliest, latest: max(first.earliest, min(first.latest, firstRestorationLatest)))
        }
        // Every service was back once the last of their final restorations happened: the milestone is the one
        // that may have come first, but another lane's may be known less precisely and end later.
        if let full = window(.fullRestoration) {
            let latest = serviceLanes.compactMap { lane in
                lane.segments.last.map { InstantWindow($0.startedAt, possible: $0.possible, reference: reference).latest }
            }
            windows[.fullRestoration] = InstantWindow(earliest: full.earliest, latest: max(full.latest, latest.max() ?? 0))
        }
        func sinceDetection(_ kind: Milestone.Kind) -> HoursRange? {
            guard let start = windows[.detection], let at = windows[kind] else { return nil }
            return HoursRange(from: start, to: at)
        }
        var serviceHours: [String: ServiceHours] = [:]
        for lane in serviceLanes { serviceHours[lane.service] = lane.hours(until: reference) }
        return RecoveryTimeline(
            establishment: finess, establishmentName: establishment?.name ?? finess, incidentId: incidentId, incidentTitle: title,
            lanes: serviceLanes,
            milestones: Milestone.Kind.recovery.compactMap { milestones[$0] }
                + milestones.values.filter { $0.kind.rank == Milestone.Kind.recovery.count }.sorted(by: Milestone.precedes),
            careImpacts: care,
            reference: reference,
            metrics: Metrics(
                hoursToContainment: sinceDetection(.containment),
                hoursToFirstPartialRestoration: sinceDetection(.firstPartialRestoration),
                hoursToFullRestoration: sinceDetection(.fullRestoration), serviceHours: serviceHours))
    }
}

/// An incident's facts as they bear on one establishment's recovery, read once whatever the time: the title,
/// and, in the order things happened, the facts not retracted that can count for its timeline, each reduced to
/// what the timeline takes from it. A timeline at any time is then a filter and a fold over these, and the
/// runner's `LedgerQueries` keeps them by incident version: reading the typed events and describing the care
/// impacts of thousands of facts for every query was most of its time.
package struct RecoveryFacts: Sendable {
    struct Change: Sendable {
        enum Kind: Sendable {
            /// Intrusion, detection, containment, or a fact the catalogue marks as a milestone.
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
    package let namesEstablishment: Bool
    let changes: [Change]
    let careImpacts: [FactSummary]

    package init(_ facts: [Fact], finess: String) {
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
        // A fact, then each update of it as a change of its own at the update's time: a capacity that changed
        // in the world starts a new segment there; a care impact's later figures replace its earlier ones.
        var versions: [(fact: Fact, occurredAt: OccurredAt, position: UInt64, isUpdate: Bool)] = []
        // The lane a service fact opens, and when: an update of a fact whose lane a later fact already moved on
        // changes nothing there (a restoration ended the degradation it would revise).
        func lane(_ fact: Fact) -> String? {
            switch fact.event {
            case .serviceDegraded(let e): e.establishment + "/" + e.service
            case .serviceRestored(let e): e.establishment + "/" + e.service
            default: nil
            }
        }
        // Only needed for updates, which most incidents have none of: built on the first one.
        var laneStarts: [String: [(earliest: Int64, position: UInt64)]]?
        func starts() -> [String: [(earliest: Int64, position: UInt64)]] {
            if let laneStarts { return laneStarts }
            var built: [String: [(earliest: Int64, position: UInt64)]] = [:]
            for fact in facts where !fact.isRetracted {
                if let key = lane(fact) { built[key, default: []].append((fact.occurredAt.earliest, fact.position)) }
            }
            laneStarts = built
            return built
        }
        for fact in facts where !fact.isRetracted {
            versions.append((fact, fact.occurredAt, fact.position, false))
            guard fact.hasUpdates else { continue }
            let updates = fact.revisions.filter { $0.kind == .updated && $0.effective != nil }
                .sorted { ($0.effective!.earliest, $0.position) < ($1.effective!.earliest, $1.position) }
            let key = lane(fact)
            let own = (fact.occurredAt.earliest, fact.position)
            for update in updates {
                let at = update.effective!.earliest
                if let key, starts()[key]!.contains(where: { $0 > own && $0.earliest <= at }) { continue }
                versions.append((fact.asOf(at).fact, update.effective!, update.position, true))
            }
        }
        for (fact, occurredAt, position, isUpdate) in versions {
            if !names, fact.establishments.contains(finess) { names = true }
            // An update changes no milestone: when the fact happened stays.
            if isUpdate, Catalogue.spec(for: fact.eventType)?.milestone != nil { continue }
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
            // A detection or containment of other sites only, an outage elsewhere: not this timeline's.
            case .attackDetected, .containmentActionTaken, .serviceDegraded, .serviceRestored, .careImpactReported:
                continue
            default:
                // A notification, a complaint, a data theft: the types the catalogue marks, for the sites they name.
                guard concernsUs(fact), let milestone = Milestone.Kind.of(fact) else { continue }
                kind = .milestone(milestone)
            }
            found.append(Change(kind: kind, occurredAt: occurredAt))
            order.append((occurredAt.earliest, position))
        }
        namesEstablishment = names
        careImpacts = care
        // Queries pass facts already in that order, which needs no sort; else the indices are sorted, not the changes.
        let inOrder = zip(order, order.dropFirst()).allSatisfy { $0 < $1 }
        changes = inOrder ? found : found.indices.sorted { order[$0] < order[$1] }.map { found[$0] }
    }
}

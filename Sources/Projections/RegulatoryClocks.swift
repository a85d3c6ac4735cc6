import EventStore
import Foundation
import IncidentDomain

/// One obligation's clock for one incident: the "regulatory clocks" projection.
public struct ObligationClock: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable {
        /// Done before the deadline (or, without an hour count, done).
        case met
        /// Done, after the deadline.
        case metLate = "met_late"
        /// Not done, deadline not passed (or, without an hour count, not yet past the alert threshold).
        case running
        /// Not done, deadline passed (or past the alert threshold).
        case overdue
        /// Kept by the ledger itself (the breach register).
        case keptByLedger = "kept_by_ledger"
    }
    public let rule: ObligationRule
    /// The fact that started it, and when (its earliest instant: a conservative start).
    public let startedBy: UUID
    public let startedAt: OccurredAt
    public let deadline: Timestamp?
    public let satisfiedBy: UUID?
    public let satisfiedAt: OccurredAt?
    public let status: Status
    /// Hours from the start to its satisfaction, or to the reference time when not satisfied.
    public let elapsedHours: Double

    /// Computes the clocks of one incident at `time`. Disabled rules, rules not in force when the starting
    /// fact happened, and rules for a kind of establishment the incident does not touch, give no clock.
    public static func compute(
        facts: [Fact], establishments: [String: Establishment], rules: [ObligationRule], at time: QueryTime
    ) -> [ObligationClock] {
        let admitted = facts.admitted(at: time).map(\.fact)
        let touched = Set(admitted.flatMap(\.establishments)).compactMap { establishments[$0] }
        let reference = time.reference
        var clocks: [String: ObligationClock] = [:]
        for rule in rules where rule.enabled {
            if let flag = rule.appliesIfEstablishment {
                let applies = touched.contains {
                    flag == "essentialOperator" ? $0.essentialOperator : flag == "nis2Entity" ? $0.nis2Entity != nil : false
                }
                guard applies else { continue }
            }
            var start: (id: UUID, at: OccurredAt)?
            if let previous = rule.startsAfterRule {
                guard let earlier = clocks[previous], let id = earlier.satisfiedBy, let at = earlier.satisfiedAt else { continue }
                start = (id, at)
            } else if let first = admitted.first(where: { rule.startsOn.matches(eventType: $0.eventType, payload: $0.payload) }) {
                start = (first.eventId, first.occurredAt)
            }
            guard let start, start.at.earliest >= rule.inForceFrom.microseconds else { continue }
            let startMicros = start.at.earliest
            let deadline = rule.deadlineHours.map { Timestamp(microseconds: startMicros + Int64($0 * 3_600_000_000)) }
            let satisfying = rule.satisfiedBy.flatMap { match in
                admitted.first {
                    match.matches(eventType: $0.eventType, payload: $0.payload) && $0.occurredAt.latest > startMicros
                }
                    ?? admitted.first { match.matches(eventType: $0.eventType, payload: $0.payload) }
            }
            let status: ObligationClock.Status
            let elapsedEnd = satisfying?.occurredAt.earliest ?? reference
            let elapsed = Double(elapsedEnd - startMicros) / 3_600_000_000
            if rule.satisfiedBy == nil {
                status = .keptByLedger
            } else if let satisfying {
                if let deadline {
                    status = satisfying.occurredAt.earliest <= deadline.microseconds ? .met : .metLate
                } else {
                    status = .met
                }
            } else if let deadline {
                status = reference < deadline.microseconds ? .running : .overdue
            } else {
                status = elapsed < (rule.alertAfterHours ?? .infinity) ? .running : .overdue
            }
            clocks[rule.id] = ObligationClock(
                rule: rule, startedBy: start.id, startedAt: start.at, deadline: deadline, satisfiedBy: satisfying?.eventId,
                satisfiedAt: satisfying?.occurredAt, status: status, elapsedHours: elapsed)
        }
        return rules.compactMap { clocks[$0.id] }
    }
}

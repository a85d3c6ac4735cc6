import EventStore
import Foundation
import IncidentDomain

/// One obligation's clock for one incident: the "regulatory clocks" projection.
public struct ObligationClock: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable, CaseIterable {
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
        /// Not done, and a recorded decision says it is not needed (a breach "unlikely to result in a risk").
        case notRequired = "not_required"
    }
    public let rule: ObligationRule
    /// The fact that started it, and when (its earliest instant: a conservative start).
    public let startedBy: UUID
    public let startedAt: OccurredAt
    /// What the starting fact says, so a reader sees why the clock runs (a patient record down, a theft).
    public let startedBySummary: String
    /// The starting fact as the views summarise it, for its words in another language
    /// (``FactSummary/summaryText(language:)``).
    public let startedByFact: FactSummary
    public let deadline: Timestamp?
    public let satisfiedBy: UUID?
    public let satisfiedAt: OccurredAt?
    /// The decision that made it not required (status `not_required`), as the views summarise it.
    public let notRequiredBy: FactSummary?
    public let status: Status
    /// Hours from the start to its satisfaction, or to the reference time when not satisfied.
    public let elapsedHours: Double
    /// For an obligation "without delay" (no hour count): the time from which, unmet, it counts as overdue.
    public let overdueFrom: Timestamp?

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
            var start: Fact?
            if let previous = rule.startsAfterRule {
                guard let id = clocks[previous]?.satisfiedBy else { continue }
                start = admitted.first { $0.eventId == id }
            } else {
                // A complement starts only on a fact after the clock it completes started.
                let after: Int64
                if let base = rule.complementOf {
                    guard let earlier = clocks[base] else { continue }
                    after = earlier.startedAt.earliest
                } else {
                    after = .min
                }
                start = admitted.first { fact in
                    fact.occurredAt.earliest > after
                        && rule.startsOn.contains { $0.matches(eventType: fact.eventType, payload: fact.payload) }
                }
            }
            guard let start, start.occurredAt.earliest >= rule.inForceFrom.microseconds else { continue }
            let startMicros = start.occurredAt.earliest
            let deadline = rule.deadlineHours.map { Timestamp(microseconds: startMicros + Int64($0 * 3_600_000_000)) }
            let satisfying = rule.satisfiedBy.flatMap { match in
                admitted.first {
                    match.matches(eventType: $0.eventType, payload: $0.payload) && $0.occurredAt.latest > startMicros
                }
                    // A fact before the start still fulfils a first notice, never a complement.
                    ?? (rule.complementOf != nil
                        ? nil : admitted.first { match.matches(eventType: $0.eventType, payload: $0.payload) })
            }
            // The latest decision that may have been taken after the start decides.
            let notRequired = rule.notRequiredWhen.flatMap { match in
                admitted.last { $0.eventType == match.eventType && $0.occurredAt.latest >= startMicros }.flatMap {
                    match.matches(eventType: $0.eventType, payload: $0.payload) ? $0 : nil
                }
            }
            let status: ObligationClock.Status
            let elapsedEnd = satisfying?.occurredAt.earliest ?? notRequired?.occurredAt.earliest ?? reference
            let elapsed = Double(elapsedEnd - startMicros) / 3_600_000_000
            if rule.satisfiedBy == nil {
                status = .keptByLedger
            } else if let satisfying {
                if let deadline {
                    status = satisfying.occurredAt.earliest <= deadline.microseconds ? .met : .metLate
                } else {
                    status = .met
                }
            } else if notRequired != nil {
                status = .notRequired
            } else if let deadline {
                status = reference < deadline.microseconds ? .running : .overdue
            } else {
                status = elapsed < (rule.alertAfterHours ?? .infinity) ? .running : .overdue
            }
            let started = FactSummary(start, possible: time.admits(start) == .possible)
            clocks[rule.id] = ObligationClock(
                rule: rule, startedBy: start.eventId, startedAt: start.occurredAt,
                startedBySummary: started.summary, startedByFact: started, deadline: deadline, satisfiedBy: satisfying?.eventId,
                satisfiedAt: satisfying?.occurredAt,
                notRequiredBy: satisfying == nil
                    ? notRequired.map { FactSummary($0, possible: time.admits($0) == .possible) } : nil,
                status: status, elapsedHours: elapsed,
                overdueFrom: deadline == nil
                    ? rule.alertAfterHours.map { Timestamp(microseconds: startMicros + Int64($0 * 3_600_000_000)) } : nil)
        }
        return rules.compactMap { clocks[$0.id] }
    }
}

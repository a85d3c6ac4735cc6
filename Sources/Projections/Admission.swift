import EventStore
import Foundation

/// The two times of a query: the world as of T (facts that may have happened by T) and the ledger as
/// known at K (events recorded by K). Either may be open.
public struct QueryTime: Sendable, Hashable {
    /// Microseconds since the epoch: facts whose occurredAt starts after it are left out. nil: no limit.
    public let asOf: Int64?
    /// Microseconds since the epoch: events recorded after it are left out. nil: everything recorded.
    public let knownAt: Int64?

    public init(asOf: Int64? = nil, knownAt: Int64? = nil) {
        self.asOf = asOf
        self.knownAt = knownAt
    }

    public static let now = QueryTime()

    /// Whether a fact counts at this time, and whether it is certain (its whole window is before T) or
    /// only possible (T falls inside its window).
    public func admits(_ fact: Fact) -> Admission {
        guard !fact.isRetracted else { return .excluded }
        return admits(occurredAt: fact.occurredAt)
    }

    /// Whether something that happened at `occurred` counts at this time, and how surely (retraction aside).
    func admits(occurredAt occurred: OccurredAt) -> Admission {
        guard let asOf else { return .certain }
        if occurred.isCertain(by: asOf) { return .certain }
        if occurred.isPossible(by: asOf) { return .possible }
        return .excluded
    }

    /// The instant clocks are read at: T, else the current time.
    public var reference: Int64 { asOf ?? Int64(Date().timeIntervalSince1970 * 1_000_000) }
}

/// Whether a fact is in a view at a time.
public enum Admission: String, Sendable, Hashable {
    case certain, possible, excluded
}

extension Array where Element == Fact {
    /// The facts admitted at `time`, in the order things happened (earliest instant, then position).
    /// Updates are applied as the world was at T: a value that changed after T shows as it was before.
    func admitted(at time: QueryTime) -> [(fact: Fact, admission: Admission)] {
        compactMap { fact in
            let admission = time.admits(fact)
            guard admission != .excluded else { return nil }
            let (known, updatePossible) = fact.asOf(time.asOf)
            return (known, updatePossible ? .possible : admission)
        }
        .sorted { ($0.fact.occurredAt.earliest, $0.fact.position) < ($1.fact.occurredAt.earliest, $1.fact.position) }
    }
}

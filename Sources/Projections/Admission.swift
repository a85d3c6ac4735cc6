import EventStore

/// The two times of a query: the world as of T (facts that may have happened by T) and the ledger as
/// known at K (events recorded by K). Either may be open. With no T, the clocks are read at the instant the
/// query is answered, which the runner reads from its clock: the folds read no clock.
public struct QueryTime: Sendable, Hashable {
    /// Microseconds since the epoch: facts whose occurredAt starts after it are left out. nil: no limit.
    public let asOf: Int64?
    /// Microseconds since the epoch: events recorded after it are left out. nil: everything recorded.
    public let knownAt: Int64?
    /// Microseconds since the epoch: when the query is answered ("now"). nil until a clock is read for it.
    public let answeredAt: Int64?

    public init(asOf: Int64? = nil, knownAt: Int64? = nil, answeredAt: Int64? = nil) {
        self.asOf = asOf
        self.knownAt = knownAt
        self.answeredAt = answeredAt
    }

    /// The present: no as-of time, everything recorded. The runner's `LedgerQueries` answers it at its clock's instant; a
    /// fold given it directly must first be told the instant with ``answered(at:)``, or it reads its clocks at
    /// the end of the supported range (see ``reference``).
    public static let now = QueryTime()

    /// This time answered at `instant`, unless it already has its instant: every part of one answer reads
    /// its clocks at the same one.
    public func answered(at instant: Int64) -> QueryTime {
        answeredAt == nil ? QueryTime(asOf: asOf, knownAt: knownAt, answeredAt: instant) : self
    }

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

    /// The instant clocks are read at: T, else when the query is answered. A time with neither (a fold called
    /// without the runner) reads them at the end of the supported range, where every clock has run out: a fold
    /// never asks the system what time it is, so that the same events and the same time give the same answer.
    public var reference: Int64 { asOf ?? answeredAt ?? Timestamp.supportedRange.upperBound }
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

import EventStore
import IncidentDomain
import Projections
import Synchronization

/// The questions people ask of a ledger, each at a `QueryTime`: state, recovery timelines, regulatory
/// clocks and audit. The runner of the pure folds of `Projections` against the store, which the HTTP service
/// and the CLI both query through.
///
/// Each answer folds only what it needs: the persisted `IncidentIndex` (caught up first) says which
/// incidents exist and which name an establishment; each incident's `FactBook` is folded from its own
/// stream, up to the position the known-at time admits, and kept in memory by stream version so that
/// repeated questions (a server's) cost only the views. A time not yet answered is answered at `clock`'s
/// reading, once per answer: the folds never read a clock, so a pinned clock gives pinned deadlines.
public final class LedgerQueries: Sendable {
    public let store: EventStore
    /// Where "now" comes from for a query without an as-of time. The system clock, but for tests and replays.
    public let clock: any RecordingClock
    /// Incident books by stream, with the stream version they were folded at and the incident's facts
    /// already in the order things happened (views then filter, they need not sort).
    private let cache = Mutex<[String: (version: UInt64, book: FactBook, byOccurrence: [Fact])]>([:])
    /// Incident facts read for one establishment's timeline, by stream then establishment, with the stream
    /// version they were read at.
    private let recoveryCache = Mutex<[String: (version: UInt64, byEstablishment: [String: RecoveryFacts])]>([:])
    /// The index as last loaded, and its establishments by the position they were asked for.
    private let indexCache = Mutex<(snapshot: IncidentIndex.Snapshot, establishments: [UInt64: [String: Establishment]])?>(nil)
    private static let cacheLimit = 1024

    public init(store: EventStore, clock: any RecordingClock = SystemClock()) {
        self.store = store
        self.clock = clock
    }

    /// `time` answered now, as `clock` reads it, unless it was answered already.
    public func answered(_ time: QueryTime) -> QueryTime {
        time.answeredAt == nil ? time.answered(at: clock.now()) : time
    }

    /// The last position `time` admits: everything recorded by its known-at time.
    public func position(at time: QueryTime) throws -> UInt64 {
        guard let knownAt = time.knownAt else { return try store.lastPosition() }
        return try store.lastPosition(recordedAtOrBefore: knownAt)
    }

    /// The index, caught up with the log (reloaded only when the log moved).
    ///
    /// A read-only store is caught up in memory and nothing is saved. Otherwise the saved index is checked
    /// once against its seal before it is first answered from, and folded again from the log when it does
    /// not match, so that a damaged or edited index never answers.
    package func index() throws -> IncidentIndex.Snapshot {
        if store.isReadOnly {
            let head = try store.lastPosition()
            if let cached = indexCache.withLock({ $0 }), cached.snapshot.checkpoint == head { return cached.snapshot }
            let snapshot = try IncidentIndex.snapshotInMemory(store)
            indexCache.withLock { $0 = (snapshot, [:]) }
            return snapshot
        }
        if indexCache.withLock({ $0 == nil }) {
            switch try IncidentIndex.integrity(store) {
            case .sound, .neverSaved: break
            case .mismatch, .unsealed: try IncidentIndex.rebuild(store)
            }
        }
        let checkpoint = try IncidentIndex.catchUp(store)
        if let cached = indexCache.withLock({ $0 }), cached.snapshot.checkpoint == checkpoint { return cached.snapshot }
        let snapshot = try IncidentIndex.snapshot(store)
        indexCache.withLock { $0 = (snapshot, [:]) }
        return snapshot
    }

    /// The establishments registered by `position`, from the cached index.
    func establishments(_ snapshot: IncidentIndex.Snapshot, upTo position: UInt64) -> [String: Establishment] {
        if let known = indexCache.withLock({ $0?.snapshot.checkpoint == snapshot.checkpoint ? $0?.establishments[position] : nil }
        ) {
            return known
        }
        let computed = snapshot.establishments(upTo: position)
        indexCache.withLock { cache in
            if cache?.snapshot.checkpoint == snapshot.checkpoint, (cache?.establishments.count ?? 0) < 64 {
                cache?.establishments[position] = computed
            }
        }
        return computed
    }

    /// Drops the saved index and folds the whole log again; forgets the books in memory.
    @discardableResult
    package func rebuild() throws -> IncidentIndex.Snapshot {
        cache.withLock { $0.removeAll() }
        recoveryCache.withLock { $0.removeAll() }
        indexCache.withLock { $0 = nil }
        try IncidentIndex.rebuild(store)
        return try IncidentIndex.snapshot(store)
    }

    /// One incident's book as known at `position`, with the establishments registered by then.
    package func incidentBook(_ stream: String, upTo position: UInt64, establishments: [String: Establishment]) throws -> FactBook
    {
        var book = try cachedBook(stream).book.knownAt(position: position)
        book.register(establishments)
        return book
    }

    /// The incident's facts as known at `position`, in the order things happened.
    func incidentFacts(_ stream: String, upTo position: UInt64) throws -> [Fact]? {
        let cached = try cachedBook(stream)
        guard position < cached.book.checkpoint else { return cached.book.incidents[stream] == nil ? nil : cached.byOccurrence }
        return cached.book.knownAt(position: position).incidents[stream]
    }

    private func cachedBook(_ stream: String) throws -> (version: UInt64, book: FactBook, byOccurrence: [Fact]) {
        let version = try store.streamVersion(of: stream)
        if let cached = cache.withLock({ $0[stream] }), cached.version == version { return cached }
        let book = FactBook(folding: try store.events(.stream(stream)))
        let ordered = (book.incidents[stream] ?? []).sorted {
            ($0.occurredAt.earliest, $0.position) < ($1.occurredAt.earliest, $1.position)
        }
        let entry = (version, book, ordered)
        cache.withLock { cache in
            if cache.count >= Self.cacheLimit { cache.removeAll() }
            cache[stream] = entry
        }
        return entry
    }

    /// The whole ledger folded into one book, as known at `time`: for views across every incident (the audit).
    public func fullBook(at time: QueryTime) throws -> FactBook {
        let time = answered(time)
        let snapshot = try index()
        let position = try position(at: time)
        var book = FactBook()
        try store.read(.log(), limit: Int(position)) { event in
            book.apply(event)
            return true
        }
        book.register(establishments(snapshot, upTo: position))
        return book
    }

    /// Runs `body` on every incident (or on one) as known at `time` (answered), with the establishments known then.
    private func eachIncident<T>(
        _ incident: String?, at time: QueryTime, _ body: (String, [Fact], [String: Establishment]) -> T
    ) throws -> [T] {
        let snapshot = try index()
        let position = try position(at: time)
        let establishments = establishments(snapshot, upTo: position)
        return try snapshot.incidents.filter { incident == nil || $0 == incident }.compactMap { stream in
            try incidentFacts(stream, upTo: position).map { body(stream, $0, establishments) }
        }
    }

    /// The state of every incident (or of one) at `time`.
    public func states(incident: String? = nil, at time: QueryTime) throws -> [IncidentState] {
        let time = answered(time)
        // An incident none of whose facts count (not begun by T, or every fact retracted) is not listed.
        return try eachIncident(incident, at: time) { stream, facts, _ in
            IncidentState.compute(incidentId: stream, facts: facts, at: time)
        }.filter { $0.factCount > 0 }
    }

    /// The recovery timeline of one establishment in every incident that names it (as known at `time`).
    public func timelines(establishment finess: String, at time: QueryTime) throws -> [RecoveryTimeline] {
        let time = answered(time)
        let snapshot = try index()
        let position = try position(at: time)
        let establishments = establishments(snapshot, upTo: position)
        return try IncidentIndex.incidents(touching: finess, in: store, snapshot: snapshot).compactMap { stream in
            guard let recovery = try recoveryFacts(stream, finess: finess, upTo: position), recovery.namesEstablishment
            else { return nil }
            return RecoveryTimeline.compute(establishment: establishments[finess], incidentId: stream, from: recovery, at: time)
        }
    }

    /// The incident's facts as known at `position`, read for the timeline of `finess`. The reading of the whole
    /// stream is kept until the stream changes, so that a query at any as-of time only filters and folds it.
    private func recoveryFacts(_ stream: String, finess: String, upTo position: UInt64) throws -> RecoveryFacts? {
        let cached = try cachedBook(stream)
        guard position >= cached.book.checkpoint else {
            return try incidentFacts(stream, upTo: position).map { RecoveryFacts($0, finess: finess) }
        }
        guard cached.book.incidents[stream] != nil else { return nil }
        let known = recoveryCache.withLock { $0[stream]?.version == cached.version ? $0[stream]?.byEstablishment[finess] : nil }
        if let known { return known }
        let recovery = RecoveryFacts(cached.byOccurrence, finess: finess)
        recoveryCache.withLock { cache in
            if cache[stream]?.version != cached.version {
                if cache.count >= Self.cacheLimit { cache.removeAll() }
                cache[stream] = (cached.version, [:])
            }
            cache[stream]?.byEstablishment[finess] = recovery
        }
        return recovery
    }

    /// The regulatory clocks of every incident (or of one) at `time`.
    public func deadlines(
        incident: String? = nil, rules: [ObligationRule] = ObligationRules.defaultRules, at time: QueryTime
    ) throws -> [(incident: String, clocks: [ObligationClock])] {
        let time = answered(time)
        return try eachIncident(incident, at: time) { stream, facts, establishments in
            (stream, ObligationClock.compute(facts: facts, establishments: establishments, rules: rules, at: time))
        }
    }

    /// The audit trail at `time`.
    public func audit(_ filter: AuditTrail.Filter, at time: QueryTime) throws -> [AuditEntry] {
        let time = answered(time)
        if let incident = filter.incident, incident.hasPrefix(StreamKind.incident.prefix) {
            let snapshot = try index()
            let position = try position(at: time)
            let book = try incidentBook(incident, upTo: position, establishments: establishments(snapshot, upTo: position))
            return AuditTrail.compute(book: book, filter: filter, at: time)
        }
        return AuditTrail.compute(book: try fullBook(at: time), filter: filter, at: time)
    }

    /// Whether `incident` is an incident stream of the ledger (per the index, caught up).
    public func hasIncident(_ incident: String) throws -> Bool {
        try index().incidents.contains(incident)
    }

    /// Whether the ledger knows the establishment `finess`: registered, or named by an incident. A timeline
    /// query for one it does not know is a mistake to say, not an empty chart.
    public func knows(establishment finess: String) throws -> Bool {
        let snapshot = try index()
        return try establishments(snapshot, upTo: .max)[finess] != nil
            || !IncidentIndex.incidents(touching: finess, in: store, snapshot: snapshot).isEmpty
    }

    /// What `state` shows at one time: the incidents' states with the establishments' names and groups, all read
    /// at the same instant.
    public struct StateReport: Sendable {
        public let states: [IncidentState]
        /// The establishments registered, by FINESS: the names a view writes beside the numbers.
        public let names: [String: Establishment]
        /// The groups at the query's time, with each site's groups then.
        public let groups: GroupDirectory
    }

    /// The state of every incident (or of one) at `time`, with the names and groups that go with it.
    public func stateReport(incident: String? = nil, at time: QueryTime) throws -> StateReport {
        let time = answered(time)
        return StateReport(
            states: try states(incident: incident, at: time), names: try index().establishments(),
            groups: try groupDirectory(at: time))
    }

    /// Verifies the ledger (``EventStore/verify(progress:)``) and then the saved incident index against the log:
    /// the report, and the first problem of either (nil when both hold).
    public func verify(progress: ((UInt64) -> Void)? = nil) throws -> (report: VerificationReport, problem: String?) {
        let report = try store.verify(progress: progress)
        if let problem = report.problem { return (report, problem.description) }
        return (report, try IncidentIndex.verify(store))
    }
}

import Foundation
import LMDB
import LedgerProofs
import Logging
import Synchronization

/// Settings of an ``EventStore``; defaults are the safe ones.
public struct EventStoreConfiguration: Sendable {
    /// The largest payload accepted, in bytes of canonical JSON.
    public var payloadLimit: Int = Self.defaultPayloadLimit
    /// The default `payloadLimit`: 1 MiB.
    package static let defaultPayloadLimit = 1 << 20
    /// The most append requests one group commit takes from the queue.
    public var maximumGroupSize: Int = 1024
    /// The LMDB environment's settings (durable by default).
    public var environment = EnvironmentConfiguration()
    /// Where recordedAt comes from: the system clock.
    public var clock: any RecordingClock = SystemClock()
    /// The name a new ledger gets, the first line of its signed checkpoints (C2SP tlog-checkpoint origin): a
    /// schema-less URL-like name, unique to this ledger (`ledger init --origin` sets it).
    public var origin: String = "incidentledger.invalid/" + UUID().uuidString.lowercased()
    /// Whether a new ledger keeps its Merkle tree. This exists only to measure what the tree costs (tools/bench):
    /// leave it true.
    ///
    /// A ledger created with `false` stores no subtrees, says so in its meta table (`merkle-tree` = `off`) and
    /// stays that way: every later open appends without the tree whatever this says, ``EventStore/verify(progress:)``
    /// reports it as a problem, and roots, proofs, checkpoints and bundles of it throw. When a ledger is opened,
    /// its meta table decides, not this setting.
    public var keepsMerkleTree: Bool = true
    /// Where the store says what it did on its own: map growth and resize adoption (info), reader slots of dead
    /// processes cleared (notice), and each group commit's size (debug). The default goes through swift-log's
    /// `LoggingSystem`, which the embedding application bootstraps (the `ledger` command does); the store adds
    /// the ledger's directory as `ledger` metadata.
    public var logger = Logger(label: "incidentledger.store")

    public init() {}

    /// The largest ``EnvironmentConfiguration/maximumMapSize``: half the 128 TiB address space of a 64-bit Linux
    /// process, so that doubling the map never overflows and the map can always be placed.
    public static let largestMapSize = 1 << 46
    /// The most named databases: LMDB allocates about 60 bytes per slot in every write transaction.
    package static let mostDatabases: UInt32 = 32_767
    /// The most reader slots: `lock.mdb` takes 64 bytes per slot, allocated when it is created (4 MiB here).
    public static let mostReaders: UInt32 = 65_536

    /// Refuses settings that cannot work, naming the field: a group of zero requests would never commit one
    /// (every append would wait for ever), a payload limit of zero would refuse every event, a map or a reader table
    /// LMDB cannot make would fail later naming no setting (a huge reader table is a lock file of that size), fewer
    /// databases than the ledger's tables cannot create it, an origin a checkpoint cannot carry would fail every
    /// checkpoint.
    public func validate() throws(EventStoreError) {
        func refuse(_ field: String, _ value: some CustomStringConvertible, _ reason: String) -> EventStoreError {
            EventStoreError(.invalidEvent, field: field, "\(value): \(reason)")
        }
        guard maximumGroupSize > 0 else { throw refuse("maximumGroupSize", maximumGroupSize, "must be at least 1") }
        guard payloadLimit > 0 else { throw refuse("payloadLimit", payloadLimit, "must be at least 1 byte") }
        let env = environment
        guard env.initialMapSize > 0 else {
            throw refuse("environment.initialMapSize", env.initialMapSize, "must be at least 1 byte")
        }
        guard env.maximumMapSize <= Self.largestMapSize else {
            throw refuse(
                "environment.maximumMapSize", env.maximumMapSize, "must be at most \(Self.largestMapSize) bytes (64 TiB)")
        }
        guard env.initialMapSize <= env.maximumMapSize else {
            throw refuse(
                "environment.initialMapSize", env.initialMapSize,
                "must be at most environment.maximumMapSize (\(env.maximumMapSize))")
        }
        let tables = UInt32(EventStore.Tables.names.count)
        guard env.maximumDatabases >= tables else {
            throw refuse("environment.maximumDatabases", env.maximumDatabases, "must be at least \(tables) (the ledger's tables)")
        }
        guard env.maximumDatabases <= Self.mostDatabases else {
            throw refuse("environment.maximumDatabases", env.maximumDatabases, "must be at most \(Self.mostDatabases)")
        }
        guard env.maximumReaders >= 1 else {
            throw refuse("environment.maximumReaders", env.maximumReaders, "must be at least 1")
        }
        guard env.maximumReaders <= Self.mostReaders else {
            throw refuse("environment.maximumReaders", env.maximumReaders, "must be at most \(Self.mostReaders)")
        }
        let mode = "0o" + String(env.fileMode, radix: 8)
        guard env.fileMode & 0o600 == 0o600 else {
            throw refuse("environment.fileMode", mode, "must let the owner read and write (0o600)")
        }
        guard env.fileMode & ~0o777 == 0 else {
            throw refuse("environment.fileMode", mode, "must hold only permission bits (0o777)")
        }
        do {
            _ = try Checkpoint(origin: origin, size: 0, root: MerkleTree.emptyRoot)
        } catch {
            // Quoted with escapes, so that a line feed in it stays in one line of error.
            guard case .malformedCheckpoint(let reason) = error else {
                throw refuse("origin", String(reflecting: origin), "\(error)")
            }
            throw refuse("origin", String(reflecting: origin), "\(reason): it heads every signed checkpoint")
        }
    }
}

/// The ledger's event store: an append-only, hash-chained log of events in one LMDB environment,
/// with its ids and streams kept in the same write transaction as the events, and its secondary indexes (actor,
/// type, occurredAt) and Merkle tree just behind them (see DeferredIndexes.swift).
///
/// Thread-safe and shared: readers never block the writer, concurrent ``append(_:to:expectedVersion:)``
/// calls are gathered into group commits (one durable transaction for all waiting appends), and another
/// process may open the same directory at the same time (LMDB serialises writers across processes).
public final class EventStore: Sendable {
    /// The directory holding `data.mdb` and `lock.mdb`.
    public let directory: String
    public let configuration: EventStoreConfiguration
    let environment: Environment
    /// The configuration's logger, with this ledger's directory as metadata.
    let logger: Logger

    /// Whether a commit is on disk when an append returns, as LMDB reports the environment's flags: true unless
    /// the store was configured not durable (`EnvironmentConfiguration.durable`). The crash tests check it, so
    /// that they cannot pass on a store whose acknowledged appends a power cut could lose.
    public var commitsAreDurable: Bool { environment.commitsAreDurable }
    let tables: Tables
    let committer: GroupCommitter
    /// The tree's right edge after the last commit of this process, with the log size it belongs to: the next
    /// commit reuses it instead of reading it again, unless another process appended meanwhile.
    /// With it, the deferred entries (secondary keys, subtrees) of the events that commit left waiting, so that
    /// the commit that catches them up need not read them back from the log.
    let frontierCache = Mutex<(size: UInt64, frontier: [SubtreeAddress: MerkleHash], unindexed: [DeferredEntries])?>(nil)
    /// False only for a benchmark ledger created without its Merkle tree (`merkle-tree` = `off` in meta).
    let keepsTree: Bool

    /// Whether the store was opened read-only: every write fails, and projections must be caught up in memory.
    public var isReadOnly: Bool { configuration.environment.readOnly }

    /// The text stored under `format` in the meta table of every ledger.
    package static let formatMarker = "IncidentLedger event store, format 5"
    /// Format 3 wrote every index and the tree in every commit, format 4 the tree; their ledgers are upgraded in
    /// place when opened for writing (see ``upgradeInPlace()``) and read as they are otherwise.
    static let formatThreeMarker = "IncidentLedger event store, format 3"
    static let formatFourMarker = "IncidentLedger event store, format 4"

    /// The meta key of a ledger created without its Merkle tree, and its value (``EventStoreConfiguration/keepsMerkleTree``).
    static let merkleTreeKey = Array("merkle-tree".utf8)
    static let merkleTreeOff = Array("off".utf8)

    /// The named LMDB databases of a ledger.
    struct Tables: Sendable {
        /// position → stored event (hash + canonical JSON)
        let events: Database
        /// event id (16 bytes) → position
        let eventIds: Database
        /// stream id, 0, version → position (a stream's last entry is its current version)
        let streams: Database
        /// actor, 0, position → ()
        let byActor: Database
        /// event type, 0, position → ()
        let byType: Database
        /// earliest occurredAt, position → ()
        let byOccurred: Database
        /// "format" (never written after `create`: the head is the log's last event), "origin"
        let meta: Database
        /// level, index → hash of that complete subtree of the Merkle tree over the log (see MerkleLog.swift)
        let merkle: Database
        /// tree size → signed checkpoint (a C2SP signed note) of the log at that size
        let checkpoints: Database
        /// Projectors' saved state (not part of the log; never verified).
        let projections: ProjectionTables

        /// The named databases, in the order `init` takes them.
        static let names = [
            "events", "event-ids", "streams", "by-actor", "by-type", "by-occurred", "meta", "projection-entries",
            "projection-checkpoints", "merkle", "checkpoints",
        ]

        init(_ env: Environment) throws {
            // One read transaction opens them all (a write one only for those missing): see openDatabases.
            let all = try env.openDatabases(Self.names)
            (events, eventIds, streams, byActor, byType, byOccurred, meta) = (
                all[0], all[1], all[2], all[3], all[4], all[5], all[6]
            )
            projections = ProjectionTables(entries: all[7], checkpoints: all[8])
            (merkle, checkpoints) = (all[9], all[10])
        }

        var indexes: [Database] { [eventIds, streams, byActor, byType, byOccurred] }
    }

    /// Creates a new, empty ledger in `directory` (created if missing, mode 0700).
    /// - Throws: ``EventStoreError`` when the directory already holds a ledger or cannot be written.
    public static func create(at directory: String, configuration: EventStoreConfiguration = .init()) throws -> EventStore {
        try configuration.validate()
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        var createdDirectory = false
        if fm.fileExists(atPath: directory, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw EventStoreError(.noLedger, field: directory, "exists and is not a directory")
            }
            if fm.fileExists(atPath: directory + "/data.mdb") {
                throw EventStoreError(.invalidEvent, field: directory, "already holds a ledger")
            }
        } else {
            do {
                try fm.createDirectory(
                    atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                createdDirectory = true
            } catch {
                throw EventStoreError(.storage, field: directory, "cannot create the directory: \(error.localizedDescription)")
            }
        }
        let hadLockFile = access(directory + "/lock.mdb", F_OK) == 0
        do {
            let store = try EventStore(directory: directory, configuration: configuration)
            try store.environment.write { txn in
                try txn.put(store.tables.meta, key: Array("format".utf8), value: Array(formatMarker.utf8))
                try txn.put(store.tables.meta, key: Array("origin".utf8), value: Array(configuration.origin.utf8))
                try txn.put(store.tables.meta, key: indexedThroughKey, value: Keys.position(0))
                if !configuration.keepsMerkleTree { try txn.put(store.tables.meta, key: merkleTreeKey, value: merkleTreeOff) }
            }
            try store.markClockProvenance()
            return store
        } catch {
            // A creation that failed (a full disk, no permission) leaves nothing behind: a half-made data.mdb
            // would later be taken for a damaged ledger. The store is released by now: its files are closed.
            unlink(directory + "/data.mdb")
            if !hadLockFile { unlink(directory + "/lock.mdb") }
            if createdDirectory { rmdir(directory) }
            if let error = error as? LMDBError { throw EventStoreError.storage(error, in: directory) }
            throw error
        }
    }

    /// Opens an existing ledger.
    /// - Throws: ``EventStoreError`` `.noLedger` when `directory` is missing or empty, `.notALedger` when its
    ///   LMDB files are not a ledger's, `.corrupted` when `data.mdb` is not an LMDB file or is truncated,
    ///   `.unreadable` when this user may not read them. A missing or empty `data.mdb` is refused, never created.
    ///
    /// With `readOnly`, nothing is written: LMDB opens the files with `MDB_RDONLY`, and without a lock file
    /// when `lock.mdb` cannot be written (an archived copy, a read-only mount); writes then fail.
    public static func open(at directory: String, configuration: EventStoreConfiguration = .init(), readOnly: Bool = false)
        throws -> EventStore
    {
        try configuration.validate()
        var configuration = configuration
        configuration.environment.mustExist = true
        if readOnly { configuration.environment.readOnly = true }
        var st = stat()
        guard stat(directory, &st) == 0 else {
            if errno == EACCES { throw EventStoreError(.unreadable, field: directory, "permission denied") }
            throw EventStoreError(.noLedger, field: directory, "no such directory (create a ledger with `ledger init`)")
        }
        guard st.st_mode & S_IFMT == S_IFDIR else { throw EventStoreError(.noLedger, field: directory, "is not a directory") }
        guard stat(directory + "/data.mdb", &st) == 0 else {
            if errno == EACCES {
                throw EventStoreError(.unreadable, field: directory, "permission denied (cannot look inside the directory)")
            }
            throw EventStoreError(.noLedger, field: directory, "holds no ledger (no data.mdb; create one with `ledger init`)")
        }
        if access(directory + "/data.mdb", readOnly ? R_OK : R_OK | W_OK) != 0, errno == EACCES {
            throw EventStoreError(
                .unreadable, field: directory + "/data.mdb",
                "permission denied (cannot \(readOnly ? "read" : "read and write") it)")
        }
        let store = try EventStore(directory: directory, configuration: configuration, checkingFormat: true)
        if !configuration.environment.readOnly { try store.markClockProvenance() }
        return store
    }

    /// Refuses a ledger of another format by name, before any of its tables is opened (or created).
    /// - Returns: whether it is a format-3 or format-4 ledger, which this build upgrades.
    private static func checkFormat(_ marker: [UInt8]?, in directory: String) throws -> Bool {
        if marker == Array(formatThreeMarker.utf8) || marker == Array(formatFourMarker.utf8) { return true }
        guard let marker, marker == Array(formatMarker.utf8) else {
            let text = marker.map { String(decoding: $0, as: UTF8.self) } ?? ""
            if text.hasPrefix("IncidentLedger event store, format ") {
                throw EventStoreError(
                    .notALedger, field: directory + "/data.mdb",
                    "holds a ledger in \(text.dropFirst(28)); this build reads \(formatMarker.dropFirst(28))"
                        + (text.hasSuffix("format 2")
                            ? " (`ledger migrate --from \(directory) --data-dir NEW` copies it into a new ledger, keeping positions, ids and recordedAt)"
                            : " (export its events with the build that wrote it)")
                )
            }
            throw EventStoreError(.notALedger, field: directory + "/data.mdb", "is an LMDB file but not an IncidentLedger ledger")
        }
        return false
    }

    private init(directory: String, configuration: EventStoreConfiguration, checkingFormat: Bool = false) throws {
        self.directory = directory
        var configuration = configuration
        var logger = configuration.logger
        logger[metadataKey: "ledger"] = "\(directory)"
        self.logger = logger
        var isOlderFormat = false
        do {
            environment = try Environment(
                directory: directory, configuration: configuration.environment,
                observer: { [logger] event in Self.log(event, to: logger) })
            if checkingFormat {
                let meta = try environment.openDatabases(["meta"])[0]
                isOlderFormat = try Self.checkFormat(
                    try environment.read { txn in try txn.get(meta, key: Array("format".utf8)) }, in: directory)
            }
            tables = try Tables(environment)
            // An existing ledger says whether it keeps its tree; a new one follows the configuration.
            if checkingFormat {
                let meta = tables.meta
                let marker = try environment.read { txn in try txn.get(meta, key: Self.merkleTreeKey) }
                configuration.keepsMerkleTree = marker != Self.merkleTreeOff
            }
            keepsTree = configuration.keepsMerkleTree
            self.configuration = configuration
        } catch let problem as DataFileProblem {
            throw EventStoreError.damaged(problem)
        } catch let error as LMDBError {
            switch error.code {
            case .invalid, .versionMismatch:
                throw EventStoreError(
                    .corrupted, field: directory + "/data.mdb", "is not a readable LMDB file (\(error.message))")
            case .permissionDenied:
                throw EventStoreError(.unreadable, field: directory, "permission denied (\(error.operation))")
            case .notFound where configuration.environment.readOnly:
                throw EventStoreError(.notALedger, field: directory + "/data.mdb", "lacks the ledger's tables")
            default:
                throw EventStoreError.storage(error, in: directory)
            }
        }
        committer = GroupCommitter()
        if isOlderFormat, !configuration.environment.readOnly { try upgradeInPlace() }
    }

    /// What the LMDB layer reports, logged: rare events at info and notice, so that a default handler shows them.
    static func log(_ event: EnvironmentEvent, to logger: Logger) {
        switch event {
        case .mapGrown(let from, let to):
            logger.info("map grown", metadata: ["fromBytes": "\(from)", "toBytes": "\(to)"])
        case .mapResizeAdopted(let from, let to):
            logger.info(
                "map size adopted from another process", metadata: ["fromBytes": "\(from)", "toBytes": "\(to)"])
        case .staleReadersCleared(let count):
            logger.notice(
                "reader slots of dead processes cleared", metadata: ["slots": "\(count)"])
        }
    }

    /// Runs `body` in a read transaction, turning LMDB failures into ``EventStoreError``.
    func readTransaction<T>(_ body: (borrowing ReadTransaction) throws -> T) throws -> T {
        do {
            return try environment.read(body)
        } catch let error as LMDBError {
            throw EventStoreError.storage(error, in: directory)
        }
    }

    // MARK: - Append

    /// Appends `events` to `streamId` atomically, after checking `expectedVersion`.
    ///
    /// Concurrent calls are committed together in one durable transaction (group commit); each keeps its own
    /// atomicity: a conflict fails that call alone. When every event carries an id that is already stored
    /// with identical content, the call returns the original positions and writes nothing.
    /// - Throws: ``EventStoreError``: `.invalidEvent`, `.payloadTooLarge`, `.wrongExpectedVersion`,
    ///   `.eventIdConflict`, `.storage`. Nothing is written when it throws.
    public func append(
        _ events: [ProposedEvent], to streamId: String, expectedVersion: ExpectedVersion = .any
    ) async throws -> AppendResult {
        let request = try prepare(AppendRequest(streamId: streamId, events: events, expectedVersion: expectedVersion), path: "$")
        return try await committer.submit(request, to: self)
    }

    /// Appends several requests in one transaction, synchronously: all of them or, when one fails, none.
    /// Used by bulk imports and the CLI, where a file of events must land whole or not at all.
    public func appendAtomically(_ requests: [AppendRequest]) throws -> [AppendResult] {
        var prepared: [AppendRequest] = []
        prepared.reserveCapacity(requests.count)
        for (i, request) in requests.enumerated() {
            prepared.append(try prepare(request, path: requests.count == 1 ? "$" : "requests[\(i)]"))
        }
        return try atomicBatch { txn, head, now, release in
            var results: [AppendResult] = []
            results.reserveCapacity(prepared.count)
            for request in prepared {
                results.append(try apply(request, in: txn, head: &head, now: now))
                release.passed(request.events.count, in: environment)
            }
            return results
        }
    }

    /// One write transaction for a batch that lands whole or not at all (``appendAtomically(_:)``, the bulk
    /// path): `body` applies the batch from the writing head at one reading of the clock. A retry of batches
    /// stored already changes nothing and ends without a commit, answering what was stored.
    /// - Parameter indexingAll: write the deferred entries (secondary indexes, subtrees) of every event in this
    ///   transaction (a bulk path, whose batch dirties those pages anyway), not only once ``indexLag`` of them wait.
    func atomicBatch(
        indexingAll: Bool = false,
        _ body: (borrowing WriteTransaction, inout Head, Int64, inout ResidentPageRelease) throws -> [AppendResult]
    ) throws -> [AppendResult] {
        var lastHead: Head?
        do {
            let written = try writeTransaction { txn in
                let start = try self.writingHead(in: txn)
                var head = start
                var release = ResidentPageRelease()
                let results = try body(txn, &head, self.now(), &release)
                guard head.position != start.position else { throw AlreadyStored(results: results) }
                try self.catchUpIndexes(in: txn, head: &head, always: indexingAll)
                lastHead = head
                return results
            }
            if let lastHead { remember(lastHead) }
            return written
        } catch let stored as AlreadyStored {
            return stored.results
        }
    }

    /// Counts the events a batch has applied and lets the map's pages go every
    /// ``EventStore/eventsPerResidentRelease`` of them: a large batch reads index pages all over the file, and
    /// its resident set should stay at what it is working on (the committed pages stay in the page cache).
    struct ResidentPageRelease {
        private var sinceRelease = 0

        mutating func passed(_ events: Int, in environment: Environment) {
            sinceRelease += events
            if sinceRelease >= EventStore.eventsPerResidentRelease {
                environment.releaseResidentPages()
                sinceRelease = 0
            }
        }
    }

    /// Events applied in one transaction between two ``releaseResidentPages()``.
    static let eventsPerResidentRelease = 500

    private struct AlreadyStored: Error {
        let results: [AppendResult]
    }

    /// Checks every rule that needs no stored data, and gives each event its id: before any transaction.
    func prepare(_ request: AppendRequest, path: String) throws(EventStoreError) -> AppendRequest {
        try EnvelopeRules.checkStreamId(request.streamId, field: "\(path).streamId")
        guard !request.events.isEmpty else { throw .invalid("\(path).events", "must hold at least one event") }
        var prepared = request
        var seen = Set<UUID>()
        for i in prepared.events.indices {
            let eventPath = request.events.count == 1 ? path : "\(path).events[\(i)]"
            try EnvelopeRules.check(prepared.events[i], path: eventPath, payloadLimit: configuration.payloadLimit)
            let id = prepared.events[i].eventId ?? UUID.timeOrdered()
            guard seen.insert(id).inserted else {
                throw EventStoreError(
                    .eventIdConflict, field: "\(eventPath).eventId", "\(id.lowercasedString) appears twice in the batch")
            }
            prepared.events[i].eventId = id
        }
        return prepared
    }

    /// Runs `body` in a write transaction, turning LMDB failures into ``EventStoreError``.
    /// The body reruns when the map grows: it must not have effects outside the transaction.
    func writeTransaction<T>(_ body: (borrowing WriteTransaction) throws -> T) throws -> T {
        do {
            return try environment.write(body)
        } catch let error as LMDBError {
            throw EventStoreError.storage(error, in: directory)
        }
    }

    /// The last stored event's position, hash and recordedAt, and (for a writer) the tree's right edge.
    struct Head {
        var position: UInt64
        var hash: [UInt8]
        var recordedAt: Int64
        var frontier: [SubtreeAddress: MerkleHash] = [:]
        /// Events whose deferred entries are not written yet: those this transaction wrote, after those this
        /// process's earlier commits left waiting (when no other process appended since).
        var unindexed: [DeferredEntries] = []

        static let empty = Head(position: 0, hash: [UInt8](repeating: 0, count: 32), recordedAt: Int64.min)
    }

    /// The head with the tree's right edge, for a transaction that appends: the edge cached by this process's
    /// last commit when the log has not moved since, else read from the tree and the log after it; and, cached
    /// with it, the deferred entries of the events still waiting.
    func writingHead(in txn: borrowing some ReadableTransaction & ~Copyable) throws -> Head {
        var head = try head(in: txn)
        let cached = frontierCache.withLock { $0 }.flatMap { $0.size == head.position ? $0 : nil }
        head.unindexed = cached?.unindexed ?? []
        guard keepsTree else { return head }
        head.frontier = try cached?.frontier ?? treeFrontier(ofSize: head.position, in: txn)
        return head
    }

    /// Keeps the right edge of a committed head, and the keys still waiting, for the next commit.
    func remember(_ head: Head) {
        frontierCache.withLock { $0 = (head.position, head.frontier, head.unindexed) }
    }

    /// The head, read from the log's last event: no separate record to write in every commit.
    func head(in txn: borrowing some ReadableTransaction & ~Copyable) throws -> Head {
        try txn.withCursor(tables.events) { cursor in
            try cursor.withLast { key, value in
                let position = Keys.readBigEndian(key)
                return try value.withUnsafeBytes { value in
                    Head(
                        position: position, hash: Array(value.prefix(EventCodec.hashSize)),
                        recordedAt: try recordedAt(ofStored: value, at: position))
                }
            } ?? .empty
        }
    }

    /// The recordedAt of a stored event, read from its bytes without decoding the rest.
    func recordedAt(ofStored stored: UnsafeRawBufferPointer, at position: UInt64) throws -> Int64 {
        guard stored.count > EventCodec.hashSize,
            let text = JSONMembers.value(of: "recordedAt", in: UnsafeRawBufferPointer(rebasing: stored[EventCodec.hashSize...]))
                .flatMap(JSONMembers.string),
            let timestamp = Timestamp(rfc3339: text)
        else {
            throw EventStoreError(.corrupted, field: "position \(position)", "stored event has no readable recordedAt")
        }
        return timestamp.microseconds
    }

    func now() -> Int64 { configuration.clock.now() }

    /// Applies one prepared request inside `txn`, advancing `head`. Every check that can refuse the request
    /// (idempotency, expected version) runs before the first write, so a refused request leaves `txn` and
    /// `head` as they were and the group commit can go on with the others. Only LMDB failures can come
    /// after a write, and those abort the whole transaction.
    func apply(_ request: AppendRequest, in txn: borrowing WriteTransaction, head: inout Head, now: Int64) throws -> AppendResult
    {
        // Idempotency first: a retry of a stored batch succeeds whatever the stream's version now is.
        var storedPositions: [UInt64] = []
        for (i, event) in request.events.enumerated() {
            if let position = try txn.get(tables.eventIds, key: Keys.eventId(event.eventId!)) {
                let pos = position.withUnsafeBytes { Keys.readBigEndian($0) }
                let stored = try loadEvent(at: pos, in: txn)
                if let field = stored.differingField(from: event, streamId: request.streamId) {
                    throw EventStoreError(
                        .eventIdConflict, field: "events[\(i)].eventId",
                        "\(event.eventId!.lowercasedString) is already stored at position \(pos) with a different \(field)")
                }
                storedPositions.append(pos)
            }
        }
        if !storedPositions.isEmpty {
            guard storedPositions.count == request.events.count else {
                throw EventStoreError(
                    .eventIdConflict, field: "events",
                    "\(storedPositions.count) of \(request.events.count) event ids are already stored; retry the original batch whole"
                )
            }
            let version = try currentVersion(of: request.streamId, in: txn)
            return AppendResult(
                streamId: request.streamId, positions: storedPositions, streamVersion: version, wasAlreadyStored: true)
        }

        let current = try currentVersion(of: request.streamId, in: txn)
        guard request.expectedVersion.admits(currentVersion: current) else {
            throw EventStoreError(
                .wrongExpectedVersion, field: request.streamId,
                "expected version \(request.expectedVersion), but the stream is at \(current == 0 ? "no-stream (0)" : String(current))"
            )
        }

        // A clock set by hand (a dataset's) could name a year no reader takes: refused before the first write.
        let firstRecordedAt = max(now, head.recordedAt + 1)
        guard Timestamp.supportedRange.contains(firstRecordedAt),
            Timestamp.supportedRange.contains(firstRecordedAt + Int64(request.events.count))
        else {
            throw EventStoreError(
                .storage, field: "recordedAt", "the ledger's clock says \(firstRecordedAt) µs, \(Timestamp.outOfRangeReason)")
        }
        var positions: [UInt64] = []
        positions.reserveCapacity(request.events.count)
        var version = current
        for event in request.events {
            let position = head.position + 1
            version += 1
            let recordedAt = max(now, head.recordedAt + 1)
            let canonical = EnvelopeWriter.canonical(
                event, streamId: request.streamId, position: position, streamVersion: version, recordedAt: recordedAt,
                previousHash: head.hash)
            try write(
                canonical, position: position, eventId: event.eventId!, streamId: request.streamId, version: version,
                actor: event.actor, eventType: event.eventType, occurredAt: event.occurredAt, recordedAt: recordedAt,
                head: &head, in: txn)
            positions.append(position)
        }
        return AppendResult(streamId: request.streamId, positions: positions, streamVersion: version, wasAlreadyStored: false)
    }

    /// Writes one event's canonical bytes at `position` with its id and stream entries, keeps its deferred
    /// entries (secondary keys, the tree's subtrees) in `head.unindexed`, and moves `head` to it: what appends, restores and merges share, so that each stores an event the same way.
    func write(
        _ canonical: [UInt8], position: UInt64, eventId: UUID, streamId: String, version: UInt64, actor: String,
        eventType: String, occurredAt: OccurredAt, recordedAt: Int64, head: inout Head, in txn: borrowing WriteTransaction
    ) throws {
        // The subtrees first: the only step that can refuse (a damaged right edge) runs before the first put.
        var frontier = head.frontier
        let subtrees = keepsTree ? try Self.subtreesCompleted(by: canonical, at: position, frontier: &frontier) : []
        let (value, hash) = EventCodec.storedValue(canonical: canonical)
        let positionKey = Keys.position(position)
        try txn.put(tables.events, key: positionKey, value: value, flags: .append)
        try txn.put(tables.eventIds, key: Keys.eventId(eventId), value: positionKey, flags: .noOverwrite)
        try txn.put(tables.streams, key: Keys.stream(streamId, version: version), value: positionKey, flags: .noOverwrite)
        // The secondary indexes and the subtrees are written behind the commit (DeferredIndexes.swift). Head is
        // updated in place: a copy of `unindexed` per event would make a large batch quadratic.
        head.unindexed.append(
            DeferredEntries(
                position: position, actor: actor, eventType: eventType, occurredEarliest: occurredAt.earliest,
                subtrees: subtrees))
        head.position = position
        head.hash = hash
        head.recordedAt = recordedAt
        head.frontier = frontier
    }

    /// The version of the stream's last event: the last key of its range in `streams`; 0 when it has none.
    func currentVersion(of streamId: String, in txn: borrowing some ReadableTransaction & ~Copyable) throws -> UInt64 {
        let prefix = Keys.text(streamId)
        return try txn.withCursor(tables.streams) { cursor in
            var version: UInt64 = 0
            try cursor.forEach(withPrefix: prefix, reverse: true) { key, _ in
                guard key.byteCount == prefix.count + 8 else {
                    throw EventStoreError(.corrupted, field: "streams/\(streamId)", "index key has \(key.byteCount) bytes")
                }
                version = Keys.readBigEndian(key, at: prefix.count)
                return false
            }
            return version
        }
    }

    func loadEvent(at position: UInt64, in txn: borrowing some ReadableTransaction & ~Copyable) throws -> RecordedEvent {
        let event = try txn.withValue(tables.events, key: Keys.position(position)) { stored in
            try stored.withUnsafeBytes { try EventCodec.decode(stored: $0, position: position) }
        }
        guard let event else {
            throw EventStoreError(.corrupted, field: "position \(position)", "an index points at a missing event")
        }
        return event
    }
}

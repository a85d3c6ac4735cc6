import Foundation
import LMDB

/// Copies a format-2 ledger (canonical JSON in Python's spelling, no Merkle tree) into a new format-3 ledger.
///
/// Positions, event ids, streams and versions, actors, sources, payloads and recordedAt are kept, so "what was
/// known when" survives; the hashes change with the spelling, so the chain is new. The old ledger is only read:
/// each stored event's hash is checked against its bytes and its previousHash against the event before, and the
/// old head (count and hash) is kept in the new ledger's meta table under `migrated-from`.
extension EventStore {
    public struct MigrationReport: Sendable, Hashable {
        public let events: UInt64
        public let oldHeadHash: String
        public let newHeadHash: String
    }

    public static func migrate(
        fromFormat2 source: String, into directory: String, configuration: EventStoreConfiguration = .init()
    )
        throws -> MigrationReport
    {
        guard !FileManager.default.fileExists(atPath: directory) else {
            throw EventStoreError(.noLedger, field: directory, "already exists: a migration makes a new ledger")
        }
        guard FileManager.default.fileExists(atPath: source + "/data.mdb") else {
            throw EventStoreError(.noLedger, field: source, "holds no ledger (no data.mdb)")
        }
        var old = EnvironmentConfiguration()
        old.readOnly = true
        let environment: Environment
        let events: Database
        let meta: Database
        do {
            environment = try Environment(
                directory: source, configuration: old,
                observer: { [logger = configuration.logger] event in EventStore.log(event, to: logger) })
            events = try environment.openDatabase("events")
            meta = try environment.openDatabase("meta")
        } catch let error as LMDBError {
            throw EventStoreError(.notALedger, field: source + "/data.mdb", "cannot be read as a ledger (\(error.message))")
        }
        let marker = (try? environment.read { txn in try txn.get(meta, key: Array("format".utf8)) }) ?? nil
        guard let marker, String(decoding: marker, as: UTF8.self) == "IncidentLedger event store, format 2" else {
            throw EventStoreError(.notALedger, field: source + "/data.mdb", "is not a format-2 ledger")
        }
        var report: MigrationReport?
        try building(directory) { partial in
            let store = try EventStore.create(at: partial, configuration: configuration)
            var oldPrevious = EventCodec.genesisHash
            var count: UInt64 = 0
            var batch = StoredBatch(store: store, rechaining: true)
            // The old log is read through LMDB directly, not through a store: its errors are wrapped here.
            do {
                try environment.read { txn in
                    try txn.withCursor(events) { cursor in
                        try cursor.forEach { key, value in
                            let position = count + 1
                            guard key.byteCount == 8, Keys.readBigEndian(key) == position else {
                                throw EventStoreError(
                                    .corrupted, field: "\(source): position \(position)", "the old log has a gap")
                            }
                            let event = try value.withUnsafeBytes { stored in
                                guard stored.count > EventCodec.hashSize,
                                    EventCodec.digest(UnsafeRawBufferPointer(rebasing: stored[EventCodec.hashSize...]))
                                        .elementsEqual(stored[0..<EventCodec.hashSize])
                                else {
                                    throw EventStoreError(
                                        .corrupted, field: "\(source): position \(position)",
                                        "its stored hash is not that of its bytes")
                                }
                                do { return try EventCodec.decode(stored: stored, position: position) } catch {
                                    // Format 2 kept integers of any size; format 3 takes ±(2^53−1): such an event cannot move.
                                    throw EventStoreError(
                                        .invalidEvent, field: "\(source): position \(position)",
                                        "cannot be carried into format 3: \(error)")
                                }
                            }
                            guard event.previousHash == oldPrevious else {
                                throw EventStoreError(
                                    .corrupted, field: "\(source): position \(position)",
                                    "previousHash does not match the event before")
                            }
                            oldPrevious = event.hash
                            try batch.add(event)
                            count = position
                            return true
                        }
                    }
                }
            } catch let error as LMDBError {
                throw EventStoreError.storage(error)
            }
            try batch.flush()
            try store.writeTransaction { txn in
                try txn.put(
                    store.tables.meta, key: Array("migrated-from".utf8),
                    value: Array("\(source): format 2, \(count) events, head hash \(oldPrevious)".utf8))
            }
            let checked = try store.verify()
            if let problem = checked.problem {
                throw EventStoreError(.corrupted, field: directory, "the migrated ledger does not verify: \(problem)")
            }
            report = MigrationReport(events: count, oldHeadHash: oldPrevious, newHeadHash: checked.headHash)
        }
        return report!
    }
}

import Foundation
import LMDB

/// Figures about a ledger, for `ledger stats` and monitoring.
public struct LedgerStatistics: Sendable, Hashable {
    public let events: UInt64
    public let streams: Int
    public let headHash: String
    public let lastRecordedAt: Timestamp?
    public let mapSize: Int
    public let usedBytes: Int
    public let fileSize: Int
    public let readersInUse: Int
    public let maximumReaders: Int
    /// The LMDB library in use (Debian's 0.9.24 here).
    public let lmdbVersion: String
}

extension EventStore {
    /// Counts and sizes of this ledger.
    public func statistics() throws -> LedgerStatistics {
        let (last, streams) = try readTransaction { txn -> (Head, Int) in
            (try self.head(in: txn), try countStreams(in: txn))
        }
        let info = environment.info
        let attributes = try? FileManager.default.attributesOfItem(atPath: directory + "/data.mdb")
        return LedgerStatistics(
            events: last.position, streams: streams, headHash: EventCodec.hex(last.hash),
            lastRecordedAt: last.position == 0 ? nil : Timestamp(microseconds: last.recordedAt),
            mapSize: info.mapSize, usedBytes: info.usedBytes, fileSize: (attributes?[.size] as? Int) ?? 0,
            readersInUse: info.readersInUse, maximumReaders: info.maximumReaders, lmdbVersion: Environment.libraryVersion)
    }

    /// Streams in the `streams` index: one seek per stream, to the key just past its range.
    private func countStreams(in txn: borrowing ReadTransaction) throws -> Int {
        try txn.withCursor(tables.streams) { cursor in
            var count = 0
            var lower: [UInt8]? = nil
            var more = true
            while more {
                more = false
                // Only the first key at or after `lower`: the next stream's first entry.
                try cursor.forEach(from: lower) { key, _ in
                    count += 1
                    guard key.byteCount > 8 else {
                        throw EventStoreError(.corrupted, field: "streams", "index key has \(key.byteCount) bytes")
                    }
                    // The stream id runs to the 0 before the 8-byte version.
                    lower = key.withUnsafeBytes { Cursor.successor(ofPrefix: Array($0.prefix($0.count - 8))) }
                    more = lower != nil
                    return false
                }
            }
            return count
        }
    }
}

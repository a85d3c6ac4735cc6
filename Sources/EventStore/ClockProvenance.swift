import LMDB

/// A ledger whose recordedAt times were not all taken from the system clock (the demo replays a dataset's
/// days) carries a marker in its meta table, written before the first such append and never removed, so that
/// `stats`, `verify` and every command can say that its "known at" times are not the ledger's own.
extension EventStore {
    static let clockProvenanceKey = Array("recordedAt-set-by".utf8)

    /// What set recordedAt in this ledger other than the system clock, or nil when the ledger's own clock set
    /// every one.
    public func clockProvenance() throws -> String? {
        try readTransaction { txn in
            try txn.get(tables.meta, key: Self.clockProvenanceKey).map { String(decoding: $0, as: UTF8.self) }
        }
    }

    /// Writes the marker when this store's clock is not the system's and the ledger does not say so yet.
    func markClockProvenance() throws {
        guard let provenance = configuration.clock.provenance, try clockProvenance() == nil else { return }
        try writeTransaction { txn in
            try txn.put(tables.meta, key: Self.clockProvenanceKey, value: Array(provenance.utf8))
        }
    }
}

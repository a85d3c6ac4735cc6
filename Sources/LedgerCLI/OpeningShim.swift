import EventStore

// Until the read-only opening lands: reading commands open the ledger as writers do.
extension LedgerOptions {
    func openStoreForReading() throws -> EventStore { try openStore() }
}

import EventStore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

extension LedgerOptions {
    /// Opens the ledger for a command that only reads (`read`, `verify`, `stats`): read-only, so that it
    /// writes nothing, works on an archived copy or a read-only mount, and never waits for a writer.
    func openStoreForReading() throws -> EventStore {
        Supervisor.opened(directory)
        return try noteClock(EventStore.open(at: directory, readOnly: true))
    }

    /// Opens the ledger for a query (`state`, `timeline`, `deadlines`, `audit`). Queries keep the incident
    /// index caught up and save it when they may write the ledger's files; when they may not (an archived
    /// copy, a read-only mount, another user's ledger), they open read-only and catch it up in memory.
    func openStoreForQueries() throws -> EventStore {
        Supervisor.opened(directory)
        let writable = access(directory, W_OK) == 0 && access(directory + "/data.mdb", W_OK) == 0
        return try noteClock(EventStore.open(at: directory, readOnly: !writable))
    }
}

/// The version of IncidentLedger: what `ledger --version` prints and what `ledger stats` and the service's
/// `/stats` report beside the LMDB version, so that a report of a problem says which build wrote it. One
/// constant, raised with each release (semantic versioning; below 1.0 the minor number moves with each
/// delivered issue). The ledger's file format and the API contract have versions of their own.
public enum LedgerVersion {
    public static let current = "0.12.0"
}

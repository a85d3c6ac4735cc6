import LMDB

/// An error of the event store: what went wrong (``code``), where (``field``: a JSON path, a stream, an
/// event id, a file) and a message a person can act on.
public struct EventStoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure. A struct over a private enum so that new kinds do not break callers' switches.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Kind: String, Sendable, Hashable {
            case invalidEvent, wrongExpectedVersion, eventIdConflict, payloadTooLarge
            case noLedger, notALedger, corrupted, storage, unreadable
        }
        private let kind: Kind
        /// An event breaks a rule of the envelope or its payload; nothing was written.
        public static let invalidEvent = Code(kind: .invalidEvent)
        /// The stream is not at the version the append expected; nothing was written.
        public static let wrongExpectedVersion = Code(kind: .wrongExpectedVersion)
        /// An event id is already stored with other content, or a batch mixes stored and new ids.
        public static let eventIdConflict = Code(kind: .eventIdConflict)
        /// A payload is larger than the configured limit.
        public static let payloadTooLarge = Code(kind: .payloadTooLarge)
        /// The directory does not exist or holds no ledger.
        public static let noLedger = Code(kind: .noLedger)
        /// The directory holds LMDB files that are not an IncidentLedger ledger.
        public static let notALedger = Code(kind: .notALedger)
        /// Stored bytes do not decode or do not match their hash.
        public static let corrupted = Code(kind: .corrupted)
        /// LMDB or the file system failed.
        public static let storage = Code(kind: .storage)
        /// The ledger's directory or files exist but this user may not read (or, to write, open) them.
        public static let unreadable = Code(kind: .unreadable)
        public var description: String { kind.rawValue }
    }

    public let code: Code
    /// The JSON path, stream, event id or file concerned; empty when the error is about the whole ledger.
    public let field: String
    public let message: String

    package init(_ code: Code, field: String = "", _ message: String) {
        self.code = code
        self.field = field
        self.message = message
    }

    /// An invalid event: `field` is its JSON path, `message` the rule broken.
    package static func invalid(_ field: String, _ message: String) -> EventStoreError {
        EventStoreError(.invalidEvent, field: field, message)
    }

    /// Wraps an LMDB failure.
    package static func storage(_ error: LMDBError) -> EventStoreError {
        EventStoreError(kind(of: error), field: error.context, error.description)
    }

    /// Permission denied is an unreadable ledger, a page of the wrong kind a damaged one, the rest storage.
    private static func kind(of error: LMDBError) -> Code {
        switch error.code {
        case .permissionDenied: .unreadable
        case .corrupted, .pageNotFound: .corrupted
        default: .storage
        }
    }

    /// Wraps an LMDB failure in the ledger at `directory`: the message names its `data.mdb` (LMDB's own
    /// context, a database name, follows in the message).
    package static func storage(_ error: LMDBError, in directory: String) -> EventStoreError {
        EventStoreError(kind(of: error), field: directory + "/data.mdb", error.description)
    }

    /// Damage found in `data.mdb` before or instead of mapping it.
    package static func damaged(_ problem: DataFileProblem) -> EventStoreError {
        EventStoreError(.corrupted, field: problem.file, (problem.offset.map { "at byte \($0): " } ?? "") + problem.reason)
    }

    public var description: String { field.isEmpty ? message : "\(field): \(message)" }
}

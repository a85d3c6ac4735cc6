import CLMDB

/// An error from LMDB, with the return code, LMDB's own message and the operation that failed.
///
/// Codes are matched through ``Code`` so callers can write `error.code == .mapFull`.
package struct LMDBError: Error, Sendable, Equatable, CustomStringConvertible {
    /// An LMDB return code (negative LMDB codes or positive errno values).
    package struct Code: Sendable, Hashable, CustomStringConvertible {
        package let rawValue: Int32
        package init(rawValue: Int32) { self.rawValue = rawValue }

        package static let keyExists = Code(rawValue: MDB_KEYEXIST)
        package static let notFound = Code(rawValue: MDB_NOTFOUND)
        package static let mapFull = Code(rawValue: MDB_MAP_FULL)
        package static let mapResized = Code(rawValue: MDB_MAP_RESIZED)
        package static let invalid = Code(rawValue: MDB_INVALID)
        package static let versionMismatch = Code(rawValue: MDB_VERSION_MISMATCH)
        package static let readersFull = Code(rawValue: MDB_READERS_FULL)
        package static let badValueSize = Code(rawValue: MDB_BAD_VALSIZE)
        /// `MDB_CORRUPTED`: a page LMDB followed is not of the kind it expected.
        package static let corrupted = Code(rawValue: MDB_CORRUPTED)
        /// `MDB_PAGE_NOTFOUND`: a page number points nowhere.
        package static let pageNotFound = Code(rawValue: MDB_PAGE_NOTFOUND)
        /// `EACCES`: a write in a read-only environment or transaction, or a file without permission.
        package static let permissionDenied = Code(rawValue: 13)
        /// `ENOENT`: the directory does not exist.
        package static let noSuchFile = Code(rawValue: 2)

        /// LMDB's text for the code (`mdb_strerror`).
        package var description: String { String(cString: mdb_strerror(rawValue)) }
    }

    package let code: Code
    /// What was being done: `mdb_env_open`, `put`, `commit`...
    package let operation: String
    /// What it was done on: a path, a database name, a key; empty when nothing more is known.
    package let context: String

    package init(code: Int32, operation: String, context: String = "") {
        self.code = Code(rawValue: code)
        self.operation = operation
        self.context = context
    }

    /// LMDB's message for the code.
    package var message: String { code.description }

    package var description: String {
        let target = context.isEmpty ? "" : " (\(context))"
        return "LMDB \(operation)\(target) failed: \(message) [code \(code.rawValue)]"
    }
}

/// Turns an LMDB return code into a thrown ``LMDBError``.
@inline(__always)
func check(_ result: Int32, _ operation: @autoclosure () -> String, _ context: @autoclosure () -> String = "") throws {
    if result != 0 { throw LMDBError(code: result, operation: operation(), context: context()) }
}

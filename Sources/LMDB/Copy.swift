import CLMDB

extension Environment {
    /// Copies the environment into `directory` (existing and empty) while others read and write it: a hot
    /// backup of one consistent snapshot. Compacting leaves out free pages and renumbers the rest.
    package func copy(to directory: String, compacting: Bool = true) throws {
        try check(mdb_env_copy2(handle, directory, compacting ? UInt32(MDB_CP_COMPACT) : 0), "mdb_env_copy2", directory)
    }
}

import FuzzSupport

@testable import EventStore
@testable import LedgerProofs

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The bundle reader (`ledger restore` and `ledger merge` read a file someone else wrote): any bytes are
/// refused by error or verified, never a crash. The reader takes a path, so each input is written to one
/// scratch file first.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBundle(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    let path = scratchPath
    guard let file = fopen(path, "wb") else { fuzzFailure("cannot write \(path)", input: input) }
    if !input.isEmpty { _ = input.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) } }
    fclose(file)
    do {
        let verified = try EventStore.verifyBundle(at: path, trusting: [])
        _ = verified
    } catch {
        if "\(error)".isEmpty { fuzzFailure("a refused bundle got an empty message", input: input) }
    }
    return 0
}

/// One file per process, in memory when /dev/shm is there (libFuzzer's -fork/-jobs run several processes).
let scratchPath: String = {
    let directory = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
    return "\(directory)/ledger-fuzz-bundle-\(getpid()).ndjson"
}()

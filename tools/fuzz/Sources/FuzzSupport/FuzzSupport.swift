import CLibFuzzer

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Stops the run on a broken property: prints what broke and the input, then aborts so that libFuzzer saves
/// the input as a crash file (`crash-<sha1>`) and the run reports it.
public func fuzzFailure(_ what: String, input: [UInt8], file: StaticString = #file, line: UInt = #line) -> Never {
    let shown = input.prefix(512).map { byte -> String in
        (0x20..<0x7F).contains(byte) && byte != 0x5C ? String(UnicodeScalar(byte)) : "\\x" + String(byte, radix: 16)
    }
    let report = "FUZZ PROPERTY BROKEN (\(file):\(line)): \(what)\ninput (\(input.count) bytes): \(shown.joined())\n"
    _ = Array(report.utf8).withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    abort()
}

/// The bytes libFuzzer hands over, copied (the buffer is theirs only for the call).
public func fuzzInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}

/// Runs libFuzzer on `target` with the process's arguments (`-max_total_time=60 corpus/`, …) and exits with its
/// status: a target's main.swift is this one call.
public func runFuzzer(_ target: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> Never {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    let status = LLVMFuzzerRunDriver(&argc, &argv, target)
    exit(status)
}

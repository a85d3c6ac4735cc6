import FuzzSupport

@testable import EventStore

/// The JSON reader never crashes, and what it accepts re-encodes to the same value: the canonical bytes of a
/// parsed value parse back to an equal value.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONParser(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    guard let value = try? JSONParser.parse(input) else { return 0 }
    let encoded = CanonicalJSON.encode(value)
    let again: JSONValue
    do { again = try JSONParser.parse(encoded) } catch {
        fuzzFailure("the canonical bytes of an accepted value do not parse: \(error)", input: input)
    }
    guard again == value else {
        fuzzFailure("re-parsed \(CanonicalJSON.string(again)) differs from \(CanonicalJSON.string(value))", input: input)
    }
    // The buffer entry point and the String one read the same bytes the same way.
    let viaBuffer = input.withUnsafeBytes { try? JSONParser.parse($0) }
    guard viaBuffer == value else { fuzzFailure("parse(UnsafeRawBufferPointer) disagrees with parse([UInt8])", input: input) }
    return 0
}

import FuzzSupport

@testable import EventStore

/// The canonical writer is a fixed point: canonical(parse(canonical(x))) == canonical(x), byte for byte, and the
/// String form is the same bytes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCanonicalJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    guard let value = try? JSONParser.parse(input) else { return 0 }
    let first = CanonicalJSON.encode(value)
    let reparsed: JSONValue
    do { reparsed = try JSONParser.parse(first) } catch {
        fuzzFailure("canonical bytes refused by the parser: \(error)", input: input)
    }
    let second = CanonicalJSON.encode(reparsed)
    guard first == second else {
        fuzzFailure(
            "canonical form is not stable: \(String(decoding: first, as: UTF8.self)) then \(String(decoding: second, as: UTF8.self))",
            input: input)
    }
    guard Array(CanonicalJSON.string(value).utf8) == first else {
        fuzzFailure("CanonicalJSON.string differs from CanonicalJSON.encode", input: input)
    }
    // Canonical bytes carry no insignificant whitespace: nothing outside a string is a space or a line break.
    var inString = false
    var escaped = false
    for byte in first {
        if inString {
            if escaped {
                escaped = false
            } else if byte == UInt8(ascii: "\\") {
                escaped = true
            } else if byte == UInt8(ascii: "\"") {
                inString = false
            }
            if byte < 0x20 { fuzzFailure("a raw control byte inside a canonical string", input: input) }
        } else if byte == UInt8(ascii: "\"") {
            inString = true
        } else if byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 {
            fuzzFailure("whitespace outside a string in canonical bytes", input: input)
        }
    }
    return 0
}
